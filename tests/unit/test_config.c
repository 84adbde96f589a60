/*
 * config: the tree keeps lines; typed getters refuse wrong types and ranges
 * with "file:line: key: reason"; malformed YAML, aliases, duplicate keys,
 * too many keys, unknown sections and deep nesting are refused, never
 * crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/config.h"

static struct cfg *
parse_ok(const char *text)
{
	struct cfg *c = NULL;
	char err[256] = "";

	if (cfg_parse(&c, "t.yaml", text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("unexpected error: %s", err);
	return c;
}

static void
parse_err(const char *text, const char *want)
{
	struct cfg *c = NULL;
	char err[256] = "";

	assert_int_equal(
	    cfg_parse(&c, "t.yaml", text, strlen(text), err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
test_tree_and_lines(void **state)
{
	struct cfg *c = parse_ok("inputs:\n"
	                         "  - Type: service_go_profile\n"
	                         "    Interval: 10\n"
	                         "    Labels: {service: checkout}\n");
	struct cfg_node *inputs = NULL;
	struct cfg_node *in;
	char err[256];
	long v;
	const char *s;

	(void)state;
	assert_int_equal(
	    cfg_seq(c, c->root, "inputs", &inputs, err, sizeof(err)), 0);
	assert_non_null(inputs);
	assert_int_equal(cfg_count(inputs), 1);
	in = inputs->child;
	assert_int_equal(in->line, 2);
	assert_int_equal(
	    cfg_int(c, in, "Interval", 5, 1, 3600, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 10);
	assert_int_equal(
	    cfg_int(c, in, "Timeout", 15, 1, 3600, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 15);
	assert_int_equal(cfg_str(c, cfg_get(in, "Labels"), "service", NULL, &s,
	                     err, sizeof(err)),
	    0);
	assert_string_equal(s, "checkout");
	assert_int_equal(cfg_get(in, "Interval")->line, 3);
	cfg_free(c);
}

static void
test_typed_errors_name_line(void **state)
{
	struct cfg *c = parse_ok("a: soon\nb: 99999\nc: [1]\nd: maybe\n");
	char err[256];
	long v;
	int bv;
	const char *s;

	(void)state;
	assert_int_equal(
	    cfg_int(c, c->root, "a", 0, 0, 10, &v, err, sizeof(err)), -1);
	assert_string_equal(
	    err, "t.yaml:1: a: \"soon\" is not a whole number");
	assert_int_equal(
	    cfg_int(c, c->root, "b", 0, 0, 10, &v, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.yaml:2: b: 99999 is out of range"));
	assert_int_equal(
	    cfg_str(c, c->root, "c", NULL, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.yaml:3: c: expected a value"));
	assert_int_equal(
	    cfg_bool(c, c->root, "d", 0, &bv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.yaml:4: d: expected true or false"));
	cfg_free(c);
}

static void
test_only_known_keys(void **state)
{
	static const char *const known[] = {"Interval", NULL};
	struct cfg *c = parse_ok("Interval: 1\nIntervall: 2\n");
	char err[256];

	(void)state;
	assert_int_equal(cfg_only(c, c->root, known, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:2: unknown key \"Intervall\"");
	cfg_free(c);
}

/* Each stage reads its own section only, so the top level is checked as
 * a whole: a misspelt section was ignored by every stage. */
static void
test_top_level_sections(void **state)
{
	struct cfg *c = parse_ok("inputs: []\naggregator: {}\noutputs: []\n");
	char err[256];

	(void)state;
	assert_int_equal(cfg_check_top(c, err, sizeof(err)), 0);
	cfg_free(c);
	c = parse_ok("inputs: []\nAggregator: {Window: 10}\n");
	assert_int_equal(cfg_check_top(c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:2: unknown key \"Aggregator\"");
	cfg_free(c);
	c = parse_ok("output: []\n");
	assert_int_equal(cfg_check_top(c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.yaml:1: unknown key \"output\"");
	cfg_free(c);
}

/* Keys are checked pairwise for twins, so a map's keys are capped: 90,000
 * of them took 13 s to read, past the supervisor's wait for a stage. */
static void
test_many_keys(void **state)
{
	size_t n = 5000;
	size_t len = 0;
	char *text = malloc(n * 16 + 16);
	struct cfg *c;
	size_t i;

	(void)state;
	assert_non_null(text);
	len += (size_t)sprintf(text + len, "m:\n");
	for (i = 0; i < 4096; i++)
		len += (size_t)sprintf(text + len, "  k%zu: 1\n", i);
	c = parse_ok(text);
	assert_int_equal(cfg_count(cfg_get(c->root, "m")), 4096);
	cfg_free(c);
	sprintf(text + len, "  k4096: 1\n");
	parse_err(text, "t.yaml:4098: more than 4096 keys in one map");
	free(text);
}

/* Bytes that are not UTF-8 are named at their own line: libyaml gives
 * such a reader error an offset, not a line. */
static void
test_bad_utf8_line(void **state)
{
	(void)state;
	parse_err("inputs:\n  - Type: x\n    Name: \xff\xfe\n",
	    "t.yaml:3: invalid leading UTF-8 octet");
}

/* YAML's null, unquoted, is the key's default: `Token: null` had been the
 * token "null", and every upload without it refused. Quoted, it is text;
 * an empty value stays "". */
static void
test_null_is_default(void **state)
{
	struct cfg *c = parse_ok("a: null\nb: ~\nc: \"null\"\nd: \nn: NULL\n"
	                         "t: Null\n");
	char err[256];
	const char *s;
	long v;
	int b;

	(void)state;
	assert_int_equal(cfg_str(c, c->root, "a", "def", &s, err, 256), 0);
	assert_string_equal(s, "def");
	assert_int_equal(cfg_str(c, c->root, "b", "def", &s, err, 256), 0);
	assert_string_equal(s, "def");
	assert_int_equal(cfg_str(c, c->root, "c", "def", &s, err, 256), 0);
	assert_string_equal(s, "null");
	assert_int_equal(cfg_str(c, c->root, "d", "def", &s, err, 256), 0);
	assert_string_equal(s, "");
	assert_int_equal(cfg_int(c, c->root, "n", 7, 0, 9, &v, err, 256), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cfg_bool(c, c->root, "t", 1, &b, err, 256), 0);
	assert_int_equal(b, 1);
	cfg_free(c);
}

static void
test_empty_file_is_empty_map(void **state)
{
	struct cfg *c = parse_ok("");

	(void)state;
	assert_int_equal(c->root->type, CFG_MAP);
	assert_null(c->root->child);
	cfg_free(c);
}

static void
test_hostile_yaml(void **state)
{
	char deep[400];
	size_t i;

	(void)state;
	parse_err("a: [1, 2\n", "t.yaml:");
	parse_err("a: 1\na: 2\n", "t.yaml:2: duplicate key");
	parse_err("a: &x 1\nb: *x\n", "not supported");
	parse_err("- 1\n- 2\n", "top level must be a map");
	parse_err("a: 1\n---\nb: 2\n", "only one YAML document");
	parse_err("? [1]\n: 2\n", "map keys must be plain");
	for (i = 0; i < 150; i++)
		deep[i] = '[';
	deep[0] = 'a';
	deep[1] = ':';
	deep[2] = ' ';
	deep[150] = '\0';
	parse_err(deep, "nested too deeply");
	parse_err("a: \"\\xff\n", "t.yaml:");
}

static void
test_load_missing_file(void **state)
{
	struct cfg *c = NULL;
	char err[256];

	(void)state;
	assert_int_equal(
	    cfg_load(&c, "/nonexistent/p.yaml", err, sizeof(err)), -1);
	assert_string_equal(
	    err, "/nonexistent/p.yaml: No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree_and_lines),
	    cmocka_unit_test(test_typed_errors_name_line),
	    cmocka_unit_test(test_only_known_keys),
	    cmocka_unit_test(test_top_level_sections),
	    cmocka_unit_test(test_many_keys),
	    cmocka_unit_test(test_bad_utf8_line),
	    cmocka_unit_test(test_null_is_default),
	    cmocka_unit_test(test_empty_file_is_empty_map),
	    cmocka_unit_test(test_hostile_yaml),
	    cmocka_unit_test(test_load_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
