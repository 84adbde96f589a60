/*
 * stage: receive → check → write to each sink not yet holding the profile
 * → ack. Redeliveries are recognised per sink rather than once for the
 * stage: when one sink of two fails, the retry must reach the failed sink
 * without writing the profile a second time to the one that succeeded.
 */
#include "exporter/stage.h"

#include <stdio.h>
#include <string.h>

#include "common/ack.h"
#include "common/arena.h"
#include "common/bus.h"
#include "common/dedup.h"
#include "common/log.h"
#include "common/wire.pb-c.h"
#include "common/xalloc.h"
#include "exporter/profile.h"

/* Unpacked profiles are a few times their packed size at most. */
#define EXPORT_ARENA_CAP (4 * BUS_MAX_MSG)

struct export_stage {
	struct bus_sock *sock;
	struct bus_ctx *ctx;
	struct arena *arena;
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

	st = xcalloc(1, sizeof(*st));
	if (st == NULL)
		goto out_oom;
	st->sinks = sinks;
	st->n_sinks = n_sinks;
	st->seen = xcalloc(n_sinks ? n_sinks : 1, sizeof(*st->seen));
	st->arena = arena_new(EXPORT_ARENA_CAP);
	if (st->seen == NULL || st->arena == NULL)
		goto out_free_stage;
	for (i = 0; i < n_sinks; i++) {
		st->seen[i] = dedup_new(EXPORT_DEDUP_IDS);
		if (st->seen[i] == NULL)
			goto out_free_stage;
	}
	if (bus_open(&st->sock, BUS_REP, url, 1, err, errlen) < 0)
		goto out_free_stage_quiet;
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
	return -1;
out_oom:
	snprintf(err, errlen, "out of memory");
	return -1;
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

/* Write p to sink i unless it already holds it. 1 written, 0 already
 * there, -1 failed (logged). */
static int
export_to_sink(struct export_stage *st, size_t i, const Profpipe__Decoded *p)
{
	struct sink *s = st->sinks[i];
	const char *id = p->origin->profile_id;
	char err[1024];
	size_t nrec = 0;

	if (id[0] != '\0' && dedup_seen(st->seen[i], id))
		return 0;
	if (s->ops->write(s, p, &nrec, err, sizeof(err)) < 0 ||
	    s->ops->flush(s, err, sizeof(err)) < 0) {
		log_error("profile %s %s: %s: %s; not acked, will be retried",
		    id, p->origin->kind, s->name, err);
		return -1;
	}
	if (id[0] != '\0' && dedup_add(st->seen[i], id) < 0)
		log_warn("profile %s: %s: cannot remember it; a redelivery "
		         "would be written again",
		    id, s->name);
	log_debug("profile %s %s: %s: %zu records", id, p->origin->kind,
	    s->name, nrec);
	return 1;
}

static void
export_handle(struct export_stage *st, const void *req, size_t len)
{
	ProtobufCAllocator alloc;
	Profpipe__Result *res;
	const Profpipe__Decoded *p;
	const Profpipe__Origin *o;
	char why[256];
	size_t i;
	int written = 0;
	int failed = 0;
	int rv;

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
	p = res->profile;
	if (export_check(p, why, sizeof(why)) < 0) {
		export_reject(st,
		    p != NULL && p->origin != NULL ? p->origin->profile_id
		                                   : "result",
		    why);
		return;
	}
	o = p->origin;
	if (o->profile_id[0] == '\0')
		log_warn("profile without id (%s %s): redeliveries cannot be "
		         "recognised",
		    o->kind, o->instance);
	for (i = 0; i < st->n_sinks; i++) {
		rv = export_to_sink(st, i, p);
		if (rv < 0)
			failed = 1;
		else
			written += rv;
	}
	if (failed) {
		st->stats.failed++;
		return;
	}
	if (written == 0 && st->n_sinks > 0) {
		st->stats.duplicates++;
		log_info("profile %s %s %s: already written; acked again",
		    o->profile_id, o->kind, o->instance);
	} else {
		st->stats.written++;
		log_info("profile %s %s %s: written to %d of %zu sinks "
		         "(stacks: %zu)",
		    o->profile_id, o->kind, o->instance, written, st->n_sinks,
		    export_n_stacks(p));
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
