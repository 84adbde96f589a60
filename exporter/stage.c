/*
 * stage: receive → check → write to each sink that takes the result's
 * shape (profile, window, metrics) and does not yet hold it → ack.
 * Redeliveries are recognised per sink rather than once for the stage: when
 * one sink of two fails, the retry must reach the failed sink without writing
 * the profile a second time to the one that succeeded.
 */
#include "exporter/stage.h"

#include <stdio.h>
#include <string.h>

#include "common/ack.h"
#include "common/arena.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/dedup.h"
#include "common/log.h"
#include "common/wire.pb-c.h"
#include "common/xalloc.h"
#include "exporter/item.h"
#include "exporter/profile.h"

/* Unpacked profiles are a few times their packed size at most. */
#define EXPORT_ARENA_CAP (4 * BUS_MAX_MSG)

struct export_stage {
	struct bus_sock *sock;
	struct bus_ctx *ctx;
	struct arena *arena;
	struct byref_in *byref; /* the aggregator's memfds, mapped */
	struct sink *const *sinks;
	struct dedup **seen; /* per sink: profile ids it has written */
	size_t n_sinks;
	struct export_stats stats;
};

void
export_stage_free(struct export_stage *st)
{
	size_t i;

	if (st == NULL)
		return;
	bus_ctx_free(st->ctx);
	bus_close(st->sock);
	arena_free(st->arena);
	byref_in_free(st->byref);
	if (st->seen != NULL) {
		for (i = 0; i < st->n_sinks; i++)
			dedup_free(st->seen[i]);
		xfree(st->seen);
	}
	xfree(st);
}

int
export_stage_new(struct export_stage **out, const char *url,
    struct sink *const *sinks, size_t n_sinks, char *err, size_t errlen)
{
	struct export_stage *st;
	size_t i;
	int rv = BUS_EFAIL;

	st = xcalloc(1, sizeof(*st));
	if (st == NULL)
		goto out_oom;
	st->sinks = sinks;
	st->n_sinks = n_sinks;
	st->seen = xcalloc(n_sinks ? n_sinks : 1, sizeof(*st->seen));
	st->arena = arena_new(EXPORT_ARENA_CAP);
	st->byref = byref_in_new();
	if (st->seen == NULL || st->arena == NULL || st->byref == NULL)
		goto out_free_stage;
	for (i = 0; i < n_sinks; i++) {
		st->seen[i] = dedup_new(EXPORT_DEDUP_IDS);
		if (st->seen[i] == NULL)
			goto out_free_stage;
	}
	rv = bus_open(&st->sock, BUS_REP, url, 1, err, errlen);
	if (rv < 0)
		goto out_free_stage_quiet;
	rv = BUS_EFAIL;
	if (bus_ctx_new(st->sock, &st->ctx) < 0) {
		snprintf(err, errlen, "%s: cannot open a context", url);
		goto out_free_stage_quiet;
	}
	*out = st;
	return 0;
out_free_stage:
	snprintf(err, errlen, "out of memory");
out_free_stage_quiet:
	export_stage_free(st);
	return rv;
out_oom:
	snprintf(err, errlen, "out of memory");
	return BUS_EFAIL;
}

static void
export_reply(struct export_stage *st, const char *reason)
{
	uint8_t ack[ACK_MAX];
	size_t n = ack_pack(ack, reason);
	int rv = bus_reply(st->ctx, ack, n);

	if (rv < 0)
		log_warn("ack: %s (the result will come again and be "
		         "recognised)",
		    bus_strerror(rv));
}

static void
export_reject(struct export_stage *st, const char *what, const char *why)
{
	char reason[ACK_MAX / 2];

	snprintf(reason, sizeof(reason), "%s: %s", what, why);
	log_warn("rejected: %s", reason);
	st->stats.rejected++;
	export_reply(st, reason);
}

static int
export_write_one(struct sink *s, const struct export_item *it, size_t *nrec,
    char *err, size_t errlen)
{
	if (it->takes == SINK_PROFILES)
		return s->ops->write(s, it->p, nrec, err, errlen);
	if (it->takes == SINK_WINDOWS)
		return s->ops->write_window(s, it->w, nrec, err, errlen);
	return s->ops->write_metrics(s, it->m, nrec, err, errlen);
}

/* Write the item to sink i unless it does not take the shape or already
 * holds it. 1 written, 0 not for it or already there, 2 the sink can
 * never take it (logged, remembered as held), -1 failed (logged). */
static int
export_to_sink(struct export_stage *st, size_t i, const struct export_item *it)
{
	struct sink *s = st->sinks[i];
	const char *id = it->o->profile_id;
	char err[1024];
	size_t nrec = 0;
	int rv;

	if ((s->takes & it->takes) == 0)
		return 0;
	if (id[0] != '\0' && dedup_seen(st->seen[i], it->key))
		return 0;
	rv = export_write_one(s, it, &nrec, err, sizeof(err));
	if (rv == SINK_SKIP) {
		log_warn("%s %s %s: %s: %s; left out of this sink, not "
		         "retried",
		    it->shape, id, it->o->kind, s->name, err);
		st->stats.skipped++;
	}
	if ((rv < 0 && rv != SINK_SKIP) ||
	    (s->ops->flush != NULL &&
	        s->ops->flush(s, err, sizeof(err)) < 0)) {
		log_error("%s %s %s: %s: %s; not acked, will be retried",
		    it->shape, id, it->o->kind, s->name, err);
		return -1;
	}
	if (id[0] != '\0' && dedup_add(st->seen[i], it->key) < 0)
		log_warn("%s %s: %s: cannot remember it; a redelivery "
		         "would be written again",
		    it->shape, id, s->name);
	if (rv == SINK_SKIP)
		return 2;
	log_debug("%s %s %s: %s: %zu records", it->shape, id, it->o->kind,
	    s->name, nrec);
	return 1;
}

static void
export_handle(struct export_stage *st, const void *req, size_t len)
{
	ProtobufCAllocator alloc;
	Profpipe__Result *res;
	struct export_item it;
	const Profpipe__Origin *o;
	const char *who;
	char why[256];
	size_t i;
	int written = 0;
	int takers = 0;
	int failed = 0;
	int skipped = 0;
	int rv;

	/* A Result by reference is read where the aggregator left it,
	 * which stays put until this answers (common/byref.h). The reason
	 * goes back as it is: its prefix sends the aggregator inline. */
	if (byref_in_resolve(st->byref, &profpipe__result__descriptor, &req,
	        &len, why, sizeof(why)) < 0) {
		log_warn("rejected: %s", why);
		st->stats.rejected++;
		export_reply(st, why);
		return;
	}
	arena_reset(st->arena);
	arena_pb_allocator(st->arena, &alloc);
	res = profpipe__result__unpack(&alloc, len, req);
	if (res == NULL) {
		snprintf(why, sizeof(why),
		    "%zu bytes do not unpack (or out "
		    "of memory)",
		    len);
		export_reject(st, "result", why);
		return;
	}
	if (export_item(&it, res, &who, why, sizeof(why)) < 0) {
		export_reject(st, who, why);
		return;
	}
	o = it.o;
	if (o->profile_id[0] == '\0')
		log_warn("%s without id (%s %s): redeliveries cannot be "
		         "recognised",
		    it.shape, o->kind, o->instance);
	for (i = 0; i < st->n_sinks; i++) {
		if (st->sinks[i]->takes & it.takes)
			takers++;
		rv = export_to_sink(st, i, &it);
		if (rv < 0)
			failed = 1;
		else if (rv == 2)
			skipped++;
		else
			written += rv;
	}
	if (failed) {
		st->stats.failed++;
		return;
	}
	if (takers == 0) {
		st->stats.unwanted++;
		log_debug("%s %s %s %s: no sink takes %ss; acked", it.shape,
		    o->profile_id, o->kind, o->instance, it.shape);
	} else if (written == 0 && skipped > 0) {
		st->stats.written++;
		log_info("%s %s %s %s: left out of %d of %zu sinks, acked",
		    it.shape, o->profile_id, o->kind, o->instance, skipped,
		    st->n_sinks);
	} else if (written == 0) {
		st->stats.duplicates++;
		log_info("%s %s %s %s: already written; acked again", it.shape,
		    o->profile_id, o->kind, o->instance);
	} else {
		st->stats.written++;
		log_info("%s %s %s %s: written to %d of %zu sinks "
		         "(stacks: %zu)",
		    it.shape, o->profile_id, o->kind, o->instance, written,
		    st->n_sinks, it.p != NULL ? export_n_stacks(it.p) : 0);
	}
	export_reply(st, NULL);
}

int
export_stage_step(struct export_stage *st, int timeout_ms)
{
	const void *req;
	size_t len;
	int rv;

	rv = bus_recv(st->ctx, &req, &len, timeout_ms);
	if (rv == BUS_ETIMEDOUT)
		return 0;
	if (rv < 0)
		return rv;
	export_handle(st, req, len);
	return 0;
}

void
export_stage_stats(const struct export_stage *st, struct export_stats *out)
{
	*out = st->stats;
}
