/*
 * export_item: the shape of a Result, checked before any sink sees it.
 * A window's merged profile takes the window's origin and its length, a
 * length that would overflow int64 is refused rather than wrapped, and a
 * Result with nothing in it or a shape without its origin is refused by
 * name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "exporter/item.h"
#include "exporter/sink.h"

struct fx {
	Profpipe__Result r;
	Profpipe__Window w;
	Profpipe__Origin o;
	Profpipe__Decoded d;
	char *str[1];
	Profpipe__LabelSet empty;
	Profpipe__LabelSet *sets[1];
};

/* A Result holding a window with no stacks, [start, end). */
static void
fx_window(struct fx *f, int64_t start, int64_t end)
{
	Profpipe__LabelSet linit = PROFPIPE__LABEL_SET__INIT;

	memset(f, 0, sizeof(*f));
	profpipe__result__init(&f->r);
	profpipe__window__init(&f->w);
	profpipe__origin__init(&f->o);
	profpipe__decoded__init(&f->d);
	f->str[0] = "";
	f->empty = linit;
	f->sets[0] = &f->empty;
	f->d.n_strings = 1;
	f->d.strings = f->str;
	f->d.n_label_sets = 1;
	f->d.label_sets = f->sets;
	f->o.profile_id = "7a2b0c1d-0000-4000-8000-0000000000e1";
	f->o.start_ns = start;
	f->o.end_ns = end;
	f->w.origin = &f->o;
	f->w.merged = &f->d;
	f->r.window = &f->w;
}

static void
test_window_takes_origin_and_length(void **state)
{
	struct export_item it;
	struct fx f;
	const char *who;
	char why[256] = "";

	(void)state;
	fx_window(&f, 1700000000000000000LL, 1700000060000000000LL);
	if (export_item(&it, &f.r, &who, why, sizeof(why)) < 0)
		fail_msg("refused: %s", why);
	assert_int_equal(it.takes, SINK_WINDOWS);
	assert_ptr_equal(it.p, &f.d);
	assert_ptr_equal(f.d.origin, &f.o);
	assert_int_equal(f.d.duration_ns, 60000000000LL);
	assert_string_equal(it.key, "w:7a2b0c1d-0000-4000-8000-0000000000e1");
}

static void
test_window_length_overflows(void **state)
{
	struct export_item it;
	struct fx f;
	const char *who;
	char why[256] = "";

	(void)state;
	fx_window(&f, INT64_MIN, 1);
	assert_int_equal(export_item(&it, &f.r, &who, why, sizeof(why)), -1);
	assert_string_equal(why,
	    "window from -9223372036854775808 to 1 ns: "
	    "its length overflows");
	assert_string_equal(who, "7a2b0c1d-0000-4000-8000-0000000000e1");
}

static void
test_refused_by_name(void **state)
{
	struct export_item it;
	struct fx f;
	const char *who;
	char why[256] = "";

	(void)state;
	fx_window(&f, 0, 1);
	f.w.origin = NULL;
	assert_int_equal(export_item(&it, &f.r, &who, why, sizeof(why)), -1);
	assert_string_equal(why, "window without origin");
	f.r.window = NULL;
	assert_int_equal(export_item(&it, &f.r, &who, why, sizeof(why)), -1);
	assert_string_equal(why, "no profile, window or metrics in it");
	assert_string_equal(who, "result");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_takes_origin_and_length),
	    cmocka_unit_test(test_window_length_overflows),
	    cmocka_unit_test(test_refused_by_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
