/*
 * arena: the scratch stream is apart from the main one and under the same
 * cap; arena_trim gives memory back for the next allocations to reuse (the
 * same addresses, no malloc) and whole blocks to the spare list;
 * arena_extend grows only the last allocation, only within its block;
 * arena_reserve makes what follows contiguous and, as a hint, fails
 * without harm when the cap says no.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"
#include "common/xalloc.h"

static void
test_scratch_is_a_stream_of_its_own(void **state)
{
	struct arena *a = arena_new(0);
	struct arena *s;
	char *m1;
	char *s1;
	char *m2;

	(void)state;
	assert_non_null(a);
	s = arena_scratch(a);
	assert_ptr_not_equal(s, a);
	assert_ptr_equal(arena_scratch(s), s);
	m1 = arena_alloc(a, 100);
	s1 = arena_alloc(s, 100);
	m2 = arena_alloc(a, 100);
	assert_non_null(m1);
	assert_non_null(s1);
	/* The main stream goes on where it was, past nothing of s's. */
	assert_ptr_equal(m2, m1 + 112);
	assert_true(arena_used(a) > 0);
	assert_int_equal(arena_used(a), arena_used(s));
	arena_reset(a);
	assert_int_equal(arena_used(a), 0);
	arena_free(a);
}

static void
test_trim_reuses_the_memory(void **state)
{
	struct arena *a = arena_new(0);
	struct arena *s = arena_scratch(a);
	size_t before;
	char *buf;
	char *t;
	char *big;
	char *after;

	(void)state;
	buf = arena_alloc(s, 1000);
	assert_non_null(buf);
	memset(buf, 'x', 1000);
	t = arena_alloc(s, 5000);
	assert_non_null(t);
	before = arena_used(a);
	big = arena_alloc(s, 1 << 20); /* a block of its own */
	assert_non_null(big);
	assert_true(arena_used(a) > before);
	arena_trim(s, buf, 300);
	/* The big block went back (to the spare list, not to malloc)... */
	assert_int_equal(arena_used(a), before);
	/* ...and what follows starts right after buf's first 300 bytes. */
	after = arena_alloc(s, 64);
	assert_ptr_equal(after, buf + 304);
	assert_memory_equal(buf, "xxxxxxxx", 8);
	/* The spare block is taken again without malloc. */
	xalloc_fail_after(0);
	big = arena_alloc(s, 1 << 20);
	xalloc_fail_after(-1);
	assert_non_null(big);
	/* A pointer that is not the stream's: nothing happens. */
	after = arena_alloc(s, 16);
	before = arena_used(a);
	arena_trim(a, after, 0);
	assert_int_equal(arena_used(a), before);
	assert_ptr_equal(arena_alloc(s, 16), after + 16);
	arena_free(a);
}

static void
test_extend_only_the_last(void **state)
{
	struct arena *a = arena_new(0);
	char *p;
	char *q;

	(void)state;
	assert_int_equal(arena_reserve(a, 4096, 0), 0);
	p = arena_alloc(a, 100);
	assert_non_null(p);
	assert_int_equal(arena_extend(a, p, 100, 1000), 0);
	q = arena_alloc(a, 16);
	assert_ptr_equal(q, p + 1008);
	/* p is no longer the last. */
	assert_int_equal(arena_extend(a, p, 1000, 2000), -1);
	assert_int_equal(arena_extend(a, q, 16, 32), 0);
	/* Not past its block. */
	assert_int_equal(arena_extend(a, q, 32, (size_t)64 << 20), -1);
	assert_int_equal(arena_extend(a, q, 32, SIZE_MAX), -1);
	arena_free(a);
}

static void
test_reserve_is_contiguous_and_capped(void **state)
{
	struct arena *a = arena_new(1 << 20);
	struct arena *s = arena_scratch(a);
	char *p;
	char *q;
	size_t used;

	(void)state;
	p = arena_alloc(a, 16);
	assert_non_null(p);
	assert_int_equal(arena_reserve(s, 300000, 0), 0);
	p = arena_alloc(s, 100000);
	q = arena_alloc(s, 200000);
	assert_non_null(p);
	assert_ptr_equal(q, p + 100000);
	/* Over the cap, or leaving too little under it: refused, and
	 * nothing else changes. */
	used = arena_used(a);
	assert_int_equal(arena_reserve(a, 2 << 20, 0), -1);
	assert_int_equal(arena_reserve(a, 500000, 300000), -1);
	assert_int_equal(arena_used(a), used);
	assert_non_null(arena_alloc(a, 1000));
	/* The cap counts both streams. */
	assert_null(arena_alloc(a, 800000));
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scratch_is_a_stream_of_its_own),
	    cmocka_unit_test(test_trim_reuses_the_memory),
	    cmocka_unit_test(test_extend_only_the_last),
	    cmocka_unit_test(test_reserve_is_contiguous_and_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
