/*
 * test_decode_stage_overlap: the real profpipe-decoder keeps S =
 * DECODER_STAGE_SLOTS profiles in flight, and still replies to the fetcher
 * for a profile only once the aggregator answered that profile. The test
 * plays the fetcher (REQ, listening) and the aggregator (REP, listening) on
 * scratch ipc addresses and holds the aggregator's answers back:
 *
 *   - with profiles 1 to S-1 unanswered, profile S's Decoded arrives
 *     (overlap);
 *   - with 1 to S unanswered, profile S+1's does not (S at most);
 *   - answering 2 first sends 2's reply, not 1's; S+1 then comes in;
 *   - 1's reply comes only after 1 is answered, its REJECTED passed on;
 *   - after SIGTERM the profiles the aggregator answers in the drain time
 *     are replied to, the one it holds is not, and the decoder exits 0.
 *
 * The decoder retries a hand-off the aggregator has not answered within a
 * second, as a new request; the aggregator side here keeps a table by
 * profile_id, so a retry (on a loaded machine) is recognised and answered
 * on the context it came on, as the real aggregator's dedup would.
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
#include "decoder/stage.h"
#include "tests/unit/decode_stage_util.h"
#include "tests/unit/decode_util.h"

#define NCTX 64 /* aggregator contexts: one per request, retries too */
#define S DECODER_STAGE_SLOTS
#define NPROF (S + 2)

/* The aggregator's: what came, per profile p-N. */
struct agg {
	struct bus_sock *s;
	struct bus_ctx *ctx[NCTX];
	int nctx;
	int seen[NPROF + 1];           /* requests for p-N: more than 1 are
	                                * the decoder's retries */
	int newest[NPROF + 1];         /* the context of the latest */
	const char *answer[NPROF + 1]; /* NULL: held; "": OK; a reason */
};

static int
agg_reply(struct agg *g, int c, const char *answer)
{
	uint8_t ack[ACK_MAX];

	return bus_reply(
	    g->ctx[c], ack, ack_pack(ack, *answer == '\0' ? NULL : answer));
}

/* Receive one Decoded within ms on a fresh context and note it under
 * its p-N; a retry of a profile already answered is answered again.
 * Returns N, or -1 if nothing came. */
static int
agg_recv(struct agg *g, int ms)
{
	Profpipe__Decoded *d;
	const void *req;
	size_t len;
	int c;
	int n;

	assert_true(g->nctx < NCTX);
	c = g->nctx;
	if (g->ctx[c] == NULL)
		assert_int_equal(bus_ctx_new(g->s, &g->ctx[c]), 0);
	if (bus_recv(g->ctx[c], &req, &len, ms) != BUS_OK)
		return -1;
	g->nctx++; /* it holds the request now */
	d = profpipe__decoded__unpack(NULL, len, req);
	assert_non_null(d);
	assert_non_null(d->origin);
	assert_int_equal(d->n_samples, 19);
	assert_int_equal(sscanf(d->origin->profile_id, "p-%d", &n), 1);
	profpipe__decoded__free_unpacked(d, NULL);
	assert_true(n >= 1 && n <= NPROF);
	g->seen[n]++;
	g->newest[n] = c;
	if (g->answer[n] != NULL)
		assert_int_equal(agg_reply(g, c, g->answer[n]), 0);
	return n;
}

/* Until p-want has come, 10 s at most. */
static void
agg_expect(struct agg *g, int want)
{
	int i;

	for (i = 0; i < 100 && g->seen[want] == 0; i++)
		agg_recv(g, 100);
	assert_int_not_equal(g->seen[want], 0);
}

static void
agg_answer(struct agg *g, int n, const char *answer)
{
	g->answer[n] = answer;
	assert_int_equal(agg_reply(g, g->newest[n], answer), 0);
}

struct fetcher {
	struct bus_sock *s;
	struct bus_ctx *ctx[NPROF + 1];
	struct reply r[NPROF + 1];
	const uint8_t *body;
	size_t blen;
};

static void
fetcher_send(struct fetcher *f, int n)
{
	char id[16];
	uint8_t *msg;
	size_t len;

	snprintf(id, sizeof(id), "p-%d", n);
	msg = raw_profile(id, f->body, f->blen, &len);
	memset(&f->r[n], 0, sizeof(f->r[n]));
	assert_int_equal(bus_ctx_new(f->s, &f->ctx[n]), 0);
	/* Longer than the test: a resend would muddle what it checks. */
	assert_int_equal(
	    bus_call_async(f->ctx[n], msg, len, 60000, on_reply, &f->r[n]), 0);
	free(msg);
}

/* Wait for the fetcher's reply to p-n, 10 s at most, meanwhile taking
 * what the decoder hands on (its retries among it). */
static void
expect_replied(
    struct fetcher *f, struct agg *g, int n, int status, const char *reason)
{
	int i;

	for (i = 0; i < 100 && !atomic_load(&f->r[n].done); i++)
		agg_recv(g, 100);
	assert_int_equal(wait_reply(&f->r[n], 0), 0);
	assert_int_equal(f->r[n].err, BUS_OK);
	assert_int_equal(f->r[n].status, status);
	if (reason != NULL)
		assert_string_equal(f->r[n].reason, reason);
}

static int
not_replied(struct fetcher *f, int n)
{
	return !atomic_load(&f->r[n].done);
}

static void
test_overlap(void **state)
{
	char raw_url[256];
	char dec_url[256];
	char *args[] = {decoder_bin, "--raw", raw_url, "--decoded", dec_url,
	    "--tap", "ipc:///nonexistent/dir/tap", "--ready-fd", "3",
	    "--drain", "3", "-q", NULL};
	struct fetcher f;
	struct agg g;
	uint8_t *body;
	char err[256];
	int st;
	int i;
	int n;
	pid_t pid;

	(void)state;
	memset(&f, 0, sizeof(f));
	memset(&g, 0, sizeof(g));
	snprintf(raw_url, sizeof(raw_url), "ipc://%s/raw.ipc", stage_dir);
	snprintf(dec_url, sizeof(dec_url), "ipc://%s/decoded.ipc", stage_dir);
	body = du_slurp(CORPUS "/real/goapp-heap.pb.gz", &f.blen);
	assert_non_null(body);
	f.body = body;
	pid = stage_spawn_ready(decoder_bin, args);
	assert_true(pid > 0);
	decoder_pid = pid;
	assert_int_equal(
	    bus_open(&f.s, BUS_REQ, raw_url, 1, err, sizeof(err)), 0);
	assert_int_equal(
	    bus_open(&g.s, BUS_REP, dec_url, 1, err, sizeof(err)), 0);

	/* Each is decoded and handed on while those before wait for their
	 * answers. */
	for (n = 1; n <= S; n++) {
		fetcher_send(&f, n);
		agg_expect(&g, n);
	}
	for (n = 1; n <= S; n++)
		assert_true(not_replied(&f, n));

	/* S in flight: S+1 is not taken until one is answered. */
	fetcher_send(&f, S + 1);
	for (i = 0; i < 3; i++)
		agg_recv(&g, 100);
	assert_int_equal(g.seen[S + 1], 0);
	assert_true(not_replied(&f, 1));

	/* 2's answer frees a slot: 2 is replied to, 1 is not, S+1 comes. */
	agg_answer(&g, 2, "");
	expect_replied(&f, &g, 2, 0, NULL);
	assert_true(not_replied(&f, 1));
	agg_expect(&g, S + 1);
	assert_true(not_replied(&f, 1));

	/* 1's answer, a REJECTED, goes to the fetcher as it is. */
	agg_answer(&g, 1, "too old");
	expect_replied(&f, &g, 1, 1, "too old");

	/* Drain: S+2 in flight beside 3 to S+1. After SIGTERM, their
	 * answers are still passed on, and S+2, held past --drain, is left
	 * to the resend. */
	fetcher_send(&f, S + 2);
	agg_expect(&g, S + 2);
	assert_int_equal(kill(pid, SIGTERM), 0);
	for (n = 3; n <= S + 1; n++)
		agg_answer(&g, n, "");
	for (n = 3; n <= S + 1; n++)
		expect_replied(&f, &g, n, 0, NULL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	decoder_pid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(not_replied(&f, S + 2));

	for (i = 1; i <= NPROF; i++)
		bus_ctx_free(f.ctx[i]);
	for (i = 0; i < NCTX; i++)
		bus_ctx_free(g.ctx[i]);
	bus_close(f.s);
	bus_close(g.s);
	free(body);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlap),
	};
	(void)argc;
	return stage_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
	    argv[0], "/tmp/profpipe-overlap-test-XXXXXX");
}
