/*
 * series: one series per (service, instance, kind); a series unseen for
 * longer than the TTL is freed, oldest first, with its baseline, and one
 * that was touched survives; the table refuses a series past its cap and
 * takes one again once another expired.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "aggregator/series.h"
#include "aggregator/stacktab.h"
#include "common/xalloc.h"

#define SEC 1000000000LL

struct gone_log {
	char names[8][64];
	int n;
};

static void
note_gone(void *arg, const struct series *s)
{
	struct gone_log *g = arg;

	snprintf(g->names[g->n++ % 8], sizeof(g->names[0]), "%s %s %s",
	    s->service, s->instance, s->kind);
}

static struct series *
get(struct series_table *t, const char *svc, const char *kind, int64_t now,
    int want_created)
{
	struct series *s = NULL;
	int created = -1;

	assert_int_equal(
	    series_get(t, svc, "10.0.0.1:6060", kind, now, &s, &created), 0);
	assert_int_equal(created, want_created);
	assert_non_null(s);
	return s;
}

static void
test_keyed_by_service_instance_kind(void **state)
{
	struct series_table *t;
	struct series *a;
	struct series *s;
	int created;

	(void)state;
	assert_int_equal(series_table_new(&t, 100, 600 * SEC), 0);
	a = get(t, "checkout", "mem", 0, 1);
	assert_string_equal(a->service, "checkout");
	assert_string_equal(a->instance, "10.0.0.1:6060");
	assert_string_equal(a->kind, "mem");
	assert_ptr_equal(get(t, "checkout", "mem", 1, 0), a);
	assert_ptr_not_equal(get(t, "checkout", "cpu", 1, 1), a);
	assert_ptr_not_equal(get(t, "cart", "mem", 1, 1), a);
	assert_int_equal(
	    series_get(t, "checkout", "10.0.0.2:6060", "mem", 1, &s, &created),
	    0);
	assert_int_equal(created, 1);
	assert_int_equal(series_count(t), 4);
	series_table_free(t);
}

static void
test_ttl_frees_unseen_series(void **state)
{
	struct series_table *t;
	struct gone_log g = {.n = 0};
	struct series *old;
	struct series *kept;
	int64_t *row;
	int created;

	(void)state;
	assert_int_equal(series_table_new(&t, 100, 600 * SEC), 0);
	old = get(t, "checkout", "mem", 0, 1);
	kept = get(t, "cart", "mem", 10 * SEC, 1);
	/* a baseline to free along with the series (ASan sees a leak) */
	assert_int_equal(stacktab_new(&old->delta.stacks, DELTA_NSLOTS, 4), 0);
	assert_int_equal(
	    stacktab_put(old->delta.stacks, 0x10, &row, &created), 0);
	assert_int_equal(series_expire(t, 600 * SEC, note_gone, &g), 0);
	series_touch(t, kept, 500 * SEC);
	assert_int_equal(series_expire(t, 600 * SEC + 1, note_gone, &g), 1);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.names[0], "checkout 10.0.0.1:6060 mem");
	assert_int_equal(series_count(t), 1);
	/* touched at 500 s: still there at 1100 s, gone after */
	assert_int_equal(series_expire(t, 1100 * SEC, note_gone, &g), 0);
	assert_ptr_equal(get(t, "cart", "mem", 1100 * SEC, 0), kept);
	assert_int_equal(series_expire(t, 1100 * SEC + 1, note_gone, &g), 1);
	assert_int_equal(series_count(t), 0);
	/* a freed series comes back new, without its baseline */
	old = get(t, "checkout", "mem", 1200 * SEC, 1);
	assert_null(old->delta.stacks);
	series_table_free(t);
}

static void
test_cap_refuses_then_takes_after_expiry(void **state)
{
	struct series_table *t;
	struct series *s = NULL;
	int created;

	(void)state;
	assert_int_equal(series_table_new(&t, 2, 60 * SEC), 0);
	get(t, "a", "mem", 0, 1);
	get(t, "b", "mem", 30 * SEC, 1);
	assert_int_equal(
	    series_get(t, "c", "i", "mem", 30 * SEC, &s, &created), -1);
	assert_int_equal(created, 0);
	assert_int_equal(series_count(t), 2);
	/* known series are still found at the cap */
	get(t, "a", "mem", 30 * SEC, 0);
	assert_int_equal(series_expire(t, 61 * SEC, NULL, NULL), 1);
	get(t, "c", "mem", 61 * SEC, 1);
	assert_int_equal(series_count(t), 2);
	series_table_free(t);
}

static void
test_many_series(void **state)
{
	struct series_table *t;
	char name[32];
	int i;

	(void)state;
	assert_int_equal(series_table_new(&t, 5000, 100), 0);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "svc-%d", i);
		get(t, name, "mem", i, 1);
	}
	for (i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "svc-%d", i);
		series_touch(t, get(t, name, "mem", 5000, 0), 5000);
	}
	/* at 5100, what was not touched at 5000 is older than 100 ns */
	assert_int_equal(series_expire(t, 5100, NULL, NULL), 5000 - 715);
	assert_int_equal(series_count(t), 715);
	series_table_free(t);
}

static void
test_out_of_memory_refuses_cleanly(void **state)
{
	struct series_table *t;
	struct series *s = NULL;
	int created;

	(void)state;
	assert_int_equal(series_table_new(&t, 10, 60 * SEC), 0);
	get(t, "a", "mem", 0, 1);
	xalloc_fail_after(0);
	assert_int_equal(series_get(t, "b", "i", "mem", 0, &s, &created), -2);
	xalloc_fail_after(-1);
	assert_int_equal(series_count(t), 1);
	get(t, "b", "mem", 0, 1);
	series_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keyed_by_service_instance_kind),
	    cmocka_unit_test(test_ttl_frees_unseen_series),
	    cmocka_unit_test(test_cap_refuses_then_takes_after_expiry),
	    cmocka_unit_test(test_many_series),
	    cmocka_unit_test(test_out_of_memory_refuses_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
