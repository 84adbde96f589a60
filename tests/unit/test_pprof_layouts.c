/*
 * test_pprof_layouts: the reader's shortcuts for Go's layout against
 * protobuf-c, on layouts Go never writes. The reader takes a function's,
 * a location's, a line's and a label's fields in Go's order without
 * pb_next's switch, a run of one table's entries at the top level without
 * it too, and a sample's packed values 8 bytes at a time; anything else
 * must fall back to the generic loop and come out as protobuf-c reads it
 * (and the values as the decoder reads them): fields out of order,
 * repeated (the last wins), unknown fields of every wire type, long
 * varints, tables interleaved, and truncation (refused by both).
 * Profiles here are written byte by byte, by hand; the random ones are in
 * test_pprof_layouts_random.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/layout_writer.h"

/* A profile around the given function and location messages: sample
 * type samples/count, strings "", "samples", "count", "f", "f.go", and a
 * sample over location ids 1 and 2, with label lab if not NULL. */
static void
profile_with(struct w *out, const struct w *fn, size_t nfn,
    const struct w *loc, size_t nloc, const struct w *lab)
{
	static const char *strs[] = {"", "samples", "count", "f", "f.go"};
	struct w m;
	size_t i;

	out->n = 0;
	m.n = 0;
	w_field(&m, 1, 1);
	w_field(&m, 2, 2);
	w_msg(out, 1, &m);
	m.n = 0;
	w_field(&m, 1, 1); /* location ids 1, 2, unpacked */
	w_field(&m, 1, 2);
	w_field(&m, 2, 7);
	if (lab != NULL)
		w_msg(&m, 3, lab);
	w_msg(out, 2, &m);
	for (i = 0; i < nloc; i++)
		w_msg(out, 4, &loc[i]);
	for (i = 0; i < nfn; i++)
		w_msg(out, 5, &fn[i]);
	for (i = 0; i < 5; i++)
		w_bytes(out, 6, strs[i], strlen(strs[i]));
}

static void
profile(struct w *out, const struct w *fn, size_t nfn, const struct w *loc,
    size_t nloc)
{
	profile_with(out, fn, nfn, loc, nloc, NULL);
}

static void
expect(const struct w *fn, size_t nfn, const struct w *loc, size_t nloc,
    int want, const char *what)
{
	struct w p;
	char err[512] = "";
	int rv;

	profile(&p, fn, nfn, loc, nloc);
	rv = both(p.b, p.n, err, sizeof(err));
	if (rv != want)
		fail_msg("%s: %d, want %d (%s)", what, rv, want, err);
}

/* Function 1 in Go's layout, and location 2 inlining it twice. */
static void
go_tables(struct w *fn, struct w *loc)
{
	struct w ln;

	fn->n = 0;
	w_field(fn, 1, 1);
	w_field(fn, 2, 3);
	w_field(fn, 3, 3);
	w_field(fn, 4, 4);
	w_field(fn, 5, 300);
	loc[0].n = 0;
	w_field(&loc[0], 1, 1);
	w_field(&loc[0], 3, 0x4a5b3c);
	loc[1].n = 0;
	w_field(&loc[1], 1, 2);
	w_field(&loc[1], 2, 5); /* no such mapping: Go keeps it nil */
	w_field(&loc[1], 3, 0x4a5b3c12);
	ln.n = 0;
	w_field(&ln, 1, 1);
	w_field(&ln, 2, 17);
	w_msg(&loc[1], 4, &ln);
	ln.n = 0;
	w_field(&ln, 1, 1);
	w_field(&ln, 2, 1234567);
	w_msg(&loc[1], 4, &ln);
}

static void
test_go_layout(void **state)
{
	struct w fn;
	struct w loc[2];
	struct w ln = {{0x08, 0x01, 0x10, 0x05}, 4};
	int i;

	(void)state;
	go_tables(&fn, loc);
	expect(&fn, 1, loc, 2, 0, "Go's layout");
	/* the runtime's order: id, address, lines, then the mapping */
	loc[1].n = 0;
	w_field(&loc[1], 1, 2);
	w_field(&loc[1], 3, 0x4a5b3c12);
	w_msg(&loc[1], 4, &ln);
	w_msg(&loc[1], 4, &ln);
	w_field(&loc[1], 2, 300);
	expect(&fn, 1, loc, 2, 0, "the runtime's layout");
	/* a mapping in both places: the last wins */
	loc[1].n = 0;
	w_field(&loc[1], 1, 2);
	w_field(&loc[1], 2, 7);
	w_field(&loc[1], 3, 0x4a5b3c12);
	w_msg(&loc[1], 4, &ln);
	w_field(&loc[1], 2, 9);
	expect(&fn, 1, loc, 2, 0, "a mapping before and after the lines");
	/* a mapping cut short after the lines */
	loc[1].n--;
	loc[1].b[loc[1].n++] = 0x80;
	expect(&fn, 1, loc, 2, 1, "a last mapping cut short");
	go_tables(&fn, loc);
	/* a location of more lines than the reader's chunk of them (256),
	 * after one that used part of a chunk */
	for (i = 0; i < 300; i++)
		w_msg(&loc[1], 4, &ln);
	expect(&fn, 1, loc, 2, 0, "300 lines");
}

/* Each way off Go's layout, one at a time. */
static void
test_by_hand(void **state)
{
	struct w fn;
	struct w loc[2];
	struct w ln;
	const size_t m = 0;

	(void)state;
	/* function: fields backwards, the id twice (the last wins) */
	go_tables(&fn, loc);
	fn.n = 0;
	w_field(&fn, 5, 9);
	w_field(&fn, 4, 4);
	w_field(&fn, 3, 3);
	w_field(&fn, 2, 3);
	w_field(&fn, 1, 7);
	w_field(&fn, 1, 1);
	expect(&fn, 1, loc, 2, 0, "function backwards");
	/* function: an unknown field of each wire type in the middle */
	fn.n = 0;
	w_field(&fn, 1, 1);
	w_field(&fn, 2, 3);
	w_field(&fn, 9, 1ULL << 62);
	w_bytes(&fn, 10, "xy", 2);
	w_raw(&fn, 11, PB_I32, 4);
	w_raw(&fn, 12, PB_I64, 8);
	w_field(&fn, 4, 4);
	expect(&fn, 1, loc, 2, 0, "function with unknown fields");
	/* function: a string index out of range, only Go's reader cares */
	go_tables(&fn, loc);
	fn.b[5] = 5; /* filename: string 5 of 5 */
	expect(&fn, 1, loc, 2, -1, "function filename out of range");
	/* function: cut in its last varint */
	go_tables(&fn, loc);
	fn.n -= 1;
	expect(&fn, 1, loc, 2, 1, "function truncated");
	/* function: a tag in two bytes (not minimal) */
	go_tables(&fn, loc);
	fn.n = 0;
	w_field(&fn, 1, 1);
	fn.b[fn.n++] = 0x80 | 2 << 3; /* field 2, varint, in two bytes */
	fn.b[fn.n++] = 0;
	w_varint(&fn, 3);
	expect(&fn, 1, loc, 2, 0, "function: a two-byte tag");

	/* location: the line first, then address, id, mapping */
	go_tables(&fn, loc);
	loc[1].n = 0;
	ln.n = 0;
	w_field(&ln, 2, 5);
	w_field(&ln, 1, 1);
	w_msg(&loc[1], 4, &ln);
	w_field(&loc[1], 3, 1);
	w_field(&loc[1], 1, 2);
	w_field(&loc[1], 2, 3);
	expect(&fn, 1, loc, 2, 0, "location backwards");
	/* location: id and address twice, is_folded, unknown fields */
	loc[1].n = 0;
	w_field(&loc[1], 1, 9);
	w_field(&loc[1], 3, UINT64_MAX);
	w_field(&loc[1], 1, 2);
	w_field(&loc[1], 3, 0x123456789);
	w_field(&loc[1], 5, 1);
	w_bytes(&loc[1], 77, "", 0);
	w_msg(&loc[1], 4, &ln);
	w_field(&loc[1], 6, 2);
	expect(&fn, 1, loc, 2, 0, "location with repeats");
	/* line: function id twice, an unknown field, a negative line */
	loc[1].n = 0;
	w_field(&loc[1], 1, 2);
	ln.n = 0;
	w_field(&ln, 1, 3);
	w_field(&ln, 2, (uint64_t)-1);
	w_field(&ln, 3, 12); /* column, newer than this reader */
	w_field(&ln, 1, 1);
	w_msg(&loc[1], 4, &ln);
	ln.n = m;
	w_msg(&loc[1], 4, &ln); /* an empty line: function id 0 */
	expect(&fn, 1, loc, 2, -1, "a line without function");
	loc[1].n -= 2;
	expect(&fn, 1, loc, 2, 0, "a line with repeats");
	/* line: a function that is not there */
	go_tables(&fn, loc);
	loc[1].b[loc[1].n - 5] = 4; /* second line's function id */
	expect(&fn, 1, loc, 2, -1, "a line's function missing");
	/* location: a line cut short inside, then the location cut */
	go_tables(&fn, loc);
	loc[1].b[loc[1].n - 7]--; /* the second line's length */
	expect(&fn, 1, loc, 2, 1, "a line cut inside");
	go_tables(&fn, loc);
	loc[0].n--;
	expect(&fn, 1, loc, 2, 1, "location cut in its address");
	/* location: a line field of the wrong wire type */
	go_tables(&fn, loc);
	w_field(&loc[1], 4, 1);
	expect(&fn, 1, loc, 2, 1, "line as a varint");
	/* known fields of the wrong wire type, where Go's order has them */
	go_tables(&fn, loc);
	fn.n = 0;
	w_field(&fn, 1, 1);
	w_bytes(&fn, 2, "", 0);
	expect(&fn, 1, loc, 2, 1, "function name as bytes");
	go_tables(&fn, loc);
	loc[0].n = 0;
	w_field(&loc[0], 1, 1);
	w_raw(&loc[0], 3, PB_I64, 8);
	expect(&fn, 1, loc, 2, 1, "address as fixed64");
	go_tables(&fn, loc);
	loc[0].n = 0;
	w_field(&loc[0], 1, 1);
	ln.n = 0;
	w_raw(&ln, 1, PB_I32, 4);
	w_msg(&loc[0], 4, &ln);
	expect(&fn, 1, loc, 2, 1, "line function as fixed32");
}

static int
expect_label(const struct w *fn, const struct w *loc, const struct w *lab)
{
	struct w p;
	char err[512] = "";

	profile_with(&p, fn, 1, loc, 2, lab);
	return both(p.b, p.n, err, sizeof(err));
}

/* Labels: Go's order, backwards with a repeat, known fields of the wrong
 * wire type. */
static void
test_labels(void **state)
{
	struct w fn;
	struct w loc[2];
	struct w lab;

	(void)state;
	go_tables(&fn, loc);
	lab.n = 0;
	w_field(&lab, 1, 3);
	w_field(&lab, 3, 4096);
	w_field(&lab, 4, 2);
	assert_int_equal(expect_label(&fn, loc, &lab), 0);
	lab.n = 0;
	w_field(&lab, 4, 2);
	w_field(&lab, 3, 4096);
	w_field(&lab, 2, 4);
	w_field(&lab, 1, 3);
	w_field(&lab, 1, 4);
	assert_int_equal(expect_label(&fn, loc, &lab), 0);
	lab.n = 0;
	w_field(&lab, 1, 3);
	w_bytes(&lab, 3, "", 0);
	assert_int_equal(expect_label(&fn, loc, &lab), 1);
	lab.n = 0;
	w_field(&lab, 1, 3);
	w_raw(&lab, 2, PB_I32, 4);
	assert_int_equal(expect_label(&fn, loc, &lab), 1);
}

/* The reader's messages name the field Go's order stopped at. */
static void
test_messages(void **state)
{
	struct w fn;
	struct w loc[2];
	struct w p;
	struct decode_limits lim;
	struct arena *a = arena_new(0);
	struct pprof_profile r;
	struct w ln;
	struct w many[3];
	char err[512];
	size_t i;

	(void)state;
	decode_limits_default(&lim);
	go_tables(&fn, loc);
	loc[1].b[loc[1].n - 5] = 4;
	profile(&p, &fn, 1, loc, 2);
	assert_int_equal(
	    pprof_read(p.b, p.n, &lim, a, &r, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err,
	    "location 1 (id 2): line 1: function id "
	    "4 not found"));
	/* lines past max_depth, read in Go's order */
	go_tables(&fn, loc);
	lim.max_depth = 4; /* the sample's frames: 1 + the lines */
	ln.n = 0;
	w_field(&ln, 1, 1);
	w_field(&ln, 2, 1);
	for (i = 0; i < 3; i++)
		w_msg(&loc[1], 4, &ln);
	profile(&p, &fn, 1, loc, 2);
	assert_int_equal(
	    pprof_read(p.b, p.n, &lim, a, &r, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err, "more than 4 lines"));
	loc[1].n -= 2 * (ln.n + 2);
	profile(&p, &fn, 1, loc, 2);
	assert_int_equal(
	    pprof_read(p.b, p.n, &lim, a, &r, err, sizeof(err)), 0);
	assert_int_equal(r.locations[1].n_lines, 3);
	/* a function's string out of range */
	go_tables(&fn, loc);
	fn.b[3] = 9;
	profile(&p, &fn, 1, loc, 2);
	assert_int_equal(
	    pprof_read(p.b, p.n, &lim, a, &r, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err,
	    "function 0 (id 1): name: string index "
	    "9 out of range"));
	/* a location's id cut: the generic loop says where */
	go_tables(&fn, loc);
	loc[0].n = 0;
	w_field(&loc[0], 1, 300);
	loc[0].n--;
	profile(&p, &fn, 1, loc, 2);
	assert_int_equal(
	    pprof_read(p.b, p.n, &lim, a, &r, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err, "location 0: bad varint"));
	/* max_table in a run of functions, and among other tables */
	decode_limits_default(&lim);
	lim.max_table = 2;
	go_tables(&fn, loc);
	many[0] = many[1] = many[2] = fn;
	profile(&p, many, 3, loc, 2);
	assert_int_equal(
	    pprof_read(p.b, p.n, &lim, a, &r, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err, "more than 2 functions (max_table)"));
	p.n = 0;
	for (i = 0; i < 3; i++) {
		w_msg(&p, 5, &fn);
		w_msg(&p, 4, &loc[0]);
	}
	assert_int_equal(
	    pprof_read(p.b, p.n, &lim, a, &r, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err, "more than 2 functions (max_table)"));
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_go_layout),
	    cmocka_unit_test(test_by_hand),
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
