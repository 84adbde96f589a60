/*
 * keyset: open addressing with linear probing over the names' hashes; a
 * slot belongs to the set when it carries the set's generation, so
 * clearing bumps the generation and touches no slot (all of them once in
 * 2^32 clears, when it wraps).
 */
#include "exporter/keyset.h"

#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

#define KEYSET_NAMES_CAP ((size_t)64 * 1024 * 1024)

void
keyset_init(struct keyset *k)
{
	memset(k, 0, sizeof(*k));
	k->gen = 1;
	buf_init(&k->names, KEYSET_NAMES_CAP);
}

void
keyset_release(struct keyset *k)
{
	xfree(k->slots);
	buf_release(&k->names);
	memset(k, 0, sizeof(*k));
}

void
keyset_clear(struct keyset *k)
{
	k->n = 0;
	buf_clear(&k->names);
	if (++k->gen == 0) {
		if (k->slots != NULL)
			memset(k->slots, 0, k->cap * sizeof(*k->slots));
		k->gen = 1;
	}
}

static struct keyset_slot *
keyset_find(const struct keyset *k, const char *s, size_t n, uint64_t h)
{
	struct keyset_slot *e;
	size_t i;

	for (i = (size_t)h & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
		e = &k->slots[i];
		if (e->gen != k->gen)
			return e; /* a free slot: not there */
		if (e->h == h && e->len == n &&
		    (n == 0 || memcmp(k->names.data + e->off, s, n) == 0))
			return e;
	}
}

int
keyset_has(const struct keyset *k, const char *s, size_t n)
{
	if (k->n == 0)
		return 0;
	return keyset_find(k, s, n, hash_bytes(HASH_SEED, s, n))->gen ==
	    k->gen;
}

/* Twice the slots (at least 16), the names hashed in again. */
static int
keyset_grow(struct keyset *k)
{
	struct keyset_slot *old = k->slots;
	size_t ocap = k->cap;
	struct keyset_slot *e;
	size_t i;

	k->cap = ocap ? 2 * ocap : 16;
	k->slots = xcalloc(k->cap, sizeof(*k->slots));
	if (k->slots == NULL) {
		k->slots = old;
		k->cap = ocap;
		return -1;
	}
	for (i = 0; i < ocap; i++) {
		if (old[i].gen != k->gen)
			continue;
		e = keyset_find(k, (const char *)k->names.data + old[i].off,
		    old[i].len, old[i].h);
		*e = old[i];
	}
	xfree(old);
	return 0;
}

int
keyset_add(struct keyset *k, const char *s, size_t n)
{
	uint64_t h = hash_bytes(HASH_SEED, s, n);
	struct keyset_slot *e;

	if (2 * (k->n + 1) > k->cap && keyset_grow(k) < 0)
		return -1;
	e = keyset_find(k, s, n, h);
	if (e->gen == k->gen)
		return 0;
	e->off = k->names.len;
	if (buf_append(&k->names, s, n) < 0)
		return -1;
	e->h = h;
	e->len = n;
	e->gen = k->gen;
	k->n++;
	return 1;
}
