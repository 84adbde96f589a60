/*
 * flame: a profile's stacks as a call tree, the tree SkyWalking's profile
 * analysis returns and a flame graph draws. Every element is one call path
 * from the root: {id, parentId, codeSignature, total, self}, listed in
 * depth-first pre-order, the root first (id 0, parentId -1, codeSignature
 * "root", its total the profile's). An element's codeSignature is
 * "function:line"; inlined lines are frames of their own already, so they
 * are elements of their own. Children of one element are merged by
 * codeSignature and listed in codeSignature order (byte order), so one
 * profile gives one tree, byte for byte.
 *
 * Two totals per element: the value of a chosen column (nanoseconds,
 * bytes: flame_build's value) and the count SkyWalking counts (its count
 * column, flame_count_column):
 *
 *   value type         count type
 *   cpu                samples        (sample count, before the period)
 *   delay              contentions    (mutex, block)
 *   inuse_space        inuse_objects  (heap)
 *   alloc_space        alloc_objects  (heap, allocs)
 *   any "count" unit   itself         (goroutine, threadcreate, *_objects)
 *
 * total = self + the children's totals, for values and counts alike, so
 * the root's total is the sum of every self. Stacks whose value and count
 * are both 0 are left out. Pure: no I/O. A struct flame is reused between
 * profiles without reallocating.
 */
#ifndef PROFPIPE_EXPORT_FLAME_H
#define PROFPIPE_EXPORT_FLAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/wire.pb-c.h"
#include "exporter/profile.h"

/* Elements in one tree at most, and frames in all of a profile's stacks
 * (each stack's path is kept while the tree is made): a profile past
 * either is refused. */
#define FLAME_MAX_ELEMS ((size_t)1 << 22)
#define FLAME_MAX_FRAMES ((size_t)1 << 26)

struct flame_elem {
	int64_t parent; /* index (= id) of the parent; -1 for the root */
	uint32_t sig;   /* signature id: flame_signature */
	uint32_t depth; /* root 0 */
	int64_t total;  /* value, this call path and below */
	int64_t self;   /* value, this call path as the leaf */
	int64_t count_total;
	int64_t count_self;
};

struct flame {
	struct flame_elem *elems; /* n, pre-order: the result */
	size_t n;
	uint32_t max_depth;
	int has_count; /* a count column was given */
	/* signatures: text in sigs, offsets in sig_off */
	struct buf sigs;
	uint32_t *sig_off;
	size_t n_sigs, size_sigs;
	/* scratch kept between builds */
	size_t size_elems;
	uint32_t root_sig;
	uint32_t *sig_index; /* signature text → sig + 1 */
	size_t sig_mask;
	uint32_t *frame_sig; /* frame → sig + 1; 0 not yet named */
	size_t size_frame_sig;
	uint32_t *sorted, *rank; /* rank → sig, sig → rank (byte order) */
	size_t size_sorted, size_rank;
	uint32_t *stk; /* kept stack → its index in the profile */
	size_t n_stk, size_stk;
	uint32_t *seq_off, *seq; /* kept stack's path, root first */
	size_t size_seq_off, size_seq;
	uint32_t *order; /* kept stacks in path order */
	size_t size_order;
	uint32_t *path; /* depth → element, of the path last walked */
	size_t size_path;
	int over_cap; /* the last build passed a cap above */
};

void flame_init(struct flame *f);
void flame_release(struct flame *f);

/* Build p's tree into f->elems: values of column value, counts of count
 * (NULL: none, the counts stay 0). p must have passed export_check. 0,
 * -1 out of memory, or -2 past FLAME_MAX_ELEMS or FLAME_MAX_FRAMES. */
int flame_build(struct flame *f, const Profpipe__Decoded *p,
    const struct export_col *value, const struct export_col *count);

/* Element i's codeSignature. */
const char *flame_signature(const struct flame *f, size_t i);

/* The count column that goes with value in p (table above). 0, or -1
 * when p has none. */
int flame_count_column(const Profpipe__Decoded *p,
    const struct export_col *value, struct export_col *out);

/* The tree as one JSON object into out:
 *   {"title":..,"valueType":"cpu","unit":"nanoseconds",
 *    "countType":"samples","total":N,"totalCount":N,
 *    "elements":[{"id":0,"parentId":-1,"codeSignature":"root",
 *                 "total":N,"self":N,"totalCount":N,"selfCount":N},...]}
 * countType is "" when the tree has no counts. 0, or -1 past out's cap. */
int flame_json(const struct flame *f, const char *title,
    const struct export_col *value, const struct export_col *count,
    struct buf *out);

#endif
