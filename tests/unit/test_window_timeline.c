/*
 * timeline: windows and metrics in the series table, fed real profiles
 * (decoded from the corpus) at chosen start times and closed at chosen
 * wall times, the sends captured: nothing closes before its end plus the
 * grace, then the window and after it the instance's metrics; merged
 * instances make one window listing both; a profile for a closed window
 * is late; one more open window than TIMELINE_MAX_OPEN is refused; a stop
 * sends the open ones ending at the stop; profiles that cover more than
 * the grace hold their windows open that much longer; a profile dated
 * over a window ahead is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "aggregator/timeline.h"
#include "decode_util.h"

#define SEC 1000000000LL
#define LEN (10 * SEC)
#define T0 (170000000 * LEN)

#define SENT 40

struct sent {
	char what[SENT][128];
	int64_t start[SENT], end[SENT];
	uint32_t n_profiles[SENT];
	size_t n_instances[SENT];
	char instance[SENT][64];
	int n;
};

static int
capture(void *arg, const char *what, const Profpipe__Result *res)
{
	struct sent *s = arg;
	const Profpipe__Origin *o =
	    res->window != NULL ? res->window->origin : res->metrics->origin;

	assert_true(s->n < SENT);
	snprintf(s->what[s->n], sizeof(s->what[0]), "%s", what);
	s->start[s->n] = o->start_ns;
	s->end[s->n] = o->end_ns;
	snprintf(s->instance[s->n], sizeof(s->instance[0]), "%s", o->instance);
	if (res->window != NULL) {
		s->n_profiles[s->n] = res->window->n_profiles;
		s->n_instances[s->n] = res->window->n_instances;
	}
	s->n++;
	return 0;
}

static Profpipe__Decoded *
load(struct arena *a, const char *name, const char *kind, const char *instance,
    int64_t start)
{
	Profpipe__Origin init = PROFPIPE__ORIGIN__INIT;
	struct decode_limits lim;
	Profpipe__Decoded *d = arena_calloc(a, 1, sizeof(*d));
	Profpipe__Origin *o = arena_calloc(a, 1, sizeof(*o));
	char path[256];
	char err[256];
	uint8_t *body;
	size_t len;

	snprintf(path, sizeof(path), CORPUS "/real/%s", name);
	body = du_slurp(path, &len);
	assert_non_null(body);
	decode_limits_default(&lim);
	assert_int_equal(
	    decode_profile(body, len, &lim, a, d, err, sizeof(err)), 0);
	free(body);
	*o = init;
	o->profile_id = "p";
	o->kind = (char *)kind;
	o->service = "svc";
	o->instance = (char *)instance;
	o->job = "job";
	o->start_ns = start;
	o->end_ns = start; /* here at once (spanning: later) */
	d->origin = o;
	return d;
}

struct rig {
	struct series_table *t;
	struct timeline_opts o;
	struct timeline_counts c;
	struct arena *a;
	struct arena *scratch;
	struct sent sent;
	int64_t wall; /* the wall clock feeds see */
};

static void
rig_init(struct rig *r, int merge)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(series_table_new(&r->t, 100, 0), 0);
	r->o.len_ns = LEN;
	r->o.grace_ns = 2 * SEC;
	r->o.max_stacks = 1000;
	r->o.merge = merge;
	r->a = arena_new(0);
	r->scratch = arena_new(0);
	r->wall = T0 + 100 * LEN;
}

static void
rig_free(struct rig *r)
{
	series_table_free(r->t);
	arena_free(r->a);
	arena_free(r->scratch);
}

static void
feed(struct rig *r, const Profpipe__Decoded *d)
{
	struct delta_report rep;
	struct series *s;
	int created;

	memset(&rep, 0, sizeof(rep));
	assert_int_equal(
	    series_get(r->t, d->origin->service, d->origin->instance,
	        d->origin->kind, 0, &s, &created),
	    0);
	timeline_feed(r->t, &r->o, d, &rep, s, 0, r->wall, r->scratch, &r->c);
	arena_reset(r->scratch);
}

/* How many windows and metric spans it closed. */
static size_t
close_at(struct rig *r, int64_t wall, int64_t partial)
{
	return timeline_close(
	    r->t, &r->o, wall, partial, r->scratch, capture, &r->sent, &r->c);
}

static void
test_close_after_grace_window_then_metrics(void **state)
{
	struct rig r;

	(void)state;
	rig_init(&r, 0);
	feed(&r,
	    load(r.a, "goapp-goroutine.pb.gz", "goroutines", "i:1",
	        T0 + 1 * SEC));
	feed(&r,
	    load(r.a, "goapp-goroutine.pb.gz", "goroutines", "i:1",
	        T0 + 9 * SEC));
	assert_int_equal(close_at(&r, T0 + LEN + 2 * SEC - 1, 0), 0);
	assert_int_equal(r.sent.n, 0);
	/* the count is what lets the stage hand the freed memory back */
	assert_int_equal(close_at(&r, T0 + LEN + 2 * SEC, 0), 2);
	assert_int_equal(r.sent.n, 2);
	assert_non_null(strstr(r.sent.what[0], "window"));
	assert_int_equal(r.sent.n_profiles[0], 2);
	assert_int_equal(r.sent.start[0], T0);
	assert_int_equal(r.sent.end[0], T0 + LEN);
	assert_string_equal(r.sent.instance[0], "i:1");
	assert_non_null(strstr(r.sent.what[1], "metrics"));
	assert_int_equal(r.sent.start[1], T0);
	assert_int_equal(r.c.windows_sent, 1);
	assert_int_equal(r.c.metrics_sent, 1);
	/* Late: its window was sent. */
	feed(&r,
	    load(r.a, "goapp-goroutine.pb.gz", "goroutines", "i:1",
	        T0 + 5 * SEC));
	assert_int_equal(r.c.late, 2); /* the window and the metrics */
	assert_int_equal(close_at(&r, T0 + 10 * LEN, 0), 0);
	assert_int_equal(r.sent.n, 2);
	rig_free(&r);
}

static void
test_merged_instances(void **state)
{
	struct rig r;

	(void)state;
	rig_init(&r, 1);
	feed(&r, load(r.a, "goapp-cpu.pb.gz", "cpu", "b:1", T0 + 1 * SEC));
	feed(&r, load(r.a, "goapp-cpu.pb.gz", "cpu", "a:1", T0 + 2 * SEC));
	close_at(&r, T0 + LEN + 2 * SEC, 0);
	/* One window for both, then each instance's metrics. */
	assert_int_equal(r.sent.n, 3);
	assert_string_equal(r.sent.instance[0], "");
	assert_int_equal(r.sent.n_profiles[0], 2);
	assert_int_equal(r.sent.n_instances[0], 2);
	assert_non_null(strstr(r.sent.what[1], "metrics"));
	assert_non_null(strstr(r.sent.what[2], "metrics"));
	rig_free(&r);
}

static void
test_open_cap_and_partial_stop(void **state)
{
	struct rig r;
	int i;

	(void)state;
	rig_init(&r, 0);
	for (i = 0; i < TIMELINE_MAX_OPEN + 1; i++)
		feed(&r,
		    load(r.a, "goapp-mutex.pb.gz", "mutex", "i:1",
		        T0 + i * LEN + SEC));
	assert_int_equal(r.c.refused, 2); /* its window and its metrics */
	/* A stop 3 s into the first window: everything goes, partial. */
	close_at(&r, T0 + 3 * SEC, T0 + 3 * SEC);
	assert_int_equal(r.c.windows_sent, TIMELINE_MAX_OPEN);
	assert_int_equal(r.sent.start[0], T0);
	assert_int_equal(r.sent.end[0], T0 + 3 * SEC);
	/* Later windows than the stop keep their bounds. */
	assert_int_equal(r.sent.end[1], T0 + 2 * LEN);
	rig_free(&r);
}

/* A profile covering [start, end]: what a push brings at its end. */
static Profpipe__Decoded *
spanning(struct rig *r, const char *instance, int64_t start, int64_t end)
{
	Profpipe__Decoded *d =
	    load(r->a, "goapp-cpu.pb.gz", "cpu", instance, start);

	d->origin->end_ns = end;
	return d;
}

/* Profiles that each cover more than the grace (8 s against 2) arrive at
 * their end: the window and the metrics wait that much longer, so the
 * second instance's profile, a second later, is in the window. */
static void
test_span_holds_windows_open(void **state)
{
	struct rig r;

	(void)state;
	rig_init(&r, 1);
	feed(&r, spanning(&r, "a:1", T0 + 5 * SEC, T0 + 13 * SEC));
	assert_int_equal(close_at(&r, T0 + 14 * SEC, 0), 0);
	feed(&r, spanning(&r, "b:1", T0 + 6 * SEC, T0 + 14 * SEC));
	assert_int_equal(close_at(&r, T0 + LEN + 10 * SEC - 1, 0), 0);
	assert_int_equal(r.c.late, 0);
	assert_int_equal(close_at(&r, T0 + LEN + 10 * SEC, 0), 3);
	assert_int_equal(r.sent.n_profiles[0], 2);
	assert_int_equal(r.sent.n_instances[0], 2);
	assert_non_null(strstr(r.sent.what[1], "metrics"));
	assert_non_null(strstr(r.sent.what[2], "metrics"));
	rig_free(&r);

	/* A span over a window waits one window; one under the grace, not
	 * at all. */
	rig_init(&r, 0);
	feed(&r, spanning(&r, "a:1", T0 + 5 * SEC, T0 + 3600 * SEC));
	assert_int_equal(close_at(&r, T0 + 2 * LEN + 2 * SEC - 1, 0), 0);
	assert_int_equal(close_at(&r, T0 + 2 * LEN + 2 * SEC, 0), 2);
	rig_free(&r);
	rig_init(&r, 0);
	feed(&r, spanning(&r, "a:1", T0 + 5 * SEC, T0 + 7 * SEC));
	assert_int_equal(close_at(&r, T0 + LEN + 2 * SEC, 0), 2);
	rig_free(&r);
}

/* A profile dated more than a window ahead of the wall clock opens
 * nothing, and is counted. */
static void
test_future_refused(void **state)
{
	struct rig r;

	(void)state;
	rig_init(&r, 0);
	r.wall = T0;
	feed(&r, load(r.a, "goapp-mutex.pb.gz", "mutex", "i:1", T0 + LEN + 1));
	assert_int_equal(r.c.future, 1);
	assert_int_equal(close_at(&r, T0, T0), 0);
	feed(&r, load(r.a, "goapp-mutex.pb.gz", "mutex", "i:1", T0 + LEN));
	assert_int_equal(r.c.future, 1);
	assert_int_equal(close_at(&r, T0, T0), 2);
	rig_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_close_after_grace_window_then_metrics),
	    cmocka_unit_test(test_merged_instances),
	    cmocka_unit_test(test_open_cap_and_partial_stop),
	    cmocka_unit_test(test_span_holds_windows_open),
	    cmocka_unit_test(test_future_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
