/*
 * itab: a hash index over things that live elsewhere (a window's strings,
 * frames, label sets, stacks), mapping a 64-bit hash to the index of the
 * thing in its own array. The table stores only (hash, index) pairs; the
 * caller says what "equal" means, so one table type serves every array.
 * Open addressing, linear probing, at most half full, doubled on demand.
 */
#ifndef PROFPIPE_COMMON_ITAB_H
#define PROFPIPE_COMMON_ITAB_H

#include <stddef.h>
#include <stdint.h>

/* A slot's hash beside its index, so a probe touches one cache line. */
struct itab_slot {
	uint64_t hash;
	uint32_t idx; /* index + 1; 0 marks an empty slot */
};

struct itab {
	struct itab_slot *slot;
	size_t mask;
	size_t count;
};

/* Equal: the thing at index idx is the one being looked for. */
typedef int (*itab_eq_fn)(const void *ctx, uint32_t idx);

/* An empty table with room for about n entries. 0, or -1 out of memory. */
int itab_init(struct itab *t, size_t n);
void itab_release(struct itab *t);

/* The index of the entry with hash h that eq accepts: 0 and *idx, or -1
 * when there is none. */
int itab_find(const struct itab *t, uint64_t h, itab_eq_fn eq, const void *ctx,
    uint32_t *idx);

/* Start loading where a lookup of h begins (itab_find soon after). */
void itab_prefetch(const struct itab *t, uint64_t h);

/* The index in the first slot a lookup of h looks at, when that slot
 * holds h (a guess for prefetching, not an answer); else UINT32_MAX. */
uint32_t itab_peek(const struct itab *t, uint64_t h);

/* Add (h, idx); the caller checked it is not there. 0, or -1 out of
 * memory (the table is unchanged). */
int itab_add(struct itab *t, uint64_t h, uint32_t idx);

#endif
