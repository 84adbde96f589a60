/*
 * arena: a bump allocator for everything one profile's decode produces.
 * Allocations are never freed one by one; arena_free drops all of them in
 * one call; arena_reset keeps the blocks (up to a limit) for the next
 * profile, so a decoder that resets once per profile stops calling malloc
 * once it has seen the largest.
 *
 * An arena has a cap (bytes it may take from malloc in all); past it every
 * allocation fails, so hostile input cannot make a decode balloon.
 *
 * Each arena has a second stream of allocations, its scratch stream
 * (arena_scratch), with its own blocks under the same cap: memory that can
 * be given back before the reset (arena_trim) so that what is allocated
 * next reuses its pages. The decoder puts the inflated profile, the
 * tables that die once the locations are resolved, and then the frames
 * of the stacks there, one after the other in one block reserved at the
 * start (arena_reserve), which is what keeps its peak near the size of
 * its output plus its input.
 */
#ifndef PROFPIPE_ARENA_H
#define PROFPIPE_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct arena;

/* cap 0 means no cap. Returns NULL when out of memory. */
struct arena *arena_new(size_t cap);
/* Both take the arena arena_new gave (not its scratch stream), and drop
 * the scratch stream's allocations too. */
void arena_free(struct arena *a);
void arena_reset(struct arena *a);

/* 16-byte aligned; NULL when the cap or malloc says no. a may be an
 * arena or its scratch stream. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t nmemb, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* a's scratch stream (itself if a is one). Its allocations live until
 * arena_reset, like any, unless arena_trim gives them back sooner. */
struct arena *arena_scratch(struct arena *a);

/* Make the next n bytes allocated in this stream come from one block:
 * the current one if it has room, else a spare or new block of at least
 * n. Only memory that is written costs pages, so a generous n costs
 * nothing but room under the cap, of which leave bytes must remain for
 * the allocations the reservation is not for. 0, or -1 (cap or malloc)
 * with nothing changed: a hint, whose failure only means more blocks. */
int arena_reserve(struct arena *a, size_t n, size_t leave);

/* Grow p, the last allocation of its stream (old bytes), to n bytes in
 * place. 0 if it could (its block has room), -1 if not: nothing changed. */
int arena_extend(struct arena *a, void *p, size_t old, size_t n);

/* Give back every allocation made in p's stream after p (an allocation
 * of a, a stream), and p's own bytes past its first keep, to be reused by
 * the allocations that follow. Nothing goes back to malloc: blocks wholly
 * given back become spare blocks. */
void arena_trim(struct arena *a, const void *p, size_t keep);

/* Bytes of the blocks in use (both streams); spare blocks kept by
 * arena_reset or arena_trim are not counted, though the cap counts them.
 * Until an arena_trim, the peak since the last reset. */
size_t arena_used(const struct arena *a);

/* A protobuf-c allocator whose free is a no-op: unpack into the arena. */
void arena_pb_allocator(struct arena *a, ProtobufCAllocator *out);

#endif
