/*
 * store_query: reading the store back. The heavy query, store_merge, sums
 * the windows of a series over one or two time ranges into a Decoded
 * profile (one sample type per range), which every consumer already
 * knows how to read: the flame tree (exporter/flame.h), the diff (two
 * columns of one tree) and the pprof the API hands to `go tool pprof`.
 * The small queries (series, window totals, metrics) write their JSON
 * straight into a buf.
 *
 * A window belongs to a range when it starts inside it: [from, to).
 * Without an instance, a service's windows merged across instances
 * (instance "") are used when there are any, else every instance's
 * windows are summed.
 */
#ifndef PROFPIPE_EXPORT_STORE_QUERY_H
#define PROFPIPE_EXPORT_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/wire.pb-c.h"
#include "exporter/store.h"

/* store_merge and friends: the selection names nothing stored. */
#define STORE_ENOTFOUND (-2)

#define STORE_MAX_RANGES 2

struct store_range {
	int64_t from_ns;
	int64_t to_ns;
};

struct store_sel {
	const char *service;
	const char *instance; /* NULL: every instance */
	const char *kind;
	const char *value_type; /* "cpu", "inuse_space", ... */
	struct store_range range[STORE_MAX_RANGES];
	size_t n_ranges; /* 1, or 2 for a diff (range[1] is the base) */
};

struct store_merged {
	Profpipe__Decoded d; /* sample type r = range r; in the arena */
	Profpipe__Origin origin;
	const char *unit;                /* of the value type */
	size_t n_windows;                /* windows summed, all ranges */
	int64_t total[STORE_MAX_RANGES]; /* window_totals summed */
};

/* Merge the selection into out, everything allocated in a (whose cap
 * bounds the query's memory). 0; STORE_ENOTFOUND with what in err when
 * the service/kind/instance or the value type is not stored; -1 with
 * the reason in err. */
int store_merge(struct store *s, const struct store_sel *q, struct arena *a,
    struct store_merged *out, char *err, size_t errlen);

/* {"series":[{"service","instance","kind","job","valueTypes":[{type,unit}],
 * "from","to","windows"}]}: from/to unix seconds. */
int store_series_json(
    struct store *s, struct buf *out, char *err, size_t errlen);

/* {"service","kind","valueType","unit","points":[{"from","to","total"}]}:
 * the summed window totals per window start, for the time-line. */
int store_totals_json(struct store *s, const struct store_sel *q,
    struct buf *out, char *err, size_t errlen);

/* {"service","name","unit","points":[{"instance","from","to","value"}]} */
int store_metrics_json(struct store *s, const char *service,
    const char *instance, const char *name, int64_t from_ns, int64_t to_ns,
    struct buf *out, char *err, size_t errlen);

#endif
