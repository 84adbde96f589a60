/*
 * stage: receive -> dedup -> delta -> send -> commit -> reply, the order
 * that makes a redelivery harmless (stage.h). Everything one message
 * needs lives in one arena, reset after it; what outlives it is the
 * series table and the set of ids handed on.
 *
 * Log lines name the series and the profile as
 * "SERVICE INSTANCE KIND PROFILE_ID: what happened".
 */
#include "aggregator/stage.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aggregator/delta.h"
#include "aggregator/series.h"
#include "aggregator/splice.h"
#include "aggregator/timeline.h"
#include "common/ack.h"
#include "common/arena.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/dedup.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/wire.pb-c.h"
#include "common/xalloc.h"

#define AGG_URL_MAX 512
#define AGG_WHO_MAX 512

struct agg_stage {
	struct agg_options opt;
	char decoded_url[AGG_URL_MAX];
	char results_url[AGG_URL_MAX];
	char tap_url[AGG_URL_MAX];
	struct bus_sock *in; /* REP, listening: decoders */
	struct bus_ctx *in_ctx;
	struct bus_sock *out; /* REQ, dialing: the exporter */
	struct bus_ctx *out_ctx;
	struct bus_sock *tap; /* PUB; NULL when it could not listen */
	struct series_table *series;
	struct dedup *seen;     /* profile ids the exporter acknowledged */
	struct byref_in *byref; /* decoders' memfds, mapped */
	/* Results of BYREF_MIN bytes or more go to the exporter by
	 * reference, while by_ref_ok: written into out_ref, named by ref. */
	int by_ref_ok;
	struct byref_out out_ref;
	uint8_t ref[BYREF_MSG_MAX];
	size_t ref_n;
	struct arena *arena;
	struct agg_stats stats;
	struct timeline_opts tl;
	struct timeline_counts tc;
	int64_t last_close_ns; /* wall clock */
	int64_t deadline;      /* monotonic; set at the first stop seen */
};

/* What agg_hand_on learnt from the exporter. */
enum agg_outcome { AGG_ACKED, AGG_REJECTED, AGG_GAVE_UP };

static int64_t
agg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
agg_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
agg_url(
    char *out, const char *given, const char *name, char *err, size_t errlen)
{
	int n;

	if (given == NULL) {
		if (proc_default_url(out, AGG_URL_MAX, name) < 0) {
			snprintf(err, errlen,
			    "%s: cannot make the run directory's address",
			    name);
			return -1;
		}
		return 0;
	}
	n = snprintf(out, AGG_URL_MAX, "%s", given);
	if (n < 0 || n >= AGG_URL_MAX) {
		snprintf(err, errlen, "%.64s...: address too long", given);
		return -1;
	}
	return 0;
}

/* 0, or a bus_err (BUS_EINVAL: an address that cannot work). */
static int
agg_open_sockets(struct agg_stage *st, char *err, size_t errlen)
{
	char why[AGG_URL_MAX + 128];
	int rv;

	rv = bus_open(&st->in, BUS_REP, st->decoded_url, 1, err, errlen);
	if (rv == 0)
		rv = bus_open(
		    &st->out, BUS_REQ, st->results_url, 0, err, errlen);
	if (rv != 0)
		return rv;
	if (bus_ctx_new(st->in, &st->in_ctx) < 0 ||
	    bus_ctx_new(st->out, &st->out_ctx) < 0) {
		snprintf(err, errlen, "nng context: out of memory");
		return BUS_EFAIL;
	}
	/* The tap is best effort: a second aggregator on the host (shards)
	 * finds the address taken, and works on without one. */
	if (bus_open(&st->tap, BUS_PUB, st->tap_url, 1, why, sizeof(why)) < 0)
		log_warn("tap: %s; running without one", why);
	return 0;
}

static void
agg_free(struct agg_stage *st)
{
	bus_ctx_free(st->in_ctx);
	bus_close(st->in);
	bus_ctx_free(st->out_ctx);
	bus_close(st->out);
	bus_close(st->tap);
	series_table_free(st->series);
	dedup_free(st->seen);
	byref_in_free(st->byref);
	byref_out_close(&st->out_ref);
	arena_free(st->arena);
	xfree(st);
}

int
agg_open(struct agg_stage **out, const struct agg_options *o, char *err,
    size_t errlen)
{
	struct agg_stage *st = xcalloc(1, sizeof(*st));
	int rv = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->opt = *o;
	st->out_ref.fd = -1;
	st->tl.len_ns = (int64_t)o->window_s * 1000000000;
	st->tl.grace_ns = (int64_t)o->window_grace_s * 1000000000;
	st->tl.max_stacks = (size_t)o->window_stacks;
	st->tl.merge = o->merge_instances;
	if (agg_url(st->decoded_url, o->decoded_url, "decoded.ipc", err,
	        errlen) < 0 ||
	    agg_url(st->results_url, o->results_url, "results.ipc", err,
	        errlen) < 0 ||
	    agg_url(st->tap_url, o->tap_url, "aggregator.tap", err, errlen) <
	        0)
		goto out_free;
	st->seen = dedup_new(o->dedup_ids);
	st->arena = arena_new(o->arena_cap);
	st->byref = byref_in_new();
	if (st->seen == NULL || st->arena == NULL || st->byref == NULL ||
	    series_table_new(&st->series, (size_t)o->max_series,
	        (int64_t)o->series_ttl_s * 1000000000) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	rv = agg_open_sockets(st, err, errlen);
	if (rv < 0)
		goto out_free;
	st->by_ref_ok = strncmp(st->results_url, "ipc://", 6) == 0;
	log_info("listening on %s for decoders, results to %s, tap on %s",
	    st->decoded_url, st->results_url,
	    st->tap != NULL ? st->tap_url : "(none)");
	*out = st;
	return 0;

out_free:
	agg_free(st);
	return rv;
}

static int
agg_reply(struct agg_stage *st, const char *who, const char *reason)
{
	uint8_t ack[ACK_MAX];
	size_t n = ack_pack(ack, reason);
	int rv = bus_reply(st->in_ctx, ack, n);

	/* The decoder resends; the id set answers that one at once. */
	if (rv != BUS_OK)
		log_warn(
		    "%s: answering the decoder: %s", who, bus_strerror(rv));
	return rv;
}

static int
agg_stopping(const struct agg_stage *st)
{
	return st->opt.stopping != NULL && st->opt.stopping();
}

/* Write the Result into out_ref and name it in ref: 0, or -1 when no
 * memfd can be made, after which every Result goes inline. */
static int
agg_fill_ref(struct agg_stage *st, size_t len, bus_fill_fn fill, void *arg)
{
	char err[256];

	st->ref_n = byref_out_fill(&st->out_ref, BUS_MAX_MSG, len, fill, arg,
	    st->ref, err, sizeof(err));
	if (st->ref_n == 0) {
		log_warn("%s: sending results inline", err);
		st->by_ref_ok = 0;
		return -1;
	}
	return 0;
}

/* Send the Result (len bytes, written by fill into each message sent, or
 * once into out_ref, then sent by reference) until the exporter answers.
 * Retries forever while running (back-pressure: decoders wait meanwhile); once
 * a stop is seen, until drain_ms after it (one deadline for everything left).
 */
static enum agg_outcome
agg_hand_on(struct agg_stage *st, const char *who, size_t len,
    bus_fill_fn fill, void *fill_arg, char *reason, size_t reasonlen)
{
	int64_t now;
	int timeout;
	int attempt;
	void *reply;
	size_t rlen;
	int by_ref;
	int rv;

	by_ref = st->by_ref_ok && len >= BYREF_MIN && len <= BUS_MAX_MSG &&
	    agg_fill_ref(st, len, fill, fill_arg) == 0;
	for (attempt = 1;; attempt++) {
		timeout = st->opt.call_timeout_ms;
		if (agg_stopping(st)) {
			now = agg_now_ns();
			if (st->deadline == 0)
				st->deadline =
				    now + (int64_t)st->opt.drain_ms * 1000000;
			if (now >= st->deadline) {
				/* The exporter may yet read it. */
				if (by_ref)
					byref_out_close(&st->out_ref);
				return AGG_GAVE_UP;
			}
			if ((st->deadline - now) / 1000000 < timeout)
				timeout =
				    (int)((st->deadline - now) / 1000000) + 1;
		}
		if (attempt > 1)
			st->stats.exporter_retries++;
		if (by_ref)
			rv = bus_call(st->out_ctx, st->ref, st->ref_n, &reply,
			    &rlen, timeout);
		else
			rv = bus_call_fill(st->out_ctx, len, fill, fill_arg,
			    &reply, &rlen, timeout);
		if (rv == BUS_OK) {
			rv = ack_read(reply, rlen, reason, reasonlen);
			bus_free(reply, rlen);
			if (rv == 1 && by_ref && byref_refused(reason)) {
				log_warn(
				    "exporter: %s; sending results inline",
				    reason);
				st->by_ref_ok = 0;
				by_ref = 0;
				byref_out_close(&st->out_ref);
				continue;
			}
			if (rv >= 0) {
				if (attempt > 1)
					log_info("%s: exporter answered after "
					         "%d attempts",
					    who, attempt);
				return rv == 0 ? AGG_ACKED : AGG_REJECTED;
			}
			log_warn("%s: exporter: unreadable reply", who);
		} else if (attempt == 1) {
			log_warn("%s: exporter at %s: %s; retrying until it "
			         "answers",
			    who, st->results_url, bus_strerror(rv));
		}
		/* A timeout waited already; anything else came back at
		 * once, and must not spin. */
		if (rv != BUS_ETIMEDOUT)
			poll(NULL, 0, 100);
	}
}

static void
agg_log_delta(
    struct agg_stage *st, const char *who, const struct delta_report *rep)
{
	if (rep->mode == DELTA_RESTART) {
		st->stats.restarts++;
		log_info("%s: alloc counters went down: process restarted, "
		         "values taken as the delta",
		    who);
	} else if (rep->mode == DELTA_OUT_OF_ORDER) {
		st->stats.out_of_order++;
		log_warn("%s: older than the series' last profile: no alloc "
		         "delta, series state kept",
		    who);
	}
	if (rep->refused > 0) {
		st->stats.stacks_refused += rep->refused;
		log_warn(
		    "%s: %zu stacks past MaxStacksPerSeries (%ld) not "
		    "remembered: their next alloc deltas will be 0 (%" PRIu64
		    " refused so far)",
		    who, rep->refused, st->opt.max_stacks,
		    st->stats.stacks_refused);
	}
}

/* The series of d, or NULL when it is past MaxSeries (then the profile
 * goes on with no alloc delta). -1 out of memory. */
static int
agg_series(struct agg_stage *st, const char *who, const Profpipe__Origin *o,
    int64_t now, struct series **out)
{
	int created;
	int rv;

	rv = series_get(
	    st->series, o->service, o->instance, o->kind, now, out, &created);
	if (rv == -2)
		return -1;
	if (rv == -1) {
		*out = NULL;
		st->stats.series_refused++;
		log_warn("%s: MaxSeries (%ld) reached: series not tracked, no "
		         "alloc delta (%" PRIu64 " refused so far)",
		    who, st->opt.max_series, st->stats.series_refused);
	} else if (created) {
		log_info("%s: new series (%zu in all)", who,
		    series_count(st->series));
	}
	return 0;
}

/* bus_fill_fn: a profile's Result, spliced straight into the message. */
static void
agg_write_splice(void *arg, void *buf, size_t len)
{
	(void)len;
	splice_write(arg, buf);
}

/* After the exporter's Ack: everything that must not happen before it,
 * counters and their log lines too, so a retried profile counts once. */
static void
agg_commit(struct agg_stage *st, const char *who, struct series *s,
    struct delta_state *next, const Profpipe__Decoded *d,
    const Profpipe__Decoded *res, struct splice *sp,
    const struct delta_report *rep)
{
	agg_log_delta(st, who, rep);
	if (s != NULL) {
		delta_commit(&s->delta, next);
		series_touch(st->series, s, agg_now_ns());
	}
	timeline_feed(st->series, &st->tl, res, rep, s, agg_now_ns(),
	    agg_wall_ns(), st->arena, &st->tc);
	dedup_add(st->seen, d->origin->profile_id);
	if (st->tap != NULL)
		bus_publish_fill(st->tap, sp->size, agg_write_splice, sp);
	st->stats.handed_on++;
	log_debug("%s: handed on: %s, %zu of %zu stacks sent", who,
	    delta_mode_name(rep->mode), rep->stacks_out, rep->stacks_in);
}

static void
agg_handle(struct agg_stage *st, const void *req, size_t len)
{
	char who[AGG_WHO_MAX];
	char why[ACK_MAX / 2];
	struct delta_state next;
	struct delta_report rep;
	Profpipe__Decoded *d;
	Profpipe__Decoded *res;
	struct series *s;
	struct splice sp;

	memset(&next, 0, sizeof(next));
	/* A Decoded by reference is read where the decoder left it, which
	 * stays put until this answers (common/byref.h). */
	if (byref_in_resolve(st->byref, &profpipe__decoded__descriptor, &req,
	        &len, why, sizeof(why)) < 0) {
		st->stats.rejected++;
		log_warn("decoded message: %s: rejected", why);
		agg_reply(st, "decoded message", why);
		return;
	}
	if (delta_unpack(st->arena, req, len, &d, why, sizeof(why)) < 0) {
		st->stats.rejected++;
		log_warn(
		    "decoded message of %zu bytes: %s: rejected", len, why);
		agg_reply(st, "decoded message", why);
		return;
	}
	snprintf(who, sizeof(who), "%s %s %s %s", d->origin->service,
	    d->origin->instance, d->origin->kind, d->origin->profile_id);
	if (dedup_seen(st->seen, d->origin->profile_id)) {
		st->stats.duplicates++;
		log_debug("%s: handed on already: answered at once", who);
		agg_reply(st, who, NULL);
		return;
	}
	if (agg_series(st, who, d->origin, agg_now_ns(), &s) < 0) {
		log_error("%s: out of memory for the series; not answering, "
		          "the decoder will send it again",
		    who);
		return;
	}
	if (delta_apply(s != NULL ? &s->delta : NULL, d,
	        (size_t)st->opt.max_stacks, st->arena, &res,
	        s != NULL ? &next : NULL, &rep) < 0) {
		st->stats.rejected++;
		snprintf(why, sizeof(why),
		    "out of memory building the result (%zu bytes in)", len);
		log_warn("%s: %s: rejected", who, why);
		agg_reply(st, who, why);
		goto out_release_next;
	}
	splice_plan(&sp, req, len, d, res);
	switch (agg_hand_on(
	    st, who, sp.size, agg_write_splice, &sp, why, sizeof(why))) {
	case AGG_ACKED:
		agg_commit(st, who, s, &next, d, res, &sp, &rep);
		agg_reply(st, who, NULL);
		break;
	case AGG_REJECTED:
		/* The baseline stays: the next delta then covers this
		 * profile's interval too, and nothing is lost. */
		st->stats.exporter_rejected++;
		log_warn("%s: exporter rejected it: %s", who, why);
		agg_reply(st, who, why);
		break;
	case AGG_GAVE_UP:
		st->stats.gave_up++;
		log_warn(
		    "%s: exporter did not answer before the drain deadline; "
		    "not answering, the decoder will send it again",
		    who);
		break;
	}
out_release_next:
	delta_state_release(&next);
}

static void
agg_log_expired(void *arg, const struct series *s)
{
	struct agg_stage *st = arg;

	st->stats.series_expired++;
	log_info("%s %s %s: not seen for %ld s: series freed", s->service,
	    s->instance, s->kind, st->opt.series_ttl_s);
}

/* bus_fill_fn: a window's or metrics' Result, packed into the message. */
static void
agg_write_result(void *arg, void *buf, size_t len)
{
	(void)len;
	profpipe__result__pack(arg, buf);
}

/* timeline_send_fn: hand a window's or metrics' Result on. */
static int
agg_send_result(void *arg, const char *what, const Profpipe__Result *res)
{
	struct agg_stage *st = arg;
	char why[ACK_MAX / 2];
	size_t len = profpipe__result__get_packed_size(res);
	void *r = (void *)res;

	switch (agg_hand_on(
	    st, what, len, agg_write_result, r, why, sizeof(why))) {
	case AGG_ACKED:
		if (st->tap != NULL)
			bus_publish_fill(st->tap, len, agg_write_result, r);
		log_debug("%s: handed on", what);
		return 0;
	case AGG_REJECTED:
		st->stats.exporter_rejected++;
		log_warn("%s: exporter rejected it: %s", what, why);
		return 0;
	case AGG_GAVE_UP:
		break;
	}
	st->stats.gave_up++;
	log_warn("%s: exporter did not answer before the drain deadline: "
	         "lost",
	    what);
	return -1;
}

/* Send the windows and metrics due; at most every 200 ms. */
static void
agg_close_due(struct agg_stage *st)
{
	int64_t now = agg_wall_ns();

	if (now - st->last_close_ns < 200000000)
		return;
	st->last_close_ns = now;
	/* A closed window's tables were grown over its whole span and are
	 * freed at once: their pages go back to the kernel, or the heap,
	 * which keeps freed memory for reuse (proc_keep_memory), grows in
	 * fragments window after window. */
	if (timeline_close(st->series, &st->tl, now, 0, st->arena,
	        agg_send_result, st, &st->tc) > 0)
		proc_release_memory();
}

void
agg_finish(struct agg_stage *st)
{
	int64_t now = agg_wall_ns();

	timeline_close(st->series, &st->tl, now, now, st->arena,
	    agg_send_result, st, &st->tc);
}

int
agg_step(struct agg_stage *st, int wait_ms)
{
	const void *req;
	size_t len;
	int rv;

	/* Windows close before series expire, so none expires open. */
	agg_close_due(st);
	series_expire(st->series, agg_now_ns(), agg_log_expired, st);
	rv = bus_recv(st->in_ctx, &req, &len, wait_ms);
	if (rv == BUS_ETIMEDOUT)
		return 0;
	if (rv != BUS_OK) {
		log_error(
		    "%s: receiving: %s", st->decoded_url, bus_strerror(rv));
		return -1;
	}
	st->stats.received++;
	agg_handle(st, req, len);
	arena_reset(st->arena);
	return 0;
}

const struct agg_stats *
agg_stats(const struct agg_stage *st)
{
	return &st->stats;
}

void
agg_log_counters(const struct agg_stage *st, const char *when)
{
	const struct agg_stats *n = &st->stats;

	log_info("%s: %" PRIu64 " received, %" PRIu64 " handed on, %" PRIu64
	         " duplicates, %" PRIu64 " rejected, %" PRIu64
	         " rejected by the exporter, %" PRIu64 " given up, %zu series",
	    when, n->received, n->handed_on, n->duplicates, n->rejected,
	    n->exporter_rejected, n->gave_up, series_count(st->series));
	log_info("windows: %" PRIu64 " sent, %" PRIu64
	         " instance metrics sent, %" PRIu64 " late profiles, %" PRIu64
	         " dated ahead, %" PRIu64 " left out (no room), %" PRIu64
	         " failed, %" PRIu64 " stacks folded",
	    st->tc.windows_sent, st->tc.metrics_sent, st->tc.late,
	    st->tc.future, st->tc.refused, st->tc.failed, st->tc.folded);
	proc_log_memory();
}

void
agg_close(struct agg_stage *st)
{
	if (st == NULL)
		return;
	agg_log_counters(st, "stopping");
	agg_free(st);
}
