/*
 * sender by reference (common/byref.h): over ipc a large RawProfile goes
 * to the decoder (a REP peer in a thread) as a reference to the very bytes
 * an inline one would carry, a small one inline; a decoder that refuses
 * references gets the same bytes inline, the fetcher's caller hears only
 * the final answer, and every later profile goes inline; a request that
 * fails gives up its memfd, which the decoder might still be reading; one
 * answered keeps only the first 256 KB of its pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <ev.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/log.h"
#include "common/wire.pb-c.h"
#include "fetcher/sender.h"

#define BIG ((size_t)1 << 20)
#define MAXREQ 8

static char dir[] = "/tmp/profpipe-test-sender-byref-XXXXXX";

/* A decoder stand-in: answers n requests; with refuse, refuses the first
 * reference as a decoder that cannot open it would. Keeps each request's
 * bytes (resolved) and whether it came by reference. */
struct peer {
	char url[256];
	int n;
	int refuse;
	int got;
	int by_ref[MAXREQ];
	uint8_t *msg[MAXREQ];
	size_t len[MAXREQ];
	pthread_t th;
};

static void *
peer_run(void *arg)
{
	struct peer *p = arg;
	struct byref_in *in = byref_in_new();
	struct bus_sock *sock;
	struct bus_ctx *ctx;
	const void *req;
	size_t len;
	uint8_t ack[ACK_MAX];
	char err[256];
	int k;

	if (in == NULL ||
	    bus_open(&sock, BUS_REP, p->url, 0, err, sizeof(err)) != 0 ||
	    bus_ctx_new(sock, &ctx) != 0)
		return NULL;
	while (p->got < p->n && p->got < MAXREQ) {
		if (bus_recv(ctx, &req, &len, 60000) != BUS_OK)
			break;
		k = byref_in_resolve(in, &profpipe__raw_profile__descriptor,
		    &req, &len, err, sizeof(err));
		p->by_ref[p->got] = k;
		p->msg[p->got] = malloc(len);
		memcpy(p->msg[p->got], req, len);
		p->len[p->got] = len;
		if (k == 1 && p->refuse) {
			p->refuse = 0;
			bus_reply(ctx, ack, ack_pack(ack, BYREF_REASON "no"));
		} else {
			bus_reply(ctx, ack, ack_pack(ack, NULL));
		}
		p->got++;
	}
	bus_ctx_free(ctx);
	bus_close(sock);
	byref_in_free(in);
	return NULL;
}

static void
peer_free(struct peer *p)
{
	int i;

	for (i = 0; i < p->got; i++)
		free(p->msg[i]);
}

struct outcomes {
	int n;
	enum sender_outcome got[4];
	struct ev_loop *loop;
};

static void
on_outcome(void *arg, enum sender_outcome outcome, const char *reason)
{
	struct outcomes *oc = arg;

	(void)reason;
	oc->got[oc->n++] = outcome;
	ev_break(oc->loop, EVBREAK_ALL);
}

static void
origin(struct sender_origin *o, const char *id)
{
	memset(o, 0, sizeof(*o));
	o->profile_id = id;
	o->source = "pull";
	o->kind = "cpu";
	o->service = "checkout";
	o->instance = "127.0.0.1:18689";
	o->job = "checkout-pprof";
	o->target = "http://127.0.0.1:18689/debug/pprof/profile";
}

/* Submit body as id and run the loop until its outcome. */
static void
send_one(struct sender *s, struct outcomes *oc, const char *id,
    const uint8_t *body, size_t len, int timeout_ms)
{
	struct sender_origin o;
	int n = oc->n;

	origin(&o, id);
	assert_int_equal(
	    sender_submit_cb(s, &o, body, len, timeout_ms, on_outcome, oc), 0);
	ev_run(oc->loop, 0);
	assert_int_equal(oc->n, n + 1);
}

/* The peer's request k as a RawProfile: its id and body. */
static void
assert_request(const struct peer *p, int k, const char *id,
    const uint8_t *body, size_t len)
{
	Profpipe__RawProfile *rp =
	    profpipe__raw_profile__unpack(NULL, p->len[k], p->msg[k]);

	assert_non_null(rp);
	assert_string_equal(rp->origin->profile_id, id);
	assert_int_equal(rp->body.len, len);
	assert_memory_equal(rp->body.data, body, len);
	profpipe__raw_profile__free_unpacked(rp, NULL);
}

/* How many of this process's mappings are profpipe memfds. */
static int
memfd_maps(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, "/memfd:profpipe-byref") != NULL;
	fclose(f);
	return n;
}

/* Resident KB of this process's writable profpipe memfd mapping. */
static long
sender_memfd_rss_kb(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo;
	unsigned long hi;
	long kb = -1;
	int in = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) /* a mapping */
			in = strstr(line, " rw-s ") != NULL &&
			    strstr(line, "/memfd:profpipe-byref") != NULL;
		else if (in && strncmp(line, "Rss:", 4) == 0)
			kb = atol(line + 4);
	}
	fclose(f);
	return kb;
}

static uint8_t *
body_of(size_t len)
{
	uint8_t *b = malloc(len);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(i * 31 + 7);
	return b;
}

static void
test_large_by_reference(void **state)
{
	struct outcomes oc = {0};
	struct sender *s;
	struct peer p;
	uint8_t *big = body_of(BIG);
	char err[256];

	(void)state;
	oc.loop = ev_loop_new(EVFLAG_AUTO);
	memset(&p, 0, sizeof(p));
	snprintf(p.url, sizeof(p.url), "ipc://%s/raw1.ipc", dir);
	p.n = 3;
	assert_int_equal(
	    sender_new(&s, oc.loop, p.url, NULL, 2, err, sizeof(err)), 0);
	assert_int_equal(pthread_create(&p.th, NULL, peer_run, &p), 0);
	send_one(s, &oc, "a-1", big, BIG, -1);
	send_one(s, &oc, "a-2", (const uint8_t *)"x", 1, -1);
	send_one(s, &oc, "a-3", big, BIG, -1);
	pthread_join(p.th, NULL);
	/* The slot keeps SENDER_KEEP's 256 KB of it at most. */
	assert_true(sender_memfd_rss_kb() > 0);
	assert_true(sender_memfd_rss_kb() <= 256);
	assert_int_equal(oc.got[0], SENDER_ACKED);
	assert_int_equal(oc.got[1], SENDER_ACKED);
	assert_int_equal(oc.got[2], SENDER_ACKED);
	assert_int_equal(p.by_ref[0], 1);
	assert_int_equal(p.by_ref[1], 0);
	assert_int_equal(p.by_ref[2], 1); /* the slot's memfd again */
	assert_request(&p, 0, "a-1", big, BIG);
	assert_request(&p, 1, "a-2", (const uint8_t *)"x", 1);
	assert_request(&p, 2, "a-3", big, BIG);
	sender_free(s);
	assert_int_equal(memfd_maps(), 0);
	peer_free(&p);
	free(big);
	ev_loop_destroy(oc.loop);
}

static void
test_refused_then_inline(void **state)
{
	struct outcomes oc = {0};
	struct sender *s;
	struct peer p;
	uint8_t *big = body_of(BIG);
	char err[256];

	(void)state;
	oc.loop = ev_loop_new(EVFLAG_AUTO);
	memset(&p, 0, sizeof(p));
	snprintf(p.url, sizeof(p.url), "ipc://%s/raw2.ipc", dir);
	p.n = 3;
	p.refuse = 1;
	assert_int_equal(
	    sender_new(&s, oc.loop, p.url, NULL, 2, err, sizeof(err)), 0);
	assert_int_equal(pthread_create(&p.th, NULL, peer_run, &p), 0);
	send_one(s, &oc, "b-1", big, BIG, -1);
	send_one(s, &oc, "b-2", big, BIG, -1);
	pthread_join(p.th, NULL);
	/* One outcome for b-1, from the inline resend. */
	assert_int_equal(oc.n, 2);
	assert_int_equal(oc.got[0], SENDER_ACKED);
	assert_int_equal(oc.got[1], SENDER_ACKED);
	assert_int_equal(p.by_ref[0], 1);
	assert_int_equal(p.by_ref[1], 0);
	assert_int_equal(p.len[1], p.len[0]);
	assert_memory_equal(p.msg[1], p.msg[0], p.len[0]);
	assert_int_equal(p.by_ref[2], 0);
	assert_request(&p, 2, "b-2", big, BIG);
	sender_free(s);
	peer_free(&p);
	free(big);
	ev_loop_destroy(oc.loop);
}

/* Nobody answers: the request fails and its memfd goes with it. */
static void
test_failed_drops_memfd(void **state)
{
	struct outcomes oc = {0};
	struct sender *s;
	uint8_t *big = body_of(BIG);
	char err[256];
	char url[256];

	(void)state;
	oc.loop = ev_loop_new(EVFLAG_AUTO);
	snprintf(url, sizeof(url), "ipc://%s/raw3.ipc", dir);
	assert_int_equal(
	    sender_new(&s, oc.loop, url, NULL, 1, err, sizeof(err)), 0);
	assert_int_equal(memfd_maps(), 0);
	send_one(s, &oc, "c-1", big, BIG, 50);
	assert_int_equal(oc.got[0], SENDER_FAILED);
	assert_int_equal(memfd_maps(), 0);
	sender_free(s);
	free(big);
	ev_loop_destroy(oc.loop);
}

static int
setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_large_by_reference),
	    cmocka_unit_test(test_refused_then_inline),
	    cmocka_unit_test(test_failed_drops_memfd),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
