/*
 * hash: a small, fast, well-mixed 64-bit hash (a wyhash-style multiply-fold
 * over 8-byte words). Not for adversarial hash tables keyed by secrets; it
 * names stacks, and collisions only merge two stacks' values.
 */
#include "common/hash.h"

#include <stddef.h>
#include <string.h>

static inline uint64_t
hash_mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* The last len (< 8) bytes before end, as memcpy into a zeroed word would
 * put them, without a byte loop: when 8 bytes lie before end (some of the
 * string hashed already), one load and a shift; else two overlapping
 * loads of 4, or three single bytes. */
static inline uint64_t
hash_tail(const unsigned char *end, size_t len, size_t total)
{
	uint64_t w;
	uint32_t lo;
	uint32_t hi;

	if (len == 0)
		return 0;
	if (total >= 8) {
		memcpy(&w, end - 8, 8);
		return w >> (64 - 8 * len);
	}
	if (len >= 4) {
		memcpy(&lo, end - len, 4);
		memcpy(&hi, end - 4, 4);
		return (uint64_t)lo | (uint64_t)hi << (8 * (len - 4));
	}
	return (uint64_t)end[-(ptrdiff_t)len] |
	    (uint64_t)end[(ptrdiff_t)(len / 2) - (ptrdiff_t)len]
	    << (8 * (len / 2)) |
	    (uint64_t)end[-1] << (8 * (len - 1));
}

uint64_t
hash_bytes(uint64_t seed, const void *p, size_t len)
{
	const unsigned char *s = p;
	const size_t total = len;
	uint64_t h = seed ^ hash_mix(len, 0xa0761d6478bd642fULL);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h = hash_mix(h ^ w, 0xe7037ed1a0b428dbULL);
		s += 8;
		len -= 8;
	}
	w = hash_tail(s + len, len, total);
	h = hash_mix(h ^ w ^ ((uint64_t)len << 56), 0x8ebc6af09c88c6e3ULL);
	return h;
}

uint64_t
hash_u64(uint64_t seed, uint64_t v)
{
	return hash_u64_inline(seed, v);
}
