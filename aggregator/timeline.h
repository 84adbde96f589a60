/*
 * timeline: where the aggregator's windows and metrics live and when they
 * close. After the exporter acknowledged a profile's result, timeline_feed
 * merges it into the window of its series holding its start_ns (series
 * (service, instance, kind), or (service, "", kind) when instances are
 * merged) and reduces it into its instance's runtime metrics (kept in the
 * series (service, instance, ""), kind "" being no real kind).
 *
 * Windows are aligned to multiples of their length in wall-clock time; a
 * window closes once wall time passes its end plus the grace period, which
 * lets profiles still in the pipeline (a fetch of S seconds, the decoders)
 * reach it. A series whose profiles each cover more than the grace (end_ns
 * past start_ns: dd-trace-go uploads 60 s of profile at its end) waits
 * that span longer too, up to one window. A profile whose window was
 * closed already is late: it is counted, and goes on as Result{profile}
 * only; so does one dated more than a window ahead of the wall clock
 * (future). A series holds at most TIMELINE_MAX_OPEN open windows, which
 * options_load's bound on the grace leaves room for; a profile that would
 * open another is left out of windows the same way.
 *
 * Closing sends Result{window} for every due window of every series, then
 * Result{metrics} for every due instance window, through the caller's
 * send function. timeline_close with partial_end set closes everything
 * open (at SIGTERM), each window ending at min(its end, partial_end).
 */
#ifndef PROFPIPE_AGG_TIMELINE_H
#define PROFPIPE_AGG_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator/delta.h"
#include "aggregator/series.h"
#include "common/wire.pb-c.h"

/* A window may wait its length (span) and the grace past its end, and a
 * profile may start a window ahead: ceil(grace / length) + 3 open at
 * once, at most this with WindowGrace at most 13 Windows. */
#define TIMELINE_MAX_OPEN 16
#define TIMELINE_MAX_GRACE_WINDOWS 13

struct arena;

struct timeline_opts {
	int64_t len_ns;    /* Window */
	int64_t grace_ns;  /* WindowGrace */
	size_t max_stacks; /* MaxStacksPerWindow */
	int merge;         /* MergeInstances */
};

struct timeline_counts {
	uint64_t late;    /* profiles after their window closed */
	uint64_t future;  /* profiles dated over a window ahead of wall time */
	uint64_t refused; /* no room: MaxSeries or open windows */
	uint64_t failed;  /* out of memory, too many value types */
	uint64_t windows_sent;
	uint64_t metrics_sent;
	uint64_t folded; /* stack entries folded into (other) */
};

/* The result's message, handed to send; 0 when the exporter took it or
 * refused it for good, -1 when it could not be sent (it is then lost:
 * the caller logs why). */
typedef int (*timeline_send_fn)(
    void *arg, const char *what, const Profpipe__Result *res);

/* res: the profile as handed on (deltas applied), rep its delta report,
 * s its series (NULL when past MaxSeries), now_ns the series table's
 * clock, wall_ns the wall clock's. Never fails: what cannot be done is
 * counted in c. */
void timeline_feed(struct series_table *t, const struct timeline_opts *o,
    const Profpipe__Decoded *res, const struct delta_report *rep,
    struct series *s, int64_t now_ns, int64_t wall_ns, struct arena *scratch,
    struct timeline_counts *c);

/* Send what is due at wall time wall_ns (partial_end 0), or everything
 * (partial_end = now, wall clock). scratch is reset after each message.
 * Returns how many windows and metric spans it closed (and freed). */
size_t timeline_close(struct series_table *t, const struct timeline_opts *o,
    int64_t wall_ns, int64_t partial_end, struct arena *scratch,
    timeline_send_fn send, void *arg, struct timeline_counts *c);

#endif
