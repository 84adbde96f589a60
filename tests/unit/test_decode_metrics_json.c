/*
 * decode_metrics_json: dd-trace-go's metrics.json from both push corpus
 * bodies (plain in the gzip-era body, zstd in v2.5's) read into
 * runtime_metrics; malformed documents, over-long names and too many pairs
 * refused with the reason and byte offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"
#include "decoder/decode_metrics_json.h"

#define PUSH_DIR "../shared/corpus/push/"

/* The metrics.json part of a corpus body, copied out. */
static unsigned char *
metrics_part(const char *name, size_t *len)
{
	static const char marker[] =
	    "name=\"metrics.json\"; filename=\"metrics.json\"";
	char path[256];
	unsigned char *data;
	unsigned char *out;
	const unsigned char *p;
	const unsigned char *end;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), PUSH_DIR "%s.multipart", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p = memmem(data, (size_t)n, marker, strlen(marker));
	assert_non_null(p);
	p = memmem(p, (size_t)n - (size_t)(p - data), "\r\n\r\n", 4);
	assert_non_null(p);
	p += 4;
	end = memmem(p, (size_t)n - (size_t)(p - data), "\r\n--", 4);
	assert_non_null(end);
	*len = (size_t)(end - p);
	out = malloc(*len);
	memcpy(out, p, *len);
	free(data);
	return out;
}

static void
check_corpus(const char *name)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	unsigned char *body;
	char err[256];
	size_t len;

	body = metrics_part(name, &len);
	if (metrics_json_decode(body, len, a, &d, err, sizeof(err)) < 0)
		fail_msg("%s: %s", name, err);
	assert_int_equal(d.n_runtime_metrics, 8);
	assert_string_equal(
	    d.runtime_metrics[0]->name, "go_alloc_bytes_per_sec");
	assert_true(d.runtime_metrics[0]->value == 1048576.5);
	assert_string_equal(
	    d.runtime_metrics[3]->name, "go_heap_growth_bytes_per_sec");
	assert_true(d.runtime_metrics[3]->value == -512.0);
	assert_string_equal(d.runtime_metrics[7]->name, "go_num_goroutine");
	assert_true(d.runtime_metrics[7]->value == 61.0);
	assert_int_equal(d.n_strings, 1);
	assert_int_equal(d.n_stack_offset, 1);
	free(body);
	arena_free(a);
}

static void
test_plain(void **state)
{
	(void)state;
	check_corpus("ddtrace-v1-event-gzip");
}

static void
test_zstd(void **state)
{
	(void)state;
	check_corpus("ddtrace-v2-zstd");
}

static void
expect_error(const char *json, const char *want)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	char err[256];

	if (metrics_json_decode((const uint8_t *)json, strlen(json), a, &d,
	        err, sizeof(err)) == 0)
		fail_msg("accepted: %s", json);
	if (strstr(err, want) == NULL)
		fail_msg("%s: got \"%s\", want \"%s\"", json, err, want);
	arena_free(a);
}

static void
test_malformed(void **state)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	char err[256];
	char *big;
	size_t i;
	size_t n;

	(void)state;
	expect_error("", "expected '['");
	expect_error("{}", "expected '['");
	expect_error("[[\"a\", 1]", "expected ',' or ']'");
	expect_error("[[\"a\", 1], ]", "expected '['");
	expect_error("[[\"a\"]]", "expected ','");
	expect_error("[[\"a\", \"1\"]]", "expected a number");
	expect_error("[[\"a\", 1, 2]]", "expected ']'");
	expect_error("[[1, 1]]", "expected '\"'");
	expect_error("[[\"a\", 01]]", "expected a number");
	expect_error("[[\"a\", 1e]]", "bad number");
	expect_error("[[\"a\", NaN]]", "expected a number");
	expect_error("[[\"a\", 1]] x", "trailing bytes");
	expect_error("[[\"a\\q\", 1]]", "bad escape");
	expect_error("[[\"a\\ud800\", 1]]", "lone surrogate");
	expect_error("[[\"a", "unterminated string");
	/* A name over the cap. */
	big = malloc(METRICS_JSON_MAX_NAME + 64);
	n = (size_t)snprintf(big, 8, "[[\"");
	memset(big + n, 'a', METRICS_JSON_MAX_NAME + 1);
	strcpy(big + n + METRICS_JSON_MAX_NAME + 1, "\", 1]]");
	expect_error(big, "string longer than 256 bytes");
	free(big);
	/* More pairs than the cap. */
	big = malloc((METRICS_JSON_MAX_METRICS + 1) * 12 + 4);
	n = 0;
	big[n++] = '[';
	for (i = 0; i <= METRICS_JSON_MAX_METRICS; i++)
		n += (size_t)sprintf(big + n, "%s[\"m\", 1]", i ? "," : "");
	strcpy(big + n, "]");
	expect_error(big, "more than 1024 metrics");
	free(big);
	/* Empty is fine; so are escapes and exponents. */
	assert_int_equal(metrics_json_decode((const uint8_t *)" [ ] ", 5, a,
	                     &d, err, sizeof(err)),
	    0);
	assert_int_equal(d.n_runtime_metrics, 0);
	assert_int_equal(
	    metrics_json_decode((const uint8_t *)"[[\"a\\u00e9\", -1.5E+2]]",
	        22, a, &d, err, sizeof(err)),
	    0);
	assert_string_equal(d.runtime_metrics[0]->name, "a\xc3\xa9");
	assert_true(d.runtime_metrics[0]->value == -150.0);
	arena_free(a);
}

static void
test_truncated_zstd(void **state)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	unsigned char *body;
	char err[256];
	size_t len;
	size_t cut;

	(void)state;
	body = metrics_part("ddtrace-v2-zstd", &len);
	for (cut = 4; cut < len; cut += 7)
		assert_int_equal(
		    metrics_json_decode(body, cut, a, &d, err, sizeof(err)),
		    -1);
	free(body);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_zstd),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_truncated_zstd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
