/*
 * test_hash: hash_bytes against the plain definition it replaced (the
 * tail copied byte by byte into a zeroed word), for every length up to 64
 * at every alignment, each string in a buffer of exactly its size so that
 * the sanitizer build sees any read outside it. Stack hashes are compared
 * across processes and versions: the value must not change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hash.h"

static uint64_t
mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t
plain(uint64_t seed, const unsigned char *s, size_t len)
{
	uint64_t h = seed ^ mix(len, 0xa0761d6478bd642fULL);
	uint64_t w;
	size_t i;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h = mix(h ^ w, 0xe7037ed1a0b428dbULL);
		s += 8;
		len -= 8;
	}
	w = 0;
	for (i = 0; i < len; i++)
		w |= (uint64_t)s[i] << (8 * i);
	return mix(h ^ w ^ ((uint64_t)len << 56), 0x8ebc6af09c88c6e3ULL);
}

static void
test_same_as_plain(void **state)
{
	unsigned char *b;
	uint64_t seed = HASH_SEED;
	size_t len;
	size_t i;
	int round;

	(void)state;
	for (round = 0; round < 8; round++) {
		for (len = 0; len <= 64; len++) {
			b = malloc(len + 1);
			assert_non_null(b);
			for (i = 0; i < len; i++)
				b[i] = (unsigned char)(seed >> (i % 57));
			assert_true(
			    hash_bytes(seed, b, len) == plain(seed, b, len));
			/* every suffix: every alignment, exact ends */
			for (i = 1; i < len; i++)
				assert_true(hash_bytes(seed, b + i, len - i) ==
				    plain(seed, b + i, len - i));
			free(b);
			seed = mix(seed, 0x9e3779b97f4a7c15ULL) + len;
		}
	}
	/* values taken from the byte-loop version, as other processes and
	 * stored windows have them */
	assert_true(
	    hash_bytes(HASH_SEED, "main.main", 9) == 0xa7b40b8ff1f80583ULL);
	assert_true(hash_bytes(HASH_SEED, "/usr/local/go/src/runtime/proc.go",
	                33) == 0xa75cdc1068af0e55ULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_as_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
