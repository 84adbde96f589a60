/*
 * libFuzzer target: the decoder stage's RawProfile view (decoder/raw_view)
 * against protobuf-c's unpack of the same bytes: any input is refused by
 * both or read alike by both (tests/unit/raw_view_diff.h).
 *
 * Inputs with more than MAX_ORIGINS Origin fields are skipped. protobuf-c
 * merges each into the one before, copying the repeated fields so far,
 * and with an arena (which frees nothing until its reset) that costs
 * memory quadratic in their number: 20,000 of them took the uncapped
 * arena here past 2 GB. The decoder stage's arena has a cap, so there such
 * a message is refused once it reaches it (test_raw_view covers repeats).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/arena.h"
#include "common/pb_wire.h"
#include "tests/unit/raw_view_diff.h"

#define MAX_ORIGINS 64

/* How many top-level Origin fields (1, length-delimited) data has, as far
 * as its fields can be walked. */
static size_t
origins(const uint8_t *p, size_t size)
{
	const uint8_t *end = p + size;
	struct pb_field f;
	size_t n = 0;

	while (p < end && pb_next(&p, end, &f) == 0)
		n += f.num == 1 && f.wt == PB_LEN;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	char why[256];

	if (a == NULL && (a = arena_new(0)) == NULL)
		abort();
	if (origins(data, size) > MAX_ORIGINS)
		return 0;
	if (raw_view_diff(a, data, size, why, sizeof(why)) != 0) {
		fprintf(stderr, "fuzz_raw_view: %s\n", why);
		abort();
	}
	return 0;
}
