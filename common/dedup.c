/*
 * dedup: a ring of ids in arrival order plus an open-addressing table of
 * slots into the ring, sized at twice the capacity. Eviction removes the
 * ring's oldest entry from the table with backward-shift deletion, so
 * lookups never see tombstones.
 */
#include "common/dedup.h"

#include <stdint.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

#define DEDUP_ID_MAX 64

struct dedup {
	char (*ring)[DEDUP_ID_MAX];
	uint64_t *ring_hash;
	size_t cap;
	size_t count;
	size_t head;     /* next ring slot to write */
	uint32_t *table; /* ring index + 1; 0 empty */
	size_t mask;
};

struct dedup *
dedup_new(size_t capacity)
{
	struct dedup *d;
	size_t tsize = 16;

	if (capacity == 0)
		capacity = 1;
	if (capacity > UINT32_MAX / 4)
		return NULL;
	while (tsize < capacity * 2)
		tsize *= 2;
	d = xcalloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->ring = xcalloc(capacity, DEDUP_ID_MAX);
	d->ring_hash = xcalloc(capacity, sizeof(uint64_t));
	d->table = xcalloc(tsize, sizeof(uint32_t));
	if (d->ring == NULL || d->ring_hash == NULL || d->table == NULL) {
		dedup_free(d);
		return NULL;
	}
	d->cap = capacity;
	d->mask = tsize - 1;
	return d;
}

void
dedup_free(struct dedup *d)
{
	if (d == NULL)
		return;
	xfree(d->ring);
	xfree(d->ring_hash);
	xfree(d->table);
	xfree(d);
}

static uint64_t
dedup_hash(const char *id, size_t *len)
{
	*len = strnlen(id, DEDUP_ID_MAX - 1);
	return hash_bytes(HASH_SEED, id, *len);
}

/* Table slot holding ring index r, or of the empty slot where id would go. */
static size_t
dedup_find(const struct dedup *d, const char *id, size_t len, uint64_t h)
{
	size_t i = (size_t)h & d->mask;
	uint32_t r;

	for (;;) {
		r = d->table[i];
		if (r == 0)
			return i;
		if (d->ring_hash[r - 1] == h &&
		    strncmp(d->ring[r - 1], id, len) == 0 &&
		    d->ring[r - 1][len] == '\0')
			return i;
		i = (i + 1) & d->mask;
	}
}

int
dedup_seen(const struct dedup *d, const char *id)
{
	size_t len;
	uint64_t h = dedup_hash(id, &len);

	return d->table[dedup_find(d, id, len, h)] != 0;
}

static void
dedup_remove_slot(struct dedup *d, size_t i)
{
	size_t j = i;
	size_t home;

	d->table[i] = 0;
	for (;;) {
		j = (j + 1) & d->mask;
		if (d->table[j] == 0)
			return;
		home = (size_t)d->ring_hash[d->table[j] - 1] & d->mask;
		/* move j back to i if its home is not in (i, j] */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			d->table[i] = d->table[j];
			d->table[j] = 0;
			i = j;
		}
	}
}

int
dedup_add(struct dedup *d, const char *id)
{
	size_t len;
	uint64_t h = dedup_hash(id, &len);
	size_t slot = dedup_find(d, id, len, h);
	size_t r = d->head;
	size_t old;

	if (d->table[slot] != 0)
		return 0;
	if (d->count == d->cap) {
		old = dedup_find(
		    d, d->ring[r], strlen(d->ring[r]), d->ring_hash[r]);
		dedup_remove_slot(d, old);
		d->count--;
		slot = dedup_find(d, id, len, h);
	}
	memcpy(d->ring[r], id, len);
	d->ring[r][len] = '\0';
	d->ring_hash[r] = h;
	d->table[slot] = (uint32_t)(r + 1);
	d->head = (r + 1) % d->cap;
	d->count++;
	return 0;
}
