/*
 * stacktab: open addressing with linear probing over two flat arrays (keys,
 * and values in rows of nval), at most half full, so a table of 100k stacks
 * is three mallocs rather than 100k. Key 0 marks an empty slot; a stack
 * whose key is 0 is stored as 1 (two stacks sharing a 64-bit hash would
 * merge anyway, and this adds one more such pair).
 */
#include "aggregator/stacktab.h"

#include <string.h>

#include "common/xalloc.h"

struct stacktab {
	uint64_t *keys;
	int64_t *vals;
	size_t nval;
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
	if (nval > SIZE_MAX / sizeof(int64_t) / slots)
		return -1;
	t = xcalloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->keys = xcalloc(slots, sizeof(*t->keys));
	t->vals = xmalloc(slots * nval * sizeof(*t->vals));
	if (t->keys == NULL || t->vals == NULL) {
		stacktab_free(t);
		return -1;
	}
	t->nval = nval;
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
	xfree(t->keys);
	xfree(t->vals);
	xfree(t);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t
stacktab_slot(const struct stacktab *t, uint64_t key)
{
	/* Stack hashes are well mixed already; fold the high bits in so a
	 * small table still sees them. */
	size_t i = (size_t)(key ^ (key >> 32)) & t->mask;

	while (t->keys[i] != 0 && t->keys[i] != key)
		i = (i + 1) & t->mask;
	return i;
}

const int64_t *
stacktab_get(const struct stacktab *t, uint64_t key)
{
	size_t i;

	if (key == 0)
		key = 1;
	i = stacktab_slot(t, key);
	if (t->keys[i] == 0)
		return NULL;
	return t->vals + i * t->nval;
}

int
stacktab_put(struct stacktab *t, uint64_t key, int64_t **row, int *created)
{
	size_t i;

	if (key == 0)
		key = 1;
	i = stacktab_slot(t, key);
	*created = 0;
	if (t->keys[i] == 0) {
		if (t->count >= t->max_keys)
			return -1;
		t->keys[i] = key;
		memset(t->vals + i * t->nval, 0, t->nval * sizeof(*t->vals));
		t->count++;
		*created = 1;
	}
	*row = t->vals + i * t->nval;
	return 0;
}

size_t
stacktab_count(const struct stacktab *t)
{
	return t->count;
}
