/*
 * store_ids: the stack or frame ids one store query meets, each given a
 * dense slot (0, 1, ...) in the order met. A query's arrays are indexed
 * by slot, so its memory follows what it answers, not the highest rowid
 * the store has handed out over its life (rowids only grow while the
 * newest rows live). Ids up to STORE_IDS_DIRECT find their slot in an
 * array indexed by id (4 bytes an id: what a store of a few million
 * stacks costs, and the fastest way); ids past it, in a hash index
 * (common/itab.h).
 */
#ifndef PROFPIPE_EXPORT_STORE_IDS_H
#define PROFPIPE_EXPORT_STORE_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "common/itab.h"

/* Slots one query may give out, stacks or frames. */
#define STORE_IDS_MAX ((size_t)1 << 27)
/* Ids found through an array indexed by id, at most. */
#define STORE_IDS_DIRECT ((int64_t)1 << 22)

struct store_ids {
	struct itab t;
	uint32_t *direct; /* id → slot + 1, for ids up to direct_max */
	int64_t direct_max;
	int64_t *id; /* slot → id */
	size_t n, size;
};

/* max: the highest id the query may meet (0: unknown); an id past it or
 * past STORE_IDS_DIRECT goes to the hash index. 0, or -1 out of memory. */
int store_ids_init(struct store_ids *m, int64_t max);
void store_ids_release(struct store_ids *m);

/* id's slot, given it if new. -1 out of memory or past STORE_IDS_MAX. */
int64_t store_ids_slot(struct store_ids *m, int64_t id);

/* id's slot, or -1 when it has none. */
int64_t store_ids_find(const struct store_ids *m, int64_t id);

/* The same for an id the direct array holds, inline for the hot loops:
 * -1 when it has no slot there yet (store_ids_slot then). */
static inline int64_t
store_ids_direct(const struct store_ids *m, int64_t id)
{
	return id > 0 && id <= m->direct_max ? (int64_t)m->direct[id] - 1 : -1;
}

/* Every id with a slot, in ascending order, into out (room for m->n). */
void store_ids_sorted(const struct store_ids *m, int64_t *out);

#endif
