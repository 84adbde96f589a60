/*
 * The push intake's parsers on the three dd-trace-go bodies of
 * ../shared/corpus/push and on broken ones: every attachment found with its
 * kind, the tags and the event's times read; every truncation of every
 * body refused; a missing or badly quoted boundary, huge part headers and
 * malformed event.json refused with a message saying what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fetcher/multipart.h"
#include "fetcher/push_event.h"

#define PUSH_DIR "../shared/corpus/push/"

struct body {
	unsigned char *data;
	size_t len;
	char ctype[256];
};

static void
load(const char *name, struct body *b)
{
	char path[512];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), PUSH_DIR "%s.multipart", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b->data = malloc((size_t)n + 1);
	assert_non_null(b->data);
	assert_int_equal(fread(b->data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b->len = (size_t)n;
	snprintf(path, sizeof(path), PUSH_DIR "%s.content-type", name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(b->ctype, sizeof(b->ctype), f));
	fclose(f);
	b->ctype[strcspn(b->ctype, "\r\n")] = '\0';
}

/* Boundary, parts, event: 0 or -1 with err. */
static int
parse_all(const unsigned char *data, size_t len, const char *ctype,
    struct push_event *ev, char *err, size_t errlen)
{
	static struct multipart_part parts[MULTIPART_MAX_PARTS];
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	size_t n;

	if (multipart_boundary(
	        ctype, boundary, sizeof(boundary), err, errlen) < 0 ||
	    multipart_parse(data, len, boundary, parts, MULTIPART_MAX_PARTS,
	        &n, err, errlen) < 0)
		return -1;
	return push_event_from_parts(parts, n, ev, err, errlen);
}

static const struct {
	const char *name;
	const char *kind;
	int delta;
} event_atts[] = {
    {"cpu.pprof", "cpu", 1},
    {"delta-heap.pprof", "mem", 1},
    {"delta-mutex.pprof", "mutex", 1},
    {"delta-block.pprof", "block", 1},
    {"goroutines.pprof", "goroutines", 0},
    {"metrics.json", "metrics", 0},
};

static void
check_event_body(const char *name, const unsigned char magic0)
{
	static struct push_event ev;
	struct body b;
	char err[256];
	size_t i;

	load(name, &b);
	if (parse_all(b.data, b.len, b.ctype, &ev, err, sizeof(err)) < 0)
		fail_msg("%s: %s", name, err);
	assert_int_equal(ev.natt, 6);
	for (i = 0; i < 6; i++) {
		assert_string_equal(ev.att[i].name, event_atts[i].name);
		assert_string_equal(ev.att[i].kind, event_atts[i].kind);
		assert_int_equal(ev.att[i].is_delta, event_atts[i].delta);
		assert_true(ev.att[i].len > 0);
		if (i < 5)
			assert_int_equal(ev.att[i].data[0], magic0);
	}
	/* 2026-11-01T10:00:00.000000001Z */
	assert_int_equal(ev.start_ns, 1793527200000000001LL);
	assert_int_equal(ev.end_ns - ev.start_ns, 60000000000LL);
	assert_string_equal(push_tag(&ev, "service"), "checkout");
	assert_string_equal(push_tag(&ev, "env"), "prod");
	assert_string_equal(push_tag(&ev, "version"), "1.4.2");
	assert_string_equal(push_tag(&ev, "host"), "node-7");
	assert_string_equal(push_tag(&ev, "profile_seq"), "12");
	assert_string_equal(push_tag(&ev, "runtime-id"),
	    "9f0c2d1e-aaaa-bbbb-cccc-123456789abc");
	assert_string_equal(ev.family, "go");
	assert_int_equal(ev.nunknown, 0);
	free(b.data);
}

static void
test_v2_zstd(void **state)
{
	(void)state;
	check_event_body("ddtrace-v2-zstd", 0x28);
}

static void
test_v1_gzip(void **state)
{
	(void)state;
	check_event_body("ddtrace-v1-event-gzip", 0x1f);
}

static void
test_legacy_form(void **state)
{
	static struct push_event ev;
	struct body b;
	char err[256];

	(void)state;
	load("ddtrace-legacy-form", &b);
	if (parse_all(b.data, b.len, b.ctype, &ev, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(ev.natt, 2);
	assert_string_equal(ev.att[0].kind, "cpu");
	assert_string_equal(ev.att[1].kind, "mem");
	assert_int_equal(ev.att[1].is_delta, 1);
	assert_int_equal(ev.att[0].data[0], 0x1f);
	assert_string_equal(push_tag(&ev, "service"), "legacy-svc");
	assert_string_equal(push_tag(&ev, "env"), "staging");
	assert_int_equal(ev.end_ns - ev.start_ns, 60000000000LL);
	free(b.data);
}

/* Every cut short of the close delimiter is refused. */
static void
test_truncations(void **state)
{
	static const char *names[] = {
	    "ddtrace-v2-zstd", "ddtrace-v1-event-gzip", "ddtrace-legacy-form"};
	static struct push_event ev;
	struct body b;
	char err[256];
	size_t i;
	size_t cut;
	unsigned char *copy;

	(void)state;
	for (i = 0; i < 3; i++) {
		load(names[i], &b);
		/* The last 2 bytes are the CRLF after "--boundary--". */
		for (cut = 0; cut + 2 < b.len; cut++) {
			copy = malloc(cut + 1);
			memcpy(copy, b.data, cut);
			if (parse_all(copy, cut, b.ctype, &ev, err,
			        sizeof(err)) == 0)
				fail_msg(
				    "%s cut at %zu accepted", names[i], cut);
			assert_true(err[0] != '\0');
			free(copy);
		}
		free(b.data);
	}
}

static void
expect_boundary_error(const char *ctype, const char *want)
{
	char out[MULTIPART_BOUNDARY_MAX + 1];
	char err[256];

	if (multipart_boundary(ctype, out, sizeof(out), err, sizeof(err)) == 0)
		fail_msg("%s accepted (boundary %s)", ctype, out);
	if (strstr(err, want) == NULL)
		fail_msg("%s: got \"%s\", want \"%s\"", ctype, err, want);
}

static void
test_boundary(void **state)
{
	char out[MULTIPART_BOUNDARY_MAX + 1];
	char err[256];

	(void)state;
	assert_int_equal(multipart_boundary("multipart/form-data; boundary=ab",
	                     out, sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out, "ab");
	assert_int_equal(
	    multipart_boundary("Multipart/Form-Data;charset=x;boundary=\"a;b "
	                       "c\"",
	        out, sizeof(out), err, sizeof(err)),
	    0);
	assert_string_equal(out, "a;b c");
	expect_boundary_error("multipart/form-data", "no boundary");
	expect_boundary_error("multipart/form-data; charset=x", "no boundary");
	expect_boundary_error("multipart/form-data; boundary=", "no boundary");
	expect_boundary_error(
	    "multipart/form-data; boundary=\"abc", "malformed");
	expect_boundary_error("application/json", "not multipart");
	expect_boundary_error(NULL, "no Content-Type");
	expect_boundary_error("multipart/form-data; boundary="
	                      "0123456789012345678901234567890123456789"
	                      "0123456789012345678901234567890123456789",
	    "malformed");
}

static void
expect_body_error(const char *body, const char *want)
{
	static struct push_event ev;
	char err[256];

	if (parse_all((const unsigned char *)body, strlen(body),
	        "multipart/form-data; boundary=B", &ev, err, sizeof(err)) == 0)
		fail_msg("accepted: %s", body);
	if (strstr(err, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", err, want);
}

#define EV(json)                                                              \
	"--B\r\nContent-Disposition: form-data; name=\"event\"\r\n\r\n" json  \
	"\r\n--B\r\nContent-Disposition: form-data; "                         \
	"name=\"cpu.pprof\"\r\n\r\nxx\r\n--B--\r\n"

static void
test_malformed(void **state)
{
	static struct push_event ev;
	char *big;
	char err[256];
	size_t n;

	(void)state;
	expect_body_error("no delimiter here", "no boundary");
	expect_body_error("--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n"
	                  "--B--",
	    "no Content-Disposition name");
	expect_body_error("--B\r\nContent-Disposition: form-data; "
	                  "name=\"x\r\n\r\nx\r\n--B--",
	    "malformed header");
	expect_body_error("--Bxyz", "truncated or malformed");
	expect_body_error(
	    EV("{\"start\": \"2026-11-01T10:00:00Z\"}"), "no end");
	expect_body_error(EV("{\"start\": \"yesterday\", \"end\": \"x\"}"),
	    "not an RFC 3339 time");
	expect_body_error(EV("{\"start\": \"2026-11-01T10:00:00Z\", \"end\": "
	                     "\"2026-11-01T10:00:01Z\", \"attachments\": "
	                     "[\"nothere.pprof\"]}"),
	    "no part has that name");
	expect_body_error(EV("{\"start\": "), "event.json: ");
	expect_body_error(EV("[1, 2]"), "expected '{'");
	expect_body_error(EV("{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	                     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"),
	    "nested too deep");
	expect_body_error(
	    "--B\r\nContent-Disposition: form-data; name=\"version\"\r\n\r\n"
	    "3\r\n--B--\r\n",
	    "no event part");
	/* Huge part headers. */
	n = MULTIPART_MAX_HEAD + 100;
	big = malloc(n + 64);
	memcpy(big, "--B\r\nX-Big: ", 12);
	memset(big + 12, 'a', n);
	strcpy(big + 12 + n, "\r\n\r\ndata\r\n--B--\r\n");
	expect_body_error(big, "headers over");
	free(big);
	/* Unknown attachments are skipped, not fatal; unknown members too. */
	assert_int_equal(
	    parse_all(
	        (const unsigned char *)EV(
	            "{\"start\": \"2026-11-01T10:00:00+02:00\", \"end\": "
	            "\"2026-11-01T10:00:01.5Z\", \"info\": {\"a\": "
	            "[1, -2.5e3, true, null, \"\\u00e9\\ud83d\\ude00\"]}, "
	            "\"attachments\": [\"cpu.pprof\", \"cpu.pprof\"], "
	            "\"tags_profiler\": \"service:a:b,odd,,k:\"}"),
	        strlen(
	            EV("{\"start\": \"2026-11-01T10:00:00+02:00\", \"end\": "
	               "\"2026-11-01T10:00:01.5Z\", \"info\": {\"a\": "
	               "[1, -2.5e3, true, null, \"\\u00e9\\ud83d\\ude00\"]}, "
	               "\"attachments\": [\"cpu.pprof\", \"cpu.pprof\"], "
	               "\"tags_profiler\": \"service:a:b,odd,,k:\"}")),
	        "multipart/form-data; boundary=B", &ev, err, sizeof(err)),
	    0);
	assert_string_equal(push_tag(&ev, "service"), "a:b");
	assert_string_equal(push_tag(&ev, "odd"), "");
	assert_int_equal(ev.end_ns - ev.start_ns, 7201500000000LL);
}

static void
test_time(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(push_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(push_time_parse("1970-01-01T00:00:01.5Z", &t), 0);
	assert_int_equal(t, 1500000000);
	assert_int_equal(push_time_parse("1970-01-01T01:00:00+01:00", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(push_time_parse("1970-01-01T00:00:00", &t), -1);
	assert_int_equal(push_time_parse("1970-01-01T00:00:00.Z", &t), -1);
	assert_int_equal(push_time_parse("1970-13-01T00:00:00Z", &t), -1);
	assert_int_equal(push_time_parse("1970-01-01T00:00:00Zjunk", &t), -1);
	assert_int_equal(push_time_parse("", &t), -1);
	/* the edges of int64 nanoseconds: 1677-09-21 and 2262-04-11 */
	assert_int_equal(push_time_parse("2262-04-11T23:47:16Z", &t), 0);
	assert_int_equal(t, 9223372036000000000LL);
	assert_int_equal(push_time_parse("2262-04-11T23:47:17Z", &t), -1);
	assert_int_equal(push_time_parse("1677-09-21T00:12:44Z", &t), 0);
	assert_int_equal(push_time_parse("1677-09-21T00:12:43Z", &t), -1);
	assert_int_equal(push_time_parse("1013-11-01T10:00:00Z", &t), -1);
	assert_int_equal(push_time_parse("9999-12-31T23:59:59.999Z", &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v2_zstd),
	    cmocka_unit_test(test_v1_gzip),
	    cmocka_unit_test(test_legacy_form),
	    cmocka_unit_test(test_truncations),
	    cmocka_unit_test(test_boundary),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
