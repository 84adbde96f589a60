/*
 * The aggregator's stage over real nng ipc sockets in a scratch directory:
 * the stage runs its loop in a thread; the test is the decoder (a REQ
 * peer sending Decoded) and the exporter (a REP peer that acknowledges,
 * rejects or stays silent). Checked: the decoder's OK comes only after the
 * exporter's; a redelivered profile_id is answered at once and never
 * reaches the exporter again; a result the exporter did not acknowledge
 * leaves the series' baseline as it was; unreadable input is refused
 * upstream; a Decoded by reference is read where the decoder left it, and
 * a large Result goes to the exporter by reference unless the exporter
 * refuses references; at a stop, an unacknowledged profile is given up
 * unanswered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "aggregator/stage.h"
#include "common/ack.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/log.h"
#include "decoder/decode.h"
#include "test_delta_fixture.h"
#include "tests/unit/decode_util.h"

#define WAIT_MS 10000 /* a guard against hanging, never a readiness wait */

/* The stage's stop flag, as SIGTERM sets proc_stopping(). */
static atomic_int stop_flag;

static int
rig_stopping(void)
{
	return atomic_load(&stop_flag);
}

struct rig {
	char dir[64];
	char decoded[128];
	char results[128];
	char tap[128];
	struct bus_sock *exp;
	struct bus_ctx *exp_ctx;
	struct bus_sock *dec;
	struct bus_ctx *dec_ctx;
	struct agg_stage *st;
	pthread_t thread;

	/* the decoder's call in flight */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int err;
	int status;
	char reason[256];
};

static void *
rig_loop(void *arg)
{
	struct rig *r = arg;

	while (!rig_stopping())
		agg_step(r->st, 50);
	return NULL;
}

static struct rig *
rig_start(int drain_ms)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct agg_options o;
	char err[512];

	assert_non_null(r);
	atomic_store(&stop_flag, 0);
	snprintf(r->dir, sizeof(r->dir), "/tmp/profpipe-agg-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(
	    r->decoded, sizeof(r->decoded), "ipc://%s/decoded.ipc", r->dir);
	snprintf(
	    r->results, sizeof(r->results), "ipc://%s/results.ipc", r->dir);
	snprintf(r->tap, sizeof(r->tap), "ipc://%s/aggregator.tap", r->dir);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	/* the exporter listens first, as the supervisor starts it first */
	assert_int_equal(
	    bus_open(&r->exp, BUS_REP, r->results, 1, err, sizeof(err)), 0);
	assert_int_equal(bus_ctx_new(r->exp, &r->exp_ctx), 0);
	agg_options_defaults(&o);
	o.decoded_url = r->decoded;
	o.results_url = r->results;
	o.tap_url = r->tap;
	o.call_timeout_ms = 300;
	o.drain_ms = drain_ms;
	o.stopping = rig_stopping;
	if (agg_open(&r->st, &o, err, sizeof(err)) < 0)
		fail_msg("agg_open: %s", err);
	/* agg_open returned: the stage listens, the decoder may dial */
	assert_int_equal(
	    bus_open(&r->dec, BUS_REQ, r->decoded, 0, err, sizeof(err)), 0);
	assert_int_equal(bus_ctx_new(r->dec, &r->dec_ctx), 0);
	assert_int_equal(pthread_create(&r->thread, NULL, rig_loop, r), 0);
	return r;
}

/* Stop the stage's loop; its counters stay readable until rig_free. */
static void
rig_stop(struct rig *r)
{
	atomic_store(&stop_flag, 1);
	pthread_join(r->thread, NULL);
}

static void
rig_free(struct rig *r)
{
	char path[256];

	agg_close(r->st);
	bus_ctx_free(r->dec_ctx);
	bus_close(r->dec);
	bus_ctx_free(r->exp_ctx);
	bus_close(r->exp);
	snprintf(path, sizeof(path), "%s/decoded.ipc", r->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/results.ipc", r->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/aggregator.tap", r->dir);
	unlink(path);
	rmdir(r->dir);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void
on_reply(void *arg, int err, const void *reply, size_t rlen)
{
	struct rig *r = arg;

	pthread_mutex_lock(&r->mu);
	r->err = err;
	if (err == BUS_OK)
		r->status =
		    ack_read(reply, rlen, r->reason, sizeof(r->reason));
	r->done = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* The decoder sends bytes; its answer arrives in r (decoder_wait). */
static void
decoder_send_bytes(struct rig *r, const void *buf, size_t len, int timeout_ms)
{
	r->done = 0;
	r->reason[0] = '\0';
	assert_int_equal(
	    bus_call_async(r->dec_ctx, buf, len, timeout_ms, on_reply, r), 0);
}

static void
decoder_send(struct rig *r, const struct fx_profile *p)
{
	uint8_t *buf;
	size_t len;

	buf = fx_pack(p, &len);
	assert_non_null(buf);
	decoder_send_bytes(r, buf, len, WAIT_MS);
	free(buf);
}

/* The decoder's answer: 0 OK, 1 REJECTED, or the bus error. */
static int
decoder_wait(struct rig *r)
{
	struct timespec until;
	int rv = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000 + 5;
	pthread_mutex_lock(&r->mu);
	while (!r->done && rv != ETIMEDOUT)
		rv = pthread_cond_timedwait(&r->cv, &r->mu, &until);
	pthread_mutex_unlock(&r->mu);
	if (!r->done)
		fail_msg("the decoder's call never completed");
	return r->err == BUS_OK ? r->status : r->err;
}

static void exporter_answer(struct rig *r, const char *reject_reason);

/* The exporter takes the next Result carrying a profile (free it with
 * profpipe__result__free_unpacked). The fixture's profiles start in
 * 1970, so their time windows close at once: windows and metrics met on
 * the way are acknowledged and passed over. */
static Profpipe__Result *
exporter_take(struct rig *r)
{
	Profpipe__Result *res;
	const void *req;
	size_t len;

	for (;;) {
		assert_int_equal(
		    bus_recv(r->exp_ctx, &req, &len, WAIT_MS), BUS_OK);
		res = profpipe__result__unpack(NULL, len, req);
		assert_non_null(res);
		if (res->profile != NULL)
			return res;
		assert_true(res->window != NULL || res->metrics != NULL);
		profpipe__result__free_unpacked(res, NULL);
		exporter_answer(r, NULL);
	}
}

static void
exporter_answer(struct rig *r, const char *reject_reason)
{
	uint8_t ack[ACK_MAX];

	assert_int_equal(
	    bus_reply(r->exp_ctx, ack, ack_pack(ack, reject_reason)), BUS_OK);
}

/* Send p, check the exporter gets it with the id, acknowledge, and check
 * the decoder's OK. Returns the Result for more checks. */
static Profpipe__Result *
hand_through(struct rig *r, const struct fx_profile *p)
{
	Profpipe__Result *res;

	decoder_send(r, p);
	res = exporter_take(r);
	assert_string_equal(res->profile->origin->profile_id, p->id);
	exporter_answer(r, NULL);
	assert_int_equal(decoder_wait(r), 0);
	return res;
}

static const struct fx_stack s1[] = {
    {.hash = 0x10, .v = {10, 1000, 1, 100}},
    {.hash = 0x20, .v = {5, 500, 0, 0}},
};
static const struct fx_profile p1 = {
    "11111111-1111-4111-8111-111111111111", NULL, "mem", 0, 1000, s1, 2};
static const struct fx_stack s2[] = {
    {.hash = 0x10, .v = {14, 1400, 1, 100}},
    {.hash = 0x20, .v = {6, 600, 0, 0}},
};
static const struct fx_profile p2 = {
    "22222222-2222-4222-8222-222222222222", NULL, "mem", 0, 2000, s2, 2};
static const struct fx_stack s3[] = {
    {.hash = 0x10, .v = {20, 2000, 1, 100}},
    {.hash = 0x20, .v = {6, 600, 0, 0}},
};
static const struct fx_profile p3 = {
    "33333333-3333-4333-8333-333333333333", NULL, "mem", 0, 3000, s3, 2};

static void
test_acked_then_redelivery_answered_at_once(void **state)
{
	struct rig *r = rig_start(10000);
	Profpipe__Result *res;

	(void)state;
	res = hand_through(r, &p1);
	assert_true(res->profile->sample_types[FX_AO]->absent);
	assert_int_equal(fx_val(res->profile, 0x10, FX_IS), 100);
	profpipe__result__free_unpacked(res, NULL);

	res = hand_through(r, &p2);
	assert_false(res->profile->sample_types[FX_AO]->absent);
	assert_int_equal(fx_val(res->profile, 0x10, FX_AO), 4);
	assert_int_equal(fx_val(res->profile, 0x20, FX_AS), 100);
	profpipe__result__free_unpacked(res, NULL);

	/* nng resends p2: OK at once, and the exporter never sees it */
	decoder_send(r, &p2);
	assert_int_equal(decoder_wait(r), 0);

	/* the exporter's next message is p3, its delta against p2 once */
	res = hand_through(r, &p3);
	assert_int_equal(fx_val(res->profile, 0x10, FX_AO), 6);
	assert_int_equal(fx_val(res->profile, 0x10, FX_AS), 600);
	assert_int_equal(fx_find(res->profile, 0x20, NULL), -1);
	profpipe__result__free_unpacked(res, NULL);

	rig_stop(r);
	assert_int_equal(agg_stats(r->st)->received, 4);
	assert_int_equal(agg_stats(r->st)->duplicates, 1);
	assert_int_equal(agg_stats(r->st)->handed_on, 3);
	rig_free(r);
}

static void
test_baseline_commits_only_on_ack(void **state)
{
	struct rig *r = rig_start(10000);
	Profpipe__Result *res;

	(void)state;
	profpipe__result__free_unpacked(hand_through(r, &p1), NULL);

	/* The exporter takes p2 and stays silent: the stage sends it again,
	 * with the same delta (nothing was committed meanwhile). */
	decoder_send(r, &p2);
	res = exporter_take(r);
	assert_int_equal(fx_val(res->profile, 0x10, FX_AO), 4);
	profpipe__result__free_unpacked(res, NULL);
	res = exporter_take(r);
	assert_string_equal(res->profile->origin->profile_id, p2.id);
	assert_int_equal(fx_val(res->profile, 0x10, FX_AO), 4);
	profpipe__result__free_unpacked(res, NULL);
	/* then refuses it for good: so does the stage, with the reason */
	exporter_answer(r, "disk full");
	assert_int_equal(decoder_wait(r), 1);
	assert_string_equal(r->reason, "disk full");

	/* p2 never became the baseline: p3's delta is against p1 */
	res = hand_through(r, &p3);
	assert_int_equal(fx_val(res->profile, 0x10, FX_AO), 10);
	assert_int_equal(fx_val(res->profile, 0x10, FX_AS), 1000);
	assert_int_equal(fx_val(res->profile, 0x20, FX_AO), 1);
	profpipe__result__free_unpacked(res, NULL);

	rig_stop(r);
	assert_true(agg_stats(r->st)->exporter_retries >= 1);
	assert_int_equal(agg_stats(r->st)->exporter_rejected, 1);
	assert_int_equal(agg_stats(r->st)->handed_on, 2);
	rig_free(r);
}

static void
test_unreadable_refused_upstream(void **state)
{
	static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f};
	struct rig *r = rig_start(10000);

	(void)state;
	decoder_send_bytes(r, junk, sizeof(junk), WAIT_MS);
	assert_int_equal(decoder_wait(r), 1);
	assert_non_null(strstr(r->reason, "not a readable Decoded"));
	/* the exporter saw nothing of it: its first message is p1 */
	profpipe__result__free_unpacked(hand_through(r, &p1), NULL);
	rig_stop(r);
	assert_int_equal(agg_stats(r->st)->rejected, 1);
	rig_free(r);
}

/* A Decoded by reference (as the decoder sends a large one) is read in
 * the sender's memfd; one the stage cannot read is refused upstream with
 * BYREF_REASON, which sends the decoder back to inline messages. */
static void
test_by_reference(void **state)
{
	Profpipe__MemfdRef ref = PROFPIPE__MEMFD_REF__INIT;
	Profpipe__Decoded bad = PROFPIPE__DECODED__INIT;
	struct rig *r = rig_start(10000);
	struct byref_out out;
	Profpipe__Result *res;
	uint8_t msg[BYREF_MSG_MAX];
	uint8_t *buf;
	size_t len;
	char err[256];

	(void)state;
	assert_int_equal(byref_out_open(&out, 1 << 20, err, sizeof(err)), 0);
	buf = fx_pack(&p1, &len);
	assert_non_null(buf);
	memcpy(out.base, buf, len);
	free(buf);
	decoder_send_bytes(r, msg, byref_out_message(&out, len, msg), WAIT_MS);
	res = exporter_take(r);
	assert_string_equal(res->profile->origin->profile_id, p1.id);
	assert_int_equal(fx_val(res->profile, 0x10, FX_IS), 100);
	profpipe__result__free_unpacked(res, NULL);
	exporter_answer(r, NULL);
	assert_int_equal(decoder_wait(r), 0);

	/* The same memfd under another inode's name: refused, unread. */
	ref.pid = (uint32_t)getpid();
	ref.fd = (uint32_t)out.fd;
	ref.inode = out.ino + 1;
	ref.len = len;
	bad.by_ref = &ref;
	decoder_send_bytes(
	    r, msg, protobuf_c_message_pack(&bad.base, msg), WAIT_MS);
	assert_int_equal(decoder_wait(r), 1);
	assert_memory_equal(r->reason, BYREF_REASON, strlen(BYREF_REASON));
	/* the exporter saw nothing of it: its next message is p2 */
	profpipe__result__free_unpacked(hand_through(r, &p2), NULL);

	rig_stop(r);
	assert_int_equal(agg_stats(r->st)->rejected, 1);
	assert_int_equal(agg_stats(r->st)->handed_on, 2);
	rig_free(r);
	byref_out_close(&out);
}

/* A profile decoded from the corpus, packed as the decoder sends it. */
static uint8_t *
big_decoded(const char *file, const char *id, size_t *len)
{
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	Profpipe__Decoded d = PROFPIPE__DECODED__INIT;
	struct decode_limits lim;
	struct decoder *dec;
	struct arena *a;
	uint8_t *body;
	uint8_t *buf;
	size_t blen;
	char err[256];

	body = du_slurp(file, &blen);
	assert_non_null(body);
	decode_limits_default(&lim);
	assert_int_equal(decoder_new(&dec, &lim), 0);
	a = arena_new(decode_arena_cap(&lim));
	assert_non_null(a);
	assert_int_equal(
	    decoder_run(dec, body, blen, a, &d, err, sizeof(err)), DECODE_OK);
	o.profile_id = (char *)id;
	o.source = "pull";
	o.kind = "cpu";
	o.service = "checkout";
	o.instance = "127.0.0.1:6060";
	d.origin = &o;
	*len = protobuf_c_message_get_packed_size(&d.base);
	buf = malloc(*len);
	assert_non_null(buf);
	protobuf_c_message_pack(&d.base, buf);
	arena_free(a);
	decoder_free(dec);
	free(body);
	return buf;
}

/* The exporter's next message that carries a profile, resolved if it
 * came by reference (*by_ref says which), unpacked into *res; windows and
 * metrics on the way are acknowledged. The bytes stay valid until the
 * next receive or resolve. */
static const void *
exporter_take_any(struct rig *r, struct byref_in *in, size_t *len, int *by_ref,
    Profpipe__Result **res)
{
	const void *req;
	char err[256];

	for (;;) {
		assert_int_equal(
		    bus_recv(r->exp_ctx, &req, len, WAIT_MS), BUS_OK);
		*by_ref = byref_in_resolve(in, &profpipe__result__descriptor,
		    &req, len, err, sizeof(err));
		assert_true(*by_ref >= 0);
		*res = profpipe__result__unpack(NULL, *len, req);
		assert_non_null(*res);
		if ((*res)->profile != NULL)
			return req;
		profpipe__result__free_unpacked(*res, NULL);
		exporter_answer(r, NULL);
	}
}

/* A large Result goes to the exporter by reference; refused as one, the
 * same bytes come inline, and every Result after that too. */
static void
test_result_by_reference(void **state)
{
	struct byref_in *in = byref_in_new();
	struct rig *r = rig_start(10000);
	Profpipe__Result *res;
	const void *got;
	uint8_t *first;
	uint8_t *buf;
	size_t flen;
	size_t len;
	int by_ref;

	(void)state;
	buf = big_decoded(CORPUS "/synth/cpu-large.pb.gz",
	    "44444444-4444-4444-8444-444444444444", &len);
	decoder_send_bytes(r, buf, len, WAIT_MS);
	free(buf);
	got = exporter_take_any(r, in, &flen, &by_ref, &res);
	assert_int_equal(by_ref, 1);
	assert_true(flen >= BYREF_MIN);
	assert_string_equal(res->profile->origin->profile_id,
	    "44444444-4444-4444-8444-444444444444");
	assert_true(res->profile->n_stack_hash > 1000);
	profpipe__result__free_unpacked(res, NULL);
	first = malloc(flen);
	assert_non_null(first);
	memcpy(first, got, flen);

	exporter_answer(r, BYREF_REASON "this test reads no references");
	got = exporter_take_any(r, in, &len, &by_ref, &res);
	assert_int_equal(by_ref, 0);
	assert_int_equal(len, flen);
	assert_memory_equal(got, first, len);
	profpipe__result__free_unpacked(res, NULL);
	exporter_answer(r, NULL);
	assert_int_equal(decoder_wait(r), 0);

	buf = big_decoded(CORPUS "/synth/cpu-large.pb.gz",
	    "55555555-5555-4555-8555-555555555555", &len);
	decoder_send_bytes(r, buf, len, WAIT_MS);
	free(buf);
	exporter_take_any(r, in, &len, &by_ref, &res);
	assert_int_equal(by_ref, 0);
	assert_string_equal(res->profile->origin->profile_id,
	    "55555555-5555-4555-8555-555555555555");
	profpipe__result__free_unpacked(res, NULL);
	exporter_answer(r, NULL);
	assert_int_equal(decoder_wait(r), 0);

	rig_stop(r);
	assert_int_equal(agg_stats(r->st)->handed_on, 2);
	rig_free(r);
	free(first);
	byref_in_free(in);
}

static void
test_stop_gives_up_unanswered(void **state)
{
	struct rig *r = rig_start(200);
	Profpipe__Result *res;
	uint8_t *buf;
	size_t len;

	(void)state;
	profpipe__result__free_unpacked(hand_through(r, &p1), NULL);
	/* the decoder waits 3 s, far longer than the stage's drain */
	buf = fx_pack(&p2, &len);
	decoder_send_bytes(r, buf, len, 3000);
	free(buf);
	res = exporter_take(r);
	profpipe__result__free_unpacked(res, NULL);
	/* SIGTERM while the exporter is silent: the stage drains for
	 * 200 ms, gives p2 up and ends its loop without answering. */
	rig_stop(r);
	assert_int_equal(agg_stats(r->st)->gave_up, 1);
	assert_int_equal(agg_stats(r->st)->handed_on, 1);
	assert_int_equal(decoder_wait(r), BUS_ETIMEDOUT);
	rig_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acked_then_redelivery_answered_at_once),
	    cmocka_unit_test(test_baseline_commits_only_on_ack),
	    cmocka_unit_test(test_unreadable_refused_upstream),
	    cmocka_unit_test(test_by_reference),
	    cmocka_unit_test(test_result_by_reference),
	    cmocka_unit_test(test_stop_gives_up_unanswered),
	};

	log_init("test_series_stage", LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
