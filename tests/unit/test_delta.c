/*
 * delta: the alloc_* rules on Decoded profiles built here, packed and read
 * back through delta_unpack as the stage does: first profile absent,
 * exact per-stack deltas, restarts, is_delta and other kinds untouched,
 * out-of-order profiles, stack identity by labels, nothing changes until
 * commit, the stacks cap, and malformed input refused (a sample type named
 * twice among many too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aggregator/delta.h"
#include "aggregator/stacktab.h"
#include "common/arena.h"
#include "common/xalloc.h"
#include "delta_state_fx.h"
#include "test_delta_fixture.h"

#define MAXSTACKS 1000

/* Unpack p, apply it to f's series with the given cap, and commit the new
 * baseline if commit. The result lives in f->a until the next reset. */
static Profpipe__Decoded *
run_cap(
    struct fx *f, const struct fx_profile *p, int commit, size_t max_stacks)
{
	Profpipe__Decoded *in;
	Profpipe__Decoded *out;
	struct delta_state next;
	char err[256];
	uint8_t *buf;
	size_t len;

	buf = fx_pack(p, &len);
	assert_non_null(buf);
	if (delta_unpack(f->a, buf, len, &in, err, sizeof(err)) < 0)
		fail_msg("unpack: %s", err);
	free(buf);
	assert_int_equal(
	    delta_apply(&f->st, in, max_stacks, f->a, &out, &next, &f->rep),
	    0);
	if (commit)
		delta_commit(&f->st, &next);
	delta_state_release(&next);
	return out;
}

static Profpipe__Decoded *
run(struct fx *f, const struct fx_profile *p)
{
	return run_cap(f, p, 1, MAXSTACKS);
}

static const struct fx_stack first_stacks[] = {
    {.hash = 0x10, .v = {10, 1000, 2, 200}},
    {.hash = 0x20, .v = {5, 500, 0, 0}},
    {.hash = 0x30, .v = {7, 700, 1, 100}},
};
static const struct fx_profile first = {
    "id-1", NULL, "mem", 0, 1000, first_stacks, 3};

static void
test_first_profile_alloc_absent(void **state)
{
	struct fx *f = *state;
	Profpipe__Decoded *o = run(f, &first);

	assert_int_equal(f->rep.mode, DELTA_FIRST);
	assert_true(o->sample_types[FX_AO]->absent);
	assert_true(o->sample_types[FX_AS]->absent);
	assert_false(o->sample_types[FX_IO]->absent);
	assert_false(o->sample_types[FX_IS]->absent);
	/* inuse passes; alloc is 0; 0x20 has nothing left and is dropped */
	assert_int_equal(o->n_stack_hash, 2);
	assert_int_equal(o->n_values, 2 * FX_NTYPES);
	assert_int_equal(o->n_stack_offset, 3);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 0);
	assert_int_equal(fx_val(o, 0x10, FX_AS), 0);
	assert_int_equal(fx_val(o, 0x10, FX_IO), 2);
	assert_int_equal(fx_val(o, 0x10, FX_IS), 200);
	assert_int_equal(fx_val(o, 0x30, FX_IS), 100);
	assert_int_equal(fx_find(o, 0x20, NULL), -1);
	/* the kept stacks keep their frames */
	assert_int_equal(o->stack_frames[o->stack_offset[1]], 2);
	assert_string_equal(o->origin->profile_id, "id-1");
}

static void
test_second_profile_exact_deltas(void **state)
{
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {15, 1600, 3, 300}},
	    {.hash = 0x20, .v = {5, 500, 0, 0}}, /* unchanged */
	    {.hash = 0x30, .v = {9, 700, 0, 0}},
	    {.hash = 0x40, .v = {4, 40, 4, 40}}, /* new */
	};
	static const struct fx_profile p2 = {
	    "id-2", NULL, "mem", 0, 2000, s2, 4};
	struct fx *f = *state;
	Profpipe__Decoded *o;

	run(f, &first);
	o = run(f, &p2);
	assert_int_equal(f->rep.mode, DELTA_APPLIED);
	assert_false(o->sample_types[FX_AO]->absent);
	assert_false(o->sample_types[FX_AS]->absent);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 5);
	assert_int_equal(fx_val(o, 0x10, FX_AS), 600);
	assert_int_equal(fx_val(o, 0x10, FX_IS), 300);
	assert_int_equal(fx_val(o, 0x30, FX_AO), 2);
	assert_int_equal(fx_val(o, 0x30, FX_AS), 0);
	assert_int_equal(fx_val(o, 0x40, FX_AO), 4);
	assert_int_equal(fx_val(o, 0x40, FX_AS), 40);
	assert_int_equal(fx_find(o, 0x20, NULL), -1);
	assert_int_equal(o->n_stack_hash, 3);
	assert_int_equal(f->rep.stacks_in, 4);
	assert_int_equal(f->rep.stacks_out, 3);
}

static void
test_restart_takes_new_values(void **state)
{
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {3, 300, 3, 300}},
	    {.hash = 0x30, .v = {8, 800, 1, 100}}, /* above the old 7 */
	};
	static const struct fx_profile p2 = {
	    "id-2", NULL, "mem", 0, 2000, s2, 2};
	static const struct fx_stack s3[] = {
	    {.hash = 0x10, .v = {4, 400, 3, 300}},
	    {.hash = 0x30, .v = {8, 800, 1, 100}},
	};
	static const struct fx_profile p3 = {
	    "id-3", NULL, "mem", 0, 3000, s3, 2};
	struct fx *f = *state;
	Profpipe__Decoded *o;

	run(f, &first);
	o = run(f, &p2);
	assert_int_equal(f->rep.mode, DELTA_RESTART);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 3);
	assert_int_equal(fx_val(o, 0x10, FX_AS), 300);
	assert_int_equal(fx_val(o, 0x30, FX_AO), 8);
	assert_int_equal(fx_val(o, 0x30, FX_AS), 800);
	/* the restarted process is the baseline now */
	o = run(f, &p3);
	assert_int_equal(f->rep.mode, DELTA_APPLIED);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 1);
	assert_int_equal(fx_val(o, 0x10, FX_AS), 100);
	assert_int_equal(fx_val(o, 0x30, FX_AO), 0);
}

static void
test_stack_going_down_never_negative(void **state)
{
	/* totals grow, yet 0x10 went down: its new value, not -5 */
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {5, 1000, 0, 0}},
	    {.hash = 0x20, .v = {50, 5000, 0, 0}},
	    {.hash = 0x30, .v = {7, 700, 0, 0}},
	};
	static const struct fx_profile p2 = {
	    "id-2", NULL, "mem", 0, 2000, s2, 3};
	struct fx *f = *state;
	Profpipe__Decoded *o;
	size_t i;

	run(f, &first);
	o = run(f, &p2);
	assert_int_equal(f->rep.mode, DELTA_APPLIED);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 5);
	assert_int_equal(fx_val(o, 0x10, FX_AS), 0);
	assert_int_equal(fx_val(o, 0x20, FX_AO), 45);
	for (i = 0; i < o->n_values; i++)
		assert_true(o->values[i] >= 0);
}

static void
test_is_delta_and_other_kinds_untouched(void **state)
{
	static const struct fx_profile pd = {
	    "id-d", NULL, "mem", 1, 2000, first_stacks, 3};
	static const struct fx_profile cpu = {
	    "id-c", NULL, "cpu", 0, 2000, first_stacks, 3};
	struct fx *f = *state;
	Profpipe__Decoded *o;
	size_t i;

	o = run(f, &pd);
	assert_int_equal(f->rep.mode, DELTA_PASS);
	assert_null(f->st.stacks);
	assert_int_equal(o->n_stack_hash, 3);
	for (i = 0; i < 3 * FX_NTYPES; i++)
		assert_int_equal(o->values[i], first_stacks[i / 4].v[i % 4]);
	assert_false(o->sample_types[FX_AO]->absent);
	o = run(f, &cpu);
	assert_int_equal(f->rep.mode, DELTA_PASS);
	assert_int_equal(fx_val(o, 0x20, FX_AS), 500);
	/* and a delta'd mem profile after a baseline stays untouched too */
	run(f, &first);
	o = run(f, &pd);
	assert_int_equal(f->rep.mode, DELTA_PASS);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 10);
}

static void
test_allocs_kind_is_cumulative(void **state)
{
	static const struct fx_profile a1 = {
	    "id-a1", NULL, "allocs", 0, 1000, first_stacks, 3};
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {11, 1100, 0, 0}},
	};
	static const struct fx_profile a2 = {
	    "id-a2", NULL, "allocs", 0, 2000, s2, 1};
	struct fx *f = *state;
	Profpipe__Decoded *o;

	o = run(f, &a1);
	assert_int_equal(f->rep.mode, DELTA_FIRST);
	assert_true(o->sample_types[FX_AS]->absent);
	/* lower total: the other stacks are gone, so this reads a restart */
	o = run(f, &a2);
	assert_int_equal(f->rep.mode, DELTA_RESTART);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 11);
}

static void
test_out_of_order_absent_and_state_kept(void **state)
{
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {20, 2000, 0, 0}},
	};
	static const struct fx_profile late = {
	    "id-late", NULL, "mem", 0, 500, s2, 1};
	static const struct fx_profile p3 = {
	    "id-3", NULL, "mem", 0, 3000, first_stacks, 3};
	static const struct fx_stack s4[] = {
	    {.hash = 0x10, .v = {12, 1200, 0, 0}},
	    {.hash = 0x20, .v = {5, 500, 0, 0}},
	    {.hash = 0x30, .v = {7, 700, 0, 0}},
	};
	static const struct fx_profile p4 = {
	    "id-4", NULL, "mem", 0, 4000, s4, 3};
	struct fx *f = *state;
	Profpipe__Decoded *o;

	run(f, &first);
	o = run(f, &late);
	assert_int_equal(f->rep.mode, DELTA_OUT_OF_ORDER);
	assert_true(o->sample_types[FX_AO]->absent);
	assert_true(o->sample_types[FX_AS]->absent);
	assert_int_equal(o->n_stack_hash, 0);
	assert_int_equal(f->st.start_ns, 1000);
	/* the baseline is still the first profile's */
	o = run(f, &p3);
	assert_int_equal(f->rep.mode, DELTA_APPLIED);
	assert_int_equal(o->n_stack_hash, 2); /* inuse of 0x10, 0x30 */
	assert_int_equal(fx_val(o, 0x10, FX_AO), 0);
	o = run(f, &p4);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 2);
	assert_int_equal(fx_val(o, 0x10, FX_AS), 200);
}

static void
test_labels_are_part_of_identity(void **state)
{
	static const struct fx_stack s1[] = {
	    {.hash = 0x10, .v = {10, 100, 0, 0}, .label = "a"},
	    {.hash = 0x10, .v = {20, 200, 0, 0}, .label = "b"},
	    {.hash = 0x10, .v = {30, 300, 0, 0}},
	    {.hash = 0x50, .v = {1, 1, 0, 0}, .label = "x", .label2 = "/y"},
	};
	static const struct fx_profile p1 = {
	    "id-1", NULL, "mem", 0, 1000, s1, 4};
	/* the same stacks in another order, and the labels of 0x50 the
	 * other way round */
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {31, 301, 0, 0}},
	    {.hash = 0x10, .v = {22, 202, 0, 0}, .label = "b"},
	    {.hash = 0x10, .v = {13, 103, 0, 0}, .label = "a"},
	    {.hash = 0x50,
	        .v = {1, 1, 0, 0},
	        .label = "x",
	        .label2 = "/y",
	        .swap = 1},
	};
	static const struct fx_profile p2 = {
	    "id-2", NULL, "mem", 0, 2000, s2, 4};
	struct fx *f = *state;
	Profpipe__Decoded *o;
	long i;

	run(f, &p1);
	assert_int_equal(stacktab_count(f->st.stacks), 4);
	o = run(f, &p2);
	assert_int_equal(f->rep.mode, DELTA_APPLIED);
	i = fx_find(o, 0x10, "a");
	assert_true(i >= 0);
	assert_int_equal(o->values[i * FX_NTYPES + FX_AO], 3);
	assert_int_equal(o->values[i * FX_NTYPES + FX_AS], 3);
	i = fx_find(o, 0x10, "b");
	assert_int_equal(o->values[i * FX_NTYPES + FX_AO], 2);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 1);
	/* 0x50 is known despite the order, unchanged, and dropped */
	assert_int_equal(fx_find(o, 0x50, "/y"), -1);
	assert_int_equal(o->n_stack_hash, 3);
}

static void
test_same_key_twice_adds_up(void **state)
{
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {8, 800, 0, 0}},
	    {.hash = 0x10, .v = {6, 600, 0, 0}},
	    {.hash = 0x20, .v = {5, 500, 0, 0}},
	    {.hash = 0x30, .v = {7, 700, 0, 0}},
	};
	static const struct fx_profile p2 = {
	    "id-2", NULL, "mem", 0, 2000, s2, 4};
	struct fx *f = *state;
	Profpipe__Decoded *o;

	run(f, &first);
	o = run(f, &p2);
	/* 8 + 6 - 10: the first carries the key's delta, the other 0 */
	assert_int_equal(o->n_stack_hash, 1);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 4);
	assert_int_equal(fx_val(o, 0x10, FX_AS), 400);
}

static void
test_nothing_changes_until_commit(void **state)
{
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {15, 1500, 0, 0}},
	    {.hash = 0x20, .v = {5, 500, 0, 0}},
	    {.hash = 0x30, .v = {7, 700, 0, 0}},
	};
	static const struct fx_profile p2 = {
	    "id-2", NULL, "mem", 0, 2000, s2, 3};
	struct fx *f = *state;
	Profpipe__Decoded *o;

	o = run_cap(f, &first, 0, MAXSTACKS);
	assert_null(f->st.stacks);
	o = run_cap(f, &first, 1, MAXSTACKS);
	assert_int_equal(f->rep.mode, DELTA_FIRST);
	/* computed twice without a commit: the same delta both times */
	o = run_cap(f, &p2, 0, MAXSTACKS);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 5);
	assert_int_equal(f->st.start_ns, 1000);
	o = run_cap(f, &p2, 1, MAXSTACKS);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 5);
	/* committed: the same profile again is no news */
	o = run_cap(f, &p2, 1, MAXSTACKS);
	assert_int_equal(f->rep.mode, DELTA_APPLIED);
	assert_int_equal(o->n_stack_hash, 0);
}

static void
test_stacks_cap(void **state)
{
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {11, 1100, 0, 0}},
	    {.hash = 0x20, .v = {6, 600, 0, 0}},
	    {.hash = 0x30, .v = {8, 800, 0, 0}},
	};
	static const struct fx_profile p2 = {
	    "id-2", NULL, "mem", 0, 2000, s2, 3};
	static const struct fx_stack s3[] = {
	    {.hash = 0x10, .v = {12, 1200, 0, 0}},
	    {.hash = 0x20, .v = {7, 700, 0, 0}},
	    {.hash = 0x30, .v = {9, 900, 0, 0}},
	    {.hash = 0x40, .v = {1, 100, 0, 0}},
	};
	static const struct fx_profile p3 = {
	    "id-3", NULL, "mem", 0, 3000, s3, 4};
	struct fx *f = *state;
	Profpipe__Decoded *o;

	run_cap(f, &first, 1, 2);
	assert_int_equal(f->rep.refused, 1);
	assert_int_equal(stacktab_count(f->st.stacks), 2);
	assert_true(f->st.overflowed);
	/* 0x30 had no room: no previous value, so 0 rather than 8 */
	o = run_cap(f, &p2, 1, 2);
	assert_int_equal(f->rep.untracked, 1);
	assert_int_equal(fx_val(o, 0x10, FX_AO), 1);
	assert_int_equal(fx_val(o, 0x20, FX_AO), 1);
	assert_int_equal(fx_find(o, 0x30, NULL), -1);
	/* the tracked two stay the tracked two */
	o = run_cap(f, &p3, 1, 2);
	assert_int_equal(f->rep.refused, 2);
	assert_int_equal(fx_val(o, 0x10, FX_AS), 100);
	assert_int_equal(fx_val(o, 0x20, FX_AS), 100);
	assert_int_equal(fx_find(o, 0x40, NULL), -1);
	assert_int_equal(stacktab_count(f->st.stacks), 2);
}

/* Every allocation delta_apply makes may fail: it then says so, holds
 * nothing, and the baseline is as it was. */
static void
test_out_of_memory_leaves_baseline(void **state)
{
	static const struct fx_stack s2[] = {
	    {.hash = 0x10, .v = {15, 1500, 0, 0}},
	    {.hash = 0x20, .v = {5, 500, 0, 0}},
	    {.hash = 0x30, .v = {7, 700, 0, 0}},
	};
	static const struct fx_profile p2 = {
	    "id-2", NULL, "mem", 0, 2000, s2, 3};
	struct fx *f = *state;
	struct delta_state next;
	Profpipe__Decoded *in;
	Profpipe__Decoded *out;
	struct arena *a;
	uint8_t *buf;
	size_t len;
	char err[256];
	long n;
	int rv;

	run(f, &first);
	buf = fx_pack(&p2, &len);
	for (n = 0;; n++) {
		a = arena_new(0);
		assert_int_equal(
		    delta_unpack(a, buf, len, &in, err, sizeof(err)), 0);
		xalloc_fail_after(n);
		rv = delta_apply(
		    &f->st, in, MAXSTACKS, a, &out, &next, &f->rep);
		xalloc_fail_after(-1);
		if (rv == 0)
			break;
		assert_int_equal(rv, -1);
		assert_null(next.stacks);
		assert_int_equal(f->st.start_ns, 1000);
		arena_free(a);
	}
	assert_true(n > 0);
	assert_int_equal(fx_val(out, 0x10, FX_AO), 5);
	delta_state_release(&next);
	arena_free(a);
	free(buf);
}

static void
expect_refused(struct fx *f, const uint8_t *buf, size_t len, const char *want)
{
	Profpipe__Decoded *d;
	char err[256] = "";

	assert_int_equal(
	    delta_unpack(f->a, buf, len, &d, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

/* Repack a valid profile after edit() broke it. */
static void
expect_broken(
    struct fx *f, void (*edit)(Profpipe__Decoded *), const char *want)
{
	Profpipe__Decoded *d;
	uint8_t *buf;
	uint8_t *bad;
	size_t len;
	char err[256];

	buf = fx_pack(&first, &len);
	assert_int_equal(
	    delta_unpack(f->a, buf, len, &d, err, sizeof(err)), 0);
	edit(d);
	bad = malloc(profpipe__decoded__get_packed_size(d));
	len = profpipe__decoded__pack(d, bad);
	expect_refused(f, bad, len, want);
	free(bad);
	free(buf);
}

static void
break_label_set(Profpipe__Decoded *d)
{
	d->stack_labels[1] = 99;
}

static void
break_values(Profpipe__Decoded *d)
{
	d->n_values--;
}

static void
break_frame(Profpipe__Decoded *d)
{
	d->stack_frames[0] = 1000;
}

static void
break_type(Profpipe__Decoded *d)
{
	d->sample_types[2]->type = 1; /* a second alloc_objects */
}

static void
break_id(Profpipe__Decoded *d)
{
	d->origin->profile_id = "";
}

static void
break_offsets(Profpipe__Decoded *d)
{
	d->stack_offset[1] = 3;
}

static void
test_malformed_refused(void **state)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
	struct fx *f = *state;

	expect_refused(f, junk, sizeof(junk), "not a readable Decoded");
	expect_broken(f, break_label_set, "label set 99 out of range");
	expect_broken(f, break_values, "values for 3 stacks");
	expect_broken(f, break_frame, "frame 1000 out of range");
	expect_broken(f, break_type, "appears twice");
	expect_broken(f, break_id, "profile_id");
	expect_broken(f, break_offsets, "offsets go backwards");
}

/* first's profile with n sample types named t0, t1, ... (the last named
 * as the first when dup), packed. */
static uint8_t *
many_types(struct fx *f, size_t n, int dup, size_t *len)
{
	Profpipe__ValueType **vt = calloc(n, sizeof(*vt));
	Profpipe__ValueType *v = calloc(n, sizeof(*v));
	Profpipe__Decoded *d;
	char **strs;
	char *names;
	uint8_t *buf;
	char err[256];
	size_t k;

	buf = fx_pack(&first, len);
	assert_int_equal(
	    delta_unpack(f->a, buf, *len, &d, err, sizeof(err)), 0);
	free(buf);
	strs = arena_alloc(f->a, (d->n_strings + n) * sizeof(*strs));
	names = arena_alloc(f->a, n * 16);
	assert_true(vt != NULL && v != NULL && strs != NULL && names != NULL);
	memcpy(strs, d->strings, d->n_strings * sizeof(*strs));
	for (k = 0; k < n; k++) {
		snprintf(
		    names + k * 16, 16, "t%zu", dup && k == n - 1 ? 0 : k);
		strs[d->n_strings + k] = names + k * 16;
		profpipe__value_type__init(&v[k]);
		v[k].type = (int32_t)(d->n_strings + k);
		v[k].unit = 0;
		vt[k] = &v[k];
	}
	d->strings = strs;
	d->n_strings += n;
	d->sample_types = vt;
	d->n_sample_types = n;
	d->default_sample_type = 0;
	d->n_values = d->n_stack_offset > 0 ? (d->n_stack_offset - 1) * n : 0;
	d->values = arena_calloc(f->a, d->n_values + 1, sizeof(*d->values));
	buf = malloc(profpipe__decoded__get_packed_size(d));
	assert_non_null(buf);
	*len = profpipe__decoded__pack(d, buf);
	free(vt);
	free(v);
	return buf;
}

/* Many sample types (nothing caps them): distinct ones pass, and a name
 * given to the first and the last is found. */
static void
test_many_sample_types(void **state)
{
	struct fx *f = *state;
	Profpipe__Decoded *d;
	uint8_t *buf;
	char err[256];
	size_t len;

	buf = many_types(f, 20000, 0, &len);
	if (delta_unpack(f->a, buf, len, &d, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(d->n_sample_types, 20000);
	free(buf);
	buf = many_types(f, 20000, 1, &len);
	expect_refused(f, buf, len, "sample type \"t0\" appears twice");
	free(buf);
}

static void
test_stacktab(void **state)
{
	struct stacktab *t;
	int64_t *row;
	int created;
	uint64_t k;

	(void)state;
	assert_int_equal(stacktab_new(&t, 2, 100), 0);
	for (k = 0; k < 100; k++) {
		assert_int_equal(
		    stacktab_put(t, k * 0x100000000ULL, &row, &created), 0);
		assert_true(created);
		row[0] = (int64_t)k;
		row[1] = -(int64_t)k;
	}
	assert_int_equal(stacktab_put(t, 12345, &row, &created), -1);
	assert_int_equal(stacktab_put(t, 0, &row, &created), 0);
	assert_false(created);
	for (k = 0; k < 100; k++)
		assert_int_equal(
		    stacktab_get(t, k * 0x100000000ULL)[1], -(int64_t)k);
	assert_null(stacktab_get(t, 7));
	assert_int_equal(stacktab_count(t), 100);
	stacktab_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_first_profile_alloc_absent, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_second_profile_exact_deltas, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_restart_takes_new_values, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_stack_going_down_never_negative, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_is_delta_and_other_kinds_untouched, fx_setup,
	        fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_allocs_kind_is_cumulative, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_out_of_order_absent_and_state_kept, fx_setup,
	        fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_labels_are_part_of_identity, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_same_key_twice_adds_up, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_nothing_changes_until_commit, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_stacks_cap, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_out_of_memory_leaves_baseline, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_malformed_refused, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_many_sample_types, fx_setup, fx_teardown),
	    cmocka_unit_test(test_stacktab),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
