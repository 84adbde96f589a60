/*
 * schedule: offsets are stable and spread over the interval, slots come due
 * in time order once per interval, a slot never runs twice at once, and a
 * reload keeps what is running (and the old set when it fails).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/xalloc.h"
#include "fetcher/schedule.h"

#define NOW 1700000000000LL /* a unix time in ms */

static struct schedule_slot *
put(struct schedule *s, const char *key, int64_t interval, int64_t now)
{
	struct schedule_slot *slot = NULL;

	assert_int_equal(
	    schedule_put(s, key, interval, now, (void *)key, &slot), 0);
	return slot;
}

static void
test_offsets_spread_and_stable(void **state)
{
	int buckets[10] = {0};
	char key[64];
	int64_t off;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(
		    key, sizeof(key), "10.0.%d.%d:6060 cpu", i / 250, i % 250);
		off = schedule_offset(key, 10000);
		assert_true(off >= 0 && off < 10000);
		assert_int_equal(schedule_offset(key, 10000), off);
		buckets[off / 1000]++;
	}
	/* 100 expected per tenth of the interval; a burst would show. */
	for (i = 0; i < 10; i++)
		assert_in_range(buckets[i], 50, 150);
	/* kinds of one target land apart too */
	assert_int_not_equal(schedule_offset("h:1 cpu", 10000),
	    schedule_offset("h:1 mem", 10000));
}

static void
test_due_once_per_interval(void **state)
{
	struct schedule *s;
	struct schedule_slot *a;
	int64_t first;

	(void)state;
	assert_int_equal(schedule_new(&s), 0);
	assert_int_equal(schedule_next_ms(s), -1);
	assert_null(schedule_take_due(s, NOW));
	schedule_sync_begin(s);
	a = put(s, "h:1 cpu", 10000, NOW);
	schedule_sync_end(s, 0);
	assert_int_equal(schedule_count(s), 1);
	first = a->next_ms;
	assert_true(first >= NOW && first < NOW + 10000);
	assert_int_equal(first % 10000, a->offset_ms);
	assert_int_equal(schedule_next_ms(s), first);
	assert_ptr_equal(a->user, "h:1 cpu");

	if (first > NOW)
		assert_null(schedule_take_due(s, first - 1));
	assert_ptr_equal(schedule_take_due(s, first), a);
	assert_null(schedule_take_due(s, first));
	assert_int_equal(a->next_ms, first + 10000);
	/* stopped for a while: missed periods are not made up */
	assert_ptr_equal(schedule_take_due(s, first + 35000), a);
	assert_null(schedule_take_due(s, first + 35000));
	assert_int_equal(a->next_ms, first + 40000);
	schedule_free(s);
}

static void
test_due_in_time_order(void **state)
{
	struct schedule *s;
	struct schedule_slot *slot;
	char key[32];
	int64_t last = 0;
	int i;
	int n = 0;

	(void)state;
	assert_int_equal(schedule_new(&s), 0);
	schedule_sync_begin(s);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "h:%d mem", i);
		put(s, key, 10000, NOW);
	}
	schedule_sync_end(s, 0);
	/* one interval later every slot has come due exactly once, in order
	 * of its due time */
	for (;;) {
		slot = schedule_take_due(s, NOW + 9999);
		if (slot == NULL)
			break;
		assert_true(slot->next_ms - 10000 >= last);
		last = slot->next_ms - 10000;
		n++;
	}
	assert_int_equal(n, 50);
	schedule_free(s);
}

static void
test_single_flight(void **state)
{
	struct schedule *s;
	struct schedule_slot *a;

	(void)state;
	assert_int_equal(schedule_new(&s), 0);
	schedule_sync_begin(s);
	a = put(s, "h:1 cpu", 1000, NOW);
	schedule_sync_end(s, 0);
	assert_int_equal(schedule_begin(a), 0);
	assert_int_equal(schedule_begin(a), -1);
	assert_int_equal(schedule_begin(a), -1);
	schedule_end(s, a);
	assert_int_equal(schedule_begin(a), 0);
	schedule_end(s, a);
	schedule_free(s);
}

static void
test_reload_keeps_running(void **state)
{
	struct schedule *s;
	struct schedule_slot *a;
	struct schedule_slot *b;
	struct schedule_slot *c;
	int64_t a_next;

	(void)state;
	assert_int_equal(schedule_new(&s), 0);
	schedule_sync_begin(s);
	a = put(s, "a cpu", 10000, NOW);
	b = put(s, "b cpu", 10000, NOW);
	put(s, "c cpu", 10000, NOW);
	schedule_sync_end(s, 0);
	a_next = a->next_ms;
	assert_int_equal(schedule_begin(a), 0);
	assert_int_equal(schedule_begin(b), 0);

	/* a stays (still running, same time), b goes while running, c goes
	 * idle, d is new */
	schedule_sync_begin(s);
	assert_ptr_equal(put(s, "a cpu", 10000, NOW + 5), a);
	put(s, "d cpu", 10000, NOW + 5);
	schedule_sync_end(s, 0);
	assert_int_equal(schedule_count(s), 2);
	assert_true(a->running);
	assert_int_equal(a->next_ms, a_next);
	assert_int_equal(schedule_begin(a), -1);
	assert_true(b->retired);
	assert_null(b->user);
	schedule_end(s, b); /* frees it */
	schedule_end(s, a);

	/* a new interval moves the slot to its new offset */
	schedule_sync_begin(s);
	c = put(s, "a cpu", 60000, NOW + 10);
	schedule_sync_end(s, 0);
	assert_ptr_equal(c, a);
	assert_int_equal(a->next_ms % 60000, schedule_offset("a cpu", 60000));
	assert_true(a->next_ms >= NOW + 10);
	assert_int_equal(schedule_count(s), 1);
	schedule_free(s);
}

static void
test_failed_reload_keeps_old(void **state)
{
	struct schedule *s;
	struct schedule_slot *a;
	struct schedule_slot *slot;

	(void)state;
	assert_int_equal(schedule_new(&s), 0);
	schedule_sync_begin(s);
	a = put(s, "a cpu", 10000, NOW);
	schedule_sync_end(s, 0);

	schedule_sync_begin(s);
	put(s, "b cpu", 10000, NOW);
	xalloc_fail_after(0);
	assert_int_equal(
	    schedule_put(s, "c cpu", 10000, NOW, NULL, &slot), -1);
	xalloc_fail_after(-1);
	schedule_sync_end(s, 0);
	assert_int_equal(schedule_count(s), 1);
	assert_ptr_equal(schedule_take_due(s, NOW + 10000), a);
	assert_ptr_equal(a->user, "a cpu");

	/* the same key twice in one reload is refused as well */
	schedule_sync_begin(s);
	put(s, "a cpu", 10000, NOW);
	assert_int_equal(
	    schedule_put(s, "a cpu", 10000, NOW, NULL, &slot), -1);
	schedule_sync_end(s, 0);
	assert_int_equal(schedule_count(s), 1);
	schedule_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offsets_spread_and_stable),
	    cmocka_unit_test(test_due_once_per_interval),
	    cmocka_unit_test(test_due_in_time_order),
	    cmocka_unit_test(test_single_flight),
	    cmocka_unit_test(test_reload_keeps_running),
	    cmocka_unit_test(test_failed_reload_keeps_old),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
