/*
 * window: the profiles of one series merged over one time window
 * [start_ns, end_ns). Stacks meet by identity (frame text and label set,
 * wtab.h), their values summed per value type; the window knows how many
 * profiles went in and which instances they came from.
 *
 * Memory is bounded by distinct stacks, not by samples or profiles: past
 * max_stacks stacks the window folds, keeping the largest three quarters
 * of max_stacks and adding the rest into one stack of the single frame
 * "(other)" (no labels), so every total is kept. "Largest" compares the
 * stacks' values type by type from the last value type to the first (the
 * last is pprof's usual default: cpu nanoseconds, inuse_space, ...).
 * n_folded counts stack entries folded; a stack folded early that comes
 * back later is a new entry and may be folded again. Instances are listed
 * up to WINDOW_MAX_INSTANCES.
 *
 * Who owns what: the window owns its tables (malloc'd); window_message
 * builds the wire message in an arena the caller gives, pointing into the
 * window for the big arrays: send it before the window changes or is
 * freed.
 */
#ifndef PROFPIPE_AGG_WINDOW_H
#define PROFPIPE_AGG_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator/wtab.h"
#include "common/wire.pb-c.h"

#define WINDOW_MAX_INSTANCES 1024
#define WINDOW_MAX_LABELS 64

struct arena;

struct window {
	int64_t start_ns;
	int64_t end_ns;
	uint32_t n_profiles;
	uint64_t n_folded;
	size_t max_stacks;
	int merged; /* instances merged: the origin's instance is "" */
	int64_t period;
	char *period_type, *period_unit;
	/* The series' origin, from the first profile. */
	char *service, *instance, *kind, *job;
	char *label_key[WINDOW_MAX_LABELS];
	char *label_val[WINDOW_MAX_LABELS];
	size_t n_labels;
	char **instances; /* sorted */
	size_t n_instances;
	struct wtab tab;
	struct window *next; /* the series' list of open windows */
};

/* An empty window; max_stacks >= 4. 0, or -1 out of memory. */
int window_new(struct window **out, int64_t start_ns, int64_t end_ns,
    size_t max_stacks, int merged);
void window_free(struct window *w);

/* The window of length len_ns holding t (aligned to multiples of len_ns
 * since the epoch): its start in *start, its end in *end. -1 when either
 * falls outside int64, for a t within one window of either end of it (a
 * pushed profile's time may be anywhere in int64 nanoseconds). */
int window_bounds(int64_t t_ns, int64_t len_ns, int64_t *start, int64_t *end);

/* Merge profile in (Decoded, as checked by decoded_check) into w. Types
 * marked absent are left out, and so are stacks whose values are all 0.
 * scratch holds per-call maps (the caller resets it). 0; -1 out of
 * memory (w may then hold part of the profile); -2 when in would take
 * w past WTAB_MAX_TYPES value types (w unchanged). */
int window_add(
    struct window *w, const Profpipe__Decoded *in, struct arena *scratch);

/* The wire message for w: origin (a fresh profile_id, is_delta), merged
 * stacks, counts. In arena a; big arrays point into w. 0, or -1. */
int window_message(struct window *w, struct arena *a, Profpipe__Window **out);

#endif
