/*
 * hash: 64-bit hashing for stack identity. Stacks are hashed over the text
 * of their frames (not over per-profile indices), so the same stack has the
 * same hash in every profile, every process and every run.
 */
#ifndef PROFPIPE_HASH_H
#define PROFPIPE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SEED 0x9e3779b97f4a7c15ULL

/* Hash len bytes, continuing from seed (chain calls to hash a sequence). */
uint64_t hash_bytes(uint64_t seed, const void *p, size_t len);
uint64_t hash_u64(uint64_t seed, uint64_t v);

/* hash_u64 itself, inline, for loops that chain millions of them (the
 * decoder's stack hashes): the same function, without the call. */
static inline uint64_t
hash_u64_inline(uint64_t seed, uint64_t v)
{
	__uint128_t r = (__uint128_t)(seed ^ v) * 0x589965cc75374cc3ULL;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#endif
