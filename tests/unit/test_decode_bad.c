/*
 * test_decode_bad: input that is not a good profile. Every file in
 * ../shared/corpus/bad is refused with a message (the gzip bomb by the
 * cap check on its trailer, before any inflating); every prefix of a small
 * profile, plain or gzipped, and every single-byte corruption of one,
 * either decodes to a valid Decoded or is refused with a message: never a
 * crash (run under ASan: make asan).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/decoded.h"
#include "tests/unit/decode_util.h"

static struct decode_limits lim;
static Profpipe__Origin origin = PROFPIPE__ORIGIN__INIT;

static int
setup(void **state)
{
	(void)state;
	decode_limits_default(&lim);
	return 0;
}

/* Decode; on success the result must pass decoded_check, on failure the
 * message must say something. Returns the rv. */
static int
try_decode(
    const uint8_t *body, size_t len, struct arena *a, char *err, size_t errlen)
{
	Profpipe__Decoded d;
	int rv;

	err[0] = '\0';
	arena_reset(a);
	rv = decode_profile(body, len, &lim, a, &d, err, errlen);
	if (rv == 0) {
		d.origin = &origin;
		if (decoded_check(&d, err, errlen) != 0)
			fail_msg("decoded_check: %s", err);
	} else if (strlen(err) == 0) {
		fail_msg("refused (%d) without a message", rv);
	}
	return rv;
}

struct bad {
	const char *file;
	const char *says; /* part of the message */
};

static void
test_corpus_bad(void **state)
{
	static const struct bad bad[] = {
	    {"corrupt-protobuf.pb.gz", "after gzip: byte "},
	    {"cpu-in-use.txt",
	        "the body is text: \"Could not enable CPU "
	        "profiling: cpu profiling already in use"},
	    {"dangling-location.pb.gz", "after gzip: byte "},
	    {"empty.pb.gz", "empty body"},
	    {"gzip-bomb-1GiB.gz",
	        "inflates to 1073741824 bytes (trailer "
	        "ISIZE), over the cap of"},
	    {"html-error.pb.gz", "the body is text: \"<html>"},
	    {"string-index-out-of-range.pb.gz",
	        "string index 99 out of "
	        "range"},
	    {"truncated-gzip.pb.gz", "gzip: truncated or corrupt"},
	};
	struct arena *a = arena_new(0);
	struct dirent *e;
	DIR *dir;
	uint8_t *body;
	size_t len;
	size_t i;
	char path[512];
	char err[512];
	int seen = 0;

	(void)state;
	dir = opendir(CORPUS "/bad");
	assert_non_null(dir);
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), CORPUS "/bad/%s", e->d_name);
		body = du_slurp(path, &len);
		assert_non_null(body);
		if (try_decode(body, len, a, err, sizeof(err)) == 0)
			fail_msg("%s: decoded", e->d_name);
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (strcmp(bad[i].file, e->d_name) == 0 &&
			    strstr(err, bad[i].says) == NULL)
				fail_msg("%s: \"%s\" does not say \"%s\"",
				    e->d_name, err, bad[i].says);
		}
		/* The bomb never got an output buffer. */
		if (strcmp(e->d_name, "gzip-bomb-1GiB.gz") == 0)
			assert_true(arena_used(a) < (1 << 20));
		free(body);
		seen++;
	}
	closedir(dir);
	assert_true(seen >= 8);
	arena_free(a);
}

/* The legacy binary CPU format, 64-bit and 32-bit, plain and gzipped: named
 * as such, not as a protobuf error. */
static void
test_legacy_cpu(void **state)
{
	/* header 0, 3, 0, period 10000, 0; one sample (count 1, depth 1,
	 * pc 0x401000); the trailer 0, 1, 0. gz32: w32 by Python's gzip. */
	static const uint64_t w64[] = {
	    0, 3, 0, 10000, 0, 1, 1, 0x401000, 0, 1, 0};
	static const uint32_t w32[] = {
	    0, 3, 0, 10000, 0, 1, 1, 0x401000, 0, 1, 0};
	static const uint8_t gz32[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x02, 0x03, 0x63, 0x60, 0x60, 0x60, 0x60, 0x66, 0x80,
	    0x00, 0x01, 0x75, 0x08, 0xcd, 0x08, 0xc5, 0x0c, 0x02, 0x0e, 0x70,
	    0x3e, 0x08, 0x00, 0x00, 0x6a, 0x08, 0xc9, 0xb6, 0x2c, 0x00, 0x00,
	    0x00};
	struct arena *a = arena_new(0);
	char err[512];

	(void)state;
	assert_int_equal(
	    try_decode((const uint8_t *)w64, sizeof(w64), a, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "a legacy binary CPU profile"));
	assert_int_equal(
	    try_decode((const uint8_t *)w32, sizeof(w32), a, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "a legacy binary CPU profile"));
	assert_int_equal(
	    try_decode(gz32, sizeof(gz32), a, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(
	    strstr(err, "after gzip: not profile.proto: a legacy"));
	arena_free(a);
}

static void
prefixes(const char *path)
{
	struct arena *a = arena_new(0);
	uint8_t *body;
	uint8_t *cut;
	size_t len;
	size_t i;
	char err[512];

	body = du_slurp(path, &len);
	assert_non_null(body);
	for (i = 0; i <= len; i++) {
		/* A copy of exactly i bytes, so ASan sees any overread. */
		cut = malloc(i + 1);
		memcpy(cut, body, i);
		try_decode(cut, i, a, err, sizeof(err));
		free(cut);
	}
	assert_int_equal(try_decode(body, len, a, err, sizeof(err)), 0);
	free(body);
	arena_free(a);
}

static void
test_prefixes(void **state)
{
	(void)state;
	prefixes(CORPUS "/real/heap-uncompressed.pb");
	prefixes(CORPUS "/real/goapp-mutex.pb.gz");
}

/* Every byte of a plain profile set to a few values that matter to the
 * wire format (continuation bit, wire types, big lengths). */
static void
test_corruptions(void **state)
{
	static const uint8_t vals[] = {0x00, 0x01, 0x07, 0x7f, 0x80, 0xff};
	struct arena *a = arena_new(0);
	uint8_t *body;
	uint8_t *copy;
	uint8_t keep;
	size_t len;
	size_t i;
	size_t v;
	char err[512];

	(void)state;
	body = du_slurp(CORPUS "/real/heap-uncompressed.pb", &len);
	assert_non_null(body);
	copy = malloc(len);
	memcpy(copy, body, len);
	for (i = 0; i < len; i++) {
		keep = copy[i];
		for (v = 0; v < sizeof(vals); v++) {
			copy[i] = vals[v];
			try_decode(copy, len, a, err, sizeof(err));
		}
		copy[i] = keep;
	}
	free(copy);
	free(body);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_bad),
	    cmocka_unit_test(test_legacy_cpu),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_corruptions),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
