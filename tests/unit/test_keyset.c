/*
 * keyset: names in and out, growth well past the first table, clearing by
 * generation (and the wrap of the generation), names that are prefixes of
 * one another or empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "exporter/keyset.h"

static int
add(struct keyset *k, const char *s)
{
	return keyset_add(k, s, strlen(s));
}

static int
has(const struct keyset *k, const char *s)
{
	return keyset_has(k, s, strlen(s));
}

static void
test_add_has(void **state)
{
	struct keyset k;

	(void)state;
	keyset_init(&k);
	assert_false(has(&k, "env"));
	assert_int_equal(add(&k, "env"), 1);
	assert_int_equal(add(&k, "env"), 0);
	assert_true(has(&k, "env"));
	assert_false(has(&k, "en"));
	assert_false(has(&k, "envv"));
	assert_false(has(&k, ""));
	assert_int_equal(add(&k, ""), 1);
	assert_true(has(&k, ""));
	assert_int_equal(add(&k, "exported_env"), 1);
	assert_int_equal(k.n, 3);
	/* a name with a NUL inside is its bytes, not a C string */
	assert_int_equal(keyset_add(&k, "a\0b", 3), 1);
	assert_false(keyset_has(&k, "a", 1));
	assert_true(keyset_has(&k, "a\0b", 3));
	keyset_release(&k);
}

static void
test_growth_and_clear(void **state)
{
	struct keyset k;
	char name[32];
	int round;
	int i;

	(void)state;
	keyset_init(&k);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 5000; i++) {
			snprintf(name, sizeof(name), "k%d", i);
			assert_int_equal(add(&k, name), 1);
		}
		assert_int_equal(k.n, 5000);
		assert_true(k.cap >= 2 * k.n);
		for (i = 0; i < 5000; i++) {
			snprintf(name, sizeof(name), "k%d", i);
			assert_true(has(&k, name));
			assert_int_equal(add(&k, name), 0);
		}
		assert_false(has(&k, "k5000"));
		keyset_clear(&k);
		assert_int_equal(k.n, 0);
		for (i = 0; i < 5000; i += 499) {
			snprintf(name, sizeof(name), "k%d", i);
			assert_false(has(&k, name));
		}
	}
	keyset_release(&k);
}

static void
test_generation_wraps(void **state)
{
	struct keyset k;

	(void)state;
	keyset_init(&k);
	assert_int_equal(add(&k, "a"), 1);
	k.gen = UINT32_MAX; /* as if cleared 2^32 - 2 times */
	assert_int_equal(add(&k, "b"), 1);
	keyset_clear(&k);
	assert_int_equal(k.gen, 1);
	/* "a" was added in generation 1: wiped, not back */
	assert_false(has(&k, "a"));
	assert_false(has(&k, "b"));
	assert_int_equal(add(&k, "a"), 1);
	assert_true(has(&k, "a"));
	keyset_release(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_has),
	    cmocka_unit_test(test_growth_and_clear),
	    cmocka_unit_test(test_generation_wraps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
