/*
 * export_folded: collapsed stacks of the hand-built profile, the value type
 * each kind shows, names that would break the format, and the folded sink
 * appending per kind under its directory (and failing cleanly on a full
 * disk).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/config.h"
#include "exporter/folded.h"
#include "exporter/sink.h"
#include "tests/unit/export_fixture.h"

static void
render(struct fixture *f, const char *want, size_t want_lines)
{
	struct folded fold;
	struct buf out;
	size_t n = 99;

	folded_init(&fold);
	buf_init(&out, 0);
	assert_int_equal(folded_render(&fold, &f->d, &out, &n), 0);
	assert_int_equal(n, want_lines);
	assert_string_equal(out.len ? (char *)out.data : "", want);
	/* the tables are reused: a second profile renders the same */
	buf_clear(&out);
	assert_int_equal(folded_render(&fold, &f->d, &out, &n), 0);
	assert_string_equal(out.len ? (char *)out.data : "", want);
	buf_release(&out);
	folded_release(&fold);
}

/* Stacks 2 and 3 differ only in main.work's line: one line, summed. */
static void
test_cpu_folded(void **state)
{
	struct fixture f;

	(void)state;
	fixture_cpu(&f);
	render(&f,
	    "main.main;main.work;runtime.leaf 30000000\n"
	    "main.main;main.work 30000000\n",
	    2);
	/* samples/count x period when cpu/nanoseconds is absent */
	f.vt[1].absent = 1;
	render(&f,
	    "main.main;main.work;runtime.leaf 30000000\n"
	    "main.main;main.work 30000000\n",
	    2);
}

/* Each kind shows its own type; the fixture's two types are renamed. */
static void
test_kind_value_types(void **state)
{
	static const struct {
		const char *kind;
		const char *t0;
		const char *t1;
		const char *want;
		size_t lines;
	} cases[] = {
	    {"mem", "inuse_space", "alloc_space",
	        "main.main;main.work;runtime.leaf 3\n"
	        "main.main;main.work 3\n",
	        2},
	    {"allocs", "inuse_space", "alloc_space",
	        "main.main;main.work;runtime.leaf 30000000\n"
	        "main.main;main.work 30000000\n",
	        2},
	    {"goroutines", "goroutine", "other",
	        "main.main;main.work;runtime.leaf 3\n"
	        "main.main;main.work 3\n",
	        2},
	    {"mutex", "contentions", "delay",
	        "main.main;main.work;runtime.leaf 30000000\n"
	        "main.main;main.work 30000000\n",
	        2},
	    {"block", "contentions", "delay",
	        "main.main;main.work;runtime.leaf 30000000\n"
	        "main.main;main.work 30000000\n",
	        2},
	    {"threadcreate", "threadcreate", "x",
	        "main.main;main.work;runtime.leaf 3\n"
	        "main.main;main.work 3\n",
	        2},
	    /* the kind's type is missing: nothing */
	    {"mem", "alloc_space", "inuse_objects", "", 0},
	};
	struct fixture f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture_cpu(&f);
		f.o.kind = (char *)cases[i].kind;
		f.strings[FX_SAMPLES] = (char *)cases[i].t0;
		f.strings[FX_CPU] = (char *)cases[i].t1;
		render(&f, cases[i].want, cases[i].lines);
	}
}

/* ';' and newlines cannot be inside a frame; an unnamed function still
 * gets a frame; sums that are not positive are left out. */
static void
test_names_and_signs(void **state)
{
	struct fixture f;

	(void)state;
	fixture_cpu(&f);
	f.strings[FX_LEAF] = (char *)"a;b\nc";
	f.strings[FX_MAIN] = (char *)"";
	f.values[5] = -25000000; /* stack 2; with stack 3 sums to -5 ms */
	render(&f, "[unknown];main.work;a:b c 30000000\n", 1);
}

static void
scratch_dir(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/test_export_folded.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static struct sink *
open_folded(const char *dir)
{
	char text[1024];
	char err[512];
	struct cfg *c;
	struct sink *s = NULL;

	snprintf(text, sizeof(text), "Type: folded\nDir: %s\n", dir);
	assert_int_equal(
	    cfg_parse(&c, "t.yaml", text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(
	    sink_folded_ops.open(&s, c, c->root, err, sizeof(err)), 0);
	cfg_free(c);
	return s;
}

static void
slurp(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t k;

	assert_non_null(f);
	k = fread(out, 1, n - 1, f);
	out[k] = '\0';
	fclose(f);
}

static void
test_sink_appends_per_kind(void **state)
{
	char dir[64];
	char sub[128];
	char path[256];
	char got[1024];
	char err[512];
	struct fixture f;
	struct sink *s;
	size_t n;

	(void)state;
	scratch_dir(dir, sizeof(dir));
	snprintf(sub, sizeof(sub), "%s/a/b", dir); /* created at open */
	s = open_folded(sub);
	assert_string_equal(s->name + strlen(s->name) - 4, "/a/b");
	fixture_cpu(&f);
	assert_int_equal(s->ops->write(s, &f.d, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(s->ops->write(s, &f.d, &n, err, sizeof(err)), 0);
	assert_null(s->ops->flush); /* written in full before write returns */
	snprintf(path, sizeof(path), "%s/cpu.folded", sub);
	slurp(path, got, sizeof(got));
	assert_string_equal(got,
	    "main.main;main.work;runtime.leaf 30000000\n"
	    "main.main;main.work 30000000\n"
	    "main.main;main.work;runtime.leaf 30000000\n"
	    "main.main;main.work 30000000\n");

	/* a kind from the wire cannot name a file outside the directory */
	f.o.kind = (char *)"../../x";
	assert_int_equal(s->ops->write(s, &f.d, &n, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/______x.folded", sub);
	slurp(path, got, sizeof(got));
	assert_int_equal(strlen(got) > 0, 1);

	/* a full disk: the write fails and says where */
	snprintf(path, sizeof(path), "%s/mutex.folded", sub);
	assert_int_equal(symlink("/dev/full", path), 0);
	f.o.kind = (char *)"mutex";
	f.strings[FX_CPU] = (char *)"delay";
	assert_int_equal(s->ops->write(s, &f.d, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mutex.folded: write: "));
	s->ops->close(s);

	snprintf(got, sizeof(got), "rm -rf %s", dir);
	assert_int_equal(system(got), 0);
}

static void
test_sink_config_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"Type: folded\n", "t.yaml:1: folded: Dir: required"},
	    {"Type: folded\nDir: \"\"\n", "t.yaml:1: folded: Dir: required"},
	    {"Type: folded\nDir: /dev/null\n",
	        "t.yaml:2: Dir: /dev/null: not a directory"},
	    {"Type: folded\nDir: /tmp\nPath: x\n",
	        "t.yaml:3: unknown key \"Path\""},
	    {"Type: folded\nDir: [a]\n", "t.yaml:2: Dir: expected a value"},
	};
	struct cfg *c;
	struct sink *s;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cfg_parse(&c, "t.yaml", cases[i].text,
		                     strlen(cases[i].text), err, sizeof(err)),
		    0);
		s = NULL;
		assert_int_equal(
		    sink_folded_ops.open(&s, c, c->root, err, sizeof(err)),
		    -1);
		assert_null(s);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: got \"%s\"", i, err);
		cfg_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpu_folded),
	    cmocka_unit_test(test_kind_value_types),
	    cmocka_unit_test(test_names_and_signs),
	    cmocka_unit_test(test_sink_appends_per_kind),
	    cmocka_unit_test(test_sink_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
