/*
 * test_decode_stage_keep: what the real profpipe-decoder's slots keep of
 * their memfds once their profiles are answered. Each of the S slots
 * packs a large Decoded into a memfd of its own; the pages of all S go
 * back down to STAGE_KEEP_REF in all, and not to nothing: a slot that
 * keeps its pages packs the next large profile without faulting them in
 * again (decoder/stage_int.h says what that costs).
 *
 * The test plays the fetcher and the aggregator (decode_stage_util.h),
 * holds the aggregator's answers until S large profiles are in flight,
 * then answers them all, and reads how many bytes the memfds the
 * references name still hold (st_blocks, through /proc/PID/fd).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/wire.pb-c.h"
#include "decoder/stage.h"
#include "decoder/stage_int.h"
#include "tests/unit/decode_stage_util.h"
#include "tests/unit/decode_util.h"

#define S DECODER_STAGE_SLOTS
#define WAIT_MS 30000 /* a guard against hanging, never a readiness wait */
#define RELEASE_MS 10000

/* Bytes the decoder's memfd fd[i] holds, summed over the n of them. */
static size_t
held(pid_t pid, const uint32_t *fd, int n)
{
	char path[64];
	struct stat sb;
	size_t sum = 0;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(
		    path, sizeof(path), "/proc/%d/fd/%u", (int)pid, fd[i]);
		assert_int_equal(stat(path, &sb), 0);
		sum += (size_t)sb.st_blocks * 512;
	}
	return sum;
}

static void
test_keep_budget(void **state)
{
	char raw_url[256];
	char dec_url[256];
	char *args[] = {decoder_bin, "--raw", raw_url, "--decoded", dec_url,
	    "--ready-fd", "3", "-q", NULL};
	struct bus_ctx *fc[S];
	struct bus_ctx *ac[S];
	struct reply rep[S];
	uint32_t fd[S];
	struct stage_rig r;
	Profpipe__Decoded *d;
	uint8_t ack[ACK_MAX];
	uint8_t *body;
	uint8_t *msg;
	const void *req;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t blen, len, rlen, largest = 0, total = 0, now;
	char id[16];
	int i, st, ms;

	(void)state;
	snprintf(raw_url, sizeof(raw_url), "ipc://%s/raw.ipc", stage_dir);
	snprintf(dec_url, sizeof(dec_url), "ipc://%s/decoded.ipc", stage_dir);
	assert_int_equal(
	    stage_rig_start(&r, decoder_bin, args, raw_url, dec_url), 0);
	decoder_pid = r.pid;
	body = du_slurp(CORPUS "/synth/heap-large.pb.gz", &blen);
	assert_non_null(body);

	/* S large profiles in flight, each by reference to its own memfd. */
	for (i = 0; i < S; i++) {
		snprintf(id, sizeof(id), "p-%d", i);
		msg = raw_profile(id, body, blen, &len);
		memset(&rep[i], 0, sizeof(rep[i]));
		assert_int_equal(bus_ctx_new(r.fetcher, &fc[i]), 0);
		assert_int_equal(bus_ctx_new(r.aggregator, &ac[i]), 0);
		assert_int_equal(bus_call_async(fc[i], msg, len, WAIT_MS,
		                     on_reply, &rep[i]),
		    0);
		free(msg);
		assert_int_equal(bus_recv(ac[i], &req, &rlen, WAIT_MS), 0);
		d = profpipe__decoded__unpack(NULL, rlen, req);
		assert_non_null(d);
		assert_non_null(d->by_ref);
		assert_int_equal(d->by_ref->pid, (uint32_t)r.pid);
		fd[i] = d->by_ref->fd;
		if (d->by_ref->len > largest)
			largest = d->by_ref->len;
		total += d->by_ref->len;
		profpipe__decoded__free_unpacked(d, NULL);
	}
	/* What makes the budget bite: more than it in all, each slot's
	 * under what one slot may keep. */
	assert_true(total > STAGE_KEEP_REF + largest);
	assert_true(largest < SLOT_KEEP_REF);
	assert_true(held(r.pid, fd, S) >= total);

	/* All answered and replied to: the pages past the budget go back,
	 * once each slot is done (just after its reply). */
	for (i = 0; i < S; i++)
		assert_int_equal(
		    bus_reply(ac[i], ack, ack_pack(ack, NULL)), 0);
	for (i = 0; i < S; i++) {
		assert_int_equal(wait_reply(&rep[i], WAIT_MS), 0);
		assert_int_equal(rep[i].status, 0);
	}
	for (ms = 0; ms < RELEASE_MS; ms += 10) {
		now = held(r.pid, fd, S);
		if (now <= STAGE_KEEP_REF + S * page)
			break;
		usleep(10 * 1000);
	}
	print_message("memfds hold %zu bytes of %zu packed (budget %zu)\n",
	    now, total, STAGE_KEEP_REF);
	assert_true(now <= STAGE_KEEP_REF + S * page);
	assert_true(now >= largest);

	assert_int_equal(kill(r.pid, SIGTERM), 0);
	assert_int_equal(waitpid(r.pid, &st, 0), r.pid);
	decoder_pid = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	for (i = 0; i < S; i++) {
		bus_ctx_free(fc[i]);
		bus_ctx_free(ac[i]);
	}
	stage_rig_close(&r);
	free(body);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keep_budget),
	};

	(void)argc;
	return stage_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
	    argv[0], "/tmp/profpipe-keep-test-XXXXXX");
}
