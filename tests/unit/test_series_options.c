/*
 * options: the aggregator's section of the YAML file: the window keys
 * with their defaults, values read, and what is refused with file:line
 * (a SeriesTTL that would free a series with its window open, a grace
 * longer than 13 windows, a stack cap below 16, an unknown key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "aggregator/options.h"

static int
load(const char *text, struct agg_options *o, char *err, size_t errlen)
{
	char path[] = "/tmp/agg-options-XXXXXX";
	int fd = mkstemp(path);
	int rv;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	agg_options_defaults(o);
	rv = agg_options_load(o, path, err, errlen);
	unlink(path);
	return rv;
}

static void
test_defaults_and_values(void **state)
{
	struct agg_options o;
	char err[256];

	(void)state;
	assert_int_equal(load("aggregator: {}\n", &o, err, sizeof(err)), 0);
	assert_int_equal(o.window_s, 60);
	assert_int_equal(o.window_grace_s, 15);
	assert_int_equal(o.window_stacks, 50000);
	assert_int_equal(o.merge_instances, 0);
	assert_int_equal(load("aggregator:\n"
	                      "  Window: 10\n"
	                      "  WindowGrace: 3\n"
	                      "  MaxStacksPerWindow: 100\n"
	                      "  MergeInstances: true\n",
	                     &o, err, sizeof(err)),
	    0);
	assert_int_equal(o.window_s, 10);
	assert_int_equal(o.window_grace_s, 3);
	assert_int_equal(o.window_stacks, 100);
	assert_int_equal(o.merge_instances, 1);
}

static void
refused(const char *text, const char *why)
{
	struct agg_options o;
	char err[256];

	assert_int_equal(load(text, &o, err, sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("want \"%s\" in \"%s\"", why, err);
	assert_non_null(strstr(err, "/tmp/agg-options-"));
}

static void
test_refused(void **state)
{
	struct agg_options o;
	char err[256];

	(void)state;
	refused("aggregator:\n  SeriesTTL: 60\n", "must exceed 2 x Window");
	refused("aggregator:\n  Window: 600\n", "must exceed 2 x Window");
	/* A push's windows may wait a Window past the grace. */
	refused("aggregator:\n  Window: 300\n  WindowGrace: 15\n",
	    "SeriesTTL (600) must exceed 2 x Window + WindowGrace (615)");
	refused("aggregator:\n  Window: 10\n  WindowGrace: 140\n",
	    "WindowGrace (140) must be at most 13 x Window (10)");
	assert_int_equal(
	    load("aggregator:\n  Window: 10\n  WindowGrace: 130\n", &o, err,
	        sizeof(err)),
	    0);
	refused(
	    "aggregator:\n  MaxStacksPerWindow: 15\n", "MaxStacksPerWindow");
	refused("aggregator:\n  Window: 0\n", "Window");
	refused("aggregator:\n  MergeInstances: maybe\n", "MergeInstances");
	refused("aggregator:\n  Windw: 10\n", "Windw");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_values),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
