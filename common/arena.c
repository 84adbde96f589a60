/*
 * arena: blocks chained from malloc, bump-allocated. Block sizes double up
 * to 8 MiB so a big profile costs a few dozen mallocs, and a request larger
 * than a block gets a block of its own.
 *
 * arena_reset keeps the blocks (up to ARENA_KEEP bytes of them) on a spare
 * list, and the next allocations take the smallest spare block that fits
 * before asking malloc. A decoder resets its arena once per profile, and
 * profiles of one kind have one shape, so the second profile of a kind
 * runs on the first one's memory: no malloc, no munmap, no page faults
 * (giving multi-megabyte blocks back to the kernel made each decode of a
 * large profile pay for re-faulting them, a quarter of its time). Spare
 * blocks count against the cap; when a new block would pass the cap, the
 * spare ones are freed first.
 */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct arena_block *head;  /* in use, newest first */
	struct arena_block *spare; /* kept by arena_reset */
	size_t cap;
	size_t taken; /* bytes of the blocks in use */
	size_t kept;  /* bytes of the spare blocks */
	size_t next_size;
};

#define ARENA_FIRST (64 * 1024)
#define ARENA_MAX_BLOCK (8 * 1024 * 1024)
#define ARENA_KEEP ((size_t)128 * 1024 * 1024)

static void
arena_free_list(struct arena_block *b)
{
	struct arena_block *next;

	while (b != NULL) {
		next = b->next;
		xfree(b);
		b = next;
	}
}

static void
arena_drop_spare(struct arena *a)
{
	arena_free_list(a->spare);
	a->spare = NULL;
	a->kept = 0;
}

struct arena *
arena_new(size_t cap)
{
	struct arena *a = xcalloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->cap = cap;
	a->next_size = ARENA_FIRST;
	return a;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_free_list(a->head);
	arena_drop_spare(a);
	xfree(a);
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b;

	while (a->head != NULL) {
		b = a->head;
		a->head = b->next;
		a->taken -= sizeof(*b) + b->size;
		if (a->kept + sizeof(*b) + b->size > ARENA_KEEP) {
			xfree(b);
			continue;
		}
		b->used = 0;
		b->next = a->spare;
		a->spare = b;
		a->kept += sizeof(*b) + b->size;
	}
	a->next_size = ARENA_FIRST;
}

/* The smallest spare block of at least need bytes, unlinked. */
static struct arena_block *
arena_take_spare(struct arena *a, size_t need)
{
	struct arena_block **best = NULL;
	struct arena_block **pp;
	struct arena_block *b;

	for (pp = &a->spare; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->size >= need &&
		    (best == NULL || (*pp)->size < (*best)->size))
			best = pp;
	}
	if (best == NULL)
		return NULL;
	b = *best;
	*best = b->next;
	a->kept -= sizeof(*b) + b->size;
	return b;
}

static struct arena_block *
arena_grow(struct arena *a, size_t need)
{
	struct arena_block *b;
	size_t size = a->next_size;

	if (size < need)
		size = need;
	b = arena_take_spare(a, need);
	if (b != NULL)
		goto use;
	if (a->cap != 0 && a->taken + a->kept + size + sizeof(*b) > a->cap)
		arena_drop_spare(a);
	if (a->cap != 0 &&
	    (a->taken + size + sizeof(*b) > a->cap || size > a->cap))
		return NULL;
	b = xmalloc(sizeof(*b) + size);
	if (b == NULL) {
		/* The spare blocks may be what malloc is missing. */
		if (a->spare == NULL)
			return NULL;
		arena_drop_spare(a);
		b = xmalloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
	}
	b->size = size;
use:
	b->used = 0;
	b->next = a->head;
	a->head = b;
	a->taken += sizeof(*b) + b->size;
	if (a->next_size < ARENA_MAX_BLOCK)
		a->next_size *= 2;
	return b;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	void *p;

	if (n > SIZE_MAX - 16)
		return NULL;
	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (b == NULL || b->size - b->used < n) {
		b = arena_grow(a, n);
		if (b == NULL)
			return NULL;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

void *
arena_calloc(struct arena *a, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	p = arena_alloc(a, nmemb * size);
	if (p != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t
arena_used(const struct arena *a)
{
	return a->taken;
}

static void *
arena_pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void
arena_pb_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr;
}

void
arena_pb_allocator(struct arena *a, ProtobufCAllocator *out)
{
	out->alloc = arena_pb_alloc;
	out->free = arena_pb_free;
	out->allocator_data = a;
}
