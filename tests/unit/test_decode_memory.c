/*
 * test_decode_memory: the decoder's use of its arena. Under any cap the
 * decode either gives the same result as without one or fails saying it
 * is out of memory, whichever way the scratch stream's reservation went
 * (4x, 3x or none); and a second decode of a profile after arena_reset
 * runs on the first one's blocks, without asking malloc for anything
 * (which is what spares it the page faults).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "tests/unit/decode_util.h"

static void
same_decoded(const Profpipe__Decoded *x, const Profpipe__Decoded *y)
{
	size_t i;

	assert_int_equal(x->n_strings, y->n_strings);
	for (i = 0; i < x->n_strings; i++)
		assert_string_equal(x->strings[i], y->strings[i]);
	assert_int_equal(x->n_stack_frames, y->n_stack_frames);
	assert_memory_equal(x->stack_frames, y->stack_frames,
	    x->n_stack_frames * sizeof(*x->stack_frames));
	assert_int_equal(x->n_stack_offset, y->n_stack_offset);
	assert_memory_equal(x->stack_offset, y->stack_offset,
	    x->n_stack_offset * sizeof(*x->stack_offset));
	assert_int_equal(x->n_stack_hash, y->n_stack_hash);
	assert_memory_equal(x->stack_hash, y->stack_hash,
	    x->n_stack_hash * sizeof(*x->stack_hash));
	assert_int_equal(x->n_values, y->n_values);
	assert_memory_equal(
	    x->values, y->values, x->n_values * sizeof(*x->values));
	assert_int_equal(x->n_frame_function, y->n_frame_function);
	assert_memory_equal(x->frame_function, y->frame_function,
	    x->n_frame_function * sizeof(*x->frame_function));
	assert_memory_equal(x->frame_file, y->frame_file,
	    x->n_frame_file * sizeof(*x->frame_file));
	assert_memory_equal(x->frame_line, y->frame_line,
	    x->n_frame_line * sizeof(*x->frame_line));
	assert_int_equal(x->n_label_sets, y->n_label_sets);
	assert_int_equal(x->default_sample_type, y->default_sample_type);
}

/* Decode path under caps from `from` to `to` bytes, `step` apart: each
 * decode gives want or says it ran out of memory, within its cap. Returns
 * how many succeeded. */
static int
cap_sweep(const char *path, size_t from, size_t to, size_t step)
{
	struct decode_limits lim;
	struct decoder *d;
	struct arena *ref = arena_new(0);
	struct arena *a;
	Profpipe__Decoded want;
	Profpipe__Decoded got;
	uint8_t *body;
	size_t len;
	size_t cap;
	char err[512];
	int ok = 0;
	int rv;

	decode_limits_default(&lim);
	assert_int_equal(decoder_new(&d, &lim), 0);
	body = du_slurp(path, &len);
	assert_non_null(body);
	assert_int_equal(
	    decoder_run(d, body, len, ref, &want, err, sizeof(err)), 0);
	for (cap = from; cap <= to; cap += step) {
		a = arena_new(cap);
		assert_non_null(a);
		rv = decoder_run(d, body, len, a, &got, err, sizeof(err));
		if (rv == 0) {
			same_decoded(&want, &got);
			ok++;
		} else {
			assert_int_equal(rv, DECODE_ENOMEM);
			assert_non_null(strstr(err, "out of memory"));
		}
		assert_true(arena_used(a) <= cap);
		arena_free(a);
	}
	free(body);
	decoder_free(d);
	arena_free(ref);
	return ok;
}

static void
test_any_cap_same_result(void **state)
{
	(void)state;
	/* 2 MB inflated: 4x plus room for the main stream takes 11 MB. */
	assert_true(cap_sweep(CORPUS "/synth/cpu-large.pb.gz", (size_t)4 << 20,
	                (size_t)16 << 20, (size_t)256 << 10) > 0);
}

/* Small real profiles in fine steps, from a cap nothing fits under, so
 * that each table in turn is the one that runs out: labels, their sets
 * and the memo of location lists (heap), several lines a location
 * (CPU), no frames at all (threadcreate). */
static void
test_small_caps(void **state)
{
	static const char *const files[] = {CORPUS "/real/biggo-heap.pb.gz",
	    CORPUS "/real/goapp-cpu.pb.gz",
	    CORPUS "/real/goapp-threadcreate.pb.gz"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		assert_true(
		    cap_sweep(files[i], 4096, (size_t)2 << 20, 4096) > 0);
}

static void
test_second_decode_no_malloc(void **state)
{
	struct decode_limits lim;
	struct decoder *d;
	struct arena *a = arena_new(0);
	Profpipe__Decoded x;
	Profpipe__Decoded y;
	uint8_t *body;
	size_t len;
	char err[512];
	int rv;

	(void)state;
	decode_limits_default(&lim);
	assert_int_equal(decoder_new(&d, &lim), 0);
	body = du_slurp(CORPUS "/synth/heap-large.pb.gz", &len);
	assert_non_null(body);
	assert_int_equal(
	    decoder_run(d, body, len, a, &x, err, sizeof(err)), 0);
	arena_reset(a);
	xalloc_fail_after(0);
	rv = decoder_run(d, body, len, a, &y, err, sizeof(err));
	xalloc_fail_after(-1);
	if (rv != 0)
		fail_msg("second decode: %s", err);
	assert_int_equal(x.n_stack_frames, y.n_stack_frames);
	free(body);
	decoder_free(d);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_any_cap_same_result),
	    cmocka_unit_test(test_small_caps),
	    cmocka_unit_test(test_second_decode_no_malloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
