/*
 * store: windows written to SQLite and merged back. A window comes back
 * with the same stacks and totals, a redelivered window is not stored
 * twice, two windows of a range sum, the flame tree's root total is the
 * windows' total, an unknown series is STORE_ENOTFOUND, retention by age
 * and by size deletes the oldest windows (and the stacks only they used),
 * metrics come back as a series, a second read-only connection sees what
 * the writer committed, and the config values parse strictly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "common/decoded.h"
#include "exporter/flame.h"
#include "exporter/store.h"
#include "exporter/store_query.h"
#include "tests/unit/export_window.h"

#define S_NS 1000000000LL
#define T0 1700000000LL

struct tdb {
	char dir[64];
	char path[128];
	struct store *s;
	struct arena *a;
};

static void
tdb_open(struct tdb *t, int64_t retention_s, int64_t max_bytes)
{
	struct store_limits lim = {retention_s, max_bytes};
	char err[512];

	snprintf(t->dir, sizeof(t->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/p.db", t->dir);
	if (store_open(&t->s, t->path, &lim, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	t->a = arena_new(0);
	assert_non_null(t->a);
}

static void
tdb_close(struct tdb *t)
{
	char cmd[256];

	store_close(t->s);
	arena_free(t->a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	assert_int_equal(system(cmd), 0);
}

static int64_t
tdb_count(struct store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(
	    sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
sel_init(struct store_sel *q, const char *service, const char *kind,
    const char *vt, int64_t from_s, int64_t to_s)
{
	memset(q, 0, sizeof(*q));
	q->service = service;
	q->kind = kind;
	q->value_type = vt;
	q->range[0].from_ns = from_s * S_NS;
	q->range[0].to_ns = to_s * S_NS;
	q->n_ranges = 1;
}

/* A scratch store without limits holding the fixture's window (x, f). */
static void
tdb_with_fixture(struct tdb *t, struct xwindow *x, struct fixture *f)
{
	char err[512];
	size_t nrows;

	tdb_open(t, 0, 0);
	xwindow_fixture(x, f);
	if (store_put_window(t->s, &x->w, &nrows, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/* An instance's n metrics over [start_s, start_s + 60) written. */
static void
put_metrics(struct tdb *t, const char *instance, int64_t start_s, size_t n)
{
	Profpipe__Metrics m = PROFPIPE__METRICS__INIT;
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	Profpipe__Metric v[16];
	Profpipe__Metric *vp[16];
	char names[16][32];
	char err[512];
	size_t nrows;
	size_t i;

	assert_true(n <= 16);
	for (i = 0; i < n; i++) {
		profpipe__metric__init(&v[i]);
		snprintf(names[i], sizeof(names[i]), "prof_go_m%zu", i);
		v[i].name = names[i];
		v[i].unit = (char *)"count";
		v[i].value = (double)i;
		vp[i] = &v[i];
	}
	o.service = (char *)"shop";
	o.instance = (char *)instance;
	o.start_ns = start_s * S_NS;
	o.end_ns = (start_s + 60) * S_NS;
	m.origin = &o;
	m.n_metrics = n;
	m.metrics = vp;
	if (store_put_metrics(t->s, &m, &nrows, err, sizeof(err)) < 0)
		fail_msg("%s", err);
}

/* n windows of x, a minute each from T0, ids ending in tag and the
 * index; with each, an instance's 15 metrics of the same minute when
 * metrics. */
static void
put_minutes(struct tdb *t, struct xwindow *x, int n, int tag, int metrics)
{
	char id[48];
	char err[512];
	size_t nrows;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "7a2b0c1d-0000-4000-8000-%06d%06d",
		    tag, i);
		x->o.profile_id = id;
		x->o.start_ns = (T0 + 60 * i) * S_NS;
		x->o.end_ns = x->o.start_ns + 60 * S_NS;
		if (metrics)
			put_metrics(t, "a:1", T0 + 60 * i, 15);
		if (store_put_window(t->s, &x->w, &nrows, err, sizeof(err)) <
		    0)
			fail_msg("%s", err);
	}
}

static int64_t
sum_col(const Profpipe__Decoded *d, size_t col)
{
	size_t n = decoded_n_stacks(d);
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += d->values[i * d->n_sample_types + col];
	return sum;
}

static int64_t
flame_root(const struct store_merged *m, size_t col)
{
	struct export_col c = {"cpu", "nanoseconds", col, 1};
	struct flame f;
	int64_t total;

	flame_init(&f);
	assert_int_equal(flame_build(&f, &m->d, &c, NULL), 0);
	total = f.n ? f.elems[0].total : 0;
	flame_release(&f);
	return total;
}

static void
test_fixture_roundtrip(void **state)
{
	struct xwindow x;
	struct fixture f;
	struct tdb t;
	struct store_sel q;
	struct store_merged m;
	const uint32_t *frames;
	char err[512];
	size_t nrows;
	size_t i;
	int found = 0;

	(void)state;
	tdb_open(&t, 0, 0);
	xwindow_fixture(&x, &f);
	assert_int_equal(
	    store_put_window(t.s, &x.w, &nrows, err, sizeof(err)), 0);
	assert_int_equal(nrows, 3); /* stack 1 has no value */
	/* a redelivery: nothing written again */
	assert_int_equal(
	    store_put_window(t.s, &x.w, &nrows, err, sizeof(err)), 0);
	assert_int_equal(nrows, 0);
	assert_int_equal(tdb_count(t.s, "SELECT COUNT(*) FROM windows"), 1);
	assert_int_equal(tdb_count(t.s, "SELECT COUNT(*) FROM stacks"), 3);

	sel_init(&q, "shop", "cpu", "cpu", T0, T0 + 10);
	assert_int_equal(store_merge(t.s, &q, t.a, &m, err, sizeof(err)), 0);
	assert_int_equal(decoded_check(&m.d, err, sizeof(err)), 0);
	assert_int_equal(decoded_n_stacks(&m.d), 3);
	assert_int_equal(m.n_windows, 1);
	assert_int_equal(m.total[0], 60000000);
	assert_int_equal(sum_col(&m.d, 0), 60000000);
	assert_int_equal(flame_root(&m, 0), 60000000);
	assert_string_equal(m.unit, "nanoseconds");
	/* the 30 ms stack comes back leaf first with its names and lines */
	for (i = 0; i < decoded_n_stacks(&m.d); i++) {
		if (m.d.values[i] != 30000000)
			continue;
		found = 1;
		frames = m.d.stack_frames + m.d.stack_offset[i];
		assert_int_equal(
		    m.d.stack_offset[i + 1] - m.d.stack_offset[i], 3);
		assert_string_equal(m.d.strings[m.d.frame_function[frames[0]]],
		    "runtime.leaf");
		assert_string_equal(
		    m.d.strings[m.d.frame_file[frames[1]]], "/src/work.go");
		assert_int_equal(m.d.frame_line[frames[1]], 7);
		assert_string_equal(
		    m.d.strings[m.d.frame_function[frames[2]]], "main.main");
	}
	assert_true(found);

	/* a range the window does not start in */
	arena_reset(t.a);
	sel_init(&q, "shop", "cpu", "cpu", T0 + 1, T0 + 10);
	assert_int_equal(store_merge(t.s, &q, t.a, &m, err, sizeof(err)), 0);
	assert_int_equal(decoded_n_stacks(&m.d), 0);
	assert_int_equal(m.n_windows, 0);
	tdb_close(&t);
}

static void
test_not_found(void **state)
{
	struct xwindow x;
	struct fixture f;
	struct tdb t;
	struct store_sel q;
	struct store_merged m;
	char err[512];

	(void)state;
	tdb_with_fixture(&t, &x, &f);
	sel_init(&q, "nope", "cpu", "cpu", T0, T0 + 10);
	assert_int_equal(
	    store_merge(t.s, &q, t.a, &m, err, sizeof(err)), STORE_ENOTFOUND);
	assert_non_null(strstr(err, "nope"));
	sel_init(&q, "shop", "mem", "cpu", T0, T0 + 10);
	assert_int_equal(
	    store_merge(t.s, &q, t.a, &m, err, sizeof(err)), STORE_ENOTFOUND);
	sel_init(&q, "shop", "cpu", "inuse_space", T0, T0 + 10);
	assert_int_equal(
	    store_merge(t.s, &q, t.a, &m, err, sizeof(err)), STORE_ENOTFOUND);
	sel_init(&q, "shop", "cpu", "cpu", T0, T0 + 10);
	q.instance = "10.9.9.9:1";
	assert_int_equal(
	    store_merge(t.s, &q, t.a, &m, err, sizeof(err)), STORE_ENOTFOUND);
	tdb_close(&t);
}

/* The corpus CPU profile as windows at minutes 0 and 1: a range over both
 * sums them, one over the first is the first; a diff has both columns. */
static void
test_corpus_windows(void **state)
{
	struct xwindow x;
	struct tdb t;
	struct store_sel q;
	struct store_merged m;
	char err[512];
	size_t nrows;
	int64_t one;

	(void)state;
	tdb_open(&t, 0, 0);
	assert_int_equal(xwindow_corpus(&x, "biggo-cpu-30s.pb.gz", "cpu"), 0);
	assert_int_equal(
	    store_put_window(t.s, &x.w, &nrows, err, sizeof(err)), 0);
	assert_true(nrows > 100);
	x.o.profile_id = (char *)"7a2b0c1d-0000-4000-8000-0000000000c1";
	x.o.start_ns += 60 * S_NS;
	x.o.end_ns += 60 * S_NS;
	assert_int_equal(
	    store_put_window(t.s, &x.w, &nrows, err, sizeof(err)), 0);

	sel_init(&q, "corpus svc", "cpu", "cpu", T0, T0 + 60);
	assert_int_equal(store_merge(t.s, &q, t.a, &m, err, sizeof(err)), 0);
	one = m.total[0];
	assert_true(one > 0);
	assert_int_equal(sum_col(&m.d, 0), one);
	assert_int_equal(flame_root(&m, 0), one);

	arena_reset(t.a);
	sel_init(&q, "corpus svc", "cpu", "cpu", T0, T0 + 120);
	q.instance = "10.0.0.1:6060";
	assert_int_equal(store_merge(t.s, &q, t.a, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n_windows, 2);
	assert_int_equal(m.total[0], 2 * one);
	assert_int_equal(sum_col(&m.d, 0), 2 * one);
	assert_int_equal(flame_root(&m, 0), 2 * one);
	assert_int_equal(decoded_check(&m.d, err, sizeof(err)), 0);

	/* diff: this minute against the one before */
	arena_reset(t.a);
	sel_init(&q, "corpus svc", "cpu", "cpu", T0 + 60, T0 + 120);
	q.range[1].from_ns = T0 * S_NS;
	q.range[1].to_ns = (T0 + 60) * S_NS;
	q.n_ranges = 2;
	assert_int_equal(store_merge(t.s, &q, t.a, &m, err, sizeof(err)), 0);
	assert_int_equal(m.d.n_sample_types, 2);
	assert_int_equal(sum_col(&m.d, 0), one);
	assert_int_equal(sum_col(&m.d, 1), one);
	xwindow_free(&x);
	tdb_close(&t);
}

/* A service whose stack ids are far apart (stored before and after a big
 * service's): its stacks are looked up one by one, not scanned for. */
static void
test_sparse_stacks(void **state)
{
	struct xwindow x;
	struct xwindow fx;
	struct fixture f;
	struct tdb t;
	struct store_sel q;
	struct store_merged m;
	char err[512];
	size_t nrows;

	(void)state;
	tdb_open(&t, 0, 0);
	xwindow_fixture(&fx, &f);
	assert_int_equal(
	    store_put_window(t.s, &fx.w, &nrows, err, sizeof(err)), 0);
	assert_int_equal(xwindow_corpus(&x, "biggo-cpu-30s.pb.gz", "cpu"), 0);
	assert_int_equal(
	    store_put_window(t.s, &x.w, &nrows, err, sizeof(err)), 0);
	/* the fixture again, its main.main stack now with 5 ms, as a new
	 * stack (another hash) stored after the corpus's */
	fx.o.profile_id = (char *)"7a2b0c1d-0000-4000-8000-0000000000f2";
	f.hash[1] = 0x77;
	f.values[3] = 5000000;
	assert_int_equal(
	    store_put_window(t.s, &fx.w, &nrows, err, sizeof(err)), 0);
	sel_init(&q, "shop", "cpu", "cpu", T0, T0 + 10);
	assert_int_equal(store_merge(t.s, &q, t.a, &m, err, sizeof(err)), 0);
	assert_int_equal(decoded_n_stacks(&m.d), 4);
	assert_int_equal(sum_col(&m.d, 0), 2 * 60000000 + 5000000);
	assert_int_equal(flame_root(&m, 0), 2 * 60000000 + 5000000);
	assert_int_equal(m.d.n_frame_function, 4);
	assert_int_equal(decoded_check(&m.d, err, sizeof(err)), 0);
	xwindow_free(&x);
	tdb_close(&t);
}

/* A store that has handed out billions of rowids over its life (stacks
 * and frames swept, new ones stored after): a query sums what it holds,
 * sized by what it answers, not by the highest id. */
static void
test_high_ids(void **state)
{
	struct xwindow x;
	struct fixture f;
	struct tdb t;
	struct store_sel q;
	struct store_merged m;
	char err[512];
	size_t i;

	(void)state;
	tdb_with_fixture(&t, &x, &f);
	/* Stack ids moved past 2^32, frame ids past 2^31; the stacks' text
	 * names each frame by its new id (2^31 + old id, written out). */
	assert_int_equal(sqlite3_exec(store_db(t.s),
	                     "UPDATE stacks SET id = id + 4294967296;"
	                     "UPDATE window_values SET stack_id ="
	                     " stack_id + 4294967296;"
	                     "UPDATE frames SET id = id + 2147483648;"
	                     "UPDATE stacks SET frames = (SELECT"
	                     " group_concat(CAST(j.value AS INTEGER)"
	                     " + 2147483648, ',') FROM json_each('[' ||"
	                     " stacks.frames || ']') j);",
	                     NULL, NULL, NULL),
	    SQLITE_OK);
	assert_true(tdb_count(t.s, "SELECT MIN(id) FROM stacks") > 4294967296);
	sel_init(&q, "shop", "cpu", "cpu", T0, T0 + 10);
	if (store_merge(t.s, &q, t.a, &m, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(decoded_check(&m.d, err, sizeof(err)), 0);
	assert_int_equal(decoded_n_stacks(&m.d), 3);
	assert_int_equal(sum_col(&m.d, 0), 60000000);
	assert_int_equal(flame_root(&m, 0), 60000000);
	assert_int_equal(m.d.n_frame_function, 4);
	for (i = 0; i < m.d.n_frame_function; i++) /* each found by its id */
		assert_true(strlen(m.d.strings[m.d.frame_function[i]]) > 0);
	tdb_close(&t);
}

static void
test_retention_age(void **state)
{
	struct xwindow x;
	struct fixture f;
	struct tdb t;
	char err[512];
	size_t deleted;

	(void)state;
	tdb_with_fixture(&t, &x, &f);
	store_close(t.s);
	/* reopened with a retention of 7 days, 8 days after the window */
	{
		struct store_limits lim = {7 * 86400, 0};

		assert_int_equal(
		    store_open(&t.s, t.path, &lim, err, sizeof(err)), 0);
	}
	assert_int_equal(
	    store_retain(t.s, T0 + 6 * 86400, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(
	    store_retain(t.s, T0 + 8 * 86400, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(tdb_count(t.s, "SELECT COUNT(*) FROM windows"), 0);
	assert_int_equal(
	    tdb_count(t.s, "SELECT COUNT(*) FROM window_values"), 0);
	assert_int_equal(tdb_count(t.s, "SELECT COUNT(*) FROM stacks"), 0);
	assert_int_equal(tdb_count(t.s, "SELECT COUNT(*) FROM frames"), 0);
	assert_int_equal(tdb_count(t.s, "SELECT COUNT(*) FROM strings"), 0);
	tdb_close(&t);
}

/* A retention longer than the clock has run, or than int64 nanoseconds
 * hold, deletes nothing: its cutoff once wrapped round into the future
 * and deleted every window as it was written. */
static void
test_retention_huge(void **state)
{
	static const int64_t days[] = {36500, 1000000, INT64_MAX / 86400};
	struct xwindow x;
	struct fixture f;
	struct tdb t;
	char err[512];
	size_t deleted;
	size_t i;

	(void)state;
	tdb_with_fixture(&t, &x, &f);
	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		struct store_limits lim = {days[i] * 86400, 0};

		store_close(t.s);
		assert_int_equal(
		    store_open(&t.s, t.path, &lim, err, sizeof(err)), 0);
		assert_int_equal(store_retain(t.s, T0 + 8 * 86400, &deleted,
		                     err, sizeof(err)),
		    0);
		assert_int_equal(deleted, 0);
		assert_int_equal(
		    tdb_count(t.s, "SELECT COUNT(*) FROM windows"), 1);
	}
	tdb_close(&t);
}

#define LIVE_BYTES                                                            \
	"SELECT (p.page_count - f.freelist_count) * z.page_size"              \
	" FROM pragma_page_count p, pragma_freelist_count f,"                 \
	" pragma_page_size z"

/* Past MaxSize the oldest windows go, the newest stays. */
static void
test_retention_size(void **state)
{
	struct xwindow x;
	struct tdb t;

	(void)state;
	tdb_open(&t, 0, 200 * 1024);
	assert_int_equal(xwindow_corpus(&x, "biggo-heap.pb.gz", "mem"), 0);
	put_minutes(&t, &x, 20, 1, 0);
	assert_true(tdb_count(t.s, "SELECT COUNT(*) FROM windows") < 20);
	assert_int_equal(tdb_count(t.s,
	                     "SELECT COUNT(*) FROM windows WHERE"
	                     " uuid LIKE '%000001000019'"),
	    1);
	assert_int_equal(tdb_count(t.s,
	                     "SELECT COUNT(*) FROM windows WHERE"
	                     " uuid LIKE '%000001000000'"),
	    0);
	assert_true(
	    tdb_count(t.s,
	        "SELECT (p.page_count - f.freelist_count) * z.page_size"
	        " FROM pragma_page_count p, pragma_freelist_count f,"
	        " pragma_page_size z") <= 200 * 1024);
	xwindow_free(&x);
	tdb_close(&t);
}

/* Metrics age out by the retention alone, windows or none. */
/* Windows small beside the cap: each time it is passed, windows go until
 * nine tenths of it are in use, so the writes after find room, and the
 * sweep of every value row comes once per tenth of the cap written, not
 * once per 16 windows. */
static void
test_retention_size_low_mark(void **state)
{
	char id[48];
	struct xwindow x;
	struct fixture f;
	struct tdb t;
	char err[512];
	size_t nrows;
	int64_t before;
	int trips = 0;
	int i;

	(void)state;
	tdb_open(&t, 0, 128 * 1024);
	xwindow_fixture(&x, &f);
	for (i = 0; i < 20000 && trips < 3; i++) {
		snprintf(id, sizeof(id), "7a2b0c1d-0000-4000-8000-%012d", i);
		x.o.profile_id = id;
		x.o.start_ns = (T0 + 60 * i) * S_NS;
		x.o.end_ns = x.o.start_ns + 60 * S_NS;
		before = tdb_count(t.s, "SELECT COUNT(*) FROM windows");
		if (store_put_window(t.s, &x.w, &nrows, err, sizeof(err)) < 0)
			fail_msg("%s", err);
		if (tdb_count(t.s, "SELECT COUNT(*) FROM windows") > before)
			continue;
		trips++;
		/* far more than 16 went, each time */
		assert_true(before + 1 -
		        tdb_count(t.s, "SELECT COUNT(*) FROM windows") >
		    16);
		assert_true(tdb_count(t.s, LIVE_BYTES) <= 128 * 1024 / 10 * 9);
	}
	assert_int_equal(trips, 3);
	tdb_close(&t);
}

static void
test_retention_metrics_age(void **state)
{
	struct store_limits lim = {7 * 86400, 0};
	struct tdb t;
	char err[512];
	size_t deleted;

	(void)state;
	tdb_open(&t, 0, 0);
	put_metrics(&t, "a:1", T0, 15);
	put_metrics(&t, "a:1", T0 + 3 * 86400, 15);
	store_close(t.s);
	assert_int_equal(store_open(&t.s, t.path, &lim, err, sizeof(err)), 0);
	assert_int_equal(
	    store_retain(t.s, T0 + 8 * 86400, &deleted, err, sizeof(err)), 0);
	assert_int_equal(tdb_count(t.s, "SELECT COUNT(*) FROM metrics"), 15);
	assert_int_equal(tdb_count(t.s, "SELECT MIN(start_ns) FROM metrics"),
	    (T0 + 3 * 86400) * S_NS);
	tdb_close(&t);
}

/* Past MaxSize with no retention, metrics go too: the oldest, with the
 * windows they are as old as, or by themselves when there is no window. */
static void
test_retention_metrics_size(void **state)
{
	char inst[32];
	struct xwindow x;
	struct tdb t;
	int i;

	(void)state;
	tdb_open(&t, 0, 200 * 1024);
	for (i = 0; i < 2000; i++) {
		snprintf(
		    inst, sizeof(inst), "10.0.%d.%d:6060", i / 250, i % 250);
		put_metrics(&t, inst, T0 + 60 * (i / 100), 15);
	}
	assert_true(
	    tdb_count(t.s,
	        "SELECT (p.page_count - f.freelist_count) * z.page_size"
	        " FROM pragma_page_count p, pragma_freelist_count f,"
	        " pragma_page_size z") <= 200 * 1024);
	assert_true(
	    tdb_count(t.s, "SELECT COUNT(*) FROM metrics") < 2000 * 15);
	assert_int_equal(tdb_count(t.s,
	                     "SELECT COUNT(*) FROM metrics WHERE instance ="
	                     " '10.0.7.249:6060'"),
	    15);
	tdb_close(&t);

	/* With windows: none of the metrics left is older than every
	 * window left. */
	tdb_open(&t, 0, 200 * 1024);
	assert_int_equal(xwindow_corpus(&x, "biggo-heap.pb.gz", "mem"), 0);
	put_minutes(&t, &x, 20, 2, 1);
	assert_true(tdb_count(t.s, "SELECT COUNT(*) FROM windows") < 20);
	assert_int_equal(tdb_count(t.s,
	                     "SELECT COUNT(*) FROM metrics WHERE end_ns <="
	                     " (SELECT MIN(start_ns) FROM windows)"),
	    0);
	assert_int_equal(tdb_count(t.s,
	                     "SELECT COUNT(*) FROM metrics WHERE start_ns ="
	                     " (SELECT MAX(start_ns) FROM windows)"),
	    15);
	xwindow_free(&x);
	tdb_close(&t);
}

static void
test_metrics(void **state)
{
	Profpipe__Metrics m = PROFPIPE__METRICS__INIT;
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	Profpipe__Metric v = PROFPIPE__METRIC__INIT;
	Profpipe__Metric *vp = &v;
	struct buf out;
	struct tdb t;
	char err[512];
	size_t nrows;

	(void)state;
	tdb_open(&t, 0, 0);
	o.service = (char *)"shop";
	o.instance = (char *)"127.0.0.1:6060";
	o.start_ns = T0 * S_NS;
	o.end_ns = (T0 + 60) * S_NS;
	v.name = (char *)"prof_go_cpu_cores";
	v.unit = (char *)"cores";
	v.value = 1.5;
	m.origin = &o;
	m.n_metrics = 1;
	m.metrics = &vp;
	assert_int_equal(
	    store_put_metrics(t.s, &m, &nrows, err, sizeof(err)), 0);
	assert_int_equal(nrows, 1);
	/* the same again replaces, not duplicates */
	assert_int_equal(
	    store_put_metrics(t.s, &m, &nrows, err, sizeof(err)), 0);
	buf_init(&out, 1 << 20);
	assert_int_equal(
	    store_metrics_json(t.s, "shop", NULL, "prof_go_cpu_cores",
	        T0 * S_NS, (T0 + 60) * S_NS, &out, err, sizeof(err)),
	    0);
	buf_putc(&out, '\0');
	assert_non_null(strstr((char *)out.data, "\"value\":1.5}"));
	assert_null(strstr((char *)out.data, "},{"));
	assert_true(fx_json_valid(out.data, out.len - 1));
	buf_clear(&out);
	assert_int_equal(
	    store_metrics_json(t.s, "shop", NULL, "prof_go_nope", T0 * S_NS,
	        (T0 + 60) * S_NS, &out, err, sizeof(err)),
	    STORE_ENOTFOUND);
	buf_release(&out);
	tdb_close(&t);
}

/* A second connection, read-only, sees what the writer committed while
 * the writer stays open; the series list is valid JSON. */
static void
test_reader(void **state)
{
	struct xwindow x;
	struct fixture f;
	struct tdb t;
	struct store *ro;
	struct store_sel q;
	struct store_merged m;
	struct buf out;
	char err[512];
	size_t nrows;

	(void)state;
	tdb_open(&t, 0, 0);
	assert_int_equal(store_open_ro(&ro, t.path, err, sizeof(err)), 0);
	xwindow_fixture(&x, &f);
	assert_int_equal(
	    store_put_window(t.s, &x.w, &nrows, err, sizeof(err)), 0);
	sel_init(&q, "shop", "cpu", "cpu", T0, T0 + 10);
	assert_int_equal(store_merge(ro, &q, t.a, &m, err, sizeof(err)), 0);
	assert_int_equal(m.total[0], 60000000);
	buf_init(&out, 1 << 20);
	assert_int_equal(store_series_json(ro, &out, err, sizeof(err)), 0);
	assert_true(fx_json_valid(out.data, out.len));
	buf_putc(&out, '\0');
	assert_non_null(strstr((char *)out.data,
	    "\"service\":\"shop\",\"instance\":\"\",\"kind\":\"cpu\""));
	assert_non_null(strstr(
	    (char *)out.data, "{\"type\":\"cpu\",\"unit\":\"nanoseconds\"}"));
	buf_clear(&out);
	assert_int_equal(store_totals_json(ro, &q, &out, err, sizeof(err)), 0);
	assert_true(fx_json_valid(out.data, out.len));
	buf_release(&out);
	/* a reader cannot write */
	assert_int_equal(
	    store_put_window(ro, &x.w, &nrows, err, sizeof(err)), -1);
	store_close(ro);
	tdb_close(&t);
}

static void
test_parse_config_values(void **state)
{
	static const char *const bad[] = {"", "d", "7 d", "7dd", "-1", "7D",
	    "1.5h", "99999999999999999999", "106751991167301d", NULL};
	int64_t v;
	size_t i;

	(void)state;
	assert_int_equal(store_parse_duration("7d", &v), 0);
	assert_int_equal(v, 7 * 86400);
	assert_int_equal(store_parse_duration("90", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(store_parse_duration("12h", &v), 0);
	assert_int_equal(v, 12 * 3600);
	assert_int_equal(store_parse_size("2GB", &v), 0);
	assert_int_equal(v, 2LL << 30);
	assert_int_equal(store_parse_size("100KB", &v), 0);
	assert_int_equal(v, 100 << 10);
	for (i = 0; bad[i] != NULL; i++) {
		if (store_parse_duration(bad[i], &v) == 0)
			fail_msg("duration \"%s\" accepted", bad[i]);
	}
	assert_int_equal(store_parse_size("2G", &v), -1);
	assert_int_equal(store_parse_size("GB", &v), -1);
	assert_int_equal(store_parse_size("1 MB", &v), -1);
	assert_int_equal(store_parse_size(NULL, &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_roundtrip),
	    cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_corpus_windows),
	    cmocka_unit_test(test_sparse_stacks),
	    cmocka_unit_test(test_high_ids),
	    cmocka_unit_test(test_retention_age),
	    cmocka_unit_test(test_retention_huge),
	    cmocka_unit_test(test_retention_size),
	    cmocka_unit_test(test_retention_size_low_mark),
	    cmocka_unit_test(test_retention_metrics_age),
	    cmocka_unit_test(test_retention_metrics_size),
	    cmocka_unit_test(test_metrics),
	    cmocka_unit_test(test_reader),
	    cmocka_unit_test(test_parse_config_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
