/*
 * pprof_memo: samples' stacks remembered by the bytes of their location
 * ids. A real Go heap or allocs profile repeats each stack with many
 * label sets (its "bytes" label): biggo-heap has 3339 samples over 295
 * distinct location lists. Resolving a list (every id looked up, its
 * frames copied, the stack hash summed) is most of reading a sample, so
 * a list seen before is taken whole from the stack that already holds its
 * frames: one lookup and one copy.
 *
 * An entry names a stack kept in the caller's frame array (by offset, so
 * it survives the array's growth) whose frames a list resolved to. It is
 * only used for a sample whose first location field is that list, so the
 * stack hash sum needs no shifting. Go writes each (stack, label set)
 * once, so only a sample with labels can share its list with a later one:
 * the table is made, and filled, from those alone, and a profile without
 * labels never has one. Profiles whose lists do not repeat (synthetic
 * ones) switch the memo off after a first look, at the cost of hashing
 * that many lists; the table's size is capped, so its memory is small and
 * bounded.
 */
#ifndef PROFPIPE_PPROF_MEMO_H
#define PROFPIPE_PPROF_MEMO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/hash.h"

#define PPROF_MEMO_MAX 512   /* entries; the table has twice as many slots */
#define PPROF_MEMO_TRIAL 512 /* lookups before deciding */
#define PPROF_MEMO_KEEP 8    /* 1 in this many hit in the trial, or it stops */

struct pprof_memo_entry {
	const uint8_t *ids; /* the list's bytes, in the profile; NULL: empty */
	uint64_t h;         /* their hash */
	uint32_t n;         /* their length */
	uint32_t off;       /* the stack's first frame in the frame array */
	uint32_t k;         /* its frames */
	uint32_t nl;        /* its locations */
	uint64_t sum;       /* its stack hash sum */
};

struct pprof_memo {
	struct pprof_memo_entry *slots; /* mask + 1; NULL until needed */
	uint32_t mask;
	uint32_t used;
	uint32_t looked;
	uint32_t hits;
	int on;
};

/* The last n (< 8) bytes at p, from one 8-byte load where limit allows
 * it (the reader's buffer has 8 readable bytes past any sample but the
 * last), the rest zero. */
static inline uint64_t
pprof_memo_tail(const uint8_t *p, size_t n, const uint8_t *limit)
{
	uint64_t w = 0;

	if (limit - p >= 8) {
		memcpy(&w, p, 8);
		return n == 0 ? 0 : w & (~0ULL >> (64 - 8 * n));
	}
	memcpy(&w, p, n);
	return w;
}

static inline uint64_t
pprof_memo_hash(const uint8_t *p, size_t n, const uint8_t *limit)
{
	uint64_t h = HASH_SEED ^ n;
	uint64_t w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = hash_u64_inline(h, w);
	}
	return hash_u64_inline(h, pprof_memo_tail(p, n, limit));
}

/* Whether a[0 .. n) and b[0 .. n) are the same bytes (a before b). */
static inline int
pprof_memo_same(
    const uint8_t *a, const uint8_t *b, size_t n, const uint8_t *limit)
{
	uint64_t x;
	uint64_t y;

	for (; n >= 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
	}
	return pprof_memo_tail(a, n, limit) == pprof_memo_tail(b, n, limit);
}

/* The entry for the list ids[0 .. n) with hash h, or NULL. Counts the
 * lookup, and switches the memo off after a trial with too few hits. */
static inline const struct pprof_memo_entry *
pprof_memo_find(struct pprof_memo *m, const uint8_t *ids, size_t n, uint64_t h,
    const uint8_t *limit)
{
	uint32_t s = (uint32_t)h & m->mask;
	const struct pprof_memo_entry *e;

	if (++m->looked == PPROF_MEMO_TRIAL &&
	    m->hits < PPROF_MEMO_TRIAL / PPROF_MEMO_KEEP)
		m->on = 0;
	if (m->slots == NULL)
		return NULL;
	for (;; s = (s + 1) & m->mask) {
		e = &m->slots[s];
		if (e->ids == NULL)
			return NULL;
		if (e->h == h && e->n == n &&
		    pprof_memo_same(e->ids, ids, n, limit)) {
			m->hits++;
			return e;
		}
	}
}

/* Remember that ids[0 .. n) (hash h) resolved to the k frames at off. */
static inline void
pprof_memo_add(struct pprof_memo *m, const uint8_t *ids, size_t n, uint64_t h,
    uint32_t off, uint32_t k, uint32_t nl, uint64_t sum)
{
	uint32_t s = (uint32_t)h & m->mask;
	struct pprof_memo_entry *e;

	if (!m->on || m->slots == NULL || m->used == PPROF_MEMO_MAX || n == 0)
		return;
	for (;; s = (s + 1) & m->mask) {
		e = &m->slots[s];
		if (e->ids == NULL)
			break;
		if (e->h == h && e->n == n && memcmp(e->ids, ids, n) == 0)
			return; /* added for a sample read before this one */
	}
	e->ids = ids;
	e->h = h;
	e->n = (uint32_t)n;
	e->off = off;
	e->k = k;
	e->nl = nl;
	e->sum = sum;
	m->used++;
}

#endif
