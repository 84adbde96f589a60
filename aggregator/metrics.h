/*
 * metrics: Go runtime metrics per instance per window, DataKit's
 * profiling_metrics, built from the profiles the aggregator hands on (after
 * deltas) and from runtime.MemStats (kind "memstats"). Nothing of a
 * profile is kept: each one is reduced, as it passes, to a few sums in the
 * accumulator of the window holding its start_ns. A metric whose inputs
 * did not come is absent, never 0.
 *
 * Formulas (window = [start, end); "profiled ns" = the summed durations of
 * the window's CPU profiles, which cover S of every Interval seconds when
 * pulled with seconds=S, so dividing by them rather than by the window's
 * length does not read a busy service as idle):
 *
 *  prof_go_cpu_cores             cores    cpu ns / profiled ns
 *  prof_go_cpu_cores_gc_overhead cores    cpu ns of stacks through a GC
 *                                         entry point (METRICS_GC_FRAMES) /
 *                                         profiled ns
 *  prof_go_alloc_bytes_per_sec   bytes/s  heap alloc_space deltas / the time
 *                                         they cover (from each delta's
 *                                         baseline to its profile)
 *  prof_go_allocs_per_sec        allocs/s alloc_objects deltas, the same way
 *  prof_go_alloc_bytes_total     bytes    heap alloc_space deltas summed
 *  prof_go_frees_per_sec         frees/s  MemStats Frees differences / the
 *                                         time between the snapshots
 *  prof_go_heap_growth_bytes_per_sec bytes/s  inuse_space differences of
 *                                         consecutive heap profiles / the
 *                                         time between them
 *  prof_go_gcs_per_sec           gcs/s    MemStats NumGC differences / time
 *  prof_go_gc_pause_time         ns       sum of the pauses (PauseNs) of the
 *                                         GCs counted in the window: ns per
 *                                         window, not a rate (DataKit's docs
 *                                         and code disagree; this is it)
 *  prof_go_max_gc_pause_time     ns       the longest of those pauses (0
 *                                         when no GC ran)
 *  prof_go_blocked_time          ns       block profiles' delay summed over
 *                                         the window
 *  prof_go_mutex_delay_time      ns       mutex profiles' delay, the same
 *  prof_go_num_goroutine         goroutines  mean over the window's
 *                                         goroutine profiles of each one's
 *                                         total (Go's sample type
 *                                         "goroutine")
 *  prof_go_lifetime_heap_bytes   bytes    inuse_space of the window's last
 *                                         heap profile (live heap as of the
 *                                         last GC)
 *  prof_go_lifetime_heap_objects objects  inuse_objects, the same
 *
 * MemStats and heap differences are taken between consecutive snapshots
 * of the instance, across window edges; a pair whose counters went down
 * (a restart) is skipped. More than 256 GCs between two snapshots leave
 * the pause metrics absent (Go keeps the last 256 pauses only). After a
 * restart the first alloc delta counts from the new process's start but
 * its time from the baseline, so that window's alloc rates read low. Alloc
 * metrics use kind "mem" (not "allocs", which holds the same counters).
 * A pushed Decoded carrying runtime_metrics (kind "metrics", dd-trace-go)
 * names metrics "go_*" or "prof_go_*"; the last value pushed in the window
 * replaces the derived one.
 */
#ifndef PROFPIPE_AGG_METRICS_H
#define PROFPIPE_AGG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator/delta.h"
#include "common/wire.pb-c.h"

struct arena;

/* Function names whose stacks count as GC work, for gc_overhead: the
 * background mark workers, mark assists, the sweeper and scavenger, and
 * the phases a GC cycle runs on the goroutine that starts or ends it. */
/* Go keeps the last 256 GC pauses (MemStats.PauseNs). */
#define METRICS_GO_PAUSES 256

#define METRICS_GC_FRAMES                                                     \
	"runtime.gcBgMarkWorker", "runtime.gcAssistAlloc",                    \
	    "runtime.gcAssistAlloc1", "runtime.bgsweep",                      \
	    "runtime.bgscavenge", "runtime.gcStart", "runtime.gcMarkDone",    \
	    "runtime.gcMarkTermination", "runtime.GC"

enum metrics_id {
	M_CPU_CORES,
	M_CPU_GC,
	M_ALLOC_BPS,
	M_ALLOCS_PS,
	M_ALLOC_TOTAL,
	M_FREES_PS,
	M_HEAP_GROWTH,
	M_GCS_PS,
	M_GC_PAUSE,
	M_GC_MAX_PAUSE,
	M_BLOCKED,
	M_MUTEX,
	M_GOROUTINES,
	M_HEAP_BYTES,
	M_HEAP_OBJECTS,
	M_NMETRICS
};

/* One instance's window. */
struct metrics_acc {
	int64_t start_ns, end_ns;
	unsigned have; /* bit per input below */
	int64_t cpu_ns, gc_ns, cpu_span_ns;
	int64_t alloc_bytes, alloc_objects, alloc_span_ns;
	int64_t growth_bytes, growth_span_ns;
	int64_t inuse_bytes, inuse_objects, inuse_at_ns;
	uint64_t frees, gcs, pause_ns, max_pause_ns;
	int64_t ms_span_ns;
	int pauses_lost; /* more GCs than Go remembers pauses for */
	int64_t block_ns, mutex_ns;
	int64_t goroutines;
	uint32_t goroutine_profiles;
	double pushed[M_NMETRICS];
	unsigned pushed_have; /* bit per enum metrics_id */
	struct metrics_acc *next;
};

/* Everything of one instance: open windows, the last snapshots. */
struct metrics_state {
	struct metrics_acc *open; /* by start_ns */
	int64_t closed_until;     /* end of the last window sent */
	int have_ms;
	int64_t ms_at_ns;
	uint64_t ms_frees, ms_num_gc;
	int have_inuse;
	int64_t inuse_at_ns, inuse_prev;
	Profpipe__Origin *origin; /* its labels: the latest profile's; owned */
};

/* Windows an instance may have open at once: as many as a series may
 * (timeline.h's TIMELINE_MAX_OPEN). */
#define METRICS_MAX_OPEN 16

/* Reduce profile d (after delta_apply, with its report) into the window
 * of length len_ns holding d's start. 0; 1 when d counts in no window
 * (its window was sent already, METRICS_MAX_OPEN are open, or its start
 * is within one window of int64's ends); -1 out of memory (d then counts
 * in no metric). */
int metrics_feed(struct metrics_state *m, const Profpipe__Decoded *d,
    const struct delta_report *rep, int64_t len_ns);

/* The oldest open window if it ends at or before until_ns (NULL when
 * none does); the caller sends it, then drops it with metrics_drop. */
struct metrics_acc *metrics_due(struct metrics_state *m, int64_t until_ns);
void metrics_drop(struct metrics_state *m, struct metrics_acc *acc);

/* The metrics of acc that could be computed, as a Metrics message in
 * arena a (NULL when none could). 0, or -1 out of memory. */
int metrics_message(const struct metrics_state *m,
    const struct metrics_acc *acc, struct arena *a, Profpipe__Metrics **out);

/* The name and unit of a metric. */
const char *metrics_name(enum metrics_id id);
const char *metrics_unit(enum metrics_id id);

void metrics_state_release(struct metrics_state *m);

#endif
