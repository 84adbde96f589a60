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
 *
 * The scratch stream is a second struct arena allocated with the first
 * (so that having one costs no malloc that can fail): its own chain of
 * blocks and growth, the first one's spare list, cap and count. arena_trim
 * hands the blocks it empties to that spare list too, never to malloc, for
 * the same reason as arena_reset: the pages stay resident and the next
 * allocations reuse them without a fault. Under AddressSanitizer what
 * arena_trim gives back is poisoned until it is allocated again, so that
 * a use of a table after the decoder has trimmed it away is caught: the
 * memory is still the arena's, and nothing else would notice.
 */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct arena *root;        /* the one with the pool below */
	struct arena *scratch;     /* the scratch stream */
	struct arena_block *head;  /* this stream's, in use, newest first */
	size_t next_size;          /* this stream's */
	struct arena_block *spare; /* root: kept by arena_reset, arena_trim */
	size_t cap;                /* root */
	size_t taken;              /* root: bytes of the blocks in use */
	size_t kept;               /* root: bytes of the spare blocks */
};

#define ARENA_FIRST (64 * 1024)
#define ARENA_MAX_BLOCK (8 * 1024 * 1024)
#define ARENA_KEEP ((size_t)128 * 1024 * 1024)

static size_t
arena_round(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	return n == 0 ? 16 : n;
}

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
	struct arena *a = xcalloc(2, sizeof(*a));

	if (a == NULL)
		return NULL;
	a[0].root = &a[0];
	a[0].scratch = &a[1];
	a[1].root = &a[0];
	a[1].scratch = &a[1];
	a[0].cap = cap;
	a[0].next_size = ARENA_FIRST;
	a[1].next_size = ARENA_FIRST;
	return a;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_free_list(a->head);
	arena_free_list(a->scratch->head);
	arena_drop_spare(a);
	xfree(a);
}

/* An emptied block of the root r: to the spare list, or to malloc past
 * ARENA_KEEP. */
static void
arena_spare_block(struct arena *r, struct arena_block *b)
{
	r->taken -= sizeof(*b) + b->size;
	if (r->kept + sizeof(*b) + b->size > ARENA_KEEP) {
		xfree(b);
		return;
	}
	b->used = 0;
	b->next = r->spare;
	r->spare = b;
	r->kept += sizeof(*b) + b->size;
}

static void
arena_reset_stream(struct arena *r, struct arena *s)
{
	struct arena_block *b;

	while (s->head != NULL) {
		b = s->head;
		s->head = b->next;
		arena_spare_block(r, b);
	}
	s->next_size = ARENA_FIRST;
}

void
arena_reset(struct arena *a)
{
	arena_reset_stream(a, a);
	arena_reset_stream(a, a->scratch);
}

/* The smallest spare block of at least need bytes, unlinked. */
static struct arena_block *
arena_take_spare(struct arena *r, size_t need)
{
	struct arena_block **best = NULL;
	struct arena_block **pp;
	struct arena_block *b;

	for (pp = &r->spare; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->size >= need &&
		    (best == NULL || (*pp)->size < (*best)->size))
			best = pp;
	}
	if (best == NULL)
		return NULL;
	b = *best;
	*best = b->next;
	r->kept -= sizeof(*b) + b->size;
	return b;
}

static struct arena_block *
arena_grow(struct arena *s, size_t need)
{
	struct arena *r = s->root;
	struct arena_block *b;
	size_t size = s->next_size;

	if (size < need)
		size = need;
	b = arena_take_spare(r, need);
	if (b != NULL)
		goto use;
	if (r->cap != 0 && r->taken + r->kept + size + sizeof(*b) > r->cap)
		arena_drop_spare(r);
	if (r->cap != 0 &&
	    (r->taken + size + sizeof(*b) > r->cap || size > r->cap))
		return NULL;
	b = xmalloc(sizeof(*b) + size);
	if (b == NULL) {
		/* The spare blocks may be what malloc is missing. */
		if (r->spare == NULL)
			return NULL;
		arena_drop_spare(r);
		b = xmalloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
	}
	b->size = size;
use:
	b->used = 0;
	b->next = s->head;
	s->head = b;
	r->taken += sizeof(*b) + b->size;
	if (s->next_size < ARENA_MAX_BLOCK)
		s->next_size *= 2;
	return b;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	void *p;

	if (n > SIZE_MAX - 16)
		return NULL;
	n = arena_round(n);
	if (b == NULL || b->size - b->used < n) {
		b = arena_grow(a, n);
		if (b == NULL)
			return NULL;
	}
	p = b->data + b->used;
	b->used += n;
	ARENA_UNPOISON(p, n);
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

struct arena *
arena_scratch(struct arena *a)
{
	return a->scratch;
}

/* The spare blocks count as room: arena_grow frees them when it must. */
int
arena_reserve(struct arena *a, size_t n, size_t leave)
{
	struct arena *r = a->root;

	if (n > SIZE_MAX / 4 || leave > SIZE_MAX / 4)
		return -1;
	n = arena_round(n);
	if (a->head != NULL && a->head->size - a->head->used >= n)
		return 0;
	if (r->cap != 0 &&
	    r->taken + sizeof(struct arena_block) + n + leave > r->cap)
		return -1;
	return arena_grow(a, n) != NULL ? 0 : -1;
}

int
arena_extend(struct arena *a, void *p, size_t old, size_t n)
{
	struct arena_block *b = a->head;
	size_t off;

	if (b == NULL || n > SIZE_MAX - 16 || (unsigned char *)p < b->data ||
	    (unsigned char *)p > b->data + b->used)
		return -1;
	off = (size_t)((unsigned char *)p - b->data);
	if (off + arena_round(old) != b->used || n > b->size - off ||
	    arena_round(n) > b->size - off)
		return -1;
	b->used = off + arena_round(n);
	ARENA_UNPOISON(p, b->used - off);
	return 0;
}

void
arena_trim(struct arena *a, const void *p, size_t keep)
{
	const unsigned char *q = p;
	struct arena_block *b;
	struct arena_block *n;
	size_t off;

	for (b = a->head; b != NULL; b = b->next) {
		if (q >= b->data && q <= b->data + b->used)
			break;
	}
	if (b == NULL)
		return;
	while (a->head != b) {
		n = a->head;
		a->head = n->next;
		ARENA_POISON(n->data, n->used);
		arena_spare_block(a->root, n);
	}
	off = (size_t)(q - b->data);
	if (keep <= b->used - off && arena_round(keep) <= b->used - off) {
		ARENA_POISON(b->data + off + arena_round(keep),
		    b->used - off - arena_round(keep));
		b->used = off + arena_round(keep);
	}
}

size_t
arena_used(const struct arena *a)
{
	return a->root->taken;
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
