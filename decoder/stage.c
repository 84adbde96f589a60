/*
 * stage: the decoder stage's loop. A profile goes through one slot: receive
 * it, decode it into the slot's arena, pack the Decoded, hand it to the
 * aggregator (retrying until it answers; after SIGTERM for --drain at
 * most), publish it on the tap, and reply to the fetcher with the
 * aggregator's answer or the decoder's own REJECTED.
 *
 * Two slots, so the core does not sit idle while the aggregator (and the
 * exporter behind it) works on a profile: once profile i is handed off,
 * profile i+1 is received and decoded while i's answer is pending. The
 * decoding is still one at a time, on this thread; nng's threads only note
 * that a request or an answer came and wake the loop. A request is received
 * only when a slot is free and nothing else is being received, so the
 * decoder never takes a profile it cannot start on at once, and the
 * fetcher's nng keeps spreading profiles over the decoders that are free.
 *
 * Each slot has its own REP context (its request stays held, unanswered,
 * until the hand-off completes: the raw body is read where it arrived), REQ
 * context and arena (its Decoded lives until then, and is packed straight
 * into each message sent; the arena is reset only when the slot takes its
 * next profile). --max-memory is split between the arenas, so it bounds
 * all the decoding; the messages in flight, one request and one Decoded
 * per slot at most, come on top.
 *
 * Over ipc, a Decoded of BYREF_MIN bytes or more is packed once into the
 * slot's memfd and the aggregator is sent only a reference to it
 * (common/byref.h): the memfd keeps the pages of the largest Decoded the
 * slot has sent, instead of nng allocating a message for each. A raw
 * profile may come the same way: the slot reads it in the fetcher's
 * memfd, which stays put until the slot answers.
 */
#include "decoder/stage.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/ack.h"
#include "common/arena.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/wire.pb-c.h"
#include "decoder/decode.h"
#include "decoder/decode_metrics_json.h"
#include "decoder/memstats.h"
#include "decoder/raw_view.h"

#define TICK_MS 200         /* how soon SIGTERM is noticed */
#define FORWARD_MS 1000     /* one try at the aggregator */
#define RAW_SLACK (1 << 20) /* a RawProfile's origin, beyond its body */

enum slot_state {
	SLOT_FREE,
	SLOT_RECEIVING, /* bus_recv_async pending on upc */
	SLOT_WAITING,   /* bus_call_async pending on downc */
};

struct stage;

struct slot {
	struct stage *st;
	struct bus_ctx *upc;
	struct bus_ctx *downc;
	struct arena *a;
	/* The fetcher's memfds this slot mapped: one cache per slot, since
	 * a resolved request is read until the slot is free again. */
	struct byref_in *in;
	enum slot_state state; /* the loop's own */
	/* The profile in flight: in a, its request held by upc. */
	const Profpipe__Origin *o;
	Profpipe__Decoded d; /* packed into each message sent */
	size_t n;            /* its packed size */
	/* By reference: d packed into out, ref names it. */
	int by_ref;
	struct byref_out out;
	uint8_t ref[BYREF_MSG_MAX];
	size_t ref_n;
	int timeout;
	/* Filled by the callbacks, under st->mu. */
	int ready;
	int err;
	int status;
	const void *req;
	size_t len;
	char reason[ACK_MAX];
};

struct stage {
	struct bus_sock *up;
	struct bus_sock *down;
	struct bus_sock *tap;
	struct decoder *dec;
	struct slot slots[DECODER_STAGE_SLOTS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int sync_ok; /* mu and cv made */
	int byref;   /* large Decoded messages go by reference */
	size_t max_raw;
	long drain_ms;
	double deadline; /* of the drain; 0 until SIGTERM */
	unsigned long decoded;
	unsigned long rejected;
	unsigned long abandoned;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* On an nng thread: a request came (or the receive failed). */
static void
slot_received(void *arg, int err, const void *req, size_t len)
{
	struct slot *s = arg;

	pthread_mutex_lock(&s->st->mu);
	s->err = err;
	s->req = req;
	s->len = len;
	s->ready = 1;
	pthread_cond_signal(&s->st->cv);
	pthread_mutex_unlock(&s->st->mu);
}

/* On an nng thread: the aggregator answered (or the try ran out). */
static void
slot_answered(void *arg, int err, const void *rep, size_t rlen)
{
	struct slot *s = arg;
	int status = -1;

	if (err == BUS_OK)
		status = ack_read(rep, rlen, s->reason, sizeof(s->reason));
	pthread_mutex_lock(&s->st->mu);
	s->err = err;
	s->status = status;
	s->ready = 1;
	pthread_cond_signal(&s->st->cv);
	pthread_mutex_unlock(&s->st->mu);
}

static void
slot_reject(struct stage *st, struct slot *s, const char *err)
{
	uint8_t ack[ACK_MAX];

	st->rejected++;
	bus_reply(s->upc, ack, ack_pack(ack, err));
	s->state = SLOT_FREE;
}

/* No reply upstream: the fetcher's nng resends the profile. The
 * aggregator may yet read a reference it holds, so the slot's memfd is
 * left to it and the slot gets a fresh one. */
static void
slot_abandon(struct stage *st, struct slot *s)
{
	st->abandoned++;
	if (s->by_ref)
		byref_out_close(&s->out);
	s->state = SLOT_FREE;
}

/* Pack the slot's Decoded into its memfd and name it: 0, or -1 when no
 * memfd can be made, after which every profile goes inline. */
static int
slot_pack_ref(struct stage *st, struct slot *s)
{
	char err[256];

	if (s->out.fd < 0 &&
	    byref_out_open(&s->out, BUS_MAX_MSG, err, sizeof(err)) != 0) {
		log_warn("%s: sending decoded profiles inline", err);
		st->byref = 0;
		return -1;
	}
	protobuf_c_message_pack(&s->d.base, s->out.base);
	s->ref_n = byref_out_message(&s->out, s->n, s->ref);
	return 0;
}

/* Packs the slot's Decoded straight into the message nng sends (no copy
 * of megabytes per profile; a retry packs it again). */
static void
slot_pack(void *arg, void *buf, size_t len)
{
	struct slot *s = arg;

	(void)len;
	protobuf_c_message_pack(&s->d.base, buf);
}

/* One try at handing the slot's profile to the aggregator; after SIGTERM,
 * only within the drain time. */
static void
slot_send(struct stage *st, struct slot *s)
{
	double left;
	int rv;

	s->timeout = FORWARD_MS;
	if (st->deadline != 0) {
		left = st->deadline - now_ms();
		if (left <= 0) {
			log_warn("aggregator: no answer in the drain time; "
			         "leaving the profile to the fetcher's "
			         "resend");
			slot_abandon(st, s);
			return;
		}
		if (left < s->timeout)
			s->timeout = (int)left + 1;
	}
	s->state = SLOT_WAITING;
	if (s->by_ref)
		rv = bus_call_async(
		    s->downc, s->ref, s->ref_n, s->timeout, slot_answered, s);
	else
		rv = bus_call_async_fill(s->downc, s->n, slot_pack, s,
		    s->timeout, slot_answered, s);
	if (rv != BUS_OK) {
		log_error("aggregator: %s", bus_strerror(rv));
		slot_abandon(st, s);
	}
}

/* The slot's request came: decode it and send it on (or reject it). The
 * body is read where it arrived (raw_view), and the Decoded is packed
 * where it leaves (slot_pack): no copy of either. */
static void
slot_start(struct stage *st, struct slot *s)
{
	Profpipe__RawProfile *raw = NULL;
	const Profpipe__Origin *o;
	Profpipe__Decoded *d = &s->d;
	ProtobufCAllocator pa;
	char err[ACK_MAX];
	int rv;

	arena_reset(s->a);
	/* A large raw profile by reference: read where the fetcher left it,
	 * which stays put until this slot answers (common/byref.h). */
	if (byref_in_resolve(s->in, &profpipe__raw_profile__descriptor,
	        &s->req, &s->len, err, sizeof(err)) < 0) {
		log_warn("fetcher: %s", err);
		slot_reject(st, s, err);
		return;
	}
	if (s->len <= st->max_raw) {
		arena_pb_allocator(s->a, &pa);
		raw = raw_view(s->req, s->len, &pa);
	}
	if (raw == NULL) {
		snprintf(err, sizeof(err),
		    s->len > st->max_raw
		        ? "a raw profile message of %zu bytes: over the cap"
		        : "unreadable raw profile message (%zu bytes)",
		    s->len);
		log_warn("%s", err);
		slot_reject(st, s, err);
		return;
	}
	o = raw->origin;
	/* heap?debug=1 text: its MemStats tail only (memstats.h). */
	if (o != NULL && o->kind != NULL && strcmp(o->kind, "memstats") == 0)
		rv = memstats_decode(
		    raw->body.data, raw->body.len, s->a, d, err, sizeof(err));
	else if (o != NULL && o->kind != NULL &&
	    strcmp(o->kind, "metrics") == 0) /* pushed metrics.json */
		rv = metrics_json_decode(
		    raw->body.data, raw->body.len, s->a, d, err, sizeof(err));
	else
		rv = decoder_run(st->dec, raw->body.data, raw->body.len, s->a,
		    d, err, sizeof(err));
	if (rv == 0) {
		d->origin = raw->origin;
		s->n = protobuf_c_message_get_packed_size(&d->base);
		/* Deterministic: the aggregator's socket would drop the
		 * connection on it, every time it is resent. */
		if (s->n > BUS_MAX_MSG) {
			snprintf(err, sizeof(err),
			    "decoded profile of %zu bytes: over the %zu-byte "
			    "message cap",
			    s->n, BUS_MAX_MSG);
			rv = -1;
		}
	}
	if (rv != 0) {
		log_warn("%s %s %s: %s", or_dash(o ? o->target : NULL),
		    or_dash(o ? o->kind : NULL),
		    or_dash(o ? o->profile_id : NULL), err);
		slot_reject(st, s, err);
		return;
	}
	s->o = o;
	s->by_ref =
	    st->byref && s->n >= BYREF_MIN && slot_pack_ref(st, s) == 0;
	slot_send(st, s);
}

/* The aggregator's answer to the slot's profile: publish, count, reply. */
static void
slot_finish(struct stage *st, struct slot *s)
{
	const Profpipe__Origin *o = s->o;
	uint8_t ack[ACK_MAX];

	if (s->err == BUS_ETIMEDOUT) {
		log_debug("aggregator: no answer in %d ms; trying again",
		    s->timeout);
		slot_send(st, s);
		return;
	}
	if (s->err != BUS_OK || s->status < 0) {
		if (s->err != BUS_OK)
			log_error("aggregator: %s", bus_strerror(s->err));
		else
			log_error("aggregator: unreadable reply");
		slot_abandon(st, s);
		return;
	}
	if (s->status != 0 && s->by_ref &&
	    strncmp(s->reason, BYREF_REASON, strlen(BYREF_REASON)) == 0) {
		log_warn("aggregator: %s; sending decoded profiles inline",
		    s->reason);
		st->byref = 0;
		s->by_ref = 0;
		byref_out_close(&s->out);
		slot_send(st, s);
		return;
	}
	if (s->status == 0) {
		if (st->tap != NULL && s->by_ref)
			bus_publish(st->tap, s->out.base, s->n);
		else if (st->tap != NULL)
			bus_publish_fill(st->tap, s->n, slot_pack, s);
		st->decoded++;
		log_debug("%s %s %s: %zu stacks",
		    or_dash(o ? o->target : NULL), or_dash(o ? o->kind : NULL),
		    or_dash(o ? o->profile_id : NULL), s->d.n_stack_hash);
	} else {
		log_warn("%s %s %s: aggregator rejected it: %s",
		    or_dash(o ? o->target : NULL), or_dash(o ? o->kind : NULL),
		    or_dash(o ? o->profile_id : NULL), s->reason);
		st->rejected++;
	}
	bus_reply(
	    s->upc, ack, ack_pack(ack, s->status == 0 ? NULL : s->reason));
	s->state = SLOT_FREE;
}

/* Wait up to ms for a callback; returns its slot (ready cleared) or NULL.
 * Answers come before a new request, so replies upstream are not held up
 * behind a decode. */
static struct slot *
stage_wait(struct stage *st, double ms)
{
	struct slot *got = NULL;
	struct timespec ts;
	long add = ms > 0 ? (long)ms : 0;
	int timed_out = 0;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += add / 1000;
	ts.tv_nsec += (add % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->mu);
	for (;;) {
		for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
			if (st->slots[i].ready &&
			    (got == NULL || got->state == SLOT_RECEIVING))
				got = &st->slots[i];
		}
		if (got != NULL || timed_out)
			break;
		timed_out =
		    pthread_cond_timedwait(&st->cv, &st->mu, &ts) == ETIMEDOUT;
	}
	if (got != NULL)
		got->ready = 0;
	pthread_mutex_unlock(&st->mu);
	return got;
}

/* Receive on a free slot, unless one is receiving already. */
static void
stage_listen(struct stage *st)
{
	struct slot *free_slot = NULL;
	int i;

	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		if (st->slots[i].state == SLOT_RECEIVING)
			return;
		if (st->slots[i].state == SLOT_FREE && free_slot == NULL)
			free_slot = &st->slots[i];
	}
	if (free_slot == NULL)
		return;
	free_slot->state = SLOT_RECEIVING;
	if (bus_recv_async(free_slot->upc, -1, slot_received, free_slot) !=
	    BUS_OK) {
		log_error("fetcher: cannot receive");
		free_slot->state = SLOT_FREE;
		nanosleep(&(struct timespec){0, 100000000}, NULL);
	}
}

static int
stage_waiting(const struct stage *st)
{
	int n = 0;
	int i;

	for (i = 0; i < DECODER_STAGE_SLOTS; i++)
		n += st->slots[i].state == SLOT_WAITING;
	return n;
}

static void
stage_loop(struct stage *st)
{
	struct slot *s;
	double wait;

	for (;;) {
		wait = TICK_MS;
		if (proc_stopping()) {
			if (st->deadline == 0)
				st->deadline = now_ms() + (double)st->drain_ms;
			wait = st->deadline - now_ms();
			if (stage_waiting(st) == 0 || wait <= 0)
				break;
		} else {
			stage_listen(st);
		}
		s = stage_wait(st, wait < TICK_MS ? wait : TICK_MS);
		if (s == NULL)
			continue;
		if (s->state == SLOT_WAITING) {
			slot_finish(st, s);
			continue;
		}
		s->state = SLOT_FREE;
		if (s->err == BUS_ECLOSED)
			break;
		if (s->err != BUS_OK) {
			log_error("fetcher: %s", bus_strerror(s->err));
			nanosleep(&(struct timespec){0, 100000000}, NULL);
			continue;
		}
		/* After SIGTERM, take no more input: the request is left
		 * unanswered, and resent when this decoder's pipe closes. */
		if (proc_stopping())
			slot_abandon(st, s);
		else
			slot_start(st, s);
	}
	/* What the aggregator still holds past the drain time. */
	for (s = st->slots; s < st->slots + DECODER_STAGE_SLOTS; s++) {
		if (s->state != SLOT_WAITING)
			continue;
		log_warn("aggregator: no answer in the drain time; leaving "
		         "the profile to the fetcher's resend");
		slot_abandon(st, s);
	}
}

static int
stage_open(struct stage *st, const struct decoder_opts *o)
{
	char raw[512];
	char decoded[512];
	char tap[512];
	char err[1024];
	int i;

	if ((o->raw == NULL &&
	        proc_default_url(raw, sizeof(raw), "raw.ipc") < 0) ||
	    (o->decoded == NULL &&
	        proc_default_url(decoded, sizeof(decoded), "decoded.ipc") <
	            0) ||
	    (o->tap == NULL && bus_tap_url(tap, sizeof(tap), "decoder") < 0)) {
		log_error("run directory: %m");
		return -1;
	}
	st->byref =
	    strncmp(o->decoded ? o->decoded : decoded, "ipc://", 6) == 0;
	if (bus_open(&st->up, BUS_REP, o->raw ? o->raw : raw, 0, err,
	        sizeof(err)) != 0 ||
	    bus_open(&st->down, BUS_REQ, o->decoded ? o->decoded : decoded, 0,
	        err, sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		if (bus_ctx_new(st->up, &st->slots[i].upc) != 0 ||
		    bus_ctx_new(st->down, &st->slots[i].downc) != 0) {
			log_error("nng: cannot make a context");
			return -1;
		}
	}
	/* Decoders are many, so like their other sockets they dial the tap
	 * and profpipe-tap listens: one tap hears all of them. Until a tap
	 * listens, what is published is dropped. */
	if (bus_open(&st->tap, BUS_PUB, o->tap ? o->tap : tap, 0, err,
	        sizeof(err)) != 0) {
		log_info("tap: %s; running without", err);
		st->tap = NULL;
	}
	return 0;
}

/* The contexts go first: freeing one stops its pending call, whose
 * callback still takes mu. */
static void
stage_close(struct stage *st)
{
	int i;

	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		bus_ctx_free(st->slots[i].upc);
		bus_ctx_free(st->slots[i].downc);
	}
	bus_close(st->up);
	bus_close(st->down);
	bus_close(st->tap);
	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		arena_free(st->slots[i].a);
		byref_out_close(&st->slots[i].out);
		byref_in_free(st->slots[i].in);
	}
	decoder_free(st->dec);
	if (st->sync_ok) {
		pthread_cond_destroy(&st->cv);
		pthread_mutex_destroy(&st->mu);
	}
}

static int
stage_init(struct stage *st, const struct decoder_opts *o)
{
	pthread_condattr_t ca;
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < DECODER_STAGE_SLOTS; i++)
		st->slots[i].out.fd =
		    -1; /* stage_close closes the open ones */
	st->max_raw = o->lim.max_inflated + RAW_SLACK;
	st->drain_ms = o->drain_ms;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		pthread_condattr_destroy(&ca);
		return -1;
	}
	if (pthread_cond_init(&st->cv, &ca) != 0) {
		pthread_mutex_destroy(&st->mu);
		pthread_condattr_destroy(&ca);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	st->sync_ok = 1;
	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		st->slots[i].st = st;
		st->slots[i].a =
		    arena_new(o->max_memory / DECODER_STAGE_SLOTS);
		st->slots[i].in = byref_in_new();
		if (st->slots[i].a == NULL || st->slots[i].in == NULL)
			return -1;
	}
	return decoder_new(&st->dec, &o->lim);
}

int
decoder_stage_run(const struct decoder_opts *o)
{
	struct stage st;

	if (stage_init(&st, o) != 0) {
		log_error("out of memory");
		stage_close(&st);
		return EXIT_SYSTEM;
	}
	proc_signals();
	if (stage_open(&st, o) < 0) {
		stage_close(&st);
		return EXIT_SYSTEM;
	}
	proc_notify_ready((int)o->ready_fd);
	log_info("ready");
	stage_loop(&st);
	log_info("stopping: %lu decoded, %lu rejected, %lu left to resend",
	    st.decoded, st.rejected, st.abandoned);
	proc_exit_watchdog(PROC_CLOSE_SECONDS);
	stage_close(&st);
	return EXIT_OK;
}
