/*
 * dedup: redeliveries are recognised; the oldest ids are forgotten first
 * and only when the set is full; eviction keeps every other id findable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "common/dedup.h"

static void
id_of(char *out, size_t n, int i)
{
	snprintf(out, n, "00000000-0000-4000-8000-%012d", i);
}

static void
test_seen_after_add(void **state)
{
	struct dedup *d = dedup_new(8);

	(void)state;
	assert_non_null(d);
	assert_int_equal(dedup_seen(d, "a"), 0);
	assert_int_equal(dedup_add(d, "a"), 0);
	assert_int_equal(dedup_seen(d, "a"), 1);
	assert_int_equal(dedup_seen(d, "b"), 0);
	assert_int_equal(dedup_add(d, "a"), 0);
	dedup_free(d);
}

static void
test_evicts_oldest_only(void **state)
{
	struct dedup *d = dedup_new(100);
	char id[64];
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		id_of(id, sizeof(id), i);
		assert_int_equal(dedup_add(d, id), 0);
	}
	for (i = 0; i < 1000; i++) {
		id_of(id, sizeof(id), i);
		assert_int_equal(dedup_seen(d, id), i >= 900);
	}
	dedup_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seen_after_add),
	    cmocka_unit_test(test_evicts_oldest_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
