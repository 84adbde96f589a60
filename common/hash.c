/*
 * hash: a small, fast, well-mixed 64-bit hash (a wyhash-style multiply-fold
 * over 8-byte words). Not for adversarial hash tables keyed by secrets; it
 * names stacks, and collisions only merge two stacks' values.
 */
#include "common/hash.h"

#include <string.h>

static inline uint64_t
hash_mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t
hash_bytes(uint64_t seed, const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = seed ^ hash_mix(len, 0xa0761d6478bd642fULL);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h = hash_mix(h ^ w, 0xe7037ed1a0b428dbULL);
		s += 8;
		len -= 8;
	}
	w = 0;
	if (len > 0)
		memcpy(&w, s, len);
	h = hash_mix(h ^ w ^ ((uint64_t)len << 56), 0x8ebc6af09c88c6e3ULL);
	return h;
}

uint64_t
hash_u64(uint64_t seed, uint64_t v)
{
	return hash_u64_inline(seed, v);
}
