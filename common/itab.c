/*
 * itab: the probing and the doubling behind itab.h. Hashes are stored so
 * a probe compares 64-bit numbers and calls eq only on a real candidate.
 */
#include "common/itab.h"

#include "common/xalloc.h"

int
itab_init(struct itab *t, size_t n)
{
	size_t slots = 16;

	if (n > SIZE_MAX / 16)
		return -1;
	while (slots < n * 2)
		slots *= 2;
	t->slot = xcalloc(slots, sizeof(*t->slot));
	if (t->slot == NULL)
		return -1;
	t->mask = slots - 1;
	t->count = 0;
	return 0;
}

void
itab_release(struct itab *t)
{
	xfree(t->slot);
	t->slot = NULL;
	t->mask = 0;
	t->count = 0;
}

static size_t
itab_start(const struct itab *t, uint64_t h)
{
	return (size_t)(h ^ (h >> 29) ^ (h >> 47)) & t->mask;
}

void
itab_prefetch(const struct itab *t, uint64_t h)
{
	if (t->slot != NULL)
		__builtin_prefetch(&t->slot[itab_start(t, h)]);
}

uint32_t
itab_peek(const struct itab *t, uint64_t h)
{
	const struct itab_slot *sl;

	if (t->slot == NULL)
		return UINT32_MAX;
	sl = &t->slot[itab_start(t, h)];
	return sl->idx != 0 && sl->hash == h ? sl->idx - 1 : UINT32_MAX;
}

int
itab_find(const struct itab *t, uint64_t h, itab_eq_fn eq, const void *ctx,
    uint32_t *idx)
{
	size_t i;

	if (t->slot == NULL)
		return -1;
	for (i = itab_start(t, h); t->slot[i].idx != 0;
	     i = (i + 1) & t->mask) {
		if (t->slot[i].hash == h && eq(ctx, t->slot[i].idx - 1)) {
			*idx = t->slot[i].idx - 1;
			return 0;
		}
	}
	return -1;
}

static void
itab_place(struct itab *t, uint64_t h, uint32_t idx)
{
	size_t i = itab_start(t, h);

	while (t->slot[i].idx != 0)
		i = (i + 1) & t->mask;
	t->slot[i].hash = h;
	t->slot[i].idx = idx + 1;
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
		if (t->slot[i].idx != 0)
			itab_place(&n, t->slot[i].hash, t->slot[i].idx - 1);
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
