/*
 * export_pprof: the pprof sink writes one gzipped pprof file per window
 * where sink_dir.h says, and Go's own pprof (`go tool pprof -raw`, the
 * oracle) opens every one and finds, per sample type, the window's totals:
 * for the hand-built window and for windows of corpus profiles of every
 * kind. Config mistakes are refused with file:line.
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

#include "common/config.h"
#include "exporter/outputs.h"
#include "exporter/profile.h"
#include "tests/unit/export_window.h"

#define MAX_TYPES 8

struct totals {
	char names[MAX_TYPES][64]; /* "type/unit" */
	int64_t sum[MAX_TYPES];
	size_t n;
};

/* What the oracle must find: every sample type that is not absent, over
 * the stacks that have frames. A sample without locations is written, but
 * `go tool pprof` leaves it out of what it shows (of the corpus's own
 * goapp-goroutine.pb.gz as well: 60 of its 61 goroutines). */
static void
window_totals(const Profpipe__Decoded *p, struct totals *t)
{
	size_t i;
	size_t k;

	memset(t, 0, sizeof(*t));
	for (k = 0; k < p->n_sample_types && t->n < MAX_TYPES; k++) {
		if (p->sample_types[k]->absent)
			continue;
		snprintf(t->names[t->n], sizeof(t->names[0]), "%s/%s",
		    export_string(p, p->sample_types[k]->type),
		    export_string(p, p->sample_types[k]->unit));
		for (i = 0; i < export_n_stacks(p); i++) {
			if (p->stack_offset[i + 1] == p->stack_offset[i])
				continue;
			t->sum[t->n] += p->values[i * p->n_sample_types + k];
		}
		t->n++;
	}
}

/* `go tool pprof -raw path`: its sample types and their totals. The
 * header after "Samples:" names the types; each sample line is the values
 * then ':' and the location ids; label lines start with a name. */
static void
oracle_totals(const char *path, struct totals *t)
{
	char cmd[1024];
	char line[65536];
	int in_samples = 0;
	char *s;
	char *end;
	char *tok;
	size_t k;
	FILE *fp;

	memset(t, 0, sizeof(*t));
	snprintf(cmd, sizeof(cmd),
	    "HOME=/tmp GOCACHE=/tmp/profpipe-test-gocache go tool pprof -raw "
	    "'%s' 2>&1",
	    path);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "Samples:", 8) == 0) {
			assert_non_null(fgets(line, sizeof(line), fp));
			for (tok = strtok(line, " \n"); tok != NULL;
			     tok = strtok(NULL, " \n")) {
				assert_true(t->n < MAX_TYPES);
				/* the default type is marked "[dflt]" */
				tok[strcspn(tok, "[")] = '\0';
				snprintf(t->names[t->n++], sizeof(t->names[0]),
				    "%s", tok);
			}
			in_samples = 1;
			continue;
		}
		if (strncmp(line, "Locations", 9) == 0)
			in_samples = 0;
		if (!in_samples)
			continue;
		s = line + strspn(line, " \t");
		if (!(*s == '-' || (*s >= '0' && *s <= '9')))
			continue; /* a label line */
		for (k = 0; k < t->n; k++) {
			t->sum[k] += strtoll(s, &end, 10);
			assert_true(end != s);
			s = end;
		}
		assert_int_equal(*s, ':');
	}
	if (pclose(fp) != 0)
		fail_msg("go tool pprof -raw %s failed: %s", path, line);
}

static void
assert_same_totals(const char *path, const Profpipe__Decoded *p)
{
	struct totals want;
	struct totals got;
	size_t k;

	window_totals(p, &want);
	oracle_totals(path, &got);
	assert_int_equal(got.n, want.n);
	for (k = 0; k < want.n; k++) {
		assert_string_equal(got.names[k], want.names[k]);
		if (got.sum[k] != want.sum[k])
			fail_msg("%s: %s: pprof says %lld, window %lld", path,
			    want.names[k], (long long)got.sum[k],
			    (long long)want.sum[k]);
	}
}

static struct sink *
open_sink(struct outputs *o, struct cfg **c, const char *dir)
{
	char text[512];
	char err[512];

	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: pprof\n    Dir: %s/pprof\n", dir);
	if (cfg_parse(c, "p.yaml", text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("%s", err);
	if (outputs_open(o, *c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(o->n, 1);
	assert_int_equal(o->sinks[0]->takes, SINK_WINDOWS);
	return o->sinks[0];
}

static void
test_fixture_window(void **state)
{
	char dir[] = "/tmp/test_export_pprof.XXXXXX";
	char path[512];
	char err[512];
	struct outputs o;
	struct fixture f;
	struct xwindow x;
	struct sink *s;
	struct cfg *c;
	struct stat st;
	size_t nrec;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_sink(&o, &c, dir);
	xwindow_fixture(&x, &f);
	if (s->ops->write_window(s, &x.w, &nrec, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(nrec, 3);  /* stack 1 is all zero */
	assert_null(s->ops->flush); /* written in full before write returns */
	snprintf(path, sizeof(path),
	    "%s/pprof/shop/all/cpu/1700000000-1700000010.pb.gz", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_same_totals(path, &f.d);

	/* the same window again replaces the file, leaving no .tmp */
	assert_int_equal(
	    s->ops->write_window(s, &x.w, &nrec, err, sizeof(err)), 0);
	strcat(path, ".tmp");
	assert_int_not_equal(stat(path, &st), 0);

	/* hostile names stay inside Dir */
	x.o.service = (char *)"../../etc";
	x.o.instance = (char *)"h:1/x";
	x.o.kind = (char *)".";
	assert_int_equal(
	    s->ops->write_window(s, &x.w, &nrec, err, sizeof(err)), 0);
	snprintf(path, sizeof(path),
	    "%s/pprof/_._.._etc/h_1_x/_/1700000000-1700000010.pb.gz", dir);
	assert_int_equal(stat(path, &st), 0);
	outputs_close(&o);
	cfg_free(c);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

static void
corpus(struct sink *s, const char *dir, const char *name, const char *kind)
{
	char path[512];
	char err[512];
	struct xwindow x;
	size_t nrec;

	if (xwindow_corpus(&x, name, kind) < 0)
		fail_msg("%s: cannot read or decode", name);
	if (s->ops->write_window(s, &x.w, &nrec, err, sizeof(err)) < 0)
		fail_msg("%s: %s", name, err);
	assert_true(nrec > 0);
	snprintf(path, sizeof(path),
	    "%s/pprof/corpus_svc/10.0.0.1_6060/%s/"
	    "1700000000-1700000060.pb.gz",
	    dir, kind);
	assert_same_totals(path, &x.d);
	xwindow_free(&x);
}

static void
test_corpus_windows(void **state)
{
	char dir[] = "/tmp/test_export_pprof.XXXXXX";
	char cmd[256];
	struct outputs o;
	struct sink *s;
	struct cfg *c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_sink(&o, &c, dir);
	corpus(s, dir, "biggo-cpu-30s.pb.gz", "cpu");
	corpus(s, dir, "biggo-heap.pb.gz", "mem");
	corpus(s, dir, "goapp-goroutine.pb.gz", "goroutines");
	corpus(s, dir, "goapp-mutex.pb.gz", "mutex");
	corpus(s, dir, "biggo-block-delta-10s.pb.gz", "block");
	corpus(s, dir, "biggo-allocs.pb.gz", "allocs");
	outputs_close(&o);
	cfg_free(c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
refused(const char *text, const char *want)
{
	struct outputs o;
	struct cfg *c;
	char err[512];

	if (cfg_parse(&c, "p.yaml", text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", err, want);
	cfg_free(c);
}

static void
test_config_errors(void **state)
{
	(void)state;
	refused(
	    "outputs:\n  - Type: pprof\n", "p.yaml:2: pprof: Dir: required");
	refused("outputs:\n  - Type: pprof\n    Dir: /tmp\n    Dri: x\n",
	    "p.yaml:4:");
	refused("outputs:\n  - Type: pprof\n    Dir: /dev/null/x\n",
	    "p.yaml:3: Dir:");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_window),
	    cmocka_unit_test(test_corpus_windows),
	    cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
