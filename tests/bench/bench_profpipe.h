/*
 * bench_profpipe: profpipe's decoder as bench_decode measures it, set up as
 * the decoder stage sets it up: one struct decoder from decoder_new, one
 * arena capped at decode_arena_cap, reset between profiles. Every call
 * decodes the gzipped bytes from scratch (inflate, parse, resolve,
 * collapse); nothing of one call's result is reused by the next.
 */
#ifndef PROFPIPE_BENCH_PROFPIPE_H
#define PROFPIPE_BENCH_PROFPIPE_H

#include <stddef.h>
#include <stdint.h>

struct bench_profpipe;

/* 0, or -1 when out of memory. portable: read as CPUs without a fast
 * pext do (decode_limits.portable). bench_profpipe_free(NULL) does
 * nothing. */
int bench_profpipe_new(struct bench_profpipe **out, int portable);
void bench_profpipe_free(struct bench_profpipe *bp);

/* Decode body into the arena, dropping the previous call's result. On
 * success *samples is the profile's sample count before collapsing. -1 on
 * a failed decode, with the reason on stderr. */
int bench_profpipe_decode(struct bench_profpipe *bp, const uint8_t *body,
    size_t len, size_t *samples);

#endif
