/*
 * sniff: what the fetcher makes of a body before a decoder sees it. The
 * compressed forms by their magic (zstd's skippable frames included),
 * text and HTML by their first bytes (what a wrong port or a proxy
 * answers), protobuf by a plausible first tag; every corpus profile is a
 * profile and every refusal names what the body was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "decode_util.h"
#include "fetcher/sniff.h"

#define S(lit) (const void *)(lit), sizeof(lit) - 1

static void
test_kinds(void **state)
{
	static const struct {
		const char *body;
		size_t len;
		enum sniff_kind want;
	} cases[] = {
	    {S(""), SNIFF_EMPTY},
	    {S("\x1f\x8b"), SNIFF_GZIP},
	    {S("\x28\xb5\x2f\xfd"), SNIFF_ZSTD},
	    {S("\x50\x2a\x4d\x18\x00\x00\x00\x00"), SNIFF_ZSTD},
	    {S("\x5f\x2a\x4d\x18"), SNIFF_ZSTD},
	    /* a magic cut short is not one: here, bytes text may hold */
	    {S("\x28\xb5\x2f"), SNIFF_TEXT},
	    {S("\x50\x2a\x4d"), SNIFF_TEXT},
	    {S("\x1f"), SNIFF_UNKNOWN},
	    /* a sample type first: field 1, length-delimited */
	    {S("\x0a\x04\x08\x01\x10\x02"), SNIFF_PROTOBUF},
	    /* field 0, or wire types 3, 4, 6 and 7, begin no message */
	    {S("\x02\x01"), SNIFF_UNKNOWN},
	    {S("\x0b\x01"), SNIFF_UNKNOWN},
	    {S("\x0c\x01"), SNIFF_UNKNOWN},
	    {S("\x0e\x01"), SNIFF_UNKNOWN},
	    {S("\x7f\x01"), SNIFF_UNKNOWN},
	    {S("<html><body>404</body></html>"), SNIFF_HTML},
	    {S(" \r\n\t<!DOCTYPE html>"), SNIFF_HTML},
	    {S("Could not enable CPU profiling: cpu profiling already in "
	       "use\n"),
	        SNIFF_TEXT},
	    {S("404 page not found\n"), SNIFF_TEXT},
	    {S("caf\xc3\xa9 \xe2\x82\xac\n"), SNIFF_TEXT},
	    {S("   \n"), SNIFF_TEXT},
	    /* a control byte or DEL makes it not text, and 't' (field
	     * 14, wire type 4) no protobuf */
	    {S("text\x01"), SNIFF_UNKNOWN},
	    {S("text\x7f"), SNIFF_UNKNOWN},
	    {S("bext\x01"), SNIFF_PROTOBUF},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (sniff_body(cases[i].body, cases[i].len) != cases[i].want)
			fail_msg("case %zu: %s, not %s", i,
			    sniff_name(
			        sniff_body(cases[i].body, cases[i].len)),
			    sniff_name(cases[i].want));
	}
	assert_true(sniff_is_profile(SNIFF_GZIP));
	assert_true(sniff_is_profile(SNIFF_ZSTD));
	assert_true(sniff_is_profile(SNIFF_PROTOBUF));
	assert_false(sniff_is_profile(SNIFF_HTML));
	assert_false(sniff_is_profile(SNIFF_TEXT));
	assert_false(sniff_is_profile(SNIFF_EMPTY));
	assert_false(sniff_is_profile(SNIFF_UNKNOWN));
	assert_string_equal(
	    sniff_name(SNIFF_UNKNOWN), "neither gzip, zstd nor protobuf");
}

/* Only the first 512 bytes decide text: a text page with a binary tail
 * is text, and a binary byte inside them is not. */
static void
test_text_window(void **state)
{
	char b[600];

	(void)state;
	memset(b, 'a', sizeof(b));
	b[550] = '\0';
	assert_int_equal(sniff_body(b, sizeof(b)), SNIFF_TEXT);
	b[511] = '\0';
	/* 'a': field 12, wire type 1 */
	assert_int_equal(sniff_body(b, sizeof(b)), SNIFF_PROTOBUF);
}

/* One corpus profile, as fetched (gzip) and unpacked, is a profile; arg
 * is an arena for the unpacked bytes. */
static void
check_profile(const char *path, void *arg)
{
	struct arena *a = arg;
	uint8_t *body;
	uint8_t *raw;
	size_t n;
	size_t raw_len;

	body = du_slurp(path, &n);
	assert_non_null(body);
	assert_int_equal(sniff_body(body, n), SNIFF_GZIP);
	raw = du_inflate(body, n, a, &raw_len);
	assert_non_null(raw);
	if (sniff_body(raw, raw_len) != SNIFF_PROTOBUF)
		fail_msg("%s unpacked: %s", path,
		    sniff_name(sniff_body(raw, raw_len)));
	arena_reset(a);
	free(body);
}

/* Every real and synthetic profile. */
static void
test_corpus(void **state)
{
	static const char *const pats[] = {
	    CORPUS "/real/*.pb.gz", CORPUS "/synth/*.pb.gz"};
	struct arena *a = arena_new(0);

	(void)state;
	assert_true(du_each_file(pats, 2, check_profile, a) > 15);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_text_window),
	    cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
