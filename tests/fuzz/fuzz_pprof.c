/*
 * libFuzzer target: the whole decode, bytes in (gzip, zstd or plain) to a
 * Decoded out. Any input either decodes into something every later stage
 * can rely on (decoded_check passes, it packs and unpacks, its --format
 * folded lines are well-formed and keep each type's total, and its
 * --format json is valid JSON and UTF-8 whatever bytes its names hold) or
 * is refused with a message; never a crash, an overread or a leak. The
 * portable way of reading (--portable: no BMI2 pext, as on CPUs without a
 * fast one) with 32-bit frame ids throughout (decode_limits.wide) must
 * give the same Decoded, byte for byte, as the fast way with 16-bit ids
 * widened after, or the same refusal; and the stage's way out
 * (decode_pack, frames widened as they are packed) the same Decoded
 * again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/decoded.h"
#include "decoder/decode.h"
#include "decoder/decode_print.h"
#include "tests/unit/json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct decoder *dec;
static struct decoder *dec_portable;
static struct arena *arena;
static struct arena *arena_portable;
static struct arena *arena_narrow;

/* d packed into *out (malloc'd): its size. */
static size_t
packed(const Profpipe__Decoded *d, uint8_t **out)
{
	size_t n = protobuf_c_message_get_packed_size(&d->base);

	*out = malloc(n + 1);
	if (*out == NULL)
		abort();
	protobuf_c_message_pack(&d->base, *out);
	return n;
}

/* The portable way's verdict on the same input: rv and err, or d. */
static void
check_portable(const uint8_t *data, size_t size, int rv, const char *err,
    const Profpipe__Decoded *d)
{
	Profpipe__Decoded p;
	char perr[1024];
	uint8_t *x;
	uint8_t *y;
	size_t nx;
	size_t ny;
	int prv;

	arena_reset(arena_portable);
	perr[0] = '\0';
	prv = decoder_run(
	    dec_portable, data, size, arena_portable, &p, perr, sizeof(perr));
	if (prv != rv || (rv != 0 && strcmp(perr, err) != 0)) {
		fprintf(stderr, "pext: %d %s; portable: %d %s\n", rv, err, prv,
		    perr);
		abort();
	}
	if (rv == 0) {
		nx = packed(d, &x);
		ny = packed(&p, &y);
		if (nx != ny || memcmp(x, y, nx) != 0) {
			fprintf(stderr, "pext and portable differ\n");
			abort();
		}
		free(x);
		free(y);
	}
}

/* The stage's way: decode_pack's bytes read back are d (protobuf-c packs
 * in field order, decode_pack puts the frames last: both are compared
 * packed by protobuf-c). */
static void
check_stage_pack(const uint8_t *data, size_t size, const Profpipe__Decoded *d)
{
	Profpipe__Decoded x;
	Profpipe__Decoded *u;
	struct decode_narrow nw;
	char err[1024];
	uint8_t *buf;
	uint8_t *a;
	uint8_t *b;
	size_t n;
	size_t na;
	size_t nb;

	arena_reset(arena_narrow);
	if (decoder_run_narrow(
	        dec, data, size, arena_narrow, &x, &nw, err, sizeof(err)) != 0)
		abort();
	x.origin = d->origin;
	n = decode_packed_size(&x, &nw);
	buf = malloc(n + 1);
	if (buf == NULL)
		abort();
	decode_pack(&x, &nw, buf);
	u = profpipe__decoded__unpack(NULL, n, buf);
	if (u == NULL)
		abort();
	na = packed(u, &a);
	nb = packed(d, &b);
	if (na != nb || memcmp(a, b, na) != 0) {
		fprintf(stderr, "decode_pack differs\n");
		abort();
	}
	profpipe__decoded__free_unpacked(u, NULL);
	free(buf);
	free(a);
	free(b);
}

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

/* decode_fold_print's lines for type t: each a frame list with no
 * control byte, a space and a value other than 0, the values summing to
 * the profile's total in t (when no sum overflows); or, when a group's
 * sum of t overflowed, nothing and -2. */
static void
check_folded(const Profpipe__Decoded *d, const struct decode_fold *g, size_t t)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	const char *p;
	const char *end;
	const char *nl;
	const char *sp;
	const char *q;
	int64_t want = 0;
	int64_t got = 0;
	int overflow = 0;
	size_t i;
	char *num_end;
	long long v;

	if (f == NULL)
		abort();
	if (decode_fold_print(d, g, t, f) != (g->overflow[t] ? -2 : 0) ||
	    fclose(f) != 0 || (g->overflow[t] && n != 0))
		abort();
	if (g->overflow[t]) {
		free(text);
		return;
	}
	for (i = 0; i < decoded_n_stacks(d); i++)
		overflow |= __builtin_add_overflow(
		    want, d->values[i * d->n_sample_types + t], &want);
	for (p = text, end = text + n; n > 0 && p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			abort();
		for (sp = nl; sp > p && sp[-1] != ' '; sp--)
			;
		if (sp == p || sp == nl)
			abort();
		for (q = p; q < sp; q++) {
			if ((unsigned char)*q < 0x20)
				abort();
		}
		v = strtoll(sp, &num_end, 10);
		if (num_end != nl || v == 0)
			abort();
		overflow |= __builtin_add_overflow(got, (int64_t)v, &got);
	}
	if (!overflow && got != want) {
		fprintf(stderr, "folded total %lld, profile %lld\n",
		    (long long)got, (long long)want);
		abort();
	}
	free(text);
}

static void
check_roundtrip(const Profpipe__Decoded *d)
{
	Profpipe__Decoded *u;
	uint8_t *buf;
	size_t n = packed(d, &buf);

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
	int rv;

	if (dec == NULL) {
		decode_limits_default(&lim);
		lim.max_inflated = 16 << 20;
		if (decoder_new(&dec, &lim) != 0)
			abort();
		lim.portable = 1;
		lim.wide = 1;
		if (decoder_new(&dec_portable, &lim) != 0)
			abort();
		arena = arena_new(256 << 20);
		arena_portable = arena_new(256 << 20);
		arena_narrow = arena_new(256 << 20);
		if (arena == NULL || arena_portable == NULL ||
		    arena_narrow == NULL)
			abort();
	}
	arena_reset(arena);
	err[0] = '\0';
	rv = decoder_run(dec, data, size, arena, &d, err, sizeof(err));
	if (rv != 0) {
		if (err[0] == '\0')
			abort();
		check_portable(data, size, rv, err, NULL);
		return 0;
	}
	check_portable(data, size, 0, err, &d);
	check_stage_pack(data, size, &d);
	d.origin = &origin;
	if (decoded_check(&d, err, sizeof(err)) != 0) {
		fprintf(stderr, "decoded_check: %s\n", err);
		abort();
	}
	check_roundtrip(&d);
	if (decode_fold(&d, arena, &g) == 0) {
		for (t = 0; t < d.n_sample_types; t++)
			check_folded(&d, &g, t);
	}
	check_json(&d);
	return 0;
}
