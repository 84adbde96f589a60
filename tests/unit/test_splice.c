/*
 * splice: the Result built from the received bytes must read back as
 * exactly the Result protobuf-c packs from the same profile, for every way
 * delta_apply leaves a profile: passed as it came (cpu), first of its
 * series (sample types and values change, stacks dropped), deltas with
 * every stack kept (stack arrays lent from the input), deltas with stacks
 * dropped, labelled stacks; and bytes it cannot walk are packed whole.
 * "Exactly" is compared by packing both read-back Results again with
 * protobuf-c, which writes fields in one canonical order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "aggregator/delta.h"
#include "aggregator/splice.h"
#include "common/arena.h"
#include "delta_state_fx.h"
#include "test_delta_fixture.h"

/* A Result's bytes read back and packed again by protobuf-c (malloc'd). */
static uint8_t *
canonical(const void *buf, size_t len, size_t *outlen)
{
	Profpipe__Result *r = profpipe__result__unpack(NULL, len, buf);
	uint8_t *out;

	assert_non_null(r);
	assert_non_null(r->profile);
	*outlen = profpipe__result__get_packed_size(r);
	out = malloc(*outlen + 1);
	assert_non_null(out);
	profpipe__result__pack(r, out);
	profpipe__result__free_unpacked(r, NULL);
	return out;
}

/* Feed p through delta like the stage; the spliced Result must equal the
 * packed one. extra: bytes appended to what "arrived" (0: none). Returns
 * the delta mode. */
static enum delta_mode
check(
    struct fx *f, const struct fx_profile *p, size_t extra, size_t *stacks_out)
{
	Profpipe__Result want = PROFPIPE__RESULT__INIT;
	Profpipe__Result *r;
	Profpipe__Decoded *in;
	Profpipe__Decoded *res;
	struct delta_state next;
	struct delta_report rep;
	uint8_t *buf;
	uint8_t *w;
	uint8_t *cw;
	uint8_t *cg;
	void *got;
	size_t len;
	size_t wlen;
	size_t glen;
	size_t cwlen;
	size_t cglen;
	char err[256];

	buf = fx_pack(p, &len);
	assert_non_null(buf);
	if (delta_unpack(f->a, buf, len, &in, err, sizeof(err)) < 0)
		fail_msg("unpack: %s", err);
	assert_int_equal(
	    delta_apply(&f->st, in, 1000, f->a, &res, &next, &rep), 0);
	if (extra > 0) {
		buf = realloc(buf, len + extra);
		memset(buf + len, 0xff, extra);
	}
	assert_int_equal(
	    splice_result(f->a, buf, len + extra, in, res, &got, &glen), 0);
	want.profile = res;
	wlen = profpipe__result__get_packed_size(&want);
	w = malloc(wlen);
	profpipe__result__pack(&want, w);
	cw = canonical(w, wlen, &cwlen);
	cg = canonical(got, glen, &cglen);
	assert_int_equal(cglen, cwlen);
	assert_memory_equal(cg, cw, cwlen);
	r = profpipe__result__unpack(NULL, glen, got);
	assert_non_null(r);
	assert_int_equal(
	    fx_val(r->profile, 0x20, FX_IS), fx_val(res, 0x20, FX_IS));
	profpipe__result__free_unpacked(r, NULL);
	if (extra > 0)
		assert_int_equal(glen, wlen); /* packed whole */
	delta_commit(&f->st, &next);
	delta_state_release(&next);
	*stacks_out = rep.stacks_out;
	free(cg);
	free(cw);
	free(w);
	free(buf);
	arena_reset(f->a);
	return rep.mode;
}

static const struct fx_stack s1[] = {
    {.hash = 0x10, .v = {10, 1000, 2, 200}, .label = "a"},
    {.hash = 0x20, .v = {5, 500, 0, 0}},
    {.hash = 0x30, .v = {7, 700, 1, 100}, .label = "b", .label2 = "r"},
};
/* Every stack still has inuse: all kept. */
static const struct fx_stack s2[] = {
    {.hash = 0x10, .v = {15, 1600, 3, 300}, .label = "a"},
    {.hash = 0x20, .v = {5, 500, 1, 10}},
    {.hash = 0x30, .v = {9, 900, 1, 100}, .label = "b", .label2 = "r"},
};
/* 0x20 and 0x30 unchanged, no inuse: dropped. */
static const struct fx_stack s3[] = {
    {.hash = 0x10, .v = {20, 2000, 3, 300}, .label = "a"},
    {.hash = 0x20, .v = {5, 500, 0, 0}},
    {.hash = 0x30, .v = {9, 900, 0, 0}, .label = "b", .label2 = "r"},
};

static void
test_pass(void **state)
{
	const struct fx_profile p = {"id-1", NULL, "cpu", 0, 1000, s1, 3};
	struct fx *f = *state;
	size_t n;

	assert_int_equal(check(f, &p, 0, &n), DELTA_PASS);
	assert_int_equal(n, 3);
}

static void
test_deltas(void **state)
{
	const struct fx_profile p1 = {"id-1", NULL, "mem", 0, 1000, s1, 3};
	const struct fx_profile p2 = {"id-2", NULL, "mem", 0, 2000, s2, 3};
	const struct fx_profile p3 = {"id-3", NULL, "mem", 0, 3000, s3, 3};
	const struct fx_profile p0 = {"id-4", NULL, "mem", 0, 10, s3, 3};
	const struct fx_profile p4 = {"id-5", NULL, "mem", 0, 4000, s1, 3};
	struct fx *f = *state;
	size_t n;

	assert_int_equal(check(f, &p1, 0, &n), DELTA_FIRST);
	assert_int_equal(n, 2);
	assert_int_equal(check(f, &p2, 0, &n), DELTA_APPLIED);
	assert_int_equal(n, 3);
	assert_int_equal(check(f, &p3, 0, &n), DELTA_APPLIED);
	assert_int_equal(n, 1);
	assert_int_equal(check(f, &p0, 0, &n), DELTA_OUT_OF_ORDER);
	assert_int_equal(check(f, &p4, 0, &n), DELTA_RESTART);
}

static void
test_unwalkable_packed_whole(void **state)
{
	const struct fx_profile p1 = {"id-1", NULL, "mem", 0, 1000, s1, 3};
	const struct fx_profile p2 = {"id-2", NULL, "mem", 0, 2000, s2, 3};
	struct fx *f = *state;
	size_t n;

	assert_int_equal(check(f, &p1, 3, &n), DELTA_FIRST);
	assert_int_equal(check(f, &p2, 1, &n), DELTA_APPLIED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pass, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_deltas, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_unwalkable_packed_whole, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
