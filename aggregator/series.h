/*
 * series: the aggregator's table of series, one per (service, instance,
 * kind) that has sent a profile. A series holds what must survive from one
 * profile to the next: the cumulative-counter baseline (delta.h), the
 * series' open time windows (window.h), and for an instance's own series
 * (kind "", see timeline.h) its runtime-metrics state (metrics.h).
 *
 * Bounded both ways: at most max_series series (series_get refuses the
 * next one), and a series not seen for ttl is freed by series_expire,
 * oldest first, at the cost of looking at the oldest one only. Time is
 * whatever monotonic nanoseconds the caller passes in.
 */
#ifndef PROFPIPE_AGG_SERIES_H
#define PROFPIPE_AGG_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator/delta.h"
#include "aggregator/metrics.h"
#include "aggregator/window.h"

struct series {
	const char *service; /* these three point into the series */
	const char *instance;
	const char *kind;
	int64_t last_seen_ns;
	struct delta_state delta;
	struct window *windows; /* open ones, by start_ns */
	int64_t closed_until;   /* end of the last window closed */
	int64_t span_ns;        /* its windows wait this past the grace */
	struct metrics_state metrics;

	/* The table's own links. */
	uint64_t hash;
	struct series *chain; /* same bucket */
	struct series *newer; /* by last_seen_ns */
	struct series *older;
	char names[];
};

struct series_table;

/* ttl_ns <= 0: series never expire. 0, or -1 out of memory. */
int series_table_new(
    struct series_table **out, size_t max_series, int64_t ttl_ns);
/* Frees every series and what it holds. */
void series_table_free(struct series_table *t);

/* The series of (service, instance, kind). A new one is created, seen at
 * now_ns, with *created = 1. 0; -1 when the table holds max_series
 * already (a refusal: nothing changed); -2 out of memory. The table owns
 * the series. */
int series_get(struct series_table *t, const char *service,
    const char *instance, const char *kind, int64_t now_ns,
    struct series **out, int *created);

/* s was seen at now_ns (not earlier than any time passed before). */
void series_touch(struct series_table *t, struct series *s, int64_t now_ns);

/* Free the series not seen for longer than the ttl. gone (may be NULL)
 * sees each one just before it is freed, e.g. to log it. Returns how many
 * were freed. */
size_t series_expire(struct series_table *t, int64_t now_ns,
    void (*gone)(void *arg, const struct series *s), void *arg);

size_t series_count(const struct series_table *t);

/* Call fn on every series, oldest seen first; fn must not add or remove
 * series. Stops at and returns fn's first non-zero result. */
int series_each(
    struct series_table *t, int (*fn)(void *arg, struct series *s), void *arg);

#endif
