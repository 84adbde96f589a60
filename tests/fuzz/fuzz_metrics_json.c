/*
 * libFuzzer target: the decoder's reader of dd-trace-go's metrics.json
 * (plain, gzip or zstd): any bytes give metrics within the caps or an
 * error that says why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/arena.h"
#include "decoder/decode_metrics_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(64 << 20);
	Profpipe__Decoded d;
	char err[256];

	if (a == NULL)
		return 0;
	err[0] = '\0';
	if (metrics_json_decode(data, size, a, &d, err, sizeof(err)) == 0) {
		if (d.n_runtime_metrics > METRICS_JSON_MAX_METRICS)
			abort();
	} else if (err[0] == '\0') {
		abort();
	}
	arena_free(a);
	return 0;
}
