/*
 * export_outputs: the outputs: list becomes sinks, and every mistake in it
 * is refused with the file and line; a jsonl sink appends to its file and
 * fails cleanly (nothing acked) on a full disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/config.h"
#include "exporter/outputs.h"
#include "tests/unit/export_window.h"

static struct cfg *
parse(const char *text)
{
	struct cfg *c;
	char err[512];

	if (cfg_parse(&c, "pipe.yaml", text, strlen(text), err, sizeof(err)) <
	    0)
		fail_msg("%s", err);
	return c;
}

static void
test_default_is_jsonl_stdout(void **state)
{
	struct outputs o;
	struct cfg *c;
	char err[512];

	(void)state;
	assert_int_equal(outputs_open(&o, NULL, err, sizeof(err)), 0);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.sinks[0]->name, "jsonl -");
	outputs_close(&o);
	assert_int_equal(o.n, 0);

	/* a config for the other stages only: the same */
	c = parse("inputs:\n  - Type: service_go_profile\n");
	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), 0);
	assert_int_equal(o.n, 1);
	outputs_close(&o);
	cfg_free(c);
}

static void
test_two_sinks(void **state)
{
	char dir[] = "/tmp/test_export_outputs.XXXXXX";
	char text[1024];
	char want[256];
	char err[512];
	struct outputs o;
	struct cfg *c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(text, sizeof(text),
	    "outputs:\n"
	    "  - Type: jsonl\n"
	    "    Path: %s/out.jsonl\n"
	    "  - Type: folded\n"
	    "    Dir: %s/folded\n"
	    "  - Type: jsonl\n",
	    dir, dir);
	c = parse(text);
	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), 0);
	assert_int_equal(o.n, 3);
	snprintf(want, sizeof(want), "jsonl %s/out.jsonl", dir);
	assert_string_equal(o.sinks[0]->name, want);
	snprintf(want, sizeof(want), "folded %s/folded", dir);
	assert_string_equal(o.sinks[1]->name, want);
	assert_string_equal(o.sinks[2]->name, "jsonl -");
	outputs_close(&o);
	cfg_free(c);
	snprintf(text, sizeof(text), "rm -rf %s", dir);
	assert_int_equal(system(text), 0);
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"outputs: jsonl\n", "pipe.yaml:1: outputs: expected a list"},
	    {"outputs: []\n", "pipe.yaml:1: outputs: empty list"},
	    {"outputs:\n  - jsonl\n",
	        "pipe.yaml:2: outputs: each entry must be a map"},
	    {"outputs:\n  - Path: x\n",
	        "pipe.yaml:2: outputs: entry without Type"},
	    {"outputs:\n  - Type: jsonl\n  - Type: parquet\n",
	        "pipe.yaml:3: Type: unknown output type \"parquet\" (known: "
	        "jsonl, folded, "},
	    {"outputs:\n  - Type: jsonl\n    Per: day\n",
	        "pipe.yaml:3: Per: \"day\": one of profile, window, both"},
	    {"outputs:\n  - Type: folded\n    Dir: /tmp\n    Per: [x]\n",
	        "pipe.yaml:4: Per: expected a value"},
	    {"outputs:\n  - Type: [jsonl]\n",
	        "pipe.yaml:2: Type: expected a value, found a list"},
	    {"outputs:\n  - Type: jsonl\n    Pth: /tmp/x\n",
	        "pipe.yaml:3: unknown key \"Pth\""},
	    {"outputs:\n  - Type: jsonl\n    Path: \"\"\n",
	        "pipe.yaml:3: Path: empty"},
	    {"outputs:\n  - Type: jsonl\n    Path: /nonexistent/dir/x\n",
	        "pipe.yaml:3: Path: /nonexistent/dir/x: No such file"},
	    {"outputs:\n  - Type: jsonl\n  - Type: folded\n    Dir: a\n"
	     "    Dirs: b\n",
	        "pipe.yaml:5: unknown key \"Dirs\""},
	};
	struct outputs o;
	struct cfg *c;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = parse(cases[i].text);
		assert_int_equal(outputs_open(&o, c, err, sizeof(err)), -1);
		assert_int_equal(o.n, 0);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: got \"%s\"", i, err);
		cfg_free(c);
	}
}

static void
test_jsonl_file_and_full_disk(void **state)
{
	char path[] = "/tmp/test_export_outputs.XXXXXX";
	char text[256];
	char got[8192];
	char err[512];
	struct outputs o;
	struct fixture f;
	struct cfg *c;
	size_t n;
	FILE *fp;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: jsonl\n"
	    "    Path: %s\n  - Type: jsonl\n    Path: /dev/full\n",
	    path);
	c = parse(text);
	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), 0);
	fixture_cpu(&f);
	assert_int_equal(
	    o.sinks[0]->ops->write(o.sinks[0], &f.d, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(
	    o.sinks[0]->ops->write(o.sinks[0], &f.d, &n, err, sizeof(err)), 0);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(got, 1, sizeof(got) - 1, fp);
	fclose(fp);
	got[n] = '\0';
	assert_true(fx_jsonl_valid(got, n));
	assert_non_null(strstr(got, "\"valueTypes\":\"cpu\""));
	assert_int_equal(n % 2, 0);
	assert_memory_equal(got, got + n / 2, n / 2); /* appended twice */

	assert_int_equal(
	    o.sinks[1]->ops->write(o.sinks[1], &f.d, &n, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "/dev/full: write: No space left on device");
	outputs_close(&o);
	cfg_free(c);
	unlink(path);
}

/* Per: window: a window is written as a profile whose profileID is the
 * window's id and durationNs its length; Per: both takes both. */
static void
test_jsonl_per_window(void **state)
{
	char path[] = "/tmp/test_export_outputs.XXXXXX";
	char text[256];
	char got[8192];
	char err[512];
	struct outputs o;
	struct fixture f;
	struct xwindow x;
	struct cfg *c;
	struct sink *s;
	size_t nrec;
	size_t n;
	FILE *fp;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: jsonl\n    Path: %s\n    Per: window\n"
	    "  - Type: jsonl\n    Per: both\n",
	    path);
	c = parse(text);
	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), 0);
	assert_int_equal(o.sinks[0]->takes, SINK_WINDOWS);
	assert_int_equal(o.sinks[1]->takes, SINK_PROFILES | SINK_WINDOWS);
	s = o.sinks[0];
	xwindow_fixture(&x, &f);
	if (s->ops->write_window(s, &x.w, &nrec, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(nrec, 3);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(got, 1, sizeof(got) - 1, fp);
	fclose(fp);
	got[n] = '\0';
	assert_true(fx_jsonl_valid(got, n));
	assert_non_null(strstr(got,
	    "\"durationNs\":\"10000000000\","
	    "\"profileID\":\"7a2b0c1d-0000-4000-8000-"
	    "00000000000w\""));
	assert_non_null(strstr(got, "\"instance\\\":\\\"\\\""));
	outputs_close(&o);
	cfg_free(c);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_is_jsonl_stdout),
	    cmocka_unit_test(test_two_sinks),
	    cmocka_unit_test(test_config_errors),
	    cmocka_unit_test(test_jsonl_file_and_full_disk),
	    cmocka_unit_test(test_jsonl_per_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
