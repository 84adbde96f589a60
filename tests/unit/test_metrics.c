/*
 * metrics: each prof_go_* value from real profiles (decoded from the
 * corpus) and real heap?debug=1 texts, against a computation made here
 * from the same inputs by other means (window_oracle.h's text sums,
 * numbers edited into the MemStats text): cpu cores and GC overhead,
 * goroutines, heap allocs, growth and live heap, GCs, pauses and frees,
 * block and mutex delay; a metric without inputs is absent; pushed
 * runtime metrics win; restarts and lost pauses give no made-up value;
 * a NumGC at the top of uint64 is counted like any; the labels are the
 * latest profile's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aggregator/metrics.h"
#include "decode_util.h"
#include "decoder/memstats.h"
#include "window_oracle.h"

#define SEC 1000000000LL
#define WIN (60 * SEC)
#define T0 (1000 * WIN) /* a window's start */

static struct arena *A;

static Profpipe__Decoded *
load(const char *name, const char *kind, int64_t start)
{
	Profpipe__Origin init = PROFPIPE__ORIGIN__INIT;
	struct decode_limits lim;
	Profpipe__Decoded *d = arena_calloc(A, 1, sizeof(*d));
	Profpipe__Origin *o = arena_calloc(A, 1, sizeof(*o));
	char path[256];
	char err[256];
	uint8_t *body;
	size_t len;

	snprintf(path, sizeof(path), CORPUS "/real/%s", name);
	body = du_slurp(path, &len);
	assert_non_null(body);
	if (strcmp(kind, "memstats") == 0) {
		assert_int_equal(
		    memstats_decode(body, len, A, d, err, sizeof(err)), 0);
	} else {
		decode_limits_default(&lim);
		assert_int_equal(
		    decode_profile(body, len, &lim, A, d, err, sizeof(err)),
		    0);
	}
	free(body);
	*o = init;
	o->profile_id = "p";
	o->kind = (char *)kind;
	o->service = "svc";
	o->instance = "10.0.0.1:6060";
	o->job = "job";
	o->start_ns = start;
	o->end_ns = start + d->duration_ns;
	d->origin = o;
	return d;
}

/* Feed d with a pass-through report. */
static void
feed(struct metrics_state *m, const Profpipe__Decoded *d)
{
	struct delta_report rep;

	memset(&rep, 0, sizeof(rep));
	assert_int_equal(metrics_feed(m, d, &rep, WIN), 0);
}

/* The value of metric id in the window at T0; 0 with *present. */
static double
value(struct metrics_state *m, enum metrics_id id, int *present)
{
	Profpipe__Metrics *msg;
	struct metrics_acc *acc;
	size_t i;

	acc = metrics_due(m, T0 + WIN);
	assert_non_null(acc);
	assert_int_equal(acc->start_ns, T0);
	assert_int_equal(metrics_message(m, acc, A, &msg), 0);
	*present = 0;
	for (i = 0; msg != NULL && i < msg->n_metrics; i++) {
		if (strcmp(msg->metrics[i]->name, metrics_name(id)) == 0) {
			assert_string_equal(
			    msg->metrics[i]->unit, metrics_unit(id));
			assert_int_equal(msg->origin->start_ns, T0);
			assert_int_equal(msg->origin->end_ns, T0 + WIN);
			assert_string_equal(
			    msg->origin->instance, "10.0.0.1:6060");
			*present = 1;
			return msg->metrics[i]->value;
		}
	}
	return 0;
}

static double
must(struct metrics_state *m, enum metrics_id id)
{
	int present;
	double v = value(m, id, &present);

	if (!present)
		fail_msg("%s absent", metrics_name(id));
	return v;
}

static void
absent(struct metrics_state *m, enum metrics_id id)
{
	int present;

	value(m, id, &present);
	if (present)
		fail_msg("%s present without inputs", metrics_name(id));
}

static void
test_cpu(void **state)
{
	static const char *const gc[] = {METRICS_GC_FRAMES};
	struct metrics_state m = {0};
	Profpipe__Decoded *d = load("biggo-cpu-30s.pb.gz", "cpu", T0 + SEC);
	struct wo_set s = {0};
	int64_t gc_ns = 0;
	char pat[128];
	size_t i;
	size_t j;

	(void)state;
	feed(&m, d);
	wo_add(&s, d, 1);
	wo_sum(&s);
	for (i = 0; i < s.n; i++) {
		if (strncmp(s.e[i].key, "cpu/", 4) != 0)
			continue;
		/* A frame is "|name file:line;" first, ";name ..." after. */
		for (j = 0; j < sizeof(gc) / sizeof(gc[0]); j++) {
			snprintf(pat, sizeof(pat), "|%s ", gc[j]);
			if (strstr(s.e[i].key, pat) != NULL)
				break;
			pat[0] = ';';
			if (strstr(s.e[i].key, pat) != NULL)
				break;
		}
		if (j < sizeof(gc) / sizeof(gc[0]))
			gc_ns += s.e[i].val;
	}
	assert_true(gc_ns > 0); /* biggo collects garbage */
	assert_true(d->duration_ns > 0);
	assert_float_equal(must(&m, M_CPU_CORES),
	    (double)wo_total(&s, "cpu") / (double)d->duration_ns, 1e-9);
	assert_float_equal(
	    must(&m, M_CPU_GC), (double)gc_ns / (double)d->duration_ns, 1e-9);
	absent(&m, M_GOROUTINES);
	absent(&m, M_GCS_PS);
	absent(&m, M_ALLOC_BPS);
	absent(&m, M_BLOCKED);
	wo_free(&s);
	metrics_state_release(&m);
}

static void
test_goroutines_block_mutex(void **state)
{
	struct metrics_state m = {0};
	Profpipe__Decoded *g1 =
	    load("goapp-goroutine.pb.gz", "goroutines", T0 + SEC);
	Profpipe__Decoded *g2 =
	    load("biggo-goroutine.pb.gz", "goroutines", T0 + 11 * SEC);
	Profpipe__Decoded *b =
	    load("biggo-block-delta-10s.pb.gz", "block", T0 + 2 * SEC);
	Profpipe__Decoded *mu =
	    load("biggo-mutex-delta-10s.pb.gz", "mutex", T0 + 3 * SEC);
	struct wo_set s1 = {0}, s2 = {0}, sb = {0}, sm = {0};

	(void)state;
	feed(&m, g1);
	feed(&m, g2);
	feed(&m, b);
	feed(&m, b);
	feed(&m, mu);
	wo_add(&s1, g1, 1);
	wo_add(&s2, g2, 1);
	wo_add(&sb, b, 2);
	wo_add(&sm, mu, 1);
	assert_true(wo_total(&s1, "goroutine") > 0);
	assert_float_equal(must(&m, M_GOROUTINES),
	    (wo_total(&s1, "goroutine") + wo_total(&s2, "goroutine")) / 2.0,
	    1e-9);
	assert_float_equal(
	    must(&m, M_BLOCKED), (double)wo_total(&sb, "delay"), 0.5);
	assert_float_equal(
	    must(&m, M_MUTEX), (double)wo_total(&sm, "delay"), 0.5);
	absent(&m, M_CPU_CORES);
	wo_free(&s1);
	wo_free(&s2);
	wo_free(&sb);
	wo_free(&sm);
	metrics_state_release(&m);
}

/* Two heap profiles 10 s apart through the real delta. */
static void
test_heap(void **state)
{
	struct metrics_state m = {0};
	Profpipe__Decoded *p1 = load("biggo-heap.pb.gz", "mem", T0 - 5 * SEC);
	Profpipe__Decoded *p2 = load("biggo-heap.pb.gz", "mem", T0 + 5 * SEC);
	struct delta_state st = {0};
	struct delta_state next;
	struct delta_report rep;
	Profpipe__Decoded *out;
	struct wo_set s1 = {0}, s2 = {0};
	size_t i;
	size_t nty = p2->n_sample_types;

	(void)state;
	/* p2: alloc_* grew by 3x; inuse by 1000 per stack. */
	p2->values = arena_alloc(A, p2->n_values * sizeof(int64_t));
	memcpy(p2->values, p1->values, p1->n_values * sizeof(int64_t));
	for (i = 0; i < p2->n_values; i++) {
		const char *ty = p2->strings[p2->sample_types[i % nty]->type];
		if (strncmp(ty, "alloc_", 6) == 0)
			p2->values[i] *= 3;
		else
			p2->values[i] += 1000;
	}
	wo_add(&s1, p1, 1);
	wo_add(&s2, p2, 1);
	assert_int_equal(
	    delta_apply(&st, p1, 100000, A, &out, &next, &rep), 0);
	assert_int_equal(metrics_feed(&m, out, &rep, WIN), 0);
	delta_commit(&st, &next);
	assert_int_equal(
	    delta_apply(&st, p2, 100000, A, &out, &next, &rep), 0);
	assert_int_equal(rep.mode, DELTA_APPLIED);
	assert_int_equal(metrics_feed(&m, out, &rep, WIN), 0);
	delta_commit(&st, &next);
	/* p1 fell in the window before: close it first. */
	assert_non_null(metrics_due(&m, T0));
	metrics_drop(&m, metrics_due(&m, T0));
	assert_float_equal(must(&m, M_ALLOC_TOTAL),
	    (double)(wo_total(&s2, "alloc_space") -
	        wo_total(&s1, "alloc_space")),
	    0.5);
	assert_float_equal(must(&m, M_ALLOC_BPS),
	    (wo_total(&s2, "alloc_space") - wo_total(&s1, "alloc_space")) /
	        10.0,
	    1e-6);
	assert_float_equal(must(&m, M_ALLOCS_PS),
	    (wo_total(&s2, "alloc_objects") - wo_total(&s1, "alloc_objects")) /
	        10.0,
	    1e-6);
	assert_float_equal(must(&m, M_HEAP_GROWTH),
	    (wo_total(&s2, "inuse_space") - wo_total(&s1, "inuse_space")) /
	        10.0,
	    1e-6);
	assert_float_equal(
	    must(&m, M_HEAP_BYTES), (double)wo_total(&s2, "inuse_space"), 0.5);
	assert_float_equal(must(&m, M_HEAP_OBJECTS),
	    (double)wo_total(&s2, "inuse_objects"), 0.5);
	wo_free(&s1);
	wo_free(&s2);
	delta_state_release(&st);
	metrics_state_release(&m);
}

/* text with the first occurrence of old replaced by new (malloc'd). */
static char *
replace(const char *text, const char *old, const char *new)
{
	const char *p = strstr(text, old);
	size_t lt = strlen(text), lo = strlen(old), ln = strlen(new);
	char *out;

	assert_non_null(p);
	out = malloc(lt - lo + ln + 1);
	memcpy(out, text, (size_t)(p - text));
	memcpy(out + (p - text), new, ln);
	strcpy(out + (p - text) + ln, p + lo);
	return out;
}

/* The real debug=1 text, the same 10 s later with three more GCs (pauses
 * 1000, 2000, 3000 ns written into PauseNs where Go puts GCs 201..203,
 * the first three of the trailing zeros) and 5000 more frees. */
static char *
later_text(const char *text)
{
	char *a = replace(text, "# NumGC = 200\n", "# NumGC = 203\n");
	char *b = replace(a, "# Frees = 123404532\n", "# Frees = 123409532\n");
	char *c = replace(b, " 192653 0 0 0 ", " 192653 1000 2000 3000 ");

	assert_true(strstr(c, " 192653 1000") < strstr(c, "# PauseEnd"));
	free(a);
	free(b);
	return c;
}

static Profpipe__Decoded *
memstats_at(const char *text, int64_t start)
{
	Profpipe__Origin init = PROFPIPE__ORIGIN__INIT;
	Profpipe__Decoded *d = arena_calloc(A, 1, sizeof(*d));
	Profpipe__Origin *o = arena_calloc(A, 1, sizeof(*o));
	char err[256];

	assert_int_equal(memstats_decode((const uint8_t *)text, strlen(text),
	                     A, d, err, sizeof(err)),
	    0);
	*o = init;
	o->kind = "memstats";
	o->service = "svc";
	o->instance = "10.0.0.1:6060";
	o->start_ns = start;
	d->origin = o;
	return d;
}

/* text with its NumGC line saying n (malloc'd). */
static char *
with_num_gc(const char *text, const char *n)
{
	const char *p = strstr(text, "# NumGC = ");
	const char *e;
	char *out;

	assert_non_null(p);
	e = strchr(p, '\n');
	assert_non_null(e);
	out = malloc(strlen(text) + strlen(n) + 16);
	assert_non_null(out);
	sprintf(out, "%.*s# NumGC = %s%s", (int)(p - text), text, n, e);
	return out;
}

static void
test_memstats(void **state)
{
	struct metrics_state m = {0};
	Profpipe__Decoded *d2;
	char *text;
	char *text2;
	char *top[2];
	char *p;
	size_t len;

	(void)state;
	text = (char *)du_slurp(CORPUS "/real/goapp-heap-debug1.txt", &len);
	text[len] = '\0';
	text2 = later_text(text);
	feed(&m, memstats_at(text, T0 + SEC));
	d2 = memstats_at(text2, T0 + 11 * SEC);
	assert_int_equal(d2->memstats->num_gc - 200, 3);
	feed(&m, d2);
	assert_float_equal(must(&m, M_GCS_PS), 3 / 10.0, 1e-9);
	assert_float_equal(must(&m, M_FREES_PS), 5000 / 10.0, 1e-9);
	assert_float_equal(must(&m, M_GC_PAUSE), 6000, 1e-9);
	assert_float_equal(must(&m, M_GC_MAX_PAUSE), 3000, 1e-9);
	metrics_state_release(&m);

	/* A restart (counters down) gives no GC metric. */
	feed(&m, memstats_at(text2, T0 + SEC));
	feed(&m, memstats_at(text, T0 + 11 * SEC));
	absent(&m, M_GCS_PS);
	absent(&m, M_GC_PAUSE);
	metrics_state_release(&m);

	/* More GCs than Go keeps pauses for: no pause metrics. */
	p = strstr(text2, "# NumGC = 203\n");
	memcpy(p, "# NumGC = 999\n", 14); /* same length */
	feed(&m, memstats_at(text, T0 + SEC));
	feed(&m, memstats_at(text2, T0 + 11 * SEC));
	assert_float_equal(must(&m, M_GCS_PS), 799 / 10.0, 1e-9);
	absent(&m, M_GC_PAUSE);
	absent(&m, M_GC_MAX_PAUSE);
	metrics_state_release(&m);

	/* NumGC at the top of uint64 (what a hostile or broken target may
	 * say): one GC, then none, each fed and counted. */
	top[0] = with_num_gc(text, "18446744073709551614");
	top[1] = with_num_gc(text, "18446744073709551615");
	feed(&m, memstats_at(top[0], T0 + SEC));
	feed(&m, memstats_at(top[1], T0 + 11 * SEC));
	feed(&m, memstats_at(top[1], T0 + 21 * SEC));
	assert_float_equal(must(&m, M_GCS_PS), 1 / 20.0, 1e-9);
	metrics_state_release(&m);
	free(top[0]);
	free(top[1]);
	free(text);
	free(text2);
}

static void
test_pushed_wins(void **state)
{
	Profpipe__Metric init = PROFPIPE__METRIC__INIT;
	Profpipe__Origin oinit = PROFPIPE__ORIGIN__INIT;
	Profpipe__Decoded dinit = PROFPIPE__DECODED__INIT;
	struct metrics_state m = {0};
	Profpipe__Metric g = init, c = init, x = init;
	Profpipe__Metric *list[] = {&g, &c, &x};
	Profpipe__Decoded push = dinit;
	Profpipe__Origin o = oinit;

	(void)state;
	feed(&m, load("goapp-goroutine.pb.gz", "goroutines", T0 + SEC));
	g.name = "go_num_goroutine";
	g.value = 42;
	c.name = "prof_go_gcs_per_sec";
	c.value = 0.5;
	x.name = "go_not_a_metric";
	x.value = 1;
	o.kind = "metrics";
	o.service = "svc";
	o.instance = "10.0.0.1:6060";
	o.start_ns = T0 + 2 * SEC;
	push.origin = &o;
	push.runtime_metrics = list;
	push.n_runtime_metrics = 3;
	feed(&m, &push);
	assert_float_equal(must(&m, M_GOROUTINES), 42, 0);
	assert_float_equal(must(&m, M_GCS_PS), 0.5, 0);
	absent(&m, M_CPU_CORES);
	metrics_state_release(&m);
}

/* The version label of the metrics message at T0. */
static const char *
message_version(struct metrics_state *m)
{
	Profpipe__Metrics *msg;
	struct metrics_acc *acc = metrics_due(m, T0 + WIN);
	size_t i;

	assert_non_null(acc);
	assert_int_equal(metrics_message(m, acc, A, &msg), 0);
	assert_non_null(msg);
	for (i = 0; i < msg->origin->n_labels; i++) {
		if (strcmp(msg->origin->labels[i]->key, "version") == 0)
			return msg->origin->labels[i]->value;
	}
	return NULL;
}

/* A new version on the same instance: the metrics carry the latest
 * profile's labels, whatever order the older ones come in. */
static void
test_labels_follow_the_latest(void **state)
{
	Profpipe__Label l1 = PROFPIPE__LABEL__INIT;
	Profpipe__Label l2 = PROFPIPE__LABEL__INIT;
	Profpipe__Label *p1 = &l1;
	Profpipe__Label *p2 = &l2;
	struct metrics_state m = {0};
	Profpipe__Decoded *a =
	    load("goapp-goroutine.pb.gz", "goroutines", T0 + SEC);
	Profpipe__Decoded *b =
	    load("goapp-goroutine.pb.gz", "goroutines", T0 + 11 * SEC);
	Profpipe__Decoded *old =
	    load("goapp-goroutine.pb.gz", "goroutines", T0 + 5 * SEC);

	(void)state;
	l1.key = l2.key = "version";
	l1.value = "1.4.2";
	l2.value = "1.5.0";
	a->origin->labels = old->origin->labels = &p1;
	a->origin->n_labels = old->origin->n_labels = 1;
	b->origin->labels = &p2;
	b->origin->n_labels = 1;
	feed(&m, a);
	feed(&m, b);
	feed(&m, old);
	assert_string_equal(message_version(&m), "1.5.0");
	metrics_state_release(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpu),
	    cmocka_unit_test(test_goroutines_block_mutex),
	    cmocka_unit_test(test_heap),
	    cmocka_unit_test(test_memstats),
	    cmocka_unit_test(test_pushed_wins),
	    cmocka_unit_test(test_labels_follow_the_latest),
	};
	int rv;

	A = arena_new(0);
	rv = cmocka_run_group_tests(tests, NULL, NULL);
	arena_free(A);
	return rv;
}
