/*
 * test_decode_stage: the real profpipe-decoder on scratch ipc addresses,
 * this test playing the fetcher (REQ, listening on raw) and the aggregator
 * (REP, listening on decoded). A good profile reaches the aggregator with
 * its origin and is acknowledged upstream only after the aggregator took
 * it, and shows on the tap; a bad one is answered REJECTED with the reason
 * and never passed on; the aggregator's REJECTED goes upstream as it is;
 * SIGTERM ends it with status 0, after a bounded wait if the aggregator
 * holds a profile. The stage gives its one decode at a time the whole of
 * --max-memory: a profile the one-shot mode decodes under a cap, the stage
 * decodes under that cap too, and refuses under one the one-shot mode
 * refuses. Also the exit status of --help and of a bad flag.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/wire.pb-c.h"
#include "tests/unit/decode_stage_util.h"
#include "tests/unit/decode_util.h"

static int
exit_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
test_stage(void **state)
{
	char raw_url[256];
	char dec_url[256];
	char tap_url[256];
	char *args[] = {decoder_bin, "--raw", raw_url, "--decoded", dec_url,
	    "--tap", tap_url, "--ready-fd", "3", "-q", NULL};
	struct stage_rig g;
	struct bus_sock *tap;
	struct bus_ctx *fc;
	struct bus_ctx *ac;
	struct reply r;
	Profpipe__Decoded *d;
	uint8_t ack[ACK_MAX];
	uint8_t *body;
	uint8_t *msg;
	const void *req;
	void *tapped = NULL;
	size_t tlen;
	size_t blen;
	size_t len;
	size_t rlen;
	char err[256];
	int tries;

	(void)state;
	snprintf(raw_url, sizeof(raw_url), "ipc://%s/raw.ipc", stage_dir);
	snprintf(dec_url, sizeof(dec_url), "ipc://%s/decoded.ipc", stage_dir);
	snprintf(tap_url, sizeof(tap_url), "ipc://%s/decoder.tap", stage_dir);
	assert_int_equal(
	    stage_rig_start(&g, decoder_bin, args, raw_url, dec_url), 0);
	assert_int_equal(
	    bus_open(&tap, BUS_SUB, tap_url, 1, err, sizeof(err)), 0);
	fc = g.fc;
	ac = g.ac;

	/* A good profile: passed on, then acknowledged, then on the tap.
	 * The tap is best effort and a subscriber joins late, so a few
	 * profiles may pass before one shows there. */
	body = du_slurp(CORPUS "/real/goapp-heap.pb.gz", &blen);
	assert_non_null(body);
	msg = raw_profile("p-1", body, blen, &len);
	for (tries = 0; tries < 20 && tapped == NULL; tries++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(
		    bus_call_async(fc, msg, len, 10000, on_reply, &r), 0);
		assert_int_equal(bus_recv(ac, &req, &rlen, 10000), 0);
		d = profpipe__decoded__unpack(NULL, rlen, req);
		assert_non_null(d);
		assert_non_null(d->origin);
		assert_string_equal(d->origin->profile_id, "p-1");
		assert_int_equal(d->n_samples, 19);
		profpipe__decoded__free_unpacked(d, NULL);
		/* Not acknowledged upstream before the aggregator answers. */
		assert_int_equal(wait_reply(&r, 100), -1);
		assert_int_equal(bus_reply(ac, ack, ack_pack(ack, NULL)), 0);
		assert_int_equal(wait_reply(&r, 10000), 0);
		assert_int_equal(r.err, BUS_OK);
		assert_int_equal(r.status, 0);
		if (bus_subscribe_recv(tap, &tapped, &tlen, 200) != BUS_OK)
			tapped = NULL;
	}
	assert_non_null(tapped);
	d = profpipe__decoded__unpack(NULL, tlen, tapped);
	assert_non_null(d);
	assert_string_equal(d->origin->profile_id, "p-1");
	profpipe__decoded__free_unpacked(d, NULL);
	bus_free(tapped, tlen);
	free(msg);

	/* The aggregator refuses it: its reason goes upstream. */
	msg = raw_profile("p-2", body, blen, &len);
	memset(&r, 0, sizeof(r));
	assert_int_equal(bus_call_async(fc, msg, len, 10000, on_reply, &r), 0);
	assert_int_equal(bus_recv(ac, &req, &rlen, 10000), 0);
	assert_int_equal(bus_reply(ac, ack, ack_pack(ack, "too old")), 0);
	assert_int_equal(wait_reply(&r, 10000), 0);
	assert_int_equal(r.status, 1);
	assert_string_equal(r.reason, "too old");
	free(msg);
	free(body);

	/* Not a profile: REJECTED with the reason, nothing passed on. */
	msg =
	    raw_profile("p-3", (const uint8_t *)"<html>oops</html>", 17, &len);
	memset(&r, 0, sizeof(r));
	assert_int_equal(bus_call_async(fc, msg, len, 10000, on_reply, &r), 0);
	assert_int_equal(wait_reply(&r, 10000), 0);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.reason, "not a profile"));
	assert_int_equal(bus_recv(ac, &req, &rlen, 300), BUS_ETIMEDOUT);
	free(msg);

	/* Not even a RawProfile. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    bus_call_async(fc, "\xff\xff\xff", 3, 10000, on_reply, &r), 0);
	assert_int_equal(wait_reply(&r, 10000), 0);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.reason, "unreadable"));

	assert_int_equal(kill(g.pid, SIGTERM), 0);
	assert_int_equal(exit_status(g.pid), 0);
	stage_rig_close(&g);
	bus_close(tap);
}

/* SIGTERM while the aggregator sits on a profile: the decoder keeps
 * offering it for --drain seconds, then exits 0 without acknowledging it
 * upstream, so the fetcher's nng resends it to another decoder. */
static void
test_drain(void **state)
{
	char raw_url[256];
	char dec_url[256];
	char *args[] = {decoder_bin, "--raw", raw_url, "--decoded", dec_url,
	    "--tap", "ipc:///nonexistent/dir/tap", "--ready-fd", "3",
	    "--drain", "1", "-q", NULL};
	struct stage_rig g;
	struct reply r;
	uint8_t *body;
	uint8_t *msg;
	const void *req;
	size_t blen;
	size_t len;
	size_t rlen;

	(void)state;
	snprintf(raw_url, sizeof(raw_url), "ipc://%s/raw2.ipc", stage_dir);
	snprintf(dec_url, sizeof(dec_url), "ipc://%s/decoded2.ipc", stage_dir);
	assert_int_equal(
	    stage_rig_start(&g, decoder_bin, args, raw_url, dec_url), 0);
	body = du_slurp(CORPUS "/real/goapp-mutex.pb.gz", &blen);
	msg = raw_profile("p-9", body, blen, &len);
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    bus_call_async(g.fc, msg, len, 30000, on_reply, &r), 0);
	assert_int_equal(bus_recv(g.ac, &req, &rlen, 10000), 0);
	assert_int_equal(kill(g.pid, SIGTERM), 0);
	assert_int_equal(exit_status(g.pid), 0);
	assert_int_equal(wait_reply(&r, 200), -1);
	stage_rig_close(&g);
	free(msg);
	free(body);
}

static void
test_flags(void **state)
{
	char *help[] = {decoder_bin, "--help", NULL};
	char *bad[] = {decoder_bin, "--no-such-flag", NULL};
	char *fmt[] = {decoder_bin, "--format", "xml", "x.pb", NULL};
	char *nofile[] = {decoder_bin, "--format", "json", NULL};
	char *bomb[] = {decoder_bin, CORPUS "/bad/gzip-bomb-1GiB.gz",
	    CORPUS "/real/goapp-heap.pb.gz", NULL};
	int null = open("/dev/null", O_WRONLY);
	int out = dup(1);
	int errfd = dup(2);

	(void)state;
	dup2(null, 1);
	dup2(null, 2);
	assert_int_equal(exit_status(stage_spawn(decoder_bin, help, -1)), 0);
	assert_int_equal(exit_status(stage_spawn(decoder_bin, bad, -1)), 100);
	assert_int_equal(exit_status(stage_spawn(decoder_bin, fmt, -1)), 100);
	assert_int_equal(
	    exit_status(stage_spawn(decoder_bin, nofile, -1)), 100);
	/* A bad file among good ones: the others decode, the status is 1. */
	assert_int_equal(exit_status(stage_spawn(decoder_bin, bomb, -1)), 1);
	dup2(out, 1);
	dup2(errfd, 2);
	close(out);
	close(errfd);
	close(null);
}

/* The one-shot mode's exit status on file under --max-memory cap. */
static int
oneshot_status(const char *file, size_t cap)
{
	char capstr[32];
	char *args[] = {decoder_bin, "--max-memory", capstr, "--format",
	    "folded", (char *)file, NULL};
	int null = open("/dev/null", O_WRONLY);
	int out = dup(1);
	int errfd = dup(2);
	int st;

	snprintf(capstr, sizeof(capstr), "%zu", cap);
	dup2(null, 1);
	dup2(null, 2);
	st = exit_status(stage_spawn(decoder_bin, args, -1));
	dup2(out, 1);
	dup2(errfd, 2);
	close(out);
	close(errfd);
	close(null);
	return st;
}

/* Start a stage under cap, send it file, answer OK what reaches the
 * aggregator; the fetcher's reply into r. */
static void
stage_one(const char *file, size_t cap, struct reply *r)
{
	char raw_url[256];
	char dec_url[256];
	char capstr[32];
	char *args[] = {decoder_bin, "--raw", raw_url, "--decoded", dec_url,
	    "--tap", "ipc:///nonexistent/dir/tap", "--max-memory", capstr,
	    "--ready-fd", "3", "-q", NULL};
	struct stage_rig g;
	uint8_t ack[ACK_MAX];
	uint8_t *body;
	uint8_t *msg;
	const void *req;
	size_t blen;
	size_t len;
	size_t rlen;
	int rv;

	snprintf(raw_url, sizeof(raw_url), "ipc://%s/raw.ipc", stage_dir);
	snprintf(dec_url, sizeof(dec_url), "ipc://%s/decoded.ipc", stage_dir);
	snprintf(capstr, sizeof(capstr), "%zu", cap);
	assert_int_equal(
	    stage_rig_start(&g, decoder_bin, args, raw_url, dec_url), 0);
	body = du_slurp(file, &blen);
	assert_non_null(body);
	msg = raw_profile("p-cap", body, blen, &len);
	memset(r, 0, sizeof(*r));
	assert_int_equal(
	    bus_call_async(g.fc, msg, len, 30000, on_reply, r), 0);
	/* Whatever reaches the aggregator (inline or by reference) is taken;
	 * a refusal reaches nothing, and the fetcher's reply says why. */
	while (!atomic_load(&r->done)) {
		rv = bus_recv(g.ac, &req, &rlen, 100);
		if (rv == BUS_OK)
			assert_int_equal(
			    bus_reply(g.ac, ack, ack_pack(ack, NULL)), 0);
		else
			assert_int_equal(rv, BUS_ETIMEDOUT);
	}
	assert_int_equal(r->err, BUS_OK);
	assert_int_equal(kill(g.pid, SIGTERM), 0);
	assert_int_equal(exit_status(g.pid), 0);
	free(msg);
	free(body);
	stage_rig_close(&g);
}

#define CAP_STEP ((size_t)256 * 1024)

/* The least cap, in CAP_STEP steps, under which the one-shot mode
 * decodes heap-large (it refuses under 1 MiB, and decodes under 256 MiB,
 * the default's floor); then the stage under a quarter more decodes it
 * (a cap split between profiles in flight would not), and under half of
 * it refuses it, saying memory ran out. (The stage needs a little less
 * than the one-shot mode, which reads the file into its arena; a step
 * less than the least is not a refusal for it.) */
static void
test_memory_cap(void **state)
{
	const char *file = CORPUS "/synth/heap-large.pb.gz";
	size_t lo = 1 << 20;   /* refused */
	size_t hi = 256 << 20; /* decoded */
	size_t mid;
	struct reply r;

	(void)state;
	assert_int_equal(oneshot_status(file, lo), 1);
	assert_int_equal(oneshot_status(file, hi), 0);
	while (hi - lo > CAP_STEP) {
		mid = lo + (hi - lo) / 2 / CAP_STEP * CAP_STEP;
		if (oneshot_status(file, mid) == 0)
			hi = mid;
		else
			lo = mid;
	}
	stage_one(file, hi + hi / 4, &r);
	assert_int_equal(r.status, 0);
	stage_one(file, hi / 2, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.reason, "out of memory"));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stage),
	    cmocka_unit_test(test_drain),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_memory_cap),
	};
	(void)argc;
	return stage_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
	    argv[0], "/tmp/profpipe-decode-test-XXXXXX");
}
