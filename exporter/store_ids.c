/*
 * store_ids: ids to dense slots (store_ids.h), over common/itab.
 */
#include "exporter/store_ids.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct store_ids_key {
	const struct store_ids *m;
	int64_t id;
};

static uint64_t
store_ids_hash(int64_t id)
{
	return (uint64_t)id * 0x9e3779b97f4a7c15ULL;
}

static int
store_ids_eq(const void *ctx, uint32_t idx)
{
	const struct store_ids_key *k = ctx;

	return k->m->id[idx] == k->id;
}

int
store_ids_init(struct store_ids *m, int64_t max)
{
	memset(m, 0, sizeof(*m));
	if (max > 0 && max <= STORE_IDS_DIRECT) {
		m->direct = xcalloc((size_t)max + 1, sizeof(*m->direct));
		if (m->direct == NULL)
			return -1;
		m->direct_max = max;
	}
	return itab_init(&m->t, 1024);
}

void
store_ids_release(struct store_ids *m)
{
	itab_release(&m->t);
	xfree(m->direct);
	xfree(m->id);
	memset(m, 0, sizeof(*m));
}

int64_t
store_ids_find(const struct store_ids *m, int64_t id)
{
	struct store_ids_key k = {m, id};
	uint32_t idx;

	if (id > 0 && id <= m->direct_max)
		return (int64_t)m->direct[id] - 1;
	if (itab_find(&m->t, store_ids_hash(id), store_ids_eq, &k, &idx) < 0)
		return -1;
	return idx;
}

int64_t
store_ids_slot(struct store_ids *m, int64_t id)
{
	int64_t slot = store_ids_find(m, id);
	size_t size;
	void *p;

	if (slot >= 0)
		return slot;
	if (m->n >= STORE_IDS_MAX)
		return -1;
	if (m->n == m->size) {
		size = m->size ? 2 * m->size : 1024;
		p = xrealloc(m->id, size * sizeof(*m->id));
		if (p == NULL)
			return -1;
		m->id = p;
		m->size = size;
	}
	if (id > 0 && id <= m->direct_max)
		m->direct[id] = (uint32_t)m->n + 1;
	else if (itab_add(&m->t, store_ids_hash(id), (uint32_t)m->n) < 0)
		return -1;
	m->id[m->n] = id;
	return (int64_t)m->n++;
}

static int
store_ids_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a;
	int64_t y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

void
store_ids_sorted(const struct store_ids *m, int64_t *out)
{
	if (m->n == 0)
		return;
	memcpy(out, m->id, m->n * sizeof(*out));
	qsort(out, m->n, sizeof(*out), store_ids_cmp);
}
