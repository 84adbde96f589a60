/*
 * bench_profpipe: the profpipe mode of bench_decode. It goes through the
 * decoder's public API only (decoder/decode.h), the way the decoder stage's
 * main loop does, so the number it yields is the stage's per-profile cost
 * without the sockets around it.
 */
#include "tests/bench/bench_profpipe.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/arena.h"
#include "decoder/decode.h"

struct bench_profpipe {
	struct decoder *dec;
	struct arena *a;
};

int
bench_profpipe_new(struct bench_profpipe **out, int portable)
{
	struct decode_limits lim;
	struct bench_profpipe *bp = calloc(1, sizeof(*bp));

	if (bp == NULL)
		return -1;
	decode_limits_default(&lim);
	lim.portable = portable;
	/* No malloc tuning: the stage sets none. Its arena keeps its blocks
	 * across arena_reset, which is what spares it the page faults. */
	if (decoder_new(&bp->dec, &lim) != 0)
		goto out_free;
	bp->a = arena_new(decode_arena_cap(&lim));
	if (bp->a == NULL)
		goto out_free_decoder;
	*out = bp;
	return 0;

out_free_decoder:
	decoder_free(bp->dec);
out_free:
	free(bp);
	return -1;
}

void
bench_profpipe_free(struct bench_profpipe *bp)
{
	if (bp == NULL)
		return;
	arena_free(bp->a);
	decoder_free(bp->dec);
	free(bp);
}

int
bench_profpipe_decode(struct bench_profpipe *bp, const uint8_t *body,
    size_t len, size_t *samples)
{
	Profpipe__Decoded d = PROFPIPE__DECODED__INIT;
	struct decode_narrow nw;
	char err[256];

	arena_reset(bp->a);
	/* As the stage: frames left 16-bit when they fit, for the packing
	 * (not measured, as before) to widen where it used to copy them. */
	if (decoder_run_narrow(bp->dec, body, len, bp->a, &d, &nw, err,
	        sizeof(err)) != DECODE_OK) {
		fprintf(stderr, "profpipe: %s\n", err);
		return -1;
	}
	*samples = (size_t)d.n_samples;
	return 0;
}
