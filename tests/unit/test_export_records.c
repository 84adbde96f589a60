/*
 * export_records: the iLogtail-shaped records of a hand-built profile, byte
 * for byte; the CPU rule (samples/count becomes nanoseconds); absent and
 * zero values skipped; escaping of quotes, control bytes and bad UTF-8;
 * the profile checks that guard the sinks from malformed results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "exporter/profile.h"
#include "exporter/records.h"
#include "tests/unit/export_fixture.h"

#define FX_LABELS                                                             \
	"\"labels\":\"{\\\"__name__\\\":\\\"shop\\\","                        \
	"\\\"instance\\\":\\\"127.0.0.1:6060\\\",\\\"job\\\":\\\"go\\\","     \
	"\\\"env\\\":\\\"prod\\\",\\\"zone\\\":\\\"a\\\""
#define FX_COMMON                                                             \
	"\"language\":\"go\",\"type\":\"profile_cpu\","                       \
	"\"dataType\":\"CallStack\",\"durationNs\":\"10000000000\","          \
	"\"profileID\":\"6f1c0e2a-0000-4000-8000-000000000001\","
#define FX_TAIL(val)                                                          \
	",\"units\":\"nanoseconds\",\"valueTypes\":\"cpu\","                  \
	"\"aggTypes\":\"sum\",\"val\":\"" val "\",\"__time__\":1700000000}\n"

static const char fx_expected_cpu[] =
    "{\"name\":\"runtime.leaf /src/rt.go\","
    "\"stack\":\"main.work /src/work.go\\nmain.main /src/main.go\","
    "\"stackID\":\"0123456789abcdef\"," FX_COMMON FX_LABELS "}\"" FX_TAIL(
        "30000000.00") "{\"name\":\"main.work /src/work.go\","
                       "\"stack\":\"main.main /src/main.go\","
                       "\"stackID\":\"fedcba9876543210\"," FX_COMMON FX_LABELS
                       ",\\\"req\\\":\\\"GET\\\",\\\"size\\\":\\\"42 "
                       "bytes\\\"}\"" FX_TAIL(
                           "10000000.00") "{\"name\":\"main.work "
                                          "/src/work.go\","
                                          "\"stack\":\"main.main "
                                          "/src/main.go\","
                                          "\"stackID\":"
                                          "\"0000000000000002\"," FX_COMMON
                                              FX_LABELS
                                          "}\"" FX_TAIL("20000000.00");

static void
render(const struct fixture *f, struct buf *out, size_t *nrec)
{
	char err[256];

	assert_int_equal(export_check(&f->d, err, sizeof(err)), 0);
	buf_init(out, 0);
	*nrec = 0;
	assert_int_equal(records_all(&f->d, out, nrec), 0);
	assert_true(
	    fx_jsonl_valid(out->len ? (char *)out->data : "", out->len));
}

static size_t
count(const struct buf *b, const char *needle)
{
	const char *p = b->len ? (const char *)b->data : "";
	size_t n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void
test_cpu_records_exact(void **state)
{
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 3);
	assert_string_equal((char *)out.data, fx_expected_cpu);
	buf_release(&out);
}

/* A name is in a record's labels once: the collector's first (a later one
 * of theirs with a name already there is left out), then the pprof labels,
 * renamed exported_NAME where the name is taken, left out where that is
 * taken too. */
static void
test_label_names_once(void **state)
{
	enum { ENV = FX_N_STRINGS, EXP_ENV, N_STR };
	static const char *const more[] = {"env", "exported_env"};
	/* key, str (0: a number), num, unit */
	static const uint32_t labels[][4] = {
	    {ENV, FX_GET, 0, 0},       /* env is the collector's */
	    {FX_REQ, FX_GET, 0, 0},    /* free */
	    {FX_REQ, 0, 42, FX_BYTES}, /* req again, within the sample */
	    {EXP_ENV, FX_GET, 0, 0},   /* taken by the first */
	    {FX_REQ, 0, 7, 0},         /* req and exported_req taken */
	};
	enum { NL = sizeof(labels) / sizeof(labels[0]) };
	Profpipe__SampleLabel sl[NL];
	Profpipe__SampleLabel *slp[NL];
	char *strings[N_STR];
	struct fixture f;
	struct buf out;
	size_t nrec;
	size_t i;

	(void)state;
	fixture_cpu(&f);
	memcpy(strings, f.strings, sizeof(f.strings));
	for (i = 0; i < 2; i++)
		strings[FX_N_STRINGS + i] = (char *)more[i];
	f.d.strings = strings;
	f.d.n_strings = N_STR;
	for (i = 0; i < NL; i++) {
		profpipe__sample_label__init(&sl[i]);
		sl[i].key = labels[i][0];
		sl[i].str = labels[i][1];
		sl[i].num = labels[i][2];
		sl[i].unit = labels[i][3];
		slp[i] = &sl[i];
	}
	f.ls[1].n_labels = NL;
	f.ls[1].labels = slp;
	f.l[1].key = (char *)"instance"; /* the input's, clashing */
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 3);
	/* the two stacks without pprof labels */
	assert_int_equal(
	    count(&out,
	        "\"labels\":\"{\\\"__name__\\\":\\\"shop\\\","
	        "\\\"instance\\\":\\\"127.0.0.1:6060\\\","
	        "\\\"job\\\":\\\"go\\\",\\\"env\\\":\\\"prod\\\"}\""),
	    2);
	assert_int_equal(count(&out,
	                     "\"labels\":\"{\\\"__name__\\\":\\\"shop\\\","
	                     "\\\"instance\\\":\\\"127.0.0.1:6060\\\","
	                     "\\\"job\\\":\\\"go\\\",\\\"env\\\":\\\"prod\\\","
	                     "\\\"exported_env\\\":\\\"GET\\\","
	                     "\\\"req\\\":\\\"GET\\\","
	                     "\\\"exported_req\\\":\\\"42 bytes\\\","
	                     "\\\"exported_exported_env\\\":\\\"GET\\\"}\""),
	    1);
	buf_release(&out);
}

/* Names are compared as they are printed: two keys that are not UTF-8
 * both print as U+FFFD, so the second is renamed. */
static void
test_label_names_as_printed(void **state)
{
	enum { FF = FX_N_STRINGS, FE, N_STR };
	char *strings[N_STR];
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	memcpy(strings, f.strings, sizeof(f.strings));
	strings[FF] = (char *)"\xff";
	strings[FE] = (char *)"\xfe";
	f.d.strings = strings;
	f.d.n_strings = N_STR;
	f.sl[0].key = FF;
	f.sl[1].key = FE;
	f.sl[1].str = FX_GET;
	render(&f, &out, &nrec);
	assert_int_equal(count(&out,
	                     "\\\"zone\\\":\\\"a\\\","
	                     "\\\"\xef\xbf\xbd\\\":\\\"GET\\\","
	                     "\\\"exported_\xef\xbf\xbd\\\":\\\"GET\\\"}\""),
	    1);
	buf_release(&out);
}

/* Without cpu/nanoseconds, samples/count x period gives the same time. */
static void
test_cpu_samples_times_period(void **state)
{
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	f.vt[1].absent = 1;
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 3);
	assert_string_equal((char *)out.data, fx_expected_cpu);
	buf_release(&out);

	/* without a period the counts cannot become time: nothing */
	f.d.period = 0;
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 0);
	assert_int_equal(out.len, 0);
	buf_release(&out);
}

/* Only CPU profiles hide samples/count; other kinds report every type. */
static void
test_other_kinds_report_every_type(void **state)
{
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	f.o.kind = (char *)"mutex";
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 6);
	assert_int_equal(count(&out, "\"type\":\"profile_mutex\""), 6);
	assert_int_equal(count(&out,
	                     "\"units\":\"count\",\"valueTypes\":"
	                     "\"samples\""),
	    3);
	assert_int_equal(count(&out, "\"val\":\"3.00\""), 1);
	buf_release(&out);
}

static void
test_absent_types_skipped(void **state)
{
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	f.o.kind = (char *)"mem";
	f.vt[1].absent = 1;
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 3);
	assert_int_equal(count(&out, "\"valueTypes\":\"samples\""), 3);
	assert_int_equal(count(&out, "\"valueTypes\":\"cpu\""), 0);
	buf_release(&out);

	f.vt[0].absent = 1;
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 0);
	buf_release(&out);
}

/* A zero in one column silences that column only. */
static void
test_zero_values_skipped(void **state)
{
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	f.o.kind = (char *)"block";
	f.values[0] = 0; /* stack 0: samples 0, cpu 30 ms */
	f.values[7] = 0; /* stack 3: samples 2, cpu 0 */
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 4);
	assert_int_equal(count(&out, "\"stackID\":\"0000000000000001\""), 0);
	assert_int_equal(count(&out, "\"stackID\":\"0123456789abcdef\""), 1);
	assert_int_equal(count(&out, "\"stackID\":\"0000000000000002\""), 1);
	assert_int_equal(count(&out, "\"val\":\"0.00\""), 0);
	buf_release(&out);
}

/* durationNs falls back to end - start; __time__ is start in seconds;
 * negative deltas print as they are; a numeric label without unit. */
static void
test_duration_time_and_numbers(void **state)
{
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	f.d.duration_ns = 0;
	f.o.end_ns = f.o.start_ns + 5000000000LL;
	f.o.start_ns -= 1000000000LL;
	f.values[5] = -7;
	f.sl[1].unit = 0;
	render(&f, &out, &nrec);
	assert_int_equal(count(&out, "\"durationNs\":\"6000000000\""), 3);
	assert_int_equal(count(&out, "\"__time__\":1699999999}"), 3);
	assert_int_equal(count(&out, "\"val\":\"-7.00\""), 1);
	assert_int_equal(count(&out, "\\\"size\\\":\\\"42\\\"}"), 1);
	buf_release(&out);
}

/* A stack of one frame has an empty "stack"; one of none is skipped. */
static void
test_short_stacks(void **state)
{
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	f.values[3] = 5;     /* stack 1: main.main alone */
	f.off[3] = f.off[2]; /* stack 2: no frames */
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 3);
	assert_int_equal(count(&out,
	                     "{\"name\":\"main.main /src/main.go\","
	                     "\"stack\":\"\","),
	    1);
	assert_int_equal(count(&out, "fedcba9876543210"), 0);
	buf_release(&out);
}

static void
test_escaping(void **state)
{
	static const char fn[] = "a\"b\\c\nd\te\x01"
	                         "f\x7f"
	                         "g\xff"
	                         "h\xc3\xa9i\xe2\x82\xacj\xe2\x82"
	                         "k\xc0\xafl\xed\xa0\x80m"
	                         "\xf4\x90\x80\x80n\xf0\x9f\x98\x80o";
	static const char want[] =
	    "{\"name\":\"a\\\"b\\\\c\\nd\\te\\u0001"
	    "f\x7fg\xef\xbf\xbdh\xc3\xa9i\xe2\x82\xacj\xef\xbf\xbd\xef\xbf\xbd"
	    "k"
	    "\xef\xbf\xbd\xef\xbf\xbdl\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdm"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdn"
	    "\xf0\x9f\x98\x80o /src/rt.go\",";
	struct fixture f;
	struct buf out;
	size_t nrec;

	(void)state;
	fixture_cpu(&f);
	f.strings[FX_LEAF] = (char *)fn;
	f.strings[FX_GET] = (char *)"say \"hi\"\n\x02\xfe";
	f.l[0].value = (char *)"back\\slash";
	render(&f, &out, &nrec);
	assert_int_equal(nrec, 3);
	assert_memory_equal(out.data, want, strlen(want));
	/* labels are JSON inside a JSON string: escaped twice */
	assert_int_equal(
	    count(&out, "\\\"env\\\":\\\"back\\\\\\\\slash\\\""), 3);
	assert_int_equal(count(&out,
	                     "\\\"req\\\":\\\"say \\\\\\\"hi\\\\\\\""
	                     "\\\\n\\\\u0002\xef\xbf\xbd\\\""),
	    1);
	buf_release(&out);
}

/* Cross-check with a real JSON parser when python3 is at hand: every line
 * and every labels string parses, with the fields the format promises. */
static void
test_python_parses(void **state)
{
	static const char script[] =
	    "import json,sys\n"
	    "n=0\n"
	    "for line in open(sys.argv[1],encoding='utf-8'):\n"
	    "  r=json.loads(line)\n"
	    "  assert isinstance(r['__time__'],int)\n"
	    "  for k in ('name','stack','stackID','language','type',"
	    "'dataType','durationNs','profileID','labels','units',"
	    "'valueTypes','aggTypes','val'):\n"
	    "    assert isinstance(r[k],str),k\n"
	    "  assert len(r) == 14\n"
	    "  l=json.loads(r['labels'])\n"
	    "  assert l['__name__']=='shop' and l['job']=='go'\n"
	    "  assert l['env']=='a\"b\\\\c\\n\\x01'\n"
	    "  assert r['name'].startswith('x\\ufffdy ')\n"
	    "  n+=1\n"
	    "print(n)\n";
	char path[] = "/tmp/test_export_records.XXXXXX";
	char cmd[512];
	char got[64] = "";
	struct fixture f;
	struct buf out;
	size_t nrec;
	FILE *p;
	int fd;

	(void)state;
	if (system("python3 -c '' 2>/dev/null") != 0)
		skip();
	fixture_cpu(&f);
	f.l[0].value = (char *)"a\"b\\c\n\x01";
	f.strings[FX_LEAF] = (char *)"x\xffy";
	f.strings[FX_WORK] = (char *)"x\xffy";
	render(&f, &out, &nrec);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 -c \"$PYSCRIPT\" %s", path);
	setenv("PYSCRIPT", script, 1);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(got, sizeof(got), p));
	assert_int_equal(pclose(p), 0);
	assert_string_equal(got, "3\n");
	unlink(path);
	buf_release(&out);
}

static void
test_buf_json_str_utf8(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	/* a lone continuation byte, a lead byte at the very end */
	assert_int_equal(buf_json_str(&b, "\x80z\xe2", 3), 0);
	assert_string_equal((char *)b.data, "\"\xef\xbf\xbdz\xef\xbf\xbd\"");
	buf_clear(&b);
	/* one U+FFFD per byte, as Go's encoding/json: a sequence cut short
	 * (2), a surrogate (3), the end of a 4-byte one cut short (3) */
	assert_int_equal(
	    buf_json_str(&b, "\xe2\x82z\xed\xa0\x80\xf0\x9f\x98", 9), 0);
	assert_string_equal((char *)b.data,
	    "\"\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	buf_clear(&b);
	/* NUL inside, U+10FFFF is the last valid code point */
	assert_int_equal(buf_json_str(&b, "a\0\xf4\x8f\xbf\xbf", 6), 0);
	assert_string_equal((char *)b.data, "\"a\\u0000\xf4\x8f\xbf\xbf\"");
	assert_true(fx_json_valid(b.data, b.len));
	buf_release(&b);
}

static void
test_check_refuses_malformed(void **state)
{
	struct fixture f;
	char err[256];

	(void)state;
	fixture_cpu(&f);
	assert_int_equal(export_check(&f.d, err, sizeof(err)), 0);
	f.frames[2] = 4;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "frame 4 out of range"));
	fixture_cpu(&f);
	f.off[4] = 9;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.off[2] = 1;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.d.n_values = 7;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.d.n_stack_hash = 3;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.stack_labels[1] = 2;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.sl[0].key = FX_N_STRINGS;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.ff[1] = 99;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.vt[1].unit = 99;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.d.n_frame_file = 3;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	fixture_cpu(&f);
	f.d.origin = NULL;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), -1);
	/* no stacks at all is fine, and yields nothing */
	fixture_cpu(&f);
	f.d.n_stack_offset = 0;
	f.d.n_stack_frames = f.d.n_stack_hash = f.d.n_values = 0;
	f.d.n_stack_labels = 0;
	assert_int_equal(export_check(&f.d, err, sizeof(err)), 0);
	assert_int_equal(export_n_stacks(&f.d), 0);
}

static void
test_kind_columns(void **state)
{
	struct fixture f;
	struct export_col c;

	(void)state;
	fixture_cpu(&f);
	assert_int_equal(export_kind_column(&f.d, &c), 0);
	assert_string_equal(c.type, "cpu");
	assert_int_equal(c.src, 1);
	f.vt[1].absent = 1;
	assert_int_equal(export_kind_column(&f.d, &c), 0);
	assert_int_equal(c.src, 0);
	assert_int_equal(c.mul, 10000000);
	assert_int_equal(export_value(&f.d, 0, &c), 30000000);
	f.o.kind = (char *)"goroutines";
	assert_int_equal(export_kind_column(&f.d, &c), -1);
	f.o.kind = (char *)"custom";
	f.d.default_sample_type = 0;
	assert_int_equal(export_kind_column(&f.d, &c), 0);
	assert_string_equal(c.type, "samples");
	/* count x period saturates rather than wrapping */
	f.o.kind = (char *)"cpu";
	f.d.period = INT64_MAX / 2;
	assert_int_equal(export_kind_column(&f.d, &c), 0);
	assert_true(export_value(&f.d, 0, &c) == INT64_MAX);
}

/* Caps and allocation failures come back as -1, never a crash or a leak
 * (run under `make asan` to see the latter). */
static void
test_out_of_memory(void **state)
{
	struct fixture f;
	struct buf out;
	size_t nrec = 0;
	long n;
	int rv;

	(void)state;
	fixture_cpu(&f);
	buf_init(&out, 100);
	assert_int_equal(records_all(&f.d, &out, &nrec), -1);
	buf_release(&out);
	for (n = 0; n < 12; n++) {
		buf_init(&out, 0);
		xalloc_fail_after(n);
		rv = records_all(&f.d, &out, &nrec);
		xalloc_fail_after(-1);
		assert_true(rv == 0 || rv == -1);
		buf_release(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpu_records_exact),
	    cmocka_unit_test(test_label_names_once),
	    cmocka_unit_test(test_label_names_as_printed),
	    cmocka_unit_test(test_cpu_samples_times_period),
	    cmocka_unit_test(test_other_kinds_report_every_type),
	    cmocka_unit_test(test_absent_types_skipped),
	    cmocka_unit_test(test_zero_values_skipped),
	    cmocka_unit_test(test_duration_time_and_numbers),
	    cmocka_unit_test(test_short_stacks),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_python_parses),
	    cmocka_unit_test(test_buf_json_str_utf8),
	    cmocka_unit_test(test_check_refuses_malformed),
	    cmocka_unit_test(test_kind_columns),
	    cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
