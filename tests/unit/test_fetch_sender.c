/*
 * sender: a profile reaches a decoder (a REP peer in a thread, over ipc in
 * a scratch directory) as a RawProfile with every Origin field; acks come
 * back through the loop as exactly the log lines documented; a full pool
 * says so instead of queueing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <ev.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/log.h"
#include "common/wire.pb-c.h"
#include "fetcher/sender.h"

static char dir[] = "/tmp/profpipe-test-sender-XXXXXX";

/* A decoder stand-in: receives n requests, acks each, REJECTED for kind
 * "bad"; keeps the first RawProfile. */
struct peer {
	char url[256];
	int n;
	int got;
	Profpipe__RawProfile *first;
	pthread_t th;
};

static void *
peer_run(void *arg)
{
	struct peer *p = arg;
	struct bus_sock *sock;
	struct bus_ctx *ctx;
	const void *req;
	size_t len;
	uint8_t ack[ACK_MAX];
	Profpipe__RawProfile *rp;
	char err[256];
	int reject;

	if (bus_open(&sock, BUS_REP, p->url, 0, err, sizeof(err)) != 0 ||
	    bus_ctx_new(sock, &ctx) != 0)
		return NULL;
	while (p->got < p->n) {
		if (bus_recv(ctx, &req, &len, 60000) != BUS_OK)
			break;
		rp = profpipe__raw_profile__unpack(NULL, len, req);
		reject = rp == NULL || strcmp(rp->origin->kind, "bad") == 0;
		if (p->first == NULL)
			p->first = rp;
		else
			profpipe__raw_profile__free_unpacked(rp, NULL);
		bus_reply(ctx, ack,
		    ack_pack(ack, reject ? "no sample types" : NULL));
		p->got++;
	}
	bus_ctx_free(ctx);
	bus_close(sock);
	return NULL;
}

static void
on_idle(void *arg)
{
	ev_break(arg, EVBREAK_ALL);
}

static void
on_stuck(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static const struct inputs_label labels[] = {
    {"env", "prod"}, {"service", "checkout"}, {"zone", "a"}};

static void
origin(struct sender_origin *o, const char *id, const char *kind)
{
	memset(o, 0, sizeof(*o));
	o->profile_id = id;
	o->source = "pull";
	o->kind = kind;
	o->service = "checkout";
	o->instance = "127.0.0.1:18689";
	o->job = "checkout-pprof";
	o->target = "http://127.0.0.1:18689/debug/pprof/profile?seconds=9";
	o->labels = labels;
	o->nlabels = 3;
	o->start_ns = 1000;
	o->end_ns = 2000;
	o->is_delta = 1;
}

/* stderr into a file until capture_end, which returns what was logged. */
static void
capture_begin(int *saved)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	*saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *
capture_end(int saved)
{
	char path[300];
	char *text = calloc(1, 65536);
	FILE *f;

	dup2(saved, 2);
	close(saved);
	snprintf(path, sizeof(path), "%s/log", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(text, 1, 65535, f) < 65535);
	fclose(f);
	return text;
}

static void
test_delivers_and_logs(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	static const unsigned char body[] = {0x1f, 0x8b, 1, 2, 3};
	struct sender_stats st;
	struct sender_origin o;
	struct sender *s;
	struct peer p;
	ev_timer guard;
	char err[256];
	char *logged;
	int saved;
	Profpipe__Origin *og;

	(void)state;
	memset(&p, 0, sizeof(p));
	snprintf(p.url, sizeof(p.url), "ipc://%s/raw1.ipc", dir);
	p.n = 3;
	assert_int_equal(
	    sender_new(&s, loop, p.url, NULL, 4, err, sizeof(err)), 0);
	assert_int_equal(pthread_create(&p.th, NULL, peer_run, &p), 0);
	sender_on_idle(s, on_idle, loop);
	assert_int_equal(sender_free_slots(s), 4);

	origin(&o, "11111111-1111-4111-8111-111111111111", "cpu");
	assert_int_equal(sender_submit(s, &o, body, sizeof(body)), 0);
	origin(&o, "22222222-2222-4222-8222-222222222222", "bad");
	assert_int_equal(sender_submit(s, &o, body, sizeof(body)), 0);
	origin(&o, "33333333-3333-4333-8333-333333333333", "mem");
	o.is_delta = 0;
	o.nlabels = 0;
	assert_int_equal(sender_submit(s, &o, body, 2), 0);
	assert_int_equal(sender_inflight(s), 3);
	assert_int_equal(sender_free_slots(s), 1);

	capture_begin(&saved);
	ev_timer_init(&guard, on_stuck, 60.0, 0.0);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	ev_timer_stop(loop, &guard);
	logged = capture_end(saved);

	assert_int_equal(sender_inflight(s), 0);
	sender_stats(s, &st);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.rejected, 1);
	assert_int_equal(st.failed, 0);
	assert_non_null(strstr(logged,
	    "info: 127.0.0.1:18689 cpu: sent "
	    "profile 11111111-1111-4111-8111-111111111111 (5 bytes)\n"));
	assert_non_null(strstr(logged,
	    "info: 127.0.0.1:18689 mem: sent "
	    "profile 33333333-3333-4333-8333-333333333333 (2 bytes)\n"));
	assert_non_null(strstr(logged,
	    "warn: 127.0.0.1:18689 bad: not a "
	    "profile: no sample types\n"));
	free(logged);

	pthread_join(p.th, NULL);
	assert_non_null(p.first);
	og = p.first->origin;
	assert_string_equal(
	    og->profile_id, "11111111-1111-4111-8111-111111111111");
	assert_string_equal(og->source, "pull");
	assert_string_equal(og->kind, "cpu");
	assert_string_equal(og->service, "checkout");
	assert_string_equal(og->instance, "127.0.0.1:18689");
	assert_string_equal(og->job, "checkout-pprof");
	assert_string_equal(og->target,
	    "http://127.0.0.1:18689/debug/pprof/profile?seconds=9");
	assert_int_equal(og->n_labels, 3);
	assert_string_equal(og->labels[0]->key, "env");
	assert_string_equal(og->labels[2]->value, "a");
	assert_int_equal(og->start_ns, 1000);
	assert_int_equal(og->end_ns, 2000);
	assert_true(og->is_delta);
	assert_int_equal(p.first->body.len, sizeof(body));
	assert_memory_equal(p.first->body.data, body, sizeof(body));
	profpipe__raw_profile__free_unpacked(p.first, NULL);
	sender_free(s);
	ev_loop_destroy(loop);
}

static void
test_full_pool_refuses(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sender_origin o;
	struct sender *s;
	char err[256];
	char url[256];
	char tap[256];

	(void)state;
	/* no decoder at all: the two requests wait in nng */
	snprintf(url, sizeof(url), "ipc://%s/raw2.ipc", dir);
	snprintf(tap, sizeof(tap), "ipc://%s/fetcher.tap", dir);
	assert_int_equal(
	    sender_new(&s, loop, url, tap, 2, err, sizeof(err)), 0);
	origin(&o, "44444444-4444-4444-8444-444444444444", "cpu");
	assert_int_equal(sender_submit(s, &o, "x", 1), 0);
	assert_int_equal(sender_submit(s, &o, "x", 1), 0);
	assert_int_equal(sender_free_slots(s), 0);
	assert_int_equal(sender_submit(s, &o, "x", 1), SENDER_EFULL);
	assert_int_equal(sender_inflight(s), 2);
	sender_free(s); /* abandons the two */
	ev_loop_destroy(loop);
}

/* sender_submit_cb: each profile's outcome reaches its callback once,
 * after the log line; with nobody to ack, the time limit ends the wait. */
struct outcomes {
	int n;
	enum sender_outcome got[4];
	char reason[4][128];
};

static void
on_outcome(void *arg, enum sender_outcome outcome, const char *reason)
{
	struct outcomes *oc = arg;

	oc->got[oc->n] = outcome;
	snprintf(oc->reason[oc->n], sizeof(oc->reason[0]), "%s", reason);
	oc->n++;
}

static void
test_callbacks(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sender_origin o;
	struct outcomes oc;
	struct sender *s;
	struct peer p;
	ev_timer guard;
	char err[256];
	char url[256];
	int saved;

	(void)state;
	memset(&oc, 0, sizeof(oc));
	memset(&p, 0, sizeof(p));
	snprintf(p.url, sizeof(p.url), "ipc://%s/raw3.ipc", dir);
	p.n = 2;
	assert_int_equal(
	    sender_new(&s, loop, p.url, NULL, 4, err, sizeof(err)), 0);
	assert_int_equal(pthread_create(&p.th, NULL, peer_run, &p), 0);
	sender_on_idle(s, on_idle, loop);
	origin(&o, "55555555-5555-4555-8555-555555555555", "cpu");
	assert_int_equal(
	    sender_submit_cb(s, &o, "x", 1, -1, on_outcome, &oc), 0);
	capture_begin(&saved);
	ev_timer_init(&guard, on_stuck, 60.0, 0.0);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	free(capture_end(saved));
	assert_int_equal(oc.n, 1);
	assert_int_equal(oc.got[0], SENDER_ACKED);
	origin(&o, "66666666-6666-4666-8666-666666666666", "bad");
	assert_int_equal(
	    sender_submit_cb(s, &o, "x", 1, -1, on_outcome, &oc), 0);
	capture_begin(&saved);
	ev_run(loop, 0);
	free(capture_end(saved));
	assert_int_equal(oc.n, 2);
	assert_int_equal(oc.got[1], SENDER_REJECTED);
	assert_string_equal(oc.reason[1], "no sample types");
	pthread_join(p.th, NULL);
	sender_free(s);
	if (p.first != NULL)
		profpipe__raw_profile__free_unpacked(p.first, NULL);

	/* Nobody listening: the limit turns the wait into SENDER_FAILED. */
	snprintf(url, sizeof(url), "ipc://%s/raw4.ipc", dir);
	assert_int_equal(
	    sender_new(&s, loop, url, NULL, 1, err, sizeof(err)), 0);
	sender_on_idle(s, on_idle, loop);
	assert_int_equal(
	    sender_submit_cb(s, &o, "x", 1, 50, on_outcome, &oc), 0);
	capture_begin(&saved);
	ev_run(loop, 0);
	free(capture_end(saved));
	ev_timer_stop(loop, &guard);
	assert_int_equal(oc.n, 3);
	assert_int_equal(oc.got[2], SENDER_FAILED);
	assert_int_equal(sender_inflight(s), 0);
	sender_free(s);
	ev_loop_destroy(loop);
}

static void
test_bad_addresses(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sender *s;
	char err[256];
	char url[256];

	(void)state;
	/* a scheme nng does not know: the configuration's fault */
	assert_int_equal(
	    sender_new(&s, loop, "nope://x", NULL, 2, err, sizeof(err)),
	    BUS_EINVAL);
	assert_non_null(strstr(err, "nope://x"));
	snprintf(url, sizeof(url), "ipc://%s/raw3.ipc", dir);
	assert_int_equal(
	    sender_new(&s, loop, url, NULL, 0, err, sizeof(err)), -1);
	ev_loop_destroy(loop);
}

static int
setup(void **state)
{
	(void)state;
	log_init("profpipe-fetcher", LOG_INFO);
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delivers_and_logs),
	    cmocka_unit_test(test_full_pool_refuses),
	    cmocka_unit_test(test_callbacks),
	    cmocka_unit_test(test_bad_addresses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
