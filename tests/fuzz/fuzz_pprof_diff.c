/*
 * libFuzzer target: the hand-written pprof reader against protobuf-c's
 * generated unpack, on the same (uncompressed) bytes. Where both accept a
 * profile, they must read the same tables (tests/unit/pprof_diff.h); the
 * reader refuses more (dangling references, as Go does), never reads
 * differently.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/arena.h"
#include "decoder/pprof.h"
#include "tests/unit/pprof_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *arena;
	struct decode_limits lim;
	struct pprof_profile r;
	Perftools__Profiles__Profile *p;
	char err[1024];
	int rv;

	if (arena == NULL) {
		arena = arena_new(256 << 20);
		if (arena == NULL)
			abort();
	}
	arena_reset(arena);
	decode_limits_default(&lim);
	rv = pprof_read(data, size, &lim, arena, &r, err, sizeof(err));
	p = perftools__profiles__profile__unpack(NULL, size, data);
	if (rv == 0 && p != NULL && pprof_diff(p, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "pprof_read and protobuf-c differ: %s\n", err);
		abort();
	}
	if (p != NULL)
		perftools__profiles__profile__free_unpacked(p, NULL);
	return 0;
}
