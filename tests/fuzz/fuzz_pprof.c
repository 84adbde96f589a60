/*
 * libFuzzer target: the whole decode, bytes in (gzip, zstd or plain) to a
 * Decoded out. Any input either decodes into something every later stage
 * can rely on (decoded_check passes, it packs and unpacks, it prints, and
 * its --format json is valid JSON and UTF-8 whatever bytes its names hold)
 * or is refused with a message; never a crash, an overread or a leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/arena.h"
#include "common/decoded.h"
#include "decoder/decode.h"
#include "decoder/decode_print.h"
#include "tests/unit/json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct decoder *dec;
static struct arena *arena;
static FILE *devnull;

/* decode_json_print's document parses, as one JSON value. */
static void
check_json(const Profpipe__Decoded *d)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (f == NULL)
		abort();
	if (decode_json_print(d, "fuzz", f) != 0 || fclose(f) != 0 ||
	    !fx_json_valid(text, n))
		abort();
	free(text);
}

static void
check_roundtrip(const Profpipe__Decoded *d)
{
	Profpipe__Decoded *u;
	uint8_t *buf;
	size_t n;

	n = protobuf_c_message_get_packed_size(&d->base);
	buf = malloc(n + 1);
	if (buf == NULL)
		return;
	protobuf_c_message_pack(&d->base, buf);
	u = profpipe__decoded__unpack(NULL, n, buf);
	if (u == NULL || u->n_stack_frames != d->n_stack_frames ||
	    u->n_strings != d->n_strings || u->n_values != d->n_values)
		abort();
	profpipe__decoded__free_unpacked(u, NULL);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static Profpipe__Origin origin = PROFPIPE__ORIGIN__INIT;
	struct decode_limits lim;
	struct decode_fold g;
	Profpipe__Decoded d;
	char err[1024];
	size_t t;

	if (dec == NULL) {
		decode_limits_default(&lim);
		lim.max_inflated = 16 << 20;
		if (decoder_new(&dec, &lim) != 0)
			abort();
		arena = arena_new(256 << 20);
		devnull = fopen("/dev/null", "w");
		if (arena == NULL || devnull == NULL)
			abort();
	}
	arena_reset(arena);
	err[0] = '\0';
	if (decoder_run(dec, data, size, arena, &d, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	d.origin = &origin;
	if (decoded_check(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "decoded_check: %s\n", err);
		abort();
	}
	check_roundtrip(&d);
	if (decode_fold(&d, arena, &g) == 0) {
		for (t = 0; t < d.n_sample_types; t++)
			decode_fold_print(&d, &g, t, devnull);
	}
	check_json(&d);
	return 0;
}
