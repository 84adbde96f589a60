/*
 * prom: the latest value of every runtime metric per label set, and its
 * Prometheus text exposition (format 0.0.4), the body of GET /metrics:
 *
 *   # HELP prof_go_cpu_cores Go runtime metric from profpipe (cores).
 *   # TYPE prof_go_cpu_cores gauge
 *   prof_go_cpu_cores{service="shop",instance="10.0.0.1:6060",job="go",
 *   env="prod"} 0.93
 *
 * A series is (metric name, label set); the labels are service, instance
 * and job from the origin, then the origin's labels in order (at most 64
 * labels; a key seen
 * already is skipped). Metric and label names are reduced to what
 * Prometheus accepts ([a-zA-Z_:][a-zA-Z0-9_:]*, labels without ':');
 * label values escape \, " and newline. Every metric is a gauge: each
 * value describes one window. An update replaces a series' value; a
 * series not updated for ttl_ns (an instance gone, a label changed) is
 * dropped, so it neither shows as current nor holds room; at most
 * max_series series are kept, and metrics of new series past it are
 * dropped and counted, never grown into.
 *
 * Not thread-safe: the caller locks (the metrics sink updates from the
 * stage's thread and renders from the HTTP thread).
 */
#ifndef PROFPIPE_EXPORT_PROM_H
#define PROFPIPE_EXPORT_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/wire.pb-c.h"

#define PROM_MAX_SERIES_DEFAULT 10000
#define PROM_SERIES_TTL_DEFAULT_S 600

struct prom_series;

struct prom {
	struct prom_series *series;
	size_t n, size, max_series;
	uint32_t *index; /* open addressing over (name, labels): series + 1 */
	size_t mask;
	uint64_t dropped; /* metrics refused past max_series */
	uint64_t expired; /* series dropped after ttl_ns without an update */
	int64_t ttl_ns;   /* 0: series never expire */
	struct buf scratch;
};

void prom_init(struct prom *p, size_t max_series, int64_t ttl_ns);
void prom_release(struct prom *p);

/* Set each of m's metrics as the latest value of its series, at now_ns
 * (the caller's clock, in ns). *dropped (may be NULL): how many were
 * refused for the cap. 0, or -1 out of memory (what was set stays set). */
int prom_update(struct prom *p, const Profpipe__Metrics *m, int64_t now_ns,
    size_t *dropped);

/* The exposition at now_ns of every series updated within ttl_ns into
 * out: families by name in byte order, series by label text. 0, or -1
 * past out's cap. */
int prom_render(struct prom *p, int64_t now_ns, struct buf *out);

#endif
