/*
 * libFuzzer target: the MemStats tail parser (decoder/memstats.c). Any
 * bytes either parse into a MemStats whose pause arrays agree in length
 * and fit Go's 256, or give an error message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/arena.h"
#include "decoder/memstats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	char err[256];

	if (a == NULL)
		return 0;
	if (memstats_decode(data, size, a, &d, err, sizeof(err)) == 0 &&
	    (d.memstats->n_pause_ns != d.memstats->n_pause_end ||
	        d.memstats->n_pause_ns > MEMSTATS_MAX_PAUSES))
		abort();
	arena_free(a);
	return 0;
}
