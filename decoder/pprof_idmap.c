/*
 * pprof_idmap: from a pprof id (of a location, function or mapping) to its
 * index in the table that defines it. Go numbers each table 1..N in order,
 * which needs no map at all; anything else gets an open-addressing table at
 * most half full, keyed by the id (0 is reserved in pprof, so it marks an
 * empty slot).
 */
#include <string.h>

#include "decoder/pprof.h"

static uint64_t
idmap_id(const void *ids, size_t stride, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)ids + i * stride, sizeof(v));
	return v;
}

static uint64_t
idmap_slot(uint64_t id, uint64_t mask)
{
	return (id * 0x9e3779b97f4a7c15ULL >> 17) & mask;
}

int
pprof_idmap_build(struct pprof_idmap *m, const void *ids, size_t stride,
    size_t n, struct arena *a, size_t *bad)
{
	uint64_t slots = 16;
	uint64_t id;
	uint64_t s;
	size_t i;

	memset(m, 0, sizeof(*m));
	m->n = (uint32_t)n;
	for (i = 0; i < n; i++) {
		if (idmap_id(ids, stride, i) != i + 1)
			break;
	}
	if (i == n) {
		m->dense = 1;
		return 0;
	}
	while (slots < 2 * (uint64_t)n)
		slots *= 2;
	m->mask = slots - 1;
	m->keys = arena_calloc(a, slots, sizeof(*m->keys));
	m->vals = arena_alloc(a, slots * sizeof(*m->vals));
	if (m->keys == NULL || m->vals == NULL)
		return DECODE_ENOMEM;
	for (i = 0; i < n; i++) {
		id = idmap_id(ids, stride, i);
		if (id == 0) {
			*bad = i;
			return DECODE_EBAD;
		}
		s = idmap_slot(id, m->mask);
		while (m->keys[s] != 0 && m->keys[s] != id)
			s = (s + 1) & m->mask;
		if (m->keys[s] == id) {
			*bad = i;
			return DECODE_EBAD;
		}
		m->keys[s] = id;
		m->vals[s] = (uint32_t)i;
	}
	return 0;
}

uint32_t
pprof_idmap_find(const struct pprof_idmap *m, uint64_t id)
{
	uint64_t s;

	if (id == 0 || m->keys == NULL)
		return PPROF_NONE;
	s = idmap_slot(id, m->mask);
	while (m->keys[s] != 0) {
		if (m->keys[s] == id)
			return m->vals[s];
		s = (s + 1) & m->mask;
	}
	return PPROF_NONE;
}
