/*
 * test_decode_resolve: from tables to stacks on profiles built to the
 * point: inlined lines expanded innermost first, frames shared by text,
 * identical (frames, labels) samples summed and different label sets kept
 * apart, label order not mattering, unsymbolized locations named by
 * address, the default sample type, and the limits and overflow refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/decoded.h"
#include "tests/unit/decode_util.h"

static struct decode_limits lim;
static Profpipe__Origin origin = PROFPIPE__ORIGIN__INIT;

static int
setup(void **state)
{
	(void)state;
	decode_limits_default(&lim);
	return 0;
}

/* f1 outer (main.go), f2 inner (inner.go); location 1: f1:10, location 2:
 * f2:20, location 3: f2:20 inlined into f1:10 (a different address with
 * the same text as 2 then 1). */
static void
build(struct du_prof *d)
{
	uint64_t f1 = 1;
	uint64_t f2 = 2;
	uint64_t fa[2] = {2, 1};
	int64_t l10 = 10;
	int64_t l20 = 20;
	int64_t la[2] = {20, 10};

	du_init(d);
	du_func(d, 1, "main.outer", "main.go");
	du_func(d, 2, "main.inner", "inner.go");
	du_loc(d, 1, 1, &f1, &l10);
	du_loc(d, 2, 1, &f2, &l20);
	du_loc(d, 3, 2, fa, la);
}

static int
decode(const struct du_prof *d, struct arena *a, Profpipe__Decoded *out,
    char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rv;

	buf = du_pack(d, &len);
	assert_non_null(buf);
	rv = decode_profile(buf, len, &lim, a, out, err, errlen);
	free(buf);
	if (rv == 0) {
		out->origin = &origin;
		if (decoded_check(out, err, errlen) != 0)
			fail_msg("decoded_check: %s", err);
	}
	return rv;
}

static const char *
frame_name(const Profpipe__Decoded *d, size_t stack, size_t k)
{
	return d->strings
	    [d->frame_function[d->stack_frames[d->stack_offset[stack] + k]]];
}

static void
test_inlining_and_collapse(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	Profpipe__Decoded out;
	uint64_t s12[2] = {2, 1};
	uint64_t s3[1] = {3};
	uint64_t s1[1] = {1};
	char err[256];

	(void)state;
	build(&d);
	du_sample(&d, 2, s12, 1, 10);
	du_sample(&d, 1, s3, 2, 20); /* same frames as s12: collapses */
	du_sample(&d, 1, s1, 4, 40);
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), 0);
	assert_int_equal(out.n_samples, 3);
	assert_int_equal(out.n_stack_hash, 2);
	assert_int_equal(out.n_frame_function, 2); /* by text */
	assert_int_equal(out.stack_offset[1], 2);
	assert_string_equal(frame_name(&out, 0, 0), "main.inner");
	assert_string_equal(frame_name(&out, 0, 1), "main.outer");
	assert_int_equal(out.values[0], 3);
	assert_int_equal(out.values[1], 30);
	assert_int_equal(out.values[2], 4);
	assert_int_equal(out.values[3], 40);
	assert_int_equal(out.frame_line[out.stack_frames[0]], 20);
	assert_string_equal(
	    out.strings[out.frame_file[out.stack_frames[0]]], "inner.go");
	assert_true(out.stack_hash[0] != out.stack_hash[1]);
	arena_free(a);
}

/* A writer that repeats strings still gets one frame per text. */
static void
test_duplicate_strings(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	Profpipe__Decoded out;
	uint64_t s1[1] = {1};
	uint64_t s4[1] = {4};
	uint64_t f3 = 3;
	int64_t l10 = 10;
	char err[256];

	(void)state;
	build(&d);
	du_func(&d, 3, "main.outer", "main.go"); /* new string indices */
	du_loc(&d, 4, 1, &f3, &l10);
	du_sample(&d, 1, s1, 1, 1);
	du_sample(&d, 1, s4, 1, 1);
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), 0);
	assert_int_equal(out.n_stack_hash, 1);
	assert_int_equal(out.values[0], 2);
	arena_free(a);
}

static void
test_labels(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	Profpipe__Decoded out;
	Perftools__Profiles__Sample *s;
	uint64_t s1[1] = {1};
	int64_t k1;
	int64_t k2;
	int64_t v1;
	char err[256];

	(void)state;
	build(&d);
	k1 = du_str(&d, "handler");
	k2 = du_str(&d, "bytes");
	v1 = du_str(&d, "/api");
	s = du_sample(&d, 1, s1, 1, 1);
	du_label(&d, s, k1, v1, 0);
	du_label(&d, s, k2, 0, 512);
	s = du_sample(&d, 1, s1, 1, 1); /* same set, other order */
	du_label(&d, s, k2, 0, 512);
	du_label(&d, s, k1, v1, 0);
	s = du_sample(&d, 1, s1, 1, 1); /* another set */
	du_label(&d, s, k2, 0, 1024);
	du_sample(&d, 1, s1, 1, 1); /* none */
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), 0);
	assert_int_equal(out.n_stack_hash, 3);
	assert_int_equal(out.n_label_sets, 3);
	assert_int_equal(out.label_sets[0]->n_labels, 0);
	assert_int_equal(out.stack_labels[0], 1);
	assert_int_equal(out.values[0], 2);
	assert_int_equal(out.stack_labels[1], 2);
	assert_int_equal(out.stack_labels[2], 0);
	assert_int_equal(out.label_sets[1]->n_labels, 2);
	assert_int_equal(out.label_sets[2]->labels[0]->num, 1024);
	/* Same frames, so the same hash: labels are not part of it. */
	assert_true(out.stack_hash[0] == out.stack_hash[2]);
	arena_free(a);
}

static void
test_address_frames(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	Profpipe__Decoded out;
	uint64_t s[3] = {9, 1, 8};
	char err[256];

	(void)state;
	build(&d);
	du_loc(&d, 9, 0, NULL, NULL);
	du_loc(&d, 8, 0, NULL, NULL);
	d.l[4].address = d.l[3].address; /* two locations, one address */
	du_sample(&d, 3, s, 1, 1);
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), 0);
	assert_string_equal(frame_name(&out, 0, 0), "0x1009");
	assert_string_equal(frame_name(&out, 0, 2), "0x1009");
	assert_int_equal(out.stack_frames[0], out.stack_frames[2]);
	assert_string_equal(
	    out.strings[out.frame_file[out.stack_frames[0]]], "");
	arena_free(a);
}

static void
test_default_type(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	Profpipe__Decoded out;
	uint64_t s1[1] = {1};
	char err[256];

	(void)state;
	build(&d);
	du_sample(&d, 1, s1, 1, 1);
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), 0);
	assert_int_equal(out.default_sample_type, 1); /* absent: the last */
	d.p.default_sample_type = 1;                  /* "samples" */
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), 0);
	assert_int_equal(out.default_sample_type, 0);
	d.p.default_sample_type = 6; /* "main.go": no such type */
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), 0);
	assert_int_equal(out.default_sample_type, 1);
	arena_free(a);
}

static void
test_refusals(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	Profpipe__Decoded out;
	uint64_t s3[2] = {3, 3};
	uint64_t s1[1] = {1};
	char err[256];

	(void)state;
	build(&d);
	du_sample(&d, 2, s3, 1, 1); /* 2 locations, 4 frames */
	lim.max_depth = 3;
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err,
	    "sample 0: 4 frames with inlining, over "
	    "the cap of 3 (max_depth)"));
	decode_limits_default(&lim);

	build(&d);
	du_sample(&d, 1, s1, INT64_MAX, 1);
	du_sample(&d, 1, s1, 1, 1);
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err, "overflows int64"));

	build(&d);
	d.p.n_sample_type = 0;
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), DECODE_EBAD);
	assert_string_equal(err, "no sample types");
	arena_free(a);
}

/* The arena's cap is the decode's memory cap. */
static void
test_arena_cap(void **state)
{
	struct arena *a = arena_new(64 * 1024);
	struct du_prof d;
	Profpipe__Decoded out;
	uint64_t s1[1] = {1};
	char err[256];

	(void)state;
	build(&d);
	du_sample(&d, 1, s1, 1, 1);
	assert_int_equal(decode(&d, a, &out, err, sizeof(err)), DECODE_ENOMEM);
	assert_non_null(strstr(err, "out of memory"));
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inlining_and_collapse),
	    cmocka_unit_test(test_duplicate_strings),
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_address_frames),
	    cmocka_unit_test(test_default_type),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_arena_cap),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
