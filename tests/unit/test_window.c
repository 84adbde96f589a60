/*
 * window: merging real profiles (decoded from the corpus) into a window,
 * checked against window_oracle.h's independent sums by text: the same
 * profile N times gives N times each stack's value (a stack with no
 * frames too); two instances give their sum; the stack cap folds the
 * smallest stacks into "(other)" and keeps every total; the wire message
 * passes decoded_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "aggregator/window.h"
#include "common/decoded.h"
#include "common/xalloc.h"
#include "decode_util.h"
#include "window_oracle.h"

struct fixture {
	struct arena *a;
	Profpipe__Origin o;
};

/* Decode corpus file name into f's arena, with origin (instance). */
static Profpipe__Decoded *
load(struct fixture *f, const char *name, const char *instance)
{
	Profpipe__Origin init = PROFPIPE__ORIGIN__INIT;
	struct decode_limits lim;
	Profpipe__Decoded *d;
	Profpipe__Origin *o;
	char path[256];
	char err[256];
	uint8_t *body;
	size_t len;

	snprintf(path, sizeof(path), CORPUS "/real/%s", name);
	body = du_slurp(path, &len);
	assert_non_null(body);
	decode_limits_default(&lim);
	d = arena_calloc(f->a, 1, sizeof(*d));
	o = arena_calloc(f->a, 1, sizeof(*o));
	assert_int_equal(
	    decode_profile(body, len, &lim, f->a, d, err, sizeof(err)), 0);
	free(body);
	*o = init;
	o->profile_id = "00000000-0000-4000-8000-000000000000";
	o->kind = "cpu";
	o->service = "svc";
	o->instance = (char *)instance;
	o->job = "job";
	d->origin = o;
	return d;
}

static int
setup(void **state)
{
	static struct fixture f;

	f.a = arena_new(0);
	*state = &f;
	return f.a == NULL;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	arena_free(f->a);
	return 0;
}

static Profpipe__Decoded *
message(struct window *w, struct arena *a)
{
	Profpipe__Window *m;
	char err[256];

	assert_int_equal(window_message(w, a, &m), 0);
	assert_null(m->merged->origin); /* wire.proto: unset */
	m->merged->origin = m->origin;
	if (decoded_check(m->merged, err, sizeof(err)) < 0)
		fail_msg("window message: %s", err);
	m->merged->origin = NULL;
	assert_int_equal(m->n_profiles, w->n_profiles);
	assert_true(m->origin->is_delta);
	assert_int_equal(strlen(m->origin->profile_id), 36);
	return m->merged;
}

static void
assert_same(const struct wo_set *want, const struct wo_set *got)
{
	size_t i;

	for (i = 0; i < want->n && i < got->n; i++) {
		assert_string_equal(want->e[i].key, got->e[i].key);
		if (want->e[i].val != got->e[i].val)
			fail_msg("%s: want %lld, got %lld", want->e[i].key,
			    (long long)want->e[i].val,
			    (long long)got->e[i].val);
	}
	assert_int_equal(want->n, got->n);
}

static void
same_profile_n_times(struct fixture *f, const char *name, int n)
{
	struct wo_set want = {0};
	struct wo_set got = {0};
	Profpipe__Decoded *d = load(f, name, "10.0.0.1:6060");
	struct window *w;
	int i;

	assert_int_equal(window_new(&w, 0, 60, 100000, 0), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(window_add(w, d, f->a), 0);
	assert_int_equal(w->n_profiles, n);
	assert_int_equal(w->n_folded, 0);
	wo_add(&want, d, n);
	wo_sum(&want);
	wo_add(&got, message(w, f->a), 1);
	wo_sum(&got);
	assert_same(&want, &got);
	assert_int_equal(w->n_instances, 1);
	assert_string_equal(w->instances[0], "10.0.0.1:6060");
	wo_free(&want);
	wo_free(&got);
	window_free(w);
}

static void
test_same_profile_n_times(void **state)
{
	struct fixture *f = *state;

	same_profile_n_times(f, "goapp-cpu.pb.gz", 3);
	same_profile_n_times(f, "biggo-heap.pb.gz", 5);
	same_profile_n_times(f, "goapp-goroutine.pb.gz", 2);
	same_profile_n_times(f, "biggo-cpu-30s.pb.gz", 2);
	/* Its first stack has no frames, and comes first into the empty
	 * window (fuzz_aggregate found it copied from a NULL array). */
	same_profile_n_times(f, "goapp-threadcreate.pb.gz", 2);
}

static void
test_two_instances_sum(void **state)
{
	struct fixture *f = *state;
	Profpipe__Decoded *a = load(f, "goapp-heap.pb.gz", "10.0.0.2:6060");
	Profpipe__Decoded *b = load(f, "biggo-heap.pb.gz", "10.0.0.1:6060");
	struct wo_set want = {0};
	struct wo_set got = {0};
	Profpipe__Window *m;
	struct window *w;

	assert_int_equal(window_new(&w, 60, 120, 100000, 1), 0);
	assert_int_equal(window_add(w, a, f->a), 0);
	assert_int_equal(window_add(w, b, f->a), 0);
	assert_int_equal(window_add(w, a, f->a), 0);
	wo_add(&want, a, 2);
	wo_add(&want, b, 1);
	wo_sum(&want);
	wo_add(&got, message(w, f->a), 1);
	wo_sum(&got);
	assert_same(&want, &got);
	assert_int_equal(window_message(w, f->a, &m), 0);
	assert_string_equal(m->origin->instance, "");
	assert_int_equal(m->n_instances, 2);
	assert_string_equal(m->instances[0], "10.0.0.1:6060");
	assert_string_equal(m->instances[1], "10.0.0.2:6060");
	assert_int_equal(m->n_profiles, 3);
	assert_int_equal(m->origin->start_ns, 60);
	assert_int_equal(m->origin->end_ns, 120);
	wo_free(&want);
	wo_free(&got);
	window_free(w);
}

/* The largest `keep` stacks of one profile survive a cap exactly; the
 * others are in "(other)"; totals per type are those of the input. */
static void
test_cap_folds_smallest(void **state)
{
	struct fixture *f = *state;
	Profpipe__Decoded *d = load(f, "biggo-cpu-30s.pb.gz", "i");
	const size_t cap = 40;
	const size_t keep = cap * 3 / 4 - 1;
	struct wo_set want = {0};
	struct wo_set got = {0};
	const struct wo_entry *e;
	Profpipe__Decoded *out;
	struct window *w;
	int64_t *by_cpu;
	char *key;
	size_t nst = decoded_n_stacks(d);
	size_t nty = d->n_sample_types;
	size_t i;
	size_t t;
	size_t seen = 0;
	int other = 0;

	assert_true(nst > cap * 4);
	assert_int_equal(window_new(&w, 0, 60, cap, 0), 0);
	assert_int_equal(window_add(w, d, f->a), 0);
	assert_true(w->tab.n_st <= cap);
	assert_true(w->n_folded >= nst - cap);
	out = message(w, f->a);
	wo_add(&want, d, 1);
	wo_sum(&want);
	wo_add(&got, out, 1);
	wo_sum(&got);
	for (t = 0; t < nty; t++) {
		const char *ty = d->strings[d->sample_types[t]->type];
		assert_int_equal(wo_total(&want, ty), wo_total(&got, ty));
	}
	/* A stack with fewer than keep others at least as large (ties
	 * count against it) is in the top keep at every fold: it must be
	 * in the window with its own value. */
	by_cpu = malloc(nst * sizeof(*by_cpu));
	for (i = 0; i < nst; i++)
		by_cpu[i] = d->values[i * nty + nty - 1];
	for (i = 0; i < nst; i++) {
		size_t larger = 0;
		size_t j;
		for (j = 0; j < nst; j++)
			larger += j != i && by_cpu[j] >= by_cpu[i];
		if (larger >= keep)
			continue;
		key = wo_key(d, i, nty - 1);
		e = wo_find(&got, key);
		if (e == NULL)
			fail_msg("stack %zu (%lld, %zu larger) folded: %s", i,
			    (long long)by_cpu[i], larger, key);
		free(key);
		assert_int_equal(e->val, by_cpu[i]);
		seen++;
	}
	assert_true(seen > 0);
	for (i = 0; i < got.n; i++)
		other += strstr(got.e[i].key, "|(other) :0;") != NULL;
	assert_int_equal(other, (int)nty);
	free(by_cpu);
	wo_free(&want);
	wo_free(&got);
	window_free(w);
}

/* Every allocation failing in turn: each call fails cleanly or works,
 * and what was built is freed (ASan checks the leaks). The cap is small
 * so folds run too. */
static void
test_allocation_failures(void **state)
{
	struct fixture *f = *state;
	Profpipe__Decoded *d = load(f, "goapp-goroutine.pb.gz", "i");
	Profpipe__Window *m;
	struct window *w;
	long n;
	int ok = 0;

	for (n = 0; n < 20000 && !ok; n++) {
		xalloc_fail_after(n);
		if (window_new(&w, 0, 60, 4, 0) < 0)
			continue;
		ok = window_add(w, d, f->a) == 0 &&
		    window_add(w, d, f->a) == 0 &&
		    window_message(w, f->a, &m) == 0;
		xalloc_fail_after(-1);
		window_free(w);
	}
	xalloc_fail_after(-1);
	assert_true(ok);
}

static void
check_bounds(int64_t t, int64_t len, int64_t start, int64_t end)
{
	int64_t s = 0;
	int64_t e = 0;

	assert_int_equal(window_bounds(t, len, &s, &e), 0);
	assert_int_equal(s, start);
	assert_int_equal(e, end);
}

/* Windows are aligned to the epoch, and a time within one window of
 * int64's ends (a pushed profile's may be anywhere) has none rather than
 * bounds that overflow. */
static void
test_bounds(void **state)
{
	int64_t s;
	int64_t e;
	int64_t last = INT64_MAX / 60 * 60; /* the last window's start */

	(void)state;
	check_bounds(125, 60, 120, 180);
	check_bounds(120, 60, 120, 180);
	check_bounds(-1, 60, -60, 0);
	check_bounds(last - 1, 60, last - 60, last);
	assert_int_equal(window_bounds(last, 60, &s, &e), -1);
	assert_int_equal(window_bounds(INT64_MAX, 60, &s, &e), -1);
	check_bounds(INT64_MIN / 60 * 60, 60, INT64_MIN / 60 * 60,
	    INT64_MIN / 60 * 60 + 60);
	assert_int_equal(
	    window_bounds(INT64_MIN / 60 * 60 - 1, 60, &s, &e), -1);
	assert_int_equal(window_bounds(INT64_MIN, 60, &s, &e), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_profile_n_times),
	    cmocka_unit_test(test_two_instances_sum),
	    cmocka_unit_test(test_cap_folds_smallest),
	    cmocka_unit_test(test_allocation_failures),
	    cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
