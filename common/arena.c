/*
 * arena: blocks chained from malloc, bump-allocated. Block sizes double up
 * to 8 MiB so a big profile costs a few dozen mallocs, and a request larger
 * than a block gets a block of its own.
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
	struct arena_block *head;
	size_t cap;
	size_t taken;
	size_t next_size;
};

#define ARENA_FIRST (64 * 1024)
#define ARENA_MAX_BLOCK (8 * 1024 * 1024)

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
	struct arena_block *b;

	if (a == NULL)
		return;
	while (a->head != NULL) {
		b = a->head;
		a->head = b->next;
		xfree(b);
	}
	xfree(a);
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b;

	if (a->head == NULL)
		return;
	/* Keep the oldest (last) block, which is the smallest. */
	while (a->head->next != NULL) {
		b = a->head;
		a->head = b->next;
		a->taken -= sizeof(*b) + b->size;
		xfree(b);
	}
	a->head->used = 0;
	a->next_size = ARENA_FIRST;
}

static struct arena_block *
arena_grow(struct arena *a, size_t need)
{
	struct arena_block *b;
	size_t size = a->next_size;

	if (size < need)
		size = need;
	if (a->cap != 0 &&
	    (a->taken + size + sizeof(*b) > a->cap || size > a->cap))
		return NULL;
	b = xmalloc(sizeof(*b) + size);
	if (b == NULL)
		return NULL;
	b->size = size;
	b->used = 0;
	b->next = a->head;
	a->head = b;
	a->taken += sizeof(*b) + size;
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
