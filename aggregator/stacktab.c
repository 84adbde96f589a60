/*
 * stacktab: the entries (a key followed by its nval values) sit in one
 * array in the order they were put, and an open-addressing index with
 * linear probing, at most half full, maps a key to its entry: 4 bytes a
 * slot, so the index of 100k stacks (1 MiB) stays in cache where the
 * entries would not. A table is put in the order of its profile's stacks,
 * and the next profile of a series lists its stacks in much the same
 * order, so its lookups walk the entries nearly in order too: a large
 * heap profile's delta no longer waits on memory at every stack, twice
 * (the baseline's table and the next one's). Key 0 is stored as 1 (two
 * stacks sharing a 64-bit hash would merge anyway, and this adds one more
 * such pair).
 */
#include "aggregator/stacktab.h"

#include <string.h>

#include "common/xalloc.h"

struct stacktab {
	uint32_t *index; /* per slot: entry + 1, 0 when empty */
	uint64_t *ent;   /* max_keys entries of stride words: key, values */
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

	if (nval == 0 || max_keys >= UINT32_MAX)
		return -1;
	while (slots < max_keys * 2)
		slots *= 2;
	if (nval + 1 > SIZE_MAX / sizeof(uint64_t) / (max_keys + 1))
		return -1;
	t = xcalloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->index = xcalloc(slots, sizeof(*t->index));
	t->ent = xmalloc((max_keys + 1) * (nval + 1) * sizeof(*t->ent));
	if (t->index == NULL || t->ent == NULL) {
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
	xfree(t->index);
	xfree(t->ent);
	xfree(t);
}

/* The index slot of key, or the empty slot where it would go. */
static size_t
stacktab_slot(const struct stacktab *t, uint64_t key)
{
	/* Stack hashes are well mixed already; fold the high bits in so a
	 * small table still sees them. */
	size_t i = (size_t)(key ^ (key >> 32)) & t->mask;

	while (t->index[i] != 0 &&
	    t->ent[(size_t)(t->index[i] - 1) * t->stride] != key)
		i = (i + 1) & t->mask;
	return i;
}

void
stacktab_prefetch(const struct stacktab *t, uint64_t key)
{
	if (key == 0)
		key = 1;
	__builtin_prefetch(&t->index[(size_t)(key ^ (key >> 32)) & t->mask]);
}

const int64_t *
stacktab_get(const struct stacktab *t, uint64_t key)
{
	size_t i = stacktab_slot(t, key == 0 ? 1 : key);

	if (t->index[i] == 0)
		return NULL;
	return (const int64_t *)(t->ent +
	    (size_t)(t->index[i] - 1) * t->stride + 1);
}

int
stacktab_put(struct stacktab *t, uint64_t key, int64_t **row, int *created)
{
	uint64_t *e;
	size_t i;

	if (key == 0)
		key = 1;
	i = stacktab_slot(t, key);
	*created = 0;
	if (t->index[i] == 0) {
		if (t->count >= t->max_keys)
			return -1;
		e = t->ent + t->count * t->stride;
		e[0] = key;
		memset(e + 1, 0, (t->stride - 1) * sizeof(*e));
		t->index[i] = (uint32_t)++t->count;
		*created = 1;
	}
	*row = (int64_t *)(t->ent + (size_t)(t->index[i] - 1) * t->stride + 1);
	return 0;
}

size_t
stacktab_count(const struct stacktab *t)
{
	return t->count;
}
