/*
 * schedule: when each (target, kind) is fetched, and that it is fetched by
 * one request at a time. Pure bookkeeping over a clock the caller passes in
 * (milliseconds), so tests drive it without a loop or a network.
 *
 * Spreading: a slot with interval I is due at the times t with
 * t mod I == offset, where offset is a hash of the slot's key mod I. The
 * offset is stable (the same target and kind land at the same point of the
 * interval in every run and after a reload), and a fleet of targets spreads
 * over the interval instead of firing at once.
 *
 * Single flight: schedule_begin refuses a slot whose previous fetch has not
 * ended. Go serves one CPU profile at a time and answers a second with a
 * 500, so a second request would only fail and disturb the first.
 *
 * Reload: schedule_sync_begin, schedule_put for every slot of the new
 * configuration, schedule_sync_end. A slot that is put again keeps its
 * running flag; a slot that is not put again is dropped, or retired while
 * its fetch runs and freed by the schedule_end that ends it.
 */
#ifndef PROFPIPE_FETCHER_SCHEDULE_H
#define PROFPIPE_FETCHER_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

struct schedule_slot {
	char *key; /* e.g. "127.0.0.1:6060 cpu"; owned */
	int64_t interval_ms;
	int64_t offset_ms;
	int64_t next_ms; /* when it is next due */
	int running;     /* a fetch is in flight */
	int retired;     /* no longer configured; freed when it ends */
	void *user;      /* the caller's: set by schedule_put */
	int put;         /* schedule's own: put again in this sync */
};

struct schedule;

int schedule_new(struct schedule **out);
/* Frees every slot, retired ones included: end the fetches first. */
void schedule_free(struct schedule *s);

/* Where in an interval the slot with this key falls: [0, interval_ms). */
int64_t schedule_offset(const char *key, int64_t interval_ms);

/* Reload protocol; see above. schedule_put returns 0 (slot in *out, owned
 * by the schedule) or -1 when out of memory, in which case the old slots
 * stay as they were once schedule_sync_end is called. A new slot or one
 * whose interval changed is due next at its offset after now_ms. */
void schedule_sync_begin(struct schedule *s);
int schedule_put(struct schedule *s, const char *key, int64_t interval_ms,
    int64_t now_ms, void *user, struct schedule_slot **out);
/* failed: schedule_put failed; keep the old set, drop the new slots. */
void schedule_sync_end(struct schedule *s, int failed);

size_t schedule_count(const struct schedule *s);

/* When the earliest slot is due, or -1 when there are none. */
int64_t schedule_next_ms(const struct schedule *s);

/* A slot due at now_ms, its next time moved on past now_ms by whole
 * intervals (periods missed while the process was stopped are not made
 * up); NULL when none is due. Call until NULL. */
struct schedule_slot *schedule_take_due(struct schedule *s, int64_t now_ms);

/* Single flight: 0 and the slot is running, or -1 when its previous fetch
 * is still running (count it as skipped). */
int schedule_begin(struct schedule_slot *slot);
/* The fetch ended; a retired slot is freed here. */
void schedule_end(struct schedule *s, struct schedule_slot *slot);

#endif
