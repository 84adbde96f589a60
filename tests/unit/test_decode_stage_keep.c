/*
 * test_decode_stage_keep: what the real profpipe-decoder's slots keep of
 * their memfds once their profiles are answered. Each of the S slots
 * packs a large Decoded into a memfd of its own; the pages of all S go
 * back down to STAGE_KEEP_REF in all, and not to nothing: a slot that
 * keeps its pages packs the next large profile without faulting them in
 * again (decoder/stage_int.h says what that costs).
 *
 * And a profile is packed into the idle memfd whose pages fit it best,
 * whichever slot it came to: the small memfd for a small profile, the
 * large one for a large profile, so neither grows.
 *
 * The tests play the fetcher and the aggregator (decode_stage_util.h),
 * hold the aggregator's answers until the profiles they need are in
 * flight, then answer them, and read how many bytes the memfds the
 * references name hold (st_blocks, through /proc/PID/fd).
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

/* The memfd a Decoded names by reference: which, and its bytes. */
struct ref {
	uint32_t fd;
	uint64_t ino;
	size_t len;
};

/* Send profile id (body) through fetcher context fc, and take its
 * Decoded on aggregator context ac, unanswered: it must come by
 * reference, from decoder pid. */
static void
send_profile(pid_t pid, struct bus_ctx *fc, struct bus_ctx *ac,
    struct reply *rep, const char *id, const uint8_t *body, size_t blen,
    struct ref *ref)
{
	Profpipe__Decoded *d;
	const void *req;
	uint8_t *msg;
	size_t len;
	size_t rlen;

	msg = raw_profile(id, body, blen, &len);
	memset(rep, 0, sizeof(*rep));
	assert_int_equal(
	    bus_call_async(fc, msg, len, WAIT_MS, on_reply, rep), 0);
	free(msg);
	assert_int_equal(bus_recv(ac, &req, &rlen, WAIT_MS), 0);
	d = profpipe__decoded__unpack(NULL, rlen, req);
	assert_non_null(d);
	assert_non_null(d->by_ref);
	assert_int_equal(d->by_ref->pid, (uint32_t)pid);
	ref->fd = d->by_ref->fd;
	ref->ino = d->by_ref->inode;
	ref->len = d->by_ref->len;
	profpipe__decoded__free_unpacked(d, NULL);
}

/* Answer the n profiles held on ac[], and wait for the decoder's
 * replies to the fetcher. */
static void
answer_all(struct bus_ctx **ac, struct reply *rep, int n)
{
	uint8_t ack[ACK_MAX];
	int i;

	for (i = 0; i < n; i++)
		assert_int_equal(
		    bus_reply(ac[i], ack, ack_pack(ack, NULL)), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(wait_reply(&rep[i], WAIT_MS), 0);
		assert_int_equal(rep[i].status, 0);
	}
}

/* The decoder between the test's two ends, with S contexts on each. */
struct keep_rig {
	struct stage_rig r;
	struct bus_ctx *fc[S];
	struct bus_ctx *ac[S];
	struct reply rep[S];
};

static void
keep_start(struct keep_rig *k)
{
	int i;

	stage_rig_up(&k->r);
	for (i = 0; i < S; i++) {
		assert_int_equal(bus_ctx_new(k->r.fetcher, &k->fc[i]), 0);
		assert_int_equal(bus_ctx_new(k->r.aggregator, &k->ac[i]), 0);
	}
}

static void
keep_stop(struct keep_rig *k)
{
	int i;

	stage_rig_stop(&k->r);
	for (i = 0; i < S; i++) {
		bus_ctx_free(k->fc[i]);
		bus_ctx_free(k->ac[i]);
	}
	stage_rig_close(&k->r);
}

static void
test_keep_budget(void **state)
{
	struct keep_rig k;
	struct ref ref;
	uint32_t fd[S];
	uint8_t *body;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t blen, largest = 0, total = 0, now = 0;
	char id[16];
	int i, ms;

	(void)state;
	keep_start(&k);
	body = du_slurp(CORPUS "/synth/heap-large.pb.gz", &blen);
	assert_non_null(body);

	/* S large profiles in flight, each by reference to its own memfd. */
	for (i = 0; i < S; i++) {
		snprintf(id, sizeof(id), "p-%d", i);
		send_profile(k.r.pid, k.fc[i], k.ac[i], &k.rep[i], id, body,
		    blen, &ref);
		fd[i] = ref.fd;
		if (ref.len > largest)
			largest = ref.len;
		total += ref.len;
	}
	/* What makes the budget bite: more than it in all, each slot's
	 * under what one slot may keep. */
	assert_true(total > STAGE_KEEP_REF + largest);
	assert_true(largest < SLOT_KEEP_REF);
	assert_true(held(k.r.pid, fd, S) >= total);

	/* All answered and replied to: the pages past the budget go back,
	 * once each slot is done (just after its reply). */
	answer_all(k.ac, k.rep, S);
	for (ms = 0; ms < RELEASE_MS; ms += 10) {
		now = held(k.r.pid, fd, S);
		if (now <= STAGE_KEEP_REF + S * page)
			break;
		usleep(10 * 1000);
	}
	print_message("memfds hold %zu bytes of %zu packed (budget %zu)\n",
	    now, total, STAGE_KEEP_REF);
	assert_true(now <= STAGE_KEEP_REF + S * page);
	assert_true(now >= largest);

	keep_stop(&k);
	free(body);
}

/* A small and a large profile in flight at once make two memfds, one of
 * each size. Sent again, small first, each goes to the memfd of its own
 * size, though the small one comes to a slot that holds none: so neither
 * memfd grows, and no third one is made. */
static void
test_keep_fit(void **state)
{
	struct keep_rig k;
	struct ref small1, big1, small2, big2;
	uint32_t fd[2];
	uint8_t *small, *big;
	size_t slen, blen, before, after;

	(void)state;
	keep_start(&k);
	small = du_slurp(CORPUS "/synth/mutex-large.pb.gz", &slen);
	big = du_slurp(CORPUS "/synth/heap-large.pb.gz", &blen);
	assert_non_null(small);
	assert_non_null(big);

	send_profile(
	    k.r.pid, k.fc[0], k.ac[0], &k.rep[0], "s-1", small, slen, &small1);
	send_profile(
	    k.r.pid, k.fc[1], k.ac[1], &k.rep[1], "b-1", big, blen, &big1);
	assert_true(small1.fd != big1.fd);
	assert_true(small1.len * 4 < big1.len);
	answer_all(k.ac, k.rep, 2);
	fd[0] = small1.fd;
	fd[1] = big1.fd;
	before = held(k.r.pid, fd, 2);

	send_profile(
	    k.r.pid, k.fc[0], k.ac[0], &k.rep[0], "s-2", small, slen, &small2);
	send_profile(
	    k.r.pid, k.fc[1], k.ac[1], &k.rep[1], "b-2", big, blen, &big2);
	after = held(k.r.pid, fd, 2);
	print_message("small: fd %u then %u; large: fd %u then %u; the two "
	              "hold %zu bytes, then %zu\n",
	    small1.fd, small2.fd, big1.fd, big2.fd, before, after);
	assert_int_equal(small2.fd, small1.fd);
	assert_true(small2.ino == small1.ino);
	assert_int_equal(big2.fd, big1.fd);
	assert_true(big2.ino == big1.ino);
	assert_true(after == before);
	answer_all(k.ac, k.rep, 2);

	keep_stop(&k);
	free(small);
	free(big);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keep_budget),
	    cmocka_unit_test(test_keep_fit),
	};

	(void)argc;
	return stage_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
	    argv[0], "/tmp/profpipe-keep-test-XXXXXX");
}
