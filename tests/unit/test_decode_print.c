/*
 * test_decode_print: the one-shot outputs. Folded: root first, inlined
 * frames expanded, equal name sequences summed even across files and
 * lines and label sets, zero sums left out, ';' in names made ':'. JSON:
 * the whole object for a small profile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "decoder/decode_print.h"
#include "tests/unit/decode_util.h"

static void
build(struct du_prof *d)
{
	uint64_t f1 = 1;
	uint64_t f2 = 2;
	uint64_t f3 = 3;
	uint64_t fa[2] = {2, 1};
	int64_t l10 = 10;
	int64_t l11 = 11;
	int64_t la[2] = {20, 10};
	uint64_t s1[2] = {2, 1};
	uint64_t s2[1] = {3};
	uint64_t s3[1] = {4};
	uint64_t s4[1] = {5};
	Perftools__Profiles__Sample *s;

	du_init(d);
	du_func(d, 1, "main.outer", "main.go");
	du_func(d, 2, "main.inner", "inner.go");
	du_func(d, 3, "odd;name", "x.go");
	du_loc(d, 1, 1, &f1, &l10);
	du_loc(d, 2, 1, &f2, &l10);
	du_loc(d, 3, 2, fa, la);
	du_loc(d, 4, 1, &f1, &l11);
	du_loc(d, 5, 1, &f3, &l10);
	du_sample(d, 2, s1, 1, 100);
	s = du_sample(d, 1, s2, 2, 200); /* same names as s1 */
	du_label(d, s, 1, 2, 0);
	du_sample(d, 1, s3, 0, 7); /* zero in the first column */
	du_sample(d, 1, s4, 3, 0);
}

static char *
run(const struct du_prof *d, int json, size_t type)
{
	struct decode_limits lim;
	struct arena *a = arena_new(0);
	struct decode_fold g;
	Profpipe__Decoded out;
	uint8_t *buf;
	size_t len;
	char *text = NULL;
	size_t tlen = 0;
	char err[256];
	FILE *f;

	decode_limits_default(&lim);
	buf = du_pack(d, &len);
	assert_int_equal(
	    decode_profile(buf, len, &lim, a, &out, err, sizeof(err)), 0);
	f = open_memstream(&text, &tlen);
	assert_non_null(f);
	if (json) {
		assert_int_equal(decode_json_print(&out, "t.pb", f), 0);
	} else {
		assert_int_equal(decode_fold(&out, a, &g), 0);
		assert_int_equal(g.n, 3);
		assert_int_equal(decode_fold_print(&out, &g, type, f), 0);
	}
	fclose(f);
	free(buf);
	arena_free(a);
	return text;
}

static void
test_folded(void **state)
{
	struct du_prof d;
	char *t;

	(void)state;
	build(&d);
	t = run(&d, 0, 0);
	assert_string_equal(t,
	    "main.outer;main.inner 3\n"
	    "odd:name 3\n");
	free(t);
	t = run(&d, 0, 1);
	assert_string_equal(t,
	    "main.outer;main.inner 300\n"
	    "main.outer 7\n");
	free(t);
}

static void
test_json(void **state)
{
	struct du_prof d;
	uint64_t f1 = 1;
	int64_t l10 = 10;
	uint64_t s1[1] = {1};
	Perftools__Profiles__Sample *s;
	char *t;

	(void)state;
	du_init(&d);
	du_func(&d, 1, "main.\"q\"", "m.go");
	du_loc(&d, 1, 1, &f1, &l10);
	s = du_sample(&d, 1, s1, 1, -2);
	du_label(&d, s, 1, 2, 0);
	du_label(&d, s, 3, 0, 64);
	d.lab[1].num_unit = 4;
	d.p.duration_nanos = 5;
	t = run(&d, 1, 0);
	assert_string_equal(t,
	    "{\"file\":\"t.pb\",\"sample_types\":[{\"type\":\"samples\","
	    "\"unit\":\"count\"},{\"type\":\"cpu\",\"unit\":\"nanoseconds\"}],"
	    "\"default_sample_type\":\"cpu\",\"period_type\":{\"type\":"
	    "\"cpu\","
	    "\"unit\":\"nanoseconds\"},\"period\":10000000,\"duration_ns\":5,"
	    "\"time_ns\":0,\"samples\":1,\"stacks\":[{\"frames\":[{\"name\":"
	    "\"main.\\\"q\\\"\",\"file\":\"m.go\",\"line\":10}],\"values\":"
	    "[1,-2],\"labels\":[{\"key\":\"samples\",\"str\":\"count\"},"
	    "{\"key\":\"cpu\",\"num\":64,\"unit\":\"nanoseconds\"}]}]}\n");
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_folded),
	    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
