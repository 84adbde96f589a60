/*
 * stacktab: open addressing with linear probing over one flat array of
 * slots, each a key followed by its nval values, at most half full, so a
 * table of 100k stacks is two mallocs rather than 100k, and a lookup
 * touches one cache line rather than one for the key and another for its
 * values (the tables of a large heap profile outgrow the cache, and every
 * lookup was two misses). Key 0 marks an empty slot; a stack whose key is
 * 0 is stored as 1 (two stacks sharing a 64-bit hash would merge anyway,
 * and this adds one more such pair). Slots are zeroed once, at
 * stacktab_new, and never deleted: an empty slot's values are still 0
 * when stacktab_put takes it.
 */
#include "aggregator/stacktab.h"

#include <string.h>

#include "common/xalloc.h"

struct stacktab {
	uint64_t *slots; /* (1 + nval) words per slot: key, values */
	size_t stride;
	size_t mask;
	size_t count;
	size_t max_keys;
};

int
stacktab_new(struct stacktab **out, size_t nval, size_t max_keys)
{
	struct stacktab *t;
	size_t slots = 8;

	if (nval == 0 || max_keys > SIZE_MAX / 8)
		return -1;
	while (slots < max_keys * 2)
		slots *= 2;
	if (nval + 1 > SIZE_MAX / sizeof(uint64_t) / slots)
		return -1;
	t = xcalloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->slots = xcalloc(slots * (nval + 1), sizeof(*t->slots));
	if (t->slots == NULL) {
		stacktab_free(t);
		return -1;
	}
	t->stride = nval + 1;
	t->mask = slots - 1;
	t->max_keys = max_keys;
	*out = t;
	return 0;
}

void
stacktab_free(struct stacktab *t)
{
	if (t == NULL)
		return;
	xfree(t->slots);
	xfree(t);
}

/* The slot holding key, or the empty slot where it would go. */
static uint64_t *
stacktab_slot(const struct stacktab *t, uint64_t key)
{
	/* Stack hashes are well mixed already; fold the high bits in so a
	 * small table still sees them. */
	size_t i = (size_t)(key ^ (key >> 32)) & t->mask;
	uint64_t *s = t->slots + i * t->stride;

	while (s[0] != 0 && s[0] != key) {
		i = (i + 1) & t->mask;
		s = t->slots + i * t->stride;
	}
	return s;
}

const int64_t *
stacktab_get(const struct stacktab *t, uint64_t key)
{
	const uint64_t *s = stacktab_slot(t, key == 0 ? 1 : key);

	if (s[0] == 0)
		return NULL;
	return (const int64_t *)(s + 1);
}

int
stacktab_put(struct stacktab *t, uint64_t key, int64_t **row, int *created)
{
	uint64_t *s;

	if (key == 0)
		key = 1;
	s = stacktab_slot(t, key);
	*created = 0;
	if (s[0] == 0) {
		if (t->count >= t->max_keys)
			return -1;
		s[0] = key;
		t->count++;
		*created = 1;
	}
	*row = (int64_t *)(s + 1);
	return 0;
}

size_t
stacktab_count(const struct stacktab *t)
{
	return t->count;
}
