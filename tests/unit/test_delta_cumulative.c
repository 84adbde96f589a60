/*
 * delta for mutex and block profiles fetched without seconds= (cumulative
 * contentions and delay), on real corpus profiles: the first has no
 * delta, the next gives each stack's increase exactly (computed here from
 * the two inputs), a restart (values going down) never gives a negative
 * value, and a profile marked is_delta (seconds=, or pushed) passes as it
 * came.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "aggregator/delta.h"
#include "common/decoded.h"
#include "decode_util.h"

static Profpipe__Decoded *
load(struct arena *a, const char *name, const char *kind, int is_delta)
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
	o->instance = "i:1";
	o->is_delta = is_delta;
	d->origin = o;
	return d;
}

/* A copy of d whose values are v * mul + add, started at start_ns. */
static Profpipe__Decoded *
scaled(struct arena *a, const Profpipe__Decoded *d, int64_t mul, int64_t add,
    int64_t start_ns)
{
	Profpipe__Decoded *c = arena_alloc(a, sizeof(*c));
	Profpipe__Origin *o = arena_alloc(a, sizeof(*o));
	size_t i;

	*c = *d;
	*o = *d->origin;
	o->start_ns = start_ns;
	c->origin = o;
	c->values = arena_alloc(a, (d->n_values + 1) * sizeof(int64_t));
	for (i = 0; i < d->n_values; i++)
		c->values[i] = d->values[i] * mul + add;
	return c;
}

static int
type_of(const Profpipe__Decoded *d, const char *name)
{
	size_t t;

	for (t = 0; t < d->n_sample_types; t++) {
		if (strcmp(d->strings[d->sample_types[t]->type], name) == 0)
			return (int)t;
	}
	return -1;
}

static void
cumulative(const char *file, const char *kind)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded *d = load(a, file, kind, 0);
	struct delta_state st = {0};
	struct delta_state next;
	struct delta_report rep;
	Profpipe__Decoded *out;
	Profpipe__Decoded *p2;
	Profpipe__Decoded *p3;
	size_t nty = d->n_sample_types;
	size_t i;
	size_t t;
	int64_t want;

	assert_true(type_of(d, "contentions") >= 0);
	assert_true(type_of(d, "delay") >= 0);
	/* First: no delta, both types absent. */
	assert_int_equal(delta_apply(&st, scaled(a, d, 1, 0, 10), 1000, a,
	                     &out, &next, &rep),
	    0);
	assert_int_equal(rep.mode, DELTA_FIRST);
	for (t = 0; t < nty; t++)
		assert_true(out->sample_types[t]->absent);
	delta_commit(&st, &next);
	/* Second: values doubled plus 7: each stack's delta is v + 7. */
	p2 = scaled(a, d, 2, 7, 20);
	assert_int_equal(delta_apply(&st, p2, 1000, a, &out, &next, &rep), 0);
	assert_int_equal(rep.mode, DELTA_APPLIED);
	assert_int_equal(decoded_n_stacks(out), decoded_n_stacks(d));
	for (i = 0; i < decoded_n_stacks(d); i++) {
		assert_int_equal(out->stack_hash[i], d->stack_hash[i]);
		for (t = 0; t < nty; t++) {
			want =
			    p2->values[i * nty + t] - d->values[i * nty + t];
			assert_int_equal(out->values[i * nty + t], want);
		}
	}
	delta_commit(&st, &next);
	/* Restart: the process began again, counters are small. */
	p3 = scaled(a, d, 1, 0, 30);
	assert_int_equal(delta_apply(&st, p3, 1000, a, &out, &next, &rep), 0);
	assert_int_equal(rep.mode, DELTA_RESTART);
	for (i = 0; i < out->n_values; i++)
		assert_true(out->values[i] >= 0);
	for (i = 0; i < decoded_n_stacks(out); i++) {
		for (t = 0; t < nty; t++)
			assert_int_equal(
			    out->values[i * nty + t], p3->values[i * nty + t]);
	}
	delta_commit(&st, &next);
	delta_state_release(&st);
	arena_free(a);
}

static void
test_mutex_without_seconds(void **state)
{
	(void)state;
	cumulative("goapp-mutex.pb.gz", "mutex");
}

static void
test_block_without_seconds(void **state)
{
	(void)state;
	cumulative("goapp-block.pb.gz", "block");
}

static void
test_is_delta_passes(void **state)
{
	struct arena *a = arena_new(0);
	struct delta_state st = {0};
	struct delta_state next;
	struct delta_report rep;
	Profpipe__Decoded *out;
	const char *files[] = {"goapp-mutex_delta.pb.gz", "goapp-heap.pb.gz",
	    "biggo-block-delta-10s.pb.gz"};
	const char *kinds[] = {"mutex", "mem", "block"};
	size_t k;
	int round;

	(void)state;
	for (k = 0; k < 3; k++) {
		Profpipe__Decoded *d = load(a, files[k], kinds[k], 1);
		for (round = 0; round < 2; round++) {
			assert_int_equal(
			    delta_apply(&st, d, 1000, a, &out, &next, &rep),
			    0);
			assert_int_equal(rep.mode, DELTA_PASS);
			assert_ptr_equal(out, d);
			delta_commit(&st, &next);
		}
	}
	delta_state_release(&st);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mutex_without_seconds),
	    cmocka_unit_test(test_block_without_seconds),
	    cmocka_unit_test(test_is_delta_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
