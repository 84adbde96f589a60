/*
 * delta: Go reports a heap profile's alloc_objects and alloc_space
 * cumulative since the process started; downstream wants what was
 * allocated since the previous profile of the same series. This module
 * reads a Decoded profile from bytes (delta_unpack), and turns it into the
 * Result's profile against the series' baseline (delta_apply). It builds
 * the next baseline beside the current one without touching it: the caller
 * commits it (delta_commit) only once the exporter holds the result, so a
 * result that never got through can be computed again, identically.
 *
 * The same holds for mutex and block profiles fetched without seconds=
 * (is_delta false): their contentions and delay are cumulative too.
 *
 * The rules, for a profile of kind "mem", "allocs", "mutex" or "block"
 * not marked is_delta (everything else passes as it came: cpu, and
 * mutex and block fetched with seconds=, are deltas already; a pushed
 * delta heap profile is marked is_delta and is not delta'd again;
 * inuse_* and goroutine counts are gauges). The cumulative types are
 * alloc_objects and alloc_space (mem, allocs), contentions and delay
 * (mutex, block); "alloc_*" below stands for whichever are present:
 *
 *  - A stack is known by its key: stack_hash (over the frames' text) mixed
 *    with the text of its label set, so keys are comparable across
 *    profiles. Stacks of one profile sharing a key are added up; the first
 *    of them carries the key's delta and the others 0.
 *  - No baseline (the series' first profile): alloc_* types are absent
 *    (ValueType.absent, values 0); the profile becomes the baseline.
 *  - start_ns earlier than the baseline's: out of order. alloc_* are
 *    absent and the baseline stays as it is.
 *  - Restart: if the profile's total of any alloc_* type is lower than the
 *    baseline's, the process restarted (the counters began again at 0):
 *    every stack's value is its delta. The test is on series totals, not
 *    per stack, because a restart resets the whole process; both alloc
 *    types restart together.
 *  - Otherwise a stack's delta is its value minus the baseline's; a stack
 *    the baseline lacks is new since then, so its whole value is the
 *    delta. A stack's value going down without the totals doing so (a
 *    hash collision, a decoder quirk) takes the new value, as a restart
 *    would: never a negative delta.
 *  - A baseline holds at most max_stacks stacks, those it already knew
 *    first. Stacks left out are counted (refused); in the next profile a
 *    stack missing from a baseline that left stacks out has no known
 *    previous value, so its alloc_* delta is 0 (counted as untracked)
 *    rather than a since-start value posing as a delta.
 *  - Stacks whose values are all 0 after this are dropped.
 *
 * Memory: every result lives in the arena given; the baselines are
 * malloc'd and owned by whoever holds the struct delta_state.
 */
#ifndef PROFPIPE_AGG_DELTA_H
#define PROFPIPE_AGG_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.pb-c.h"

struct arena;
struct stacktab;

/* The cumulative sample types, known by name; each has a fixed slot. */
enum delta_slot {
	DELTA_ALLOC_OBJECTS,
	DELTA_ALLOC_SPACE,
	DELTA_CONTENTIONS,
	DELTA_DELAY,
	DELTA_NSLOTS
};

/* What a series remembers between profiles. All zero: no baseline. */
struct delta_state {
	struct stacktab *stacks;     /* NULL: no baseline yet */
	int64_t start_ns;            /* the baseline profile's start */
	int64_t total[DELTA_NSLOTS]; /* its total per slot */
	unsigned present;            /* bit s: slot s was in it */
	int overflowed;              /* it left stacks out (max_stacks) */
};

enum delta_mode {
	DELTA_PASS,         /* nothing cumulative: passed as it came */
	DELTA_FIRST,        /* no baseline: alloc_* absent */
	DELTA_APPLIED,      /* alloc_* are deltas since the baseline */
	DELTA_RESTART,      /* totals went down: values taken as deltas */
	DELTA_OUT_OF_ORDER, /* older than the baseline: alloc_* absent */
};

struct delta_report {
	enum delta_mode mode;
	size_t stacks_in;
	size_t stacks_out;
	size_t refused;   /* stacks the next baseline had no room for */
	size_t untracked; /* stacks with no previous value known: alloc 0 */
	int64_t since_ns; /* APPLIED, RESTART: the baseline's start */
};

/* Unpack a Decoded into arena a and check what the aggregator and the
 * exporter rely on (every index in range, array lengths that agree, a
 * profile_id). -1 with the reason in err when it is unusable. */
int delta_unpack(struct arena *a, const void *buf, size_t len,
    Profpipe__Decoded **out, char *err, size_t errlen);

/* The result's profile for in against baseline prev (NULL: none), in
 * arena a; *out may be in itself when nothing changes, and may share in's
 * arrays (keep in until *out is done with). next receives the
 * baseline to commit (all zero when there is none to commit: a pass, an
 * out-of-order profile); next NULL: build none. 0, or -1 out of memory
 * (then next holds nothing). prev is only read. */
int delta_apply(const struct delta_state *prev, const Profpipe__Decoded *in,
    size_t max_stacks, struct arena *a, Profpipe__Decoded **out,
    struct delta_state *next, struct delta_report *rep);

/* Make next the baseline of st (when next holds one) and empty next.
 * Cannot fail: everything was allocated by delta_apply. */
void delta_commit(struct delta_state *st, struct delta_state *next);
/* Free what st holds and zero it. */
void delta_state_release(struct delta_state *st);

const char *delta_mode_name(enum delta_mode m);

#endif
