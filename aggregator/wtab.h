/*
 * wtab: the tables a window merges profiles into: its own string table,
 * frames, label sets and stacks, each interned by text, so stacks from
 * profiles with unrelated string tables meet as one. A stack is its frame
 * sequence plus its label set; its values are summed per value type, the
 * value types being the window's own (matched by type and unit name).
 *
 * The arrays have the shapes of a Decoded profile (wire.proto) so that
 * wtab_view can lend them out as one without copying: strings[0] is "",
 * label_sets[0] is the empty set.
 *
 * Memory: everything is malloc'd and owned by the wtab; wtab_release
 * frees it. Nothing here is capped: struct window caps the stacks, and
 * strings, frames and label sets only ever grow with the stacks that use
 * them (a fold rebuilds the tables from the stacks it keeps).
 */
#ifndef PROFPIPE_AGG_WTAB_H
#define PROFPIPE_AGG_WTAB_H

#include <stddef.h>
#include <stdint.h>

#include "common/itab.h"
#include "common/wire.pb-c.h"

/* Value types a window keeps at most (pprof profiles have 1 to 4). */
#define WTAB_MAX_TYPES 8

struct wtab {
	char **str;
	size_t n_str, cap_str;
	struct itab str_ix;

	uint32_t vt_type[WTAB_MAX_TYPES]; /* indices into str */
	uint32_t vt_unit[WTAB_MAX_TYPES];
	size_t n_types;

	uint32_t *fr_func, *fr_file;
	int64_t *fr_line;
	size_t n_fr, cap_fr;
	struct itab fr_ix;

	Profpipe__LabelSet **ls; /* each one malloc'd block */
	size_t n_ls, cap_ls;
	struct itab ls_ix;

	uint32_t *sf; /* stack frames, all stacks */
	size_t n_sf, cap_sf;
	uint32_t *st_off; /* n_st + 1 */
	uint32_t *st_ls;
	uint64_t *st_hash;
	int64_t *st_val; /* n_st x WTAB_MAX_TYPES */
	size_t n_st, cap_st;
	struct itab st_ix;  /* by the window's frame indices and label set */
	struct itab st_tix; /* by text: stack hash and labels' text */
};

/* An empty table ("" and the empty label set in place). 0 or -1. */
int wtab_init(struct wtab *t);
void wtab_release(struct wtab *t);

/* The index of string s in t, added if new. 0, or -1 out of memory. */
int wtab_intern(struct wtab *t, const char *s, uint32_t *out);

/* The index of value type (type, unit) in t, added if new: 0, or -1
 * when t has WTAB_MAX_TYPES already or memory ran out. */
int wtab_type(struct wtab *t, const char *type, const char *unit, size_t *out);

/* Per-source scratch: where each of src's strings, frames and label sets
 * went in t (UINT32_MAX: not yet). Sized by wtab_maps_new in arena a. */
struct wtab_maps {
	uint32_t *str;
	uint32_t *fr;
	uint32_t *ls;
	uint64_t *ls_text; /* per label set of src: hash of its text */
	uint32_t *buf;     /* one stack's frames */
	size_t buf_len;
};
struct arena;
int wtab_maps_new(
    struct wtab_maps *m, const Profpipe__Decoded *src, struct arena *a);

/* Find stack i of src in t, adding it (its frames, labels and strings
 * too) if new, with zero values. 0 and *row (WTAB_MAX_TYPES values, valid
 * until t next changes), or -1 out of memory. *created tells which. */
int wtab_stack(struct wtab *t, const Profpipe__Decoded *src,
    struct wtab_maps *m, size_t i, int64_t **row, int *created);

/* Start loading what wtab_stack will read for stack i of src, in two
 * steps: wtab_prefetch the index slot some stacks ahead, then, once that
 * slot is in cache, wtab_prefetch_stack the window's stack it names. A
 * caller that does both ahead of its lookups overlaps their misses. */
void wtab_prefetch(const struct wtab *t, const Profpipe__Decoded *src,
    const struct wtab_maps *m, size_t i);
void wtab_prefetch_stack(const struct wtab *t, const Profpipe__Decoded *src,
    const struct wtab_maps *m, size_t i);

/* The single-frame stack "(other)" with no labels, added if new. */
int wtab_other(struct wtab *t, int64_t **row, uint32_t *idx);

/* t's tables as a Decoded (no origin, no sample types, no values): the
 * arrays are t's, valid until t changes. */
void wtab_view(const struct wtab *t, Profpipe__Decoded *out);

#endif
