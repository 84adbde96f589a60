/*
 * decode_inflate: the decoder's front end. Tells gzip, zstd and plain
 * protobuf apart by their first bytes and turns any of them into one
 * writable buffer in the arena, never larger than a cap.
 *
 * Bombs are refused before any inflating: gzip's trailer (ISIZE) and
 * zstd's frame header say how large the output will be, and a claim over
 * the cap is refused at once. A claim that lies (or a stream that has no
 * claim) still cannot make the buffer grow past the cap: inflating stops
 * there and fails.
 */
#ifndef PROFPIPE_DECODE_INFLATE_H
#define PROFPIPE_DECODE_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"

enum decode_codec { DECODE_PLAIN, DECODE_GZIP, DECODE_ZSTD };

/* What body's first bytes say it is. */
enum decode_codec decode_sniff(const uint8_t *body, size_t len);
const char *decode_codec_name(enum decode_codec c);

/* Decompressor state kept between calls (allocated on first use). */
struct decode_inflate;
int decode_inflate_new(struct decode_inflate **out);
void decode_inflate_free(struct decode_inflate *z);

/* The size body says it inflates to (gzip's ISIZE, zstd's frame content
 * size, a plain body's length), if the claim is one decode_inflate would
 * act on: 0 when there is none, or it is over max or not believable. For
 * planning only: the inflated size may still differ. */
size_t decode_inflate_claim(const uint8_t *body, size_t len, size_t max);

/* Inflate body into *out (in a, with one spare byte past *outlen that the
 * caller may write). A plain body is copied. Returns 0, DECODE_EBAD with a
 * reason in err (corrupt, truncated, over max bytes), or DECODE_ENOMEM. */
int decode_inflate(struct decode_inflate *z, const uint8_t *body, size_t len,
    size_t max, struct arena *a, uint8_t **out, size_t *outlen, char *err,
    size_t errlen);

#endif
