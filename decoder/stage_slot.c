/*
 * stage_slot: one profile's way through a decoder slot (see stage.c):
 * decoded from its request, packed and offered to the aggregator (inline
 * or by reference), published, answered upstream.
 */
#include "decoder/stage_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/log.h"
#include "decoder/decode_metrics_json.h"
#include "decoder/memstats.h"
#include "decoder/raw_view.h"

double
dstage_now_ms(void)
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
void
dslot_received(void *arg, int err, const void *req, size_t len)
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
void
dslot_abandon(struct stage *st, struct slot *s)
{
	st->abandoned++;
	if (s->by_ref)
		byref_out_close(&s->out);
	s->by_ref = 0;
	s->state = SLOT_FREE;
}

/* A decoded profile on its way out: its frames 16-bit in nw when the
 * decode left them so (decode.h), widened only as they are packed. */
struct dout {
	Profpipe__Decoded d;
	struct decode_narrow nw;
};

/* bus_fill_fn: packs a Decoded into the bytes given. */
static void
slot_pack(void *arg, void *buf, size_t len)
{
	const struct dout *o = arg;

	(void)len;
	decode_pack(&o->d, &o->nw, buf);
}

/* Room for n bytes in the slot's buffer: 0, or -1 out of memory. */
static int
slot_room(struct slot *s, size_t n)
{
	uint8_t *b;

	if (n <= s->buf_cap)
		return 0;
	b = realloc(s->buf, n);
	if (b == NULL)
		return -1;
	s->buf = b;
	s->buf_cap = n;
	return 0;
}

/* Whether memfd a is a better place than b for n bytes: one whose pages
 * already hold n bytes (the fewest to spare, so that a larger one stays
 * for a larger profile); else the one that holds the most. */
static int
slot_fits_better(
    const struct byref_out *a, const struct byref_out *b, size_t n)
{
	size_t ha = a->fd >= 0 ? a->high : 0;
	size_t hb = b->fd >= 0 ? b->high : 0;

	if ((ha >= n) != (hb >= n))
		return ha >= n;
	return ha >= n ? ha < hb : ha > hb;
}

/* Give s the idle memfd (any slot's but one whose profile the aggregator
 * has) that best fits n bytes, trading its own for it. Pages written
 * once stay (until the budget of slot_done takes them back), so a large
 * profile packed into a memfd that held one as large faults in no page;
 * each slot keeping its own memfd faulted in 80-110 pages a profile
 * in pipebench's mix under the budget (stage_int.h). */
static void
slot_fit_ref(struct stage *st, struct slot *s, size_t n)
{
	struct slot *best = s;
	struct slot *o;
	struct byref_out t;
	int i;

	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		o = &st->slots[i];
		if (o != s && o->state != SLOT_WAITING &&
		    slot_fits_better(&o->out, &best->out, n))
			best = o;
	}
	if (best == s)
		return;
	t = s->out;
	s->out = best->out;
	best->out = t;
}

/* Pack dec into the idle memfd that fits it best and name it: 0, or -1
 * when no memfd can be made, after which every profile goes inline. */
static int
slot_pack_ref(struct stage *st, struct slot *s, struct dout *dec)
{
	char err[256];

	slot_fit_ref(st, s, s->n);
	s->ref_n = byref_out_fill(&s->out, BUS_MAX_MSG, s->n, slot_pack, dec,
	    s->ref, err, sizeof(err));
	if (s->ref_n == 0) {
		log_warn("%s: sending decoded profiles inline", err);
		st->byref = 0;
		return -1;
	}
	return 0;
}

/* The aggregator refused a reference: the bytes come inline from now on.
 * 0, or -1 out of memory. */
static int
slot_unref(struct stage *st, struct slot *s)
{
	st->byref = 0;
	if (slot_room(s, s->n) < 0)
		return -1;
	memcpy(s->buf, s->out.base, s->n);
	s->by_ref = 0;
	byref_out_close(&s->out);
	return 0;
}

static void
slot_name(char *dst, const char *src)
{
	snprintf(dst, SLOT_NAME_MAX, "%s", or_dash(src));
}

/* Pack the slot's Decoded where it will be sent from, and note what the
 * logs name it by: the arena holding d is the next profile's. 0, or -1
 * with the reason in err. */
static int
slot_keep(struct stage *st, struct slot *s, struct dout *out, char *err,
    size_t errlen)
{
	const Profpipe__Decoded *d = &out->d;
	const Profpipe__Origin *o = d->origin;

	slot_name(s->target, o ? o->target : NULL);
	slot_name(s->kind, o ? o->kind : NULL);
	slot_name(s->id, o ? o->profile_id : NULL);
	s->n_stacks = d->n_stack_hash;
	s->n = decode_packed_size(d, &out->nw);
	/* Deterministic: the aggregator's socket would drop the connection
	 * on it, every time it is resent. */
	if (s->n > BUS_MAX_MSG) {
		snprintf(err, errlen,
		    "decoded profile of %zu bytes: over the %zu-byte message "
		    "cap",
		    s->n, BUS_MAX_MSG);
		return -1;
	}
	s->by_ref =
	    st->byref && s->n >= BYREF_MIN && slot_pack_ref(st, s, out) == 0;
	if (s->by_ref)
		return 0;
	if (slot_room(s, s->n) < 0) {
		snprintf(err, errlen,
		    "out of memory for the decoded profile's %zu bytes", s->n);
		return -1;
	}
	decode_pack(d, &out->nw, s->buf);
	return 0;
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
		left = st->deadline - dstage_now_ms();
		if (left <= 0) {
			log_warn("aggregator: no answer in the drain time; "
			         "leaving the profile to the fetcher's "
			         "resend");
			dslot_abandon(st, s);
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
		rv = bus_call_async(
		    s->downc, s->buf, s->n, s->timeout, slot_answered, s);
	if (rv != BUS_OK) {
		log_error("aggregator: %s", bus_strerror(rv));
		dslot_abandon(st, s);
	}
}

/* The slot's request came: decode it and send it on (or reject it). The
 * body is read where it arrived (raw_view), into the stage's arena, and
 * the Decoded packed once, into the slot (slot_keep): the arena is free
 * for the next profile while this one waits for the aggregator. */
void
dslot_start(struct stage *st, struct slot *s)
{
	Profpipe__RawProfile *raw = NULL;
	const Profpipe__Origin *o;
	struct dout out;
	Profpipe__Decoded *d = &out.d;
	ProtobufCAllocator pa;
	char err[ACK_MAX];
	int rv;

	arena_reset(st->a);
	out.nw.ids = NULL;
	/* A large raw profile by reference: read where the fetcher left it,
	 * which stays put until this slot answers (common/byref.h). */
	if (byref_in_resolve(st->in, &profpipe__raw_profile__descriptor,
	        &s->req, &s->len, err, sizeof(err)) < 0) {
		log_warn("fetcher: %s", err);
		slot_reject(st, s, err);
		return;
	}
	if (s->len <= st->max_raw) {
		arena_pb_allocator(st->a, &pa);
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
		    raw->body.data, raw->body.len, st->a, d, err, sizeof(err));
	else if (o != NULL && o->kind != NULL &&
	    strcmp(o->kind, "metrics") == 0) /* pushed metrics.json */
		rv = metrics_json_decode(
		    raw->body.data, raw->body.len, st->a, d, err, sizeof(err));
	else
		rv = decoder_run_narrow(st->dec, raw->body.data, raw->body.len,
		    st->a, d, &out.nw, err, sizeof(err));
	if (rv == 0) {
		d->origin = raw->origin;
		rv = slot_keep(st, s, &out, err, sizeof(err));
	}
	if (rv != 0) {
		log_warn("%s %s %s: %s", or_dash(o ? o->target : NULL),
		    or_dash(o ? o->kind : NULL),
		    or_dash(o ? o->profile_id : NULL), err);
		slot_reject(st, s, err);
		return;
	}
	slot_send(st, s);
}

/* The slot is answered upstream: a large profile's bytes go back, and
 * its memfd's pages past what the stage may keep (STAGE_KEEP_REF, less
 * what the other slots' memfds hold). */
static void
slot_done(struct stage *st, struct slot *s)
{
	size_t others = 0, keep = 0;
	int i;

	if (s->by_ref) {
		for (i = 0; i < DECODER_STAGE_SLOTS; i++)
			if (&st->slots[i] != s)
				others += st->slots[i].out.high;
		if (others < STAGE_KEEP_REF)
			keep = STAGE_KEEP_REF - others;
		byref_out_release(
		    &s->out, keep < SLOT_KEEP_REF ? keep : SLOT_KEEP_REF);
	}
	if (s->buf_cap > SLOT_KEEP) {
		free(s->buf);
		s->buf = NULL;
		s->buf_cap = 0;
	}
	s->by_ref = 0;
	s->state = SLOT_FREE;
}

/* The aggregator's answer to the slot's profile: publish, count, reply. */
void
dslot_finish(struct stage *st, struct slot *s)
{
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
		dslot_abandon(st, s);
		return;
	}
	if (s->status != 0 && s->by_ref && byref_refused(s->reason)) {
		log_warn("aggregator: %s; sending decoded profiles inline",
		    s->reason);
		if (slot_unref(st, s) < 0) {
			log_error("out of memory for a decoded profile's %zu "
			          "bytes",
			    s->n);
			dslot_abandon(st, s);
			return;
		}
		slot_send(st, s);
		return;
	}
	if (s->status == 0) {
		if (st->tap != NULL)
			bus_publish(
			    st->tap, s->by_ref ? s->out.base : s->buf, s->n);
		st->decoded++;
		log_debug("%s %s %s: %zu stacks", s->target, s->kind, s->id,
		    s->n_stacks);
	} else {
		log_warn("%s %s %s: aggregator rejected it: %s", s->target,
		    s->kind, s->id, s->reason);
		st->rejected++;
	}
	bus_reply(
	    s->upc, ack, ack_pack(ack, s->status == 0 ? NULL : s->reason));
	slot_done(st, s);
}

void
dslot_free(struct slot *s)
{
	byref_out_close(&s->out);
	free(s->buf);
	s->buf = NULL;
	s->buf_cap = 0;
}
