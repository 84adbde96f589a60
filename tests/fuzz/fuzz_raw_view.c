/*
 * libFuzzer target: the decoder stage's RawProfile view (decoder/raw_view)
 * against protobuf-c's unpack of the same bytes: any input is refused by
 * both or read alike by both (tests/unit/raw_view_diff.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/arena.h"
#include "tests/unit/raw_view_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	char why[256];

	if (a == NULL && (a = arena_new(0)) == NULL)
		abort();
	if (raw_view_diff(a, data, size, why, sizeof(why)) != 0) {
		fprintf(stderr, "fuzz_raw_view: %s\n", why);
		abort();
	}
	return 0;
}
