/*
 * sender: the context pool and the completion queue between nng's threads
 * and the loop. Each slot holds at most one completion at a time, so the
 * queue is a ring as long as the pool and can never overflow.
 *
 * Over ipc, a RawProfile of BYREF_MIN bytes or more is packed into the
 * slot's memfd and the decoder is sent a reference (common/byref.h). A
 * slot's memfd is written again only once its request was answered; one
 * whose request failed (the decoder may still be reading it) is dropped.
 */
#include "fetcher/sender.h"

#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/log.h"
#include "common/uuid.h"
#include "common/wire.pb-c.h"
#include "common/xalloc.h"

/* What each slot's memfd keeps between profiles: the pool is up to
 * --inflight plus 64 slots, and a large profile's pages go back. */
#define SENDER_KEEP ((size_t)256 * 1024)

struct sender_slot {
	struct sender *s;
	struct bus_ctx *ctx;
	int busy;
	/* what the log line names */
	char id[UUID_STRLEN + 1];
	char instance[INPUTS_INSTANCE_MAX + 1];
	char kind[16];
	size_t len;
	sender_done_fn done; /* sender_submit_cb's, or NULL */
	void *done_arg;
	/* By reference: the RawProfile (mlen bytes) in out, ref names it. */
	int by_ref;
	int timeout_ms;
	size_t mlen;
	struct byref_out out;
	uint8_t ref[BYREF_MSG_MAX];
	size_t ref_n;
	/* the completion, written on an nng thread under s->mu */
	int err;
	size_t rlen;
	unsigned char reply[ACK_MAX];
};

struct sender {
	struct ev_loop *loop;
	struct bus_sock *raw;
	struct bus_sock *tap;
	struct sender_slot *slots;
	size_t nslots;
	size_t busy;
	ev_async wake;
	pthread_mutex_t mu;
	size_t *ring; /* slot indices done, under mu */
	size_t head;
	size_t count;
	void (*idle_fn)(void *);
	void *idle_arg;
	struct sender_stats st;
	int by_ref_ok; /* large profiles go by reference */
};

/* On an nng thread: record, queue, wake. Nothing else. */
static void
sender_on_reply(void *arg, int err, const void *reply, size_t rlen)
{
	struct sender_slot *slot = arg;
	struct sender *s = slot->s;

	pthread_mutex_lock(&s->mu);
	slot->err = err;
	slot->rlen = 0;
	if (err == BUS_OK && rlen <= sizeof(slot->reply)) {
		memcpy(slot->reply, reply, rlen);
		slot->rlen = rlen;
	} else if (err == BUS_OK) {
		slot->err = BUS_EFAIL; /* no Ack is that long */
	}
	s->ring[(s->head + s->count) % s->nslots] = (size_t)(slot - s->slots);
	s->count++;
	pthread_mutex_unlock(&s->mu);
	ev_async_send(s->loop, &s->wake);
}

/* Log the outcome; reason gets the decoder's for a rejection. */
static enum sender_outcome
sender_report(struct sender *s, struct sender_slot *slot, char *reason)
{
	int rv;

	reason[0] = '\0';
	if (slot->err != BUS_OK) {
		s->st.failed++;
		log_warn("%s %s: profile %s not delivered: %s", slot->instance,
		    slot->kind, slot->id, bus_strerror(slot->err));
		snprintf(reason, ACK_MAX, "%s", bus_strerror(slot->err));
		return SENDER_FAILED;
	}
	rv = ack_read(slot->reply, slot->rlen, reason, ACK_MAX);
	if (rv == 0) {
		s->st.sent++;
		log_info("%s %s: sent profile %s (%zu bytes)", slot->instance,
		    slot->kind, slot->id, slot->len);
		return SENDER_ACKED;
	}
	if (rv == 1) {
		s->st.rejected++;
		log_warn("%s %s: not a profile: %s", slot->instance,
		    slot->kind, reason);
		return SENDER_REJECTED;
	}
	s->st.failed++;
	log_warn("%s %s: profile %s: unreadable reply from the decoder",
	    slot->instance, slot->kind, slot->id);
	snprintf(reason, ACK_MAX, "unreadable reply from the decoder");
	return SENDER_FAILED;
}

/* A completion of a request by reference: 1 when the decoder could not
 * read the reference, and the slot's profile went again, inline. */
static int
sender_ref_done(struct sender *s, struct sender_slot *slot)
{
	char reason[ACK_MAX];
	int rv;

	if (slot->err != BUS_OK) {
		byref_out_close(&slot->out); /* a decoder may still read it */
		return 0;
	}
	if (ack_read(slot->reply, slot->rlen, reason, sizeof(reason)) != 1 ||
	    !byref_refused(reason)) {
		byref_out_release(&slot->out, SENDER_KEEP);
		return 0;
	}
	log_warn("decoder: %s; sending profiles inline", reason);
	s->by_ref_ok = 0;
	slot->by_ref = 0;
	rv = bus_call_async(slot->ctx, slot->out.base, slot->mlen,
	    slot->timeout_ms, sender_on_reply, slot);
	byref_out_close(&slot->out);
	if (rv != BUS_OK) {
		slot->err = rv;
		return 0;
	}
	return 1;
}

/* On the loop: drain the ring one slot at a time. */
static void
sender_on_wake(struct ev_loop *loop, ev_async *w, int revents)
{
	struct sender *s = w->data;
	struct sender_slot *slot;
	enum sender_outcome outcome;
	char reason[ACK_MAX];

	(void)loop;
	(void)revents;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		if (s->count == 0) {
			pthread_mutex_unlock(&s->mu);
			break;
		}
		slot = &s->slots[s->ring[s->head]];
		s->head = (s->head + 1) % s->nslots;
		s->count--;
		pthread_mutex_unlock(&s->mu);
		if (slot->by_ref && sender_ref_done(s, slot))
			continue;
		outcome = sender_report(s, slot, reason);
		slot->busy = 0;
		s->busy--;
		if (slot->done != NULL)
			slot->done(slot->done_arg, outcome, reason);
		if (s->busy == 0 && s->idle_fn != NULL)
			s->idle_fn(s->idle_arg);
	}
}

int
sender_new(struct sender **out, struct ev_loop *loop, const char *raw_url,
    const char *tap_url, int inflight, char *err, size_t errlen)
{
	struct sender *s;
	size_t i;
	int rv = -1;

	if (inflight < 1) {
		snprintf(err, errlen, "inflight must be at least 1");
		return -1;
	}
	s = xcalloc(1, sizeof(*s));
	if (s == NULL)
		goto out_oom;
	s->loop = loop;
	s->nslots = (size_t)inflight;
	s->by_ref_ok = strncmp(raw_url, "ipc://", 6) == 0;
	pthread_mutex_init(&s->mu, NULL);
	ev_async_init(&s->wake, sender_on_wake);
	s->wake.data = s;
	ev_async_start(loop, &s->wake);
	s->slots = xcalloc(s->nslots, sizeof(*s->slots));
	s->ring = xcalloc(s->nslots, sizeof(*s->ring));
	if (s->slots == NULL || s->ring == NULL)
		goto out_free_sender;
	for (i = 0; i < s->nslots; i++)
		s->slots[i].out.fd = -1; /* before sender_free can see it */
	rv = bus_open(&s->raw, BUS_REQ, raw_url, 1, err, errlen);
	if (rv == BUS_OK && tap_url != NULL)
		rv = bus_open(&s->tap, BUS_PUB, tap_url, 1, err, errlen);
	if (rv != BUS_OK)
		goto out_free_sender;
	rv = -1;
	for (i = 0; i < s->nslots; i++) {
		s->slots[i].s = s;
		if (bus_ctx_new(s->raw, &s->slots[i].ctx) != BUS_OK) {
			snprintf(
			    err, errlen, "%s: cannot make a context", raw_url);
			goto out_free_sender;
		}
	}
	*out = s;
	return 0;
out_oom:
	snprintf(err, errlen, "out of memory");
	return -1;
out_free_sender:
	sender_free(s);
	return rv;
}

void
sender_free(struct sender *s)
{
	size_t i;

	if (s == NULL)
		return;
	/* Freeing a context waits for its callback, which may still queue a
	 * completion and wake the loop: the watcher stays until after. */
	for (i = 0; s->slots != NULL && i < s->nslots; i++)
		bus_ctx_free(s->slots[i].ctx);
	for (i = 0; s->slots != NULL && i < s->nslots; i++)
		byref_out_close(&s->slots[i].out);
	bus_close(s->raw);
	bus_close(s->tap);
	ev_async_stop(s->loop, &s->wake);
	pthread_mutex_destroy(&s->mu);
	xfree(s->slots);
	xfree(s->ring);
	xfree(s);
}

static struct sender_slot *
sender_take_slot(struct sender *s)
{
	size_t i;

	if (s->busy == s->nslots)
		return NULL;
	for (i = 0; i < s->nslots; i++) {
		if (!s->slots[i].busy)
			return &s->slots[i];
	}
	return NULL;
}

/* A RawProfile for o and body, ready to be packed straight into the
 * message sent (sender_raw_pack): its structs point into o, body and the
 * label arrays, which sender_raw_free frees. */
struct sender_raw {
	Profpipe__RawProfile rp;
	Profpipe__Origin og;
	Profpipe__Label *labels;
	Profpipe__Label **lp;
};

static void
sender_raw_free(struct sender_raw *r)
{
	xfree(r->labels);
	xfree(r->lp);
}

static int
sender_raw_init(struct sender_raw *r, const struct sender_origin *o,
    const void *body, size_t len)
{
	size_t i;

	profpipe__raw_profile__init(&r->rp);
	profpipe__origin__init(&r->og);
	r->labels = NULL;
	r->lp = NULL;
	if (o->nlabels > 0) {
		r->labels = xcalloc(o->nlabels, sizeof(*r->labels));
		r->lp = xcalloc(o->nlabels, sizeof(*r->lp));
		if (r->labels == NULL || r->lp == NULL) {
			sender_raw_free(r);
			return -1;
		}
	}
	for (i = 0; i < o->nlabels; i++) {
		profpipe__label__init(&r->labels[i]);
		r->labels[i].key = (char *)o->labels[i].key;
		r->labels[i].value = (char *)o->labels[i].value;
		r->lp[i] = &r->labels[i];
	}
	r->og.profile_id = (char *)o->profile_id;
	r->og.source = (char *)o->source;
	r->og.kind = (char *)o->kind;
	r->og.service = (char *)o->service;
	r->og.instance = (char *)o->instance;
	r->og.job = (char *)o->job;
	r->og.target = (char *)o->target;
	r->og.n_labels = o->nlabels;
	r->og.labels = r->lp;
	r->og.start_ns = o->start_ns;
	r->og.end_ns = o->end_ns;
	r->og.is_delta = o->is_delta != 0;
	r->rp.origin = &r->og;
	r->rp.body.data = (uint8_t *)body;
	r->rp.body.len = len;
	return 0;
}

/* bus_fill_fn: the RawProfile into the message nng sends, so the body
 * (megabytes, for a large heap profile) is copied once, not twice. */
static void
sender_raw_pack(void *arg, void *buf, size_t len)
{
	struct sender_raw *r = arg;

	(void)len;
	profpipe__raw_profile__pack(&r->rp, buf);
}

/* Pack r into the slot's memfd and name it: 0, or -1 when no memfd can
 * be had (then this profile goes inline; the next one tries again). */
static int
sender_pack_ref(struct sender_slot *slot, struct sender_raw *r)
{
	char err[256];

	slot->ref_n = byref_out_fill(&slot->out, BUS_MAX_MSG, slot->mlen,
	    sender_raw_pack, r, slot->ref, err, sizeof(err));
	if (slot->ref_n == 0) {
		log_warn("%s: sending a profile inline", err);
		return -1;
	}
	return 0;
}

int
sender_submit(struct sender *s, const struct sender_origin *o,
    const void *body, size_t len)
{
	return sender_submit_cb(s, o, body, len, -1, NULL, NULL);
}

int
sender_submit_cb(struct sender *s, const struct sender_origin *o,
    const void *body, size_t len, int timeout_ms, sender_done_fn done,
    void *arg)
{
	struct sender_slot *slot = sender_take_slot(s);
	struct sender_raw r;
	size_t mlen;
	int rv;

	if (slot == NULL)
		return SENDER_EFULL;
	if (sender_raw_init(&r, o, body, len) < 0) {
		log_warn("%s %s: out of memory packing a profile", o->instance,
		    o->kind);
		return -1;
	}
	mlen = profpipe__raw_profile__get_packed_size(&r.rp);
	snprintf(slot->id, sizeof(slot->id), "%s", o->profile_id);
	snprintf(slot->instance, sizeof(slot->instance), "%s", o->instance);
	snprintf(slot->kind, sizeof(slot->kind), "%s", o->kind);
	slot->len = len;
	slot->done = done;
	slot->done_arg = arg;
	slot->busy = 1;
	s->busy++;
	slot->mlen = mlen;
	slot->timeout_ms = timeout_ms;
	slot->by_ref = s->by_ref_ok && mlen >= BYREF_MIN &&
	    sender_pack_ref(slot, &r) == 0;
	if (slot->by_ref)
		rv = bus_call_async(slot->ctx, slot->ref, slot->ref_n,
		    timeout_ms, sender_on_reply, slot);
	else
		rv = bus_call_async_fill(slot->ctx, mlen, sender_raw_pack, &r,
		    timeout_ms, sender_on_reply, slot);
	if (rv != BUS_OK) {
		slot->busy = 0;
		s->busy--;
		s->st.failed++;
		log_warn("%s %s: profile %s not sent: %s", o->instance,
		    o->kind, o->profile_id, bus_strerror(rv));
		sender_raw_free(&r);
		return -1;
	}
	/* The tap is best effort: a slow subscriber loses copies, never
	 * slows the pipeline. */
	if (s->tap != NULL &&
	    bus_publish_fill(s->tap, mlen, sender_raw_pack, &r) != BUS_OK)
		s->st.tap_dropped++;
	sender_raw_free(&r);
	return 0;
}

size_t
sender_free_slots(const struct sender *s)
{
	return s->nslots - s->busy;
}

size_t
sender_inflight(const struct sender *s)
{
	return s->busy;
}

void
sender_on_idle(struct sender *s, void (*fn)(void *arg), void *arg)
{
	s->idle_fn = fn;
	s->idle_arg = arg;
}

void
sender_stats(const struct sender *s, struct sender_stats *out)
{
	*out = s->st;
}
