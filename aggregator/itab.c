/*
 * itab: the probing and the doubling behind itab.h. Hashes are stored so
 * a probe compares 64-bit numbers and calls eq only on a real candidate.
 */
#include "aggregator/itab.h"

#include "common/xalloc.h"

int
itab_init(struct itab *t, size_t n)
{
	size_t slots = 16;

	if (n > SIZE_MAX / 16)
		return -1;
	while (slots < n * 2)
		slots *= 2;
	t->hash = xcalloc(slots, sizeof(*t->hash));
	t->idx = xcalloc(slots, sizeof(*t->idx));
	if (t->hash == NULL || t->idx == NULL) {
		itab_release(t);
		return -1;
	}
	t->mask = slots - 1;
	t->count = 0;
	return 0;
}

void
itab_release(struct itab *t)
{
	xfree(t->hash);
	xfree(t->idx);
	t->hash = NULL;
	t->idx = NULL;
	t->mask = 0;
	t->count = 0;
}

static size_t
itab_start(const struct itab *t, uint64_t h)
{
	return (size_t)(h ^ (h >> 29) ^ (h >> 47)) & t->mask;
}

int
itab_find(const struct itab *t, uint64_t h, itab_eq_fn eq, const void *ctx,
    uint32_t *idx)
{
	size_t i;

	if (t->idx == NULL)
		return -1;
	for (i = itab_start(t, h); t->idx[i] != 0; i = (i + 1) & t->mask) {
		if (t->hash[i] == h && eq(ctx, t->idx[i] - 1)) {
			*idx = t->idx[i] - 1;
			return 0;
		}
	}
	return -1;
}

static void
itab_place(struct itab *t, uint64_t h, uint32_t idx)
{
	size_t i = itab_start(t, h);

	while (t->idx[i] != 0)
		i = (i + 1) & t->mask;
	t->hash[i] = h;
	t->idx[i] = idx + 1;
	t->count++;
}

static int
itab_grow(struct itab *t)
{
	struct itab n;
	size_t i;

	if (itab_init(&n, (t->mask + 1)) < 0)
		return -1;
	for (i = 0; i <= t->mask; i++) {
		if (t->idx[i] != 0)
			itab_place(&n, t->hash[i], t->idx[i] - 1);
	}
	itab_release(t);
	*t = n;
	return 0;
}

int
itab_add(struct itab *t, uint64_t h, uint32_t idx)
{
	if (idx == UINT32_MAX)
		return -1;
	if ((t->count + 1) * 2 > t->mask + 1 && itab_grow(t) < 0)
		return -1;
	itab_place(t, h, idx);
	return 0;
}
