/*
 * test_pprof_read: the protobuf reader on profiles built to the point:
 * sparse and shuffled ids, unpacked repeated fields, unknown fields, and
 * each way a profile can be wrong (dangling ids, string indices out of
 * range, duplicate or zero ids, value counts, limits, groups, two profiles
 * concatenated), each refused with a message naming the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "decoder/pprof.h"
#include "tests/unit/decode_util.h"

static struct decode_limits lim;

static int
setup(void **state)
{
	(void)state;
	decode_limits_default(&lim);
	return 0;
}

/* Two functions, three locations (the third inlines f2 into f1), and
 * samples over them. Ids as given (sparse if asked). */
static void
build(struct du_prof *d, uint64_t f1, uint64_t f2, uint64_t l1, uint64_t l2,
    uint64_t l3)
{
	uint64_t fa[2] = {f2, f1};
	int64_t la[2] = {20, 10};
	uint64_t s1[2] = {l1, l2};
	uint64_t s2[2] = {l3, l2};

	du_init(d);
	du_func(d, f1, "main.outer", "main.go");
	du_func(d, f2, "main.inner", "inner.go");
	du_loc(d, l1, 1, &f1, &la[1]);
	du_loc(d, l2, 1, &f2, &la[0]);
	du_loc(d, l3, 2, fa, la);
	du_sample(d, 2, s1, 1, 100);
	du_sample(d, 2, s2, 2, 200);
}

static int
read_prof(const struct du_prof *d, struct arena *a, struct pprof_profile *pr,
    char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rv;

	buf = du_pack(d, &len);
	assert_non_null(buf);
	/* The reader keeps slices into buf: copy it into the arena. */
	rv = pprof_read(memcpy(arena_alloc(a, len + 1), buf, len), len, &lim,
	    a, pr, err, errlen);
	free(buf);
	return rv;
}

static void
expect_error(const struct du_prof *d, const char *want)
{
	struct arena *a = arena_new(0);
	struct pprof_profile pr;
	char err[512] = "";

	assert_int_equal(read_prof(d, a, &pr, err, sizeof(err)), DECODE_EBAD);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
	arena_free(a);
}

static void
check_tables(const struct pprof_profile *pr)
{
	const struct pprof_location *l;

	assert_int_equal(pr->n_samples, 2);
	assert_int_equal(pr->n_locations, 3);
	assert_int_equal(pr->n_functions, 2);
	/* sample 1: location 3 then 2 (leaf first), as indices */
	assert_int_equal(pr->samples[1].n_loc, 2);
	assert_int_equal(pr->samples[1].loc[0], 2);
	assert_int_equal(pr->samples[1].loc[1], 1);
	l = &pr->locations[2];
	assert_int_equal(l->n_lines, 2);
	assert_int_equal(l->lines[0].function, 1); /* inner, innermost */
	assert_int_equal(l->lines[0].line, 20);
	assert_int_equal(l->lines[1].function, 0);
	assert_int_equal(pr->values[2], 2);
	assert_int_equal(pr->values[3], 200);
	assert_int_equal(pr->strings[pr->functions[1].name].n, 10);
	assert_memory_equal(
	    pr->strings[pr->functions[1].name].p, "main.inner", 10);
}

static void
test_dense_ids(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	struct pprof_profile pr;
	char err[256];

	(void)state;
	build(&d, 1, 2, 1, 2, 3);
	assert_int_equal(read_prof(&d, a, &pr, err, sizeof(err)), 0);
	check_tables(&pr);
	arena_free(a);
}

static void
test_sparse_ids(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	struct pprof_profile pr;
	char err[256];

	(void)state;
	build(&d, 0x7fffffffffULL, 7, 1000, 5, 1ULL << 40);
	assert_int_equal(read_prof(&d, a, &pr, err, sizeof(err)), 0);
	check_tables(&pr);
	assert_true(pr.locations[2].id == 1ULL << 40);
	arena_free(a);
}

static void
test_dangling(void **state)
{
	struct du_prof d;

	(void)state;
	build(&d, 1, 2, 1, 2, 3);
	d.ids[1] = 99;
	expect_error(&d, "location id 99 not found");
	build(&d, 1, 2, 1, 2, 3);
	d.line[0].function_id = 42;
	expect_error(&d, "function id 42 not found");
	build(&d, 1, 2, 1, 2, 3);
	d.line[0].function_id = 0;
	expect_error(&d, "function id 0 not found");
}

static void
test_bad_strings(void **state)
{
	struct du_prof d;

	(void)state;
	build(&d, 1, 2, 1, 2, 3);
	d.f[1].name = 1000;
	expect_error(&d,
	    "function 1 (id 2): name: string index 1000 out of "
	    "range");
	build(&d, 1, 2, 1, 2, 3);
	d.f[0].filename = -1;
	expect_error(&d, "filename: string index -1");
	build(&d, 1, 2, 1, 2, 3);
	d.st[1].unit = 77;
	expect_error(&d, "sample type 1: unit: string index 77");
	build(&d, 1, 2, 1, 2, 3);
	d.pt.type = 55;
	expect_error(&d, "period_type.type: string index 55");
	build(&d, 1, 2, 1, 2, 3);
	du_label(&d, &d.s[0], 1, 66, 0);
	expect_error(&d, "sample 0: label str: string index 66");
	build(&d, 1, 2, 1, 2, 3);
	d.strs[0] = "x";
	expect_error(&d, "string_table[0] must be \"\"");
	build(&d, 1, 2, 1, 2, 3);
	d.p.default_sample_type = 9999;
	expect_error(&d, "default_sample_type");
}

static void
test_bad_ids(void **state)
{
	struct du_prof d;

	(void)state;
	build(&d, 1, 2, 1, 2, 3);
	d.l[2].id = 1;
	expect_error(&d, "location 2: id 1 used twice");
	build(&d, 5, 5, 1, 2, 3);
	expect_error(&d, "function 1: id 5 used twice");
	build(&d, 1, 2, 1, 2, 3);
	d.f[0].id = 0;
	expect_error(&d, "function 0: reserved id 0");
}

static void
test_values_and_types(void **state)
{
	struct du_prof d;

	(void)state;
	build(&d, 1, 2, 1, 2, 3);
	d.s[1].n_value = 1;
	expect_error(&d, "sample 1: 1 values for 2 sample types");
	build(&d, 1, 2, 1, 2, 3);
	d.p.n_sample_type = 0;
	expect_error(&d, "samples but no sample types");
}

static void
test_limits(void **state)
{
	struct du_prof d;
	uint64_t deep[5] = {1, 2, 1, 2, 1};

	(void)state;
	build(&d, 1, 2, 1, 2, 3);
	du_sample(&d, 5, deep, 1, 1);
	lim.max_depth = 4;
	expect_error(&d, "sample 2: more than 4 locations (max_depth)");
	lim.max_depth = 1;
	expect_error(&d, "location 2 (id 3): more than 1 lines (max_depth)");
	decode_limits_default(&lim);
	lim.max_table = 8;
	expect_error(&d, "more than 8 strings (max_table)");
	decode_limits_default(&lim);
	build(&d, 1, 2, 1, 2, 3);
	du_label(&d, &d.s[0], 1, 2, 0);
	du_label(&d, &d.s[0], 3, 4, 0);
	lim.max_labels = 1;
	expect_error(&d, "sample 0: more than 1 labels (max_labels)");
	decode_limits_default(&lim);
}

/* Labels, as Go keeps them: empty ones (no str, num or unit) dropped; with
 * a str, no num and no unit, which Go does not read then, so a unit out
 * of range there is no error; otherwise as written. */
static void
test_labels(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	struct pprof_profile pr;
	char err[256];

	(void)state;
	build(&d, 1, 2, 1, 2, 3);
	du_label(&d, &d.s[1], 1, 2, 0);
	du_label(&d, &d.s[1], 3, 0, 0);
	du_label(&d, &d.s[1], 3, 0, -5);
	d.lab[2].num_unit = 4;
	du_label(&d, &d.s[1], 1, 3, 8);
	d.lab[3].num_unit = 9999;
	assert_int_equal(read_prof(&d, a, &pr, err, sizeof(err)), 0);
	assert_int_equal(pr.samples[0].n_labels, 0);
	assert_int_equal(pr.samples[1].n_labels, 3);
	assert_int_equal(pr.samples[1].labels[0].str, 2);
	assert_int_equal(pr.samples[1].labels[1].num, -5);
	assert_int_equal(pr.samples[1].labels[1].unit, 4);
	assert_int_equal(pr.samples[1].labels[2].str, 3);
	assert_int_equal(pr.samples[1].labels[2].num, 0);
	assert_int_equal(pr.samples[1].labels[2].unit, 0);
	/* Without a str, the unit is read, and checked. */
	build(&d, 1, 2, 1, 2, 3);
	du_label(&d, &d.s[0], 1, 0, 8);
	d.lab[0].num_unit = 9999;
	assert_int_not_equal(read_prof(&d, a, &pr, err, sizeof(err)), 0);
	assert_non_null(
	    strstr(err, "sample 0: label num_unit: string index 9999"));
	arena_free(a);
}

/* A profile written by hand: unpacked location ids and values, unknown
 * fields of every wire type, at the top and inside messages. */
static void
test_unpacked_and_unknown(void **state)
{
	struct arena *a = arena_new(0);
	struct pprof_profile pr;
	uint8_t buf[512];
	uint8_t msg[64];
	size_t n = 0;
	size_t m;
	char err[256];
	static const char *strs[] = {"", "samples", "count", "f", "f.go"};
	int i;

	(void)state;
#define PUT_MSG(field)                                                        \
	do {                                                                  \
		n += du_tag(buf + n, (field), 2);                             \
		n += du_varint(buf + n, m);                                   \
		memcpy(buf + n, msg, m);                                      \
		n += m;                                                       \
	} while (0)
	m = du_tag(msg, 1, 0) + du_varint(msg + 1, 1);
	m += du_tag(msg + m, 2, 0);
	m += du_varint(msg + m, 2);
	PUT_MSG(1); /* sample type samples/count */
	m = 0;
	m += du_tag(msg + m, 1, 0);
	m += du_varint(msg + m, 7); /* location id, unpacked */
	m += du_tag(msg + m, 9, 5); /* unknown fixed32 */
	memset(msg + m, 0xee, 4);
	m += 4;
	m += du_tag(msg + m, 2, 0);
	m += du_varint(msg + m, (uint64_t)-3); /* value -3, unpacked */
	m += du_tag(msg + m, 1, 0);
	m += du_varint(msg + m, 7);
	/* Field numbers no message uses, 0 and one past protobuf's
	 * 2^29 - 1: Go's parser skips them as unknown, and so must this. */
	m += du_tag(msg + m, 0, 0);
	m += du_varint(msg + m, 5);
	m += du_tag(msg + m, 1U << 30, 2);
	m += du_varint(msg + m, 0);
	PUT_MSG(2);
	m = 0;
	m += du_tag(msg + m, 1, 0);
	m += du_varint(msg + m, 7); /* location id 7 */
	m += du_tag(msg + m, 4, 2);
	m += du_varint(msg + m, 4); /* a line: function 9, line 3 */
	m += du_tag(msg + m, 1, 0);
	m += du_varint(msg + m, 9);
	m += du_tag(msg + m, 2, 0);
	m += du_varint(msg + m, 3);
	m += du_tag(msg + m, 12, 1); /* unknown fixed64 */
	memset(msg + m, 0xdd, 8);
	m += 8;
	PUT_MSG(4);
	m = 0;
	m += du_tag(msg + m, 1, 0);
	m += du_varint(msg + m, 9);
	m += du_tag(msg + m, 2, 0);
	m += du_varint(msg + m, 3);
	m += du_tag(msg + m, 4, 0);
	m += du_varint(msg + m, 4);
	PUT_MSG(5);
	n += du_tag(buf + n, 0, 2); /* field 0, length-delimited */
	n += du_varint(buf + n, 1);
	buf[n++] = 0x08;
	n += du_tag(buf + n, 99, 0); /* unknown varint at the top */
	n += du_varint(buf + n, 1ULL << 60);
	n += du_tag(buf + n, 1000, 2); /* unknown length-delimited */
	n += du_varint(buf + n, 3);
	memcpy(buf + n, "xyz", 3);
	n += 3;
	for (i = 0; i < 5; i++) {
		n += du_tag(buf + n, 6, 2);
		n += du_varint(buf + n, strlen(strs[i]));
		memcpy(buf + n, strs[i], strlen(strs[i]));
		n += strlen(strs[i]);
	}
	assert_int_equal(
	    pprof_read(buf, n, &lim, a, &pr, err, sizeof(err)), 0);
	assert_int_equal(pr.n_samples, 1);
	assert_int_equal(pr.samples[0].n_loc, 2);
	assert_int_equal(pr.values[0], -3);
	assert_int_equal(pr.locations[0].lines[0].line, 3);
	assert_int_equal(pr.n_strings, 5);

	/* A group (wire type 3) is refused by name. */
	buf[n] = (uint8_t)(15 << 3 | 3);
	assert_int_equal(
	    pprof_read(buf, n + 1, &lim, a, &pr, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "unsupported wire type 3"));
	/* A known field with the wrong wire type. */
	buf[n] = (uint8_t)(12 << 3 | 2);
	buf[n + 1] = 0;
	assert_int_equal(
	    pprof_read(buf, n + 2, &lim, a, &pr, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "field 12: unexpected wire type 2"));
	/* A length past the end. */
	buf[n] = (uint8_t)(6 << 3 | 2);
	buf[n + 1] = 5;
	assert_int_equal(
	    pprof_read(buf, n + 2, &lim, a, &pr, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "runs past the end"));
	/* Numbers no message uses are named as written: 0, and 2^30. */
	buf[n] = (uint8_t)(0 << 3 | 3);
	assert_int_equal(
	    pprof_read(buf, n + 1, &lim, a, &pr, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "field 0: unsupported wire type 3"));
	i = du_tag(buf + n, (uint32_t)1 << 30, 2);
	buf[n + i] = 9;
	assert_int_equal(
	    pprof_read(buf, n + i + 1, &lim, a, &pr, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "field 1073741824: runs past the end"));
	arena_free(a);
#undef PUT_MSG
}

/* Two profiles back to back, each with time_nanos: refused as Go does. */
static void
test_concatenated(void **state)
{
	struct arena *a = arena_new(0);
	struct du_prof d;
	struct pprof_profile pr;
	uint8_t *one;
	uint8_t *two;
	size_t len;
	char err[256];

	(void)state;
	build(&d, 1, 2, 1, 2, 3);
	d.p.time_nanos = 12345;
	one = du_pack(&d, &len);
	two = malloc(2 * len);
	memcpy(two, one, len);
	memcpy(two + len, one, len);
	assert_int_equal(
	    pprof_read(two, 2 * len, &lim, a, &pr, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "concatenated"));
	free(one);
	free(two);
	arena_free(a);
}

static void
test_empty(void **state)
{
	struct arena *a = arena_new(0);
	struct pprof_profile pr;
	char err[256];

	(void)state;
	assert_int_equal(
	    pprof_read((const uint8_t *)"", 0, &lim, a, &pr, err, sizeof(err)),
	    DECODE_EBAD);
	assert_string_equal(err, "empty profile");
	/* Only a period: no string table. */
	assert_int_equal(pprof_read((const uint8_t *)"\x60\x01", 2, &lim, a,
	                     &pr, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "no string table"));
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dense_ids),
	    cmocka_unit_test(test_sparse_ids),
	    cmocka_unit_test(test_dangling),
	    cmocka_unit_test(test_bad_strings),
	    cmocka_unit_test(test_bad_ids),
	    cmocka_unit_test(test_values_and_types),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_unpacked_and_unknown),
	    cmocka_unit_test(test_concatenated),
	    cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
