/*
 * test_decode_narrow: frames as 16-bit ids (decode.h, decode_narrow).
 *
 *  - On every corpus profile, the decode with 16-bit frames widened after
 *    (decoder_run) packs to the same bytes as the decode that keeps them
 *    32-bit throughout (decode_limits.wide), and decode_pack, the stage's
 *    way out, writes exactly decode_packed_size bytes that protobuf-c
 *    reads back as that same Decoded.
 *  - At the edge: 65,536 frames (ids up to 65,535) go 16-bit, 65,537 go
 *    32-bit, and both resolve each sample to its own locations' frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "decode_util.h"

/* d packed by protobuf-c, into *out (malloc'd): its size. */
static size_t
pb_packed(const Profpipe__Decoded *d, uint8_t **out)
{
	size_t n = profpipe__decoded__get_packed_size(d);

	*out = malloc(n + 1);
	assert_non_null(*out);
	assert_int_equal(profpipe__decoded__pack(d, *out), n);
	return n;
}

/* body decoded the way lim says, with decoder_run: packed into *out. */
static size_t
decode_to_bytes(const uint8_t *body, size_t len,
    const struct decode_limits *lim, uint8_t **out)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	size_t n;
	char err[512];

	if (decode_profile(body, len, lim, a, &d, err, sizeof(err)) != 0)
		fail_msg("%s%s", lim->wide ? "(wide) " : "", err);
	n = pb_packed(&d, out);
	arena_free(a);
	return n;
}

/* d with nw's frames packed the stage's way (decode_pack, which must
 * write exactly decode_packed_size bytes), read back by protobuf-c. */
static Profpipe__Decoded *
stage_unpack(const Profpipe__Decoded *d, const struct decode_narrow *nw)
{
	size_t n = decode_packed_size(d, nw);
	uint8_t *buf = malloc(n + 16);
	Profpipe__Decoded *back;
	size_t i;

	assert_non_null(buf);
	memset(buf, 0xa5, n + 16);
	decode_pack(d, nw, buf);
	for (i = n; i < n + 16; i++)
		assert_int_equal(buf[i], 0xa5); /* not a byte past its size */
	back = profpipe__decoded__unpack(NULL, n, buf);
	assert_non_null(back);
	free(buf);
	return back;
}

/* body decoded as the stage does and read back, then packed again by
 * protobuf-c (which packs fields in number order, where decode_pack puts
 * the frames last): *out. *narrow: whether the frames were 16-bit. */
static size_t
stage_bytes(const uint8_t *body, size_t len, uint8_t **out, int *narrow)
{
	struct decode_limits lim;
	struct decoder *dec;
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	Profpipe__Decoded *back;
	struct decode_narrow nw;
	size_t n;
	char err[512];

	decode_limits_default(&lim);
	assert_int_equal(decoder_new(&dec, &lim), 0);
	if (decoder_run_narrow(dec, body, len, a, &d, &nw, err, sizeof(err)) !=
	    0)
		fail_msg("%s", err);
	*narrow = nw.ids != NULL;
	if (*narrow)
		assert_int_equal(d.n_stack_frames, 0);
	back = stage_unpack(&d, &nw);
	n = pb_packed(back, out);
	profpipe__decoded__free_unpacked(back, NULL);
	decoder_free(dec);
	arena_free(a);
	return n;
}

struct tally {
	size_t narrow;
	size_t files;
};

static void
check_file(const char *path, void *arg)
{
	struct tally *t = arg;
	struct decode_limits lim;
	struct decode_limits wide;
	uint8_t *body;
	uint8_t *x;
	uint8_t *y;
	uint8_t *z;
	size_t len, nx, ny, nz;
	int narrow;

	body = du_slurp(path, &len);
	if (body == NULL)
		fail_msg("%s: cannot read", path);
	decode_limits_default(&lim);
	decode_limits_default(&wide);
	wide.wide = 1;
	nx = decode_to_bytes(body, len, &lim, &x);
	ny = decode_to_bytes(body, len, &wide, &y);
	nz = stage_bytes(body, len, &z, &narrow);
	if (nx != ny || memcmp(x, y, nx) != 0)
		fail_msg("%s: %zu bytes widened, %zu kept wide", path, nx, ny);
	if (nz != ny || memcmp(z, y, nz) != 0)
		fail_msg("%s: %zu bytes from decode_pack, %zu kept wide", path,
		    nz, ny);
	t->narrow += (size_t)narrow;
	t->files++;
	free(x);
	free(y);
	free(z);
	free(body);
}

static void
test_corpus_same(void **state)
{
	static const char *const pats[] = {CORPUS "/real/*.pb.gz",
	    CORPUS "/real/*.pb", CORPUS "/synth/*.pb.gz"};
	struct tally t = {0, 0};

	(void)state;
	assert_true(du_each_file(pats, 3, check_file, &t) >= 21);
	/* every corpus profile has fewer than 2^16 frames */
	assert_int_equal(t.narrow, t.files);
}

/* A profile of nf frames: locations 1..nf without lines (a frame each,
 * named by its address, 0x1000 + id), in samples of up to 1000 locations,
 * sample j holding locations 1000j + 1 ... leaf first. */
static uint8_t *
many_frames(size_t nf, size_t *len)
{
	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st =
	    PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *stp = &st;
	size_t ns = (nf + 999) / 1000;
	Perftools__Profiles__Location *l = calloc(nf, sizeof(*l));
	Perftools__Profiles__Location **lp = calloc(nf, sizeof(*lp));
	Perftools__Profiles__Sample *s = calloc(ns, sizeof(*s));
	Perftools__Profiles__Sample **sp = calloc(ns, sizeof(*sp));
	uint64_t *ids = calloc(nf, sizeof(*ids));
	int64_t *vals = calloc(ns, sizeof(*vals));
	char *strs[] = {"", "samples", "count"};
	uint8_t *out;
	size_t i;

	assert_true(l && lp && s && sp && ids && vals);
	st.type = 1;
	st.unit = 2;
	p.n_sample_type = 1;
	p.sample_type = &stp;
	p.n_string_table = 3;
	p.string_table = strs;
	for (i = 0; i < nf; i++) {
		perftools__profiles__location__init(&l[i]);
		l[i].id = i + 1;
		l[i].address = 0x1000 + i + 1;
		lp[i] = &l[i];
		ids[i] = i + 1;
	}
	for (i = 0; i < ns; i++) {
		perftools__profiles__sample__init(&s[i]);
		s[i].location_id = ids + 1000 * i;
		s[i].n_location_id = i + 1 < ns ? 1000 : nf - 1000 * i;
		vals[i] = (int64_t)i + 1;
		s[i].value = &vals[i];
		s[i].n_value = 1;
		sp[i] = &s[i];
	}
	p.n_location = nf;
	p.location = lp;
	p.n_sample = ns;
	p.sample = sp;
	*len = perftools__profiles__profile__get_packed_size(&p);
	out = malloc(*len);
	assert_non_null(out);
	perftools__profiles__profile__pack(&p, out);
	free(l);
	free(lp);
	free(s);
	free(sp);
	free(ids);
	free(vals);
	return out;
}

/* Each stack of d (32-bit frames in fr) is its sample's locations, each
 * value its sample's: the ids resolved to the right frames. */
static void
check_stacks(const Profpipe__Decoded *d, const uint32_t *fr, size_t nf)
{
	char want[32];
	size_t seen = 0;
	size_t i, k, j;

	assert_int_equal(d->n_stack_offset, (nf + 999) / 1000 + 1);
	for (i = 0; i + 1 < d->n_stack_offset; i++) {
		j = (size_t)d->values[i] - 1; /* the sample it came from */
		for (k = d->stack_offset[i]; k < d->stack_offset[i + 1]; k++) {
			snprintf(want, sizeof(want), "0x%zx",
			    0x1000 + 1000 * j + (k - d->stack_offset[i]) + 1);
			assert_string_equal(
			    d->strings[d->frame_function[fr[k]]], want);
			seen++;
		}
	}
	assert_int_equal(seen, nf);
	assert_int_equal(d->n_frame_function, nf);
}

static void
edge(size_t nf, int narrow)
{
	struct decode_limits lim;
	struct decoder *dec;
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	Profpipe__Decoded *back;
	struct decode_narrow nw;
	uint32_t *fr;
	uint8_t *body;
	size_t len;
	size_t k;
	char err[512];

	body = many_frames(nf, &len);
	decode_limits_default(&lim);
	assert_int_equal(decoder_new(&dec, &lim), 0);
	if (decoder_run_narrow(dec, body, len, a, &d, &nw, err, sizeof(err)) !=
	    0)
		fail_msg("%zu frames: %s", nf, err);
	assert_int_equal(nw.ids != NULL, narrow);
	fr = d.stack_frames;
	if (narrow) {
		assert_int_equal(nw.n, nf);
		fr = malloc(nf * sizeof(*fr));
		assert_non_null(fr);
		for (k = 0; k < nf; k++)
			fr[k] = nw.ids[k];
	}
	check_stacks(&d, fr, nf);
	/* and the same once packed the stage's way and read back */
	back = stage_unpack(&d, &nw);
	check_stacks(back, back->stack_frames, nf);
	profpipe__decoded__free_unpacked(back, NULL);
	/* and widened in memory, by decoder_run */
	arena_reset(a);
	assert_int_equal(
	    decoder_run(dec, body, len, a, &d, err, sizeof(err)), 0);
	check_stacks(&d, d.stack_frames, nf);
	if (narrow)
		free(fr);
	free(body);
	decoder_free(dec);
	arena_free(a);
}

static void
test_edge_narrow(void **state)
{
	(void)state;
	edge(65536, 1);
}

static void
test_edge_wide(void **state)
{
	(void)state;
	edge(65537, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_same),
	    cmocka_unit_test(test_edge_narrow),
	    cmocka_unit_test(test_edge_wide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
