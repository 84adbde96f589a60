/*
 * inputs_push: a profile_push input's keys read with their defaults
 * (DataKit's port and endpoint, 30 MiB), and every mistake refused with the
 * file:line where it was made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"
#include "fetcher/inputs.h"

static int
parse(const char *text, struct inputs **out, char *err, size_t errlen)
{
	struct cfg *c;
	int rv;

	err[0] = '\0';
	if (cfg_parse(&c, "cfg.yaml", text, strlen(text), err, errlen) < 0)
		return -1;
	rv = inputs_from_cfg(out, c, err, errlen);
	cfg_free(c);
	return rv;
}

static void
expect_error(const char *text, const char *want)
{
	struct inputs *in = NULL;
	char err[512];

	if (parse(text, &in, err, sizeof(err)) == 0) {
		inputs_unref(in);
		fail_msg("accepted, wanted: %s", want);
	}
	if (strcmp(err, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", err, want);
}

static void
test_defaults(void **state)
{
	struct inputs *in;
	char err[512];

	(void)state;
	if (parse("inputs:\n  - Type: profile_push\n", &in, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(in->npushes, 1);
	assert_string_equal(in->pushes[0].host, "127.0.0.1");
	assert_int_equal(in->pushes[0].port, 9529);
	assert_int_equal(in->pushes[0].nendpoints, 1);
	assert_string_equal(in->pushes[0].endpoints[0], "/profiling/v1/input");
	assert_int_equal(in->pushes[0].max_size, 31457280);
	assert_null(in->pushes[0].token);
	assert_int_equal(in->pushes[0].nlabels, 0);
	assert_int_equal(in->pushes[0].ack_timeout_s, 5);
	inputs_unref(in);
}

static void
test_full(void **state)
{
	struct inputs *in;
	char err[512];

	(void)state;
	if (parse("inputs:\n"
	          "  - Type: profile_push\n"
	          "    Listen: \"[::1]:9600\"\n"
	          "    Endpoints: [/a, /profiling/v1/input]\n"
	          "    MaxSize: 2048\n"
	          "    Labels: {zone: b, cluster: eu-1}\n"
	          "    Token: secret\n"
	          "    AckTimeout: 2\n",
	        &in, err, sizeof(err)))
		fail_msg("%s", err);
	assert_string_equal(in->pushes[0].host, "::1");
	assert_int_equal(in->pushes[0].port, 9600);
	assert_int_equal(in->pushes[0].nendpoints, 2);
	assert_string_equal(in->pushes[0].endpoints[0], "/a");
	assert_int_equal(in->pushes[0].max_size, 2048);
	assert_string_equal(in->pushes[0].token, "secret");
	assert_int_equal(in->pushes[0].nlabels, 2);
	assert_string_equal(in->pushes[0].labels[0].key, "cluster");
	assert_string_equal(in->pushes[0].labels[1].value, "b");
	assert_int_equal(in->pushes[0].ack_timeout_s, 2);
	inputs_unref(in);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("inputs:\n  - Type: profile_push\n    Listen: nope\n",
	    "cfg.yaml:3: Listen: expected host:port (e.g. 127.0.0.1:9529), "
	    "found \"nope\"");
	expect_error("inputs:\n  - Type: profile_push\n    Listen: h:99999\n",
	    "cfg.yaml:3: Listen: expected host:port (e.g. 127.0.0.1:9529), "
	    "found \"h:99999\"");
	expect_error("inputs:\n  - Type: profile_push\n    Listen: ::1:80\n",
	    "cfg.yaml:3: Listen: expected host:port (e.g. 127.0.0.1:9529), "
	    "found \"::1:80\"");
	expect_error(
	    "inputs:\n  - Type: profile_push\n    Endpoints: [nope]\n",
	    "cfg.yaml:3: Endpoints: expected paths such as "
	    "/profiling/v1/input");
	expect_error("inputs:\n  - Type: profile_push\n    Endpoints: []\n",
	    "cfg.yaml:3: Endpoints: empty: list at least one path");
	expect_error("inputs:\n  - Type: profile_push\n    Endpoints: [/a, "
	             "/a]\n",
	    "cfg.yaml:3: Endpoints: /a is listed twice");
	expect_error("inputs:\n  - Type: profile_push\n    MaxSize: 10\n",
	    "cfg.yaml:3: MaxSize: 10 is out of range (1024 to 1073741824)");
	expect_error("inputs:\n  - Type: profile_push\n    Token: \"\"\n",
	    "cfg.yaml:3: Token: empty (leave it out for no authentication)");
	expect_error("inputs:\n  - Type: profile_push\n    Lables: {a: b}\n",
	    "cfg.yaml:3: unknown key \"Lables\"");
	expect_error("inputs:\n  - Type: profile_push\n"
	             "  - Type: profile_push\n",
	    "cfg.yaml:3: Listen: 127.0.0.1:9529 is already used by the input "
	    "at line 2 (list the endpoints there)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
