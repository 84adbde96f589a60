/*
 * arena: a bump allocator for everything one profile's decode produces.
 * Allocations are never freed one by one; arena_free drops all of them in
 * one call; arena_reset keeps the blocks (up to a limit) for the next
 * profile, so a decoder that resets once per profile stops calling malloc
 * once it has seen the largest.
 *
 * An arena has a cap (bytes it may take from malloc in all); past it every
 * allocation fails, so hostile input cannot make a decode balloon.
 */
#ifndef PROFPIPE_ARENA_H
#define PROFPIPE_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

struct arena;

/* cap 0 means no cap. Returns NULL when out of memory. */
struct arena *arena_new(size_t cap);
void arena_free(struct arena *a);
void arena_reset(struct arena *a);

/* 16-byte aligned; NULL when the cap or malloc says no. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t nmemb, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* Bytes of the blocks in use since the last reset (the peak since then,
 * since nothing is given back before it); spare blocks kept by
 * arena_reset are not counted, though the cap counts them. */
size_t arena_used(const struct arena *a);

/* A protobuf-c allocator whose free is a no-op: unpack into the arena. */
void arena_pb_allocator(struct arena *a, ProtobufCAllocator *out);

#endif
