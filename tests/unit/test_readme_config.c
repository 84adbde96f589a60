/*
 * readme_config: every ```yaml block of README.md is a configuration the
 * stages accept as it is written: the fetcher's inputs, the aggregator's
 * section and the exporter's outputs, opened for real. Only what cannot be
 * taken on a test machine is moved: /var/lib/profpipe to a temporary
 * directory, the exporter's listening ports to port 0 and the UI's
 * installed path to the checkout's exporter/ui.
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
#include "common/config.h"
#include "exporter/outputs.h"
#include "fetcher/inputs.h"
#include "tests/unit/decode_util.h"

#define BLOCKS_MAX 16

struct readme {
	char *text;
	char *block[BLOCKS_MAX];
	int n;
};

/* README.md's ```yaml blocks, each a NUL-terminated string in r->text. */
static void
readme_blocks(struct readme *r)
{
	size_t len;
	char *p;

	r->text = (char *)du_slurp("README.md", &len);
	assert_non_null(r->text);
	r->text[len] = '\0'; /* du_slurp leaves a byte for it */
	r->n = 0;
	for (p = r->text; (p = strstr(p, "\n```yaml\n")) != NULL;) {
		char *end;

		p += strlen("\n```yaml\n");
		end = strstr(p, "\n```");
		assert_non_null(end);
		end[1] = '\0';
		assert_true(r->n < BLOCKS_MAX);
		r->block[r->n++] = p;
		p = end + 2;
	}
}

/* s with every from replaced by to, in a new string. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += nf)
		n++;
	out = malloc(strlen(s) + n * nt + 1);
	assert_non_null(out);
	for (o = out; (p = strstr(s, from)) != NULL; s = p + nf) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, to, nt);
		o += nt;
	}
	strcpy(o, s);
	return out;
}

/* block, with the paths and ports a test machine cannot take moved. */
static char *
localise(const char *block, const char *dir)
{
	/* The exporter's sinks listen when opened; the fetcher's push
	 * input only when the stage runs, so its port stays. */
	static const char *const ports[] = {
	    "127.0.0.1:8080", "127.0.0.1:9464"};
	char *s = replace_all(block, "/var/lib/profpipe", dir);
	char *t;
	size_t i;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		t = replace_all(s, ports[i], "127.0.0.1:0");
		free(s);
		s = t;
	}
	t = replace_all(s, "/usr/share/profpipe/ui", "exporter/ui");
	free(s);
	return t;
}

static void
check_block(const char *block, int i, const char *dir)
{
	char *text = localise(block, dir);
	char err[512];
	char name[32];
	struct cfg *c;
	struct inputs *in;
	struct agg_options ao;
	struct outputs o;

	snprintf(name, sizeof(name), "README.md block %d", i + 1);
	if (cfg_parse(&c, name, text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (cfg_get(c->root, "inputs") != NULL) {
		if (inputs_from_cfg(&in, c, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		assert_true(in->ntargets + in->npushes > 0);
		inputs_unref(in);
	}
	agg_options_defaults(&ao);
	if (agg_options_from_cfg(&ao, c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (cfg_get(c->root, "outputs") != NULL) {
		if (outputs_open(&o, c, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		assert_true(o.n > 0);
		outputs_close(&o);
	}
	cfg_free(c);
	free(text);
}

static int
rm_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void
test_every_block_is_accepted(void **state)
{
	struct readme r;
	char dir[] = "/tmp/readme_config.XXXXXX";
	int i;

	(void)state;
	readme_blocks(&r);
	/* The configuration, push and store sections each show one. */
	assert_true(r.n >= 3);
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < r.n; i++)
		check_block(r.block[i], i, dir);
	assert_int_equal(rm_tree(dir), 0);
	free(r.text);
}

/* The substitutions must not hide a mistake: a wrong key in a block is
 * still refused, so the check above can fail. */
static void
test_a_wrong_key_is_refused(void **state)
{
	struct readme r;
	char dir[] = "/tmp/readme_config.XXXXXX";
	char *bad, *text;
	char err[512];
	struct cfg *c;
	struct inputs *in;
	struct agg_options ao;

	(void)state;
	readme_blocks(&r);
	assert_non_null(mkdtemp(dir));
	bad = replace_all(r.block[0], "Interval:", "Intervall:");
	text = localise(bad, dir);
	assert_int_equal(
	    cfg_parse(&c, "b", text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(inputs_from_cfg(&in, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Intervall"));
	cfg_free(c);
	free(text);
	free(bad);
	bad = replace_all(r.block[0], "WindowGrace:", "WindowGrase:");
	text = localise(bad, dir);
	assert_int_equal(
	    cfg_parse(&c, "b", text, strlen(text), err, sizeof(err)), 0);
	agg_options_defaults(&ao);
	assert_int_equal(agg_options_from_cfg(&ao, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "WindowGrase"));
	cfg_free(c);
	free(text);
	free(bad);
	assert_int_equal(rm_tree(dir), 0);
	free(r.text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_block_is_accepted),
	    cmocka_unit_test(test_a_wrong_key_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
