/*
 * test_pprof_layouts_random: test_pprof_layouts' comparison on 3000
 * profiles written at random from a fixed seed: fields in Go's order or
 * shuffled, repeated, unknown fields of every wire type, varints of every
 * length, tables in one run or interleaved. pprof_read and protobuf-c
 * accept each and agree, and the decoder reads the sample's values as
 * pprof_read does; cut inside its last field, both refuse it; cut
 * anywhere, what both accept they agree on, and only a reference
 * protobuf-c does not check may make pprof_read alone refuse it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/layout_writer.h"

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t
rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

/* A varint of a random length, 1 to 10 bytes. */
static uint64_t
rnd_value(void)
{
	int bits = (int)rnd(65);

	return bits == 0 ? 0 : rng >> (64 - bits);
}

/* An unknown field, of any wire type but groups. */
static void
rnd_unknown(struct w *w)
{
	uint32_t num = 20 + (uint32_t)rnd(3000); /* none pprof knows */

	switch (rnd(4)) {
	case 0:
		w_field(w, num, rnd_value());
		break;
	case 1:
		w_bytes(w, num, "abcdefgh", rnd(9));
		break;
	case 2:
		w_raw(w, num, PB_I32, 4);
		break;
	default:
		w_raw(w, num, PB_I64, 8);
		break;
	}
}

/* Field num = v, maybe after a decoy (the last one wins), maybe with an
 * unknown field next to it; or left out if v is 0 and the dice say so. */
static void
rnd_field(struct w *w, uint32_t num, uint64_t v)
{
	if (v == 0 && rnd(3) == 0)
		return;
	if (rnd(6) == 0)
		w_field(w, num, rnd_value());
	if (rnd(8) == 0)
		rnd_unknown(w);
	w_field(w, num, v);
}

/* Fields 1 .. n (values v[1 .. n]) in Go's order or shuffled. */
static void
rnd_fields(struct w *w, const uint64_t *v, uint32_t n)
{
	uint32_t order[8];
	uint32_t i;
	uint32_t j;
	uint32_t t;

	for (i = 0; i < n; i++)
		order[i] = i + 1;
	if (rnd(3) == 0) {
		for (i = n - 1; i > 0; i--) {
			j = (uint32_t)rnd(i + 1);
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
	}
	for (i = 0; i < n; i++)
		rnd_field(w, order[i], v[order[i]]);
}

/* A random profile over functions 1..nf and locations 1..nl (ids in
 * order, each table in one run or interleaved with the others). */
static void
rnd_profile(struct w *out)
{
	static const char *strs[] = {"", "samples", "count", "f", "f.go"};
	struct w fn[8];
	struct w loc[8];
	struct w ln;
	struct w m;
	uint64_t v[6];
	size_t nf = 1 + rnd(8);
	size_t nl = 1 + rnd(8);
	size_t i;
	size_t j;
	size_t k[3] = {0, 0, 0};
	size_t nlines;

	for (i = 0; i < nf; i++) {
		fn[i].n = 0;
		v[1] = i + 1;
		v[2] = rnd(5);
		v[3] = rnd(5);
		v[4] = rnd(5);
		v[5] = rnd_value();
		rnd_fields(&fn[i], v, 5);
	}
	for (i = 0; i < nl; i++) {
		loc[i].n = 0;
		v[1] = i + 1;
		v[2] = rnd(3);
		v[3] = rnd_value();
		rnd_fields(&loc[i], v, 3);
		nlines = rnd(4);
		for (j = 0; j < nlines; j++) {
			ln.n = 0;
			v[1] = 1 + rnd(nf);
			v[2] = rnd(4) == 0 ? rnd_value() : rnd(5000);
			rnd_fields(&ln, v, 2);
			w_msg(&loc[i], 4, &ln);
		}
		if (rnd(4) == 0)
			rnd_field(&loc[i], 5, rnd(2));
		if (rnd(8) == 0)
			rnd_unknown(&loc[i]);
	}
	out->n = 0;
	m.n = 0;
	w_field(&m, 1, 1);
	w_field(&m, 2, 2);
	w_msg(out, 1, &m);
	w_msg(out, 1, &m); /* two sample types */
	/* the sample: two values, nonzero (the decoder keeps the stack),
	 * of any length, packed, unpacked or both */
	m.n = 0;
	w_field(&m, 1, 1 + rnd(nl));
	v[0] = rnd_value() | 1;
	v[1] = rnd_value() | 1;
	switch (rnd(3)) {
	case 0:
		w_field(&m, 2, v[0]);
		w_field(&m, 2, v[1]);
		break;
	case 1:
		ln.n = 0;
		w_varint(&ln, v[0]);
		w_varint(&ln, v[1]);
		w_msg(&m, 2, &ln);
		break;
	default:
		ln.n = 0;
		w_varint(&ln, v[0]);
		w_msg(&m, 2, &ln);
		w_field(&m, 2, v[1]);
		break;
	}
	/* labels: key, str, num, num_unit in any order, with repeats */
	nlines = rnd(3);
	for (j = 0; j < nlines; j++) {
		ln.n = 0;
		v[1] = 1 + rnd(4);
		v[2] = rnd(5);
		v[3] = rnd(3) == 0 ? rnd_value() : rnd(300);
		v[4] = rnd(5);
		rnd_fields(&ln, v, 4);
		w_msg(&m, 3, &ln);
	}
	if (rnd(4) == 0)
		rnd_unknown(&m);
	w_msg(out, 2, &m);
	/* the three tables, one run each or interleaved at random */
	while (k[0] < nf || k[1] < nl || k[2] < 5) {
		j = rnd(3);
		if (j == 0 && k[0] < nf)
			w_msg(out, 5, &fn[k[0]++]);
		else if (j == 1 && k[1] < nl)
			w_msg(out, 4, &loc[k[1]++]);
		else if (j == 2 && k[2] < 5) {
			w_bytes(out, 6, strs[k[2]], strlen(strs[k[2]]));
			k[2]++;
		}
		if (rnd(10) == 0)
			rnd_unknown(out);
	}
}

/* Only a reference protobuf-c does not check may make pprof_read alone
 * refuse a profile: never the wire format. */
static void
refused_for_references(int rv, const char *err, const char *what, int i)
{
	if (rv == -2)
		fail_msg("%s %d: only pprof_read accepts it", what, i);
	if (rv == -1 &&
	    (strstr(err, "varint") != NULL ||
	        strstr(err, "past the end") != NULL ||
	        strstr(err, "wire type") != NULL ||
	        strstr(err, "field number") != NULL))
		fail_msg(
		    "%s %d: only protobuf-c accepts it (%s)", what, i, err);
}

/* The decoder's way (pprof_read_stack, values read 8 bytes at a time)
 * gives the values pprof_read gives, for a profile of one sample. */
static void
decoder_agrees(const struct w *p, int i)
{
	struct decode_limits lim;
	struct arena *a = arena_new(0);
	struct pprof_profile r;
	Profpipe__Decoded d;
	char err[512];
	uint8_t *copy = malloc(p->n + 1);

	assert_non_null(copy);
	decode_limits_default(&lim);
	memcpy(copy, p->b, p->n);
	assert_int_equal(
	    pprof_read(copy, p->n, &lim, a, &r, err, sizeof(err)), 0);
	memcpy(copy, p->b, p->n); /* the decoder writes NULs in place */
	if (decode_profile(copy, p->n, &lim, a, &d, err, sizeof(err)) != 0)
		fail_msg("profile %d: decoder: %s", i, err);
	assert_int_equal(d.n_stack_hash, 1);
	assert_int_equal(d.n_values, 2);
	if (d.values[0] != r.values[0] || d.values[1] != r.values[1])
		fail_msg("profile %d: values %lld %lld, want %lld %lld", i,
		    (long long)d.values[0], (long long)d.values[1],
		    (long long)r.values[0], (long long)r.values[1]);
	free(copy);
	arena_free(a);
}

static void
test_random(void **state)
{
	struct w p;
	char err[512];
	size_t cut;
	size_t len;
	int rv;
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		rnd_profile(&p);
		len = p.n;
		rv = both(p.b, p.n, err, sizeof(err));
		if (rv != 0)
			fail_msg("profile %d: %d (%s)", i, rv, err);
		decoder_agrees(&p, i);
		/* cut inside a last field of 10 bytes: both refuse it */
		w_raw(&p, 1000, PB_I64, 8);
		cut = 1 + rnd(9);
		rv = both(p.b, p.n - cut, err, sizeof(err));
		if (rv != 1)
			fail_msg(
			    "profile %d cut by %zu: %d (%s)", i, cut, rv, err);
		/* cut anywhere: what both accept, they agree on */
		rv = both(p.b, rnd(len), err, sizeof(err));
		refused_for_references(rv, err, "cut profile", i);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
