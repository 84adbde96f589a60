/*
 * pprof_ltail: samples' label sets remembered by the bytes of their
 * labels. Go writes a sample's labels last, and a heap or allocs profile
 * gives every sample one ("bytes", the object size) out of a few dozen
 * values: biggo-heap has 3339 samples over 64 label sets. Reading a label
 * (its fields, its string indices checked) and finding its set (sorted,
 * hashed, looked up) cost about a seventh of reading such a sample; bytes
 * seen before in the same profile mean the same labels, already checked,
 * so their set is taken at once.
 *
 * The key is a sample's tail from its first label field to its end, when
 * that is at most 16 bytes and holds label fields only (a location list or
 * a value after a label would be skipped with it, so such tails are never
 * remembered: the reader checks, field by field, on the way that fills
 * the table). A profile without labels never looks; the table is small
 * and bounded, and entries past its cap are simply not kept.
 */
#ifndef PROFPIPE_PPROF_LTAIL_H
#define PROFPIPE_PPROF_LTAIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/hash.h"

#define PPROF_LTAIL_MAX 16     /* bytes of labels kept as a key */
#define PPROF_LTAIL_SLOTS 1024 /* the table; half of it may be used */

struct pprof_ltail_entry {
	uint64_t w[2]; /* the tail's bytes, zero past n */
	uint32_t n;    /* 0: empty slot */
	uint32_t set;  /* its label set */
};

struct pprof_ltail {
	struct pprof_ltail_entry *slots; /* PPROF_LTAIL_SLOTS; NULL: off */
	uint32_t used;
};

/* The n (1 .. 16) bytes at p as two words, zero past n. limit: how far
 * the buffer may be read, as in pprof_memo_tail. */
static inline void
pprof_ltail_key(
    const uint8_t *p, size_t n, const uint8_t *limit, uint64_t w[2])
{
	uint8_t b[16] = {0};

	if (limit - p >= 16) {
		memcpy(w, p, 16);
		if (n <= 8) {
			w[0] &= ~0ULL >> (64 - 8 * n);
			w[1] = 0;
		} else if (n < 16) {
			w[1] &= ~0ULL >> (128 - 8 * n);
		}
		return;
	}
	memcpy(b, p, n);
	memcpy(w, b, 16);
}

static inline uint32_t
pprof_ltail_slot(const uint64_t w[2], size_t n)
{
	uint64_t h = hash_u64_inline(HASH_SEED ^ n, w[0]);

	h = hash_u64_inline(h, w[1]);
	return (uint32_t)(h >> 32) & (PPROF_LTAIL_SLOTS - 1);
}

/* The entry of the tail w (n bytes), or the empty slot where it would go
 * (n 0). The table is never more than half full, so there is one. */
static inline struct pprof_ltail_entry *
pprof_ltail_probe(const struct pprof_ltail *t, const uint64_t w[2], size_t n)
{
	uint32_t s = pprof_ltail_slot(w, n);
	struct pprof_ltail_entry *e;

	for (;; s = (s + 1) & (PPROF_LTAIL_SLOTS - 1)) {
		e = &t->slots[s];
		if (e->n == 0 ||
		    (e->n == n && e->w[0] == w[0] && e->w[1] == w[1]))
			return e;
	}
}

/* The set of the tail w (n bytes), or -1. */
static inline int64_t
pprof_ltail_find(const struct pprof_ltail *t, const uint64_t w[2], size_t n)
{
	const struct pprof_ltail_entry *e = pprof_ltail_probe(t, w, n);

	return e->n != 0 ? (int64_t)e->set : -1;
}

/* Remember that the tail w (n bytes) has label set set. */
static inline void
pprof_ltail_add(
    struct pprof_ltail *t, const uint64_t w[2], size_t n, uint32_t set)
{
	struct pprof_ltail_entry *e;

	if (t->slots == NULL || t->used == PPROF_LTAIL_SLOTS / 2)
		return;
	e = pprof_ltail_probe(t, w, n);
	if (e->n != 0)
		return; /* added for a sample read before this one */
	e->w[0] = w[0];
	e->w[1] = w[1];
	e->n = (uint32_t)n;
	e->set = set;
	t->used++;
}

#endif
