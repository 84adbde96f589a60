/*
 * test_pprof_diff: the hand-written reader against protobuf-c's generated
 * one. Every corpus profile must come out of both the same, table by
 * table; so must every prefix of a small one that both accept (a prefix
 * cut at a field boundary is still a valid message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/unit/decode_util.h"
#include "tests/unit/pprof_diff.h"

static const char *const files[] = {
    "real/biggo-allocs-delta-10s.pb.gz",
    "real/biggo-cpu-30s.pb.gz",
    "real/biggo-goroutine.pb.gz",
    "real/goapp-allocs.pb.gz",
    "real/goapp-block.pb.gz",
    "real/goapp-cpu.pb.gz",
    "real/goapp-heap.pb.gz",
    "real/goapp-mutex_delta.pb.gz",
    "real/goapp-threadcreate.pb.gz",
    "real/heap-uncompressed.pb",
    "synth/cpu-small.pb.gz",
    "synth/goroutine-large.pb.gz",
    "synth/heap-large.pb.gz",
    "synth/mutex-large.pb.gz",
};

/* Both readers on buf: -1 if only one accepts it, 1 if neither does, 0 if
 * both do and agree; a disagreement on content fails the test. */
static int
both(const uint8_t *buf, size_t len, const char *name)
{
	struct decode_limits lim;
	struct arena *a = arena_new(0);
	struct pprof_profile r;
	Perftools__Profiles__Profile *p;
	char err[512];
	int rv;

	decode_limits_default(&lim);
	p = perftools__profiles__profile__unpack(NULL, len, buf);
	rv = pprof_read(buf, len, &lim, a, &r, err, sizeof(err));
	if (p != NULL && rv == 0) {
		if (pprof_diff(p, &r, err, sizeof(err)) != 0)
			fail_msg("%s (%zu bytes): %s", name, len, err);
		rv = 0;
	} else {
		rv = p == NULL && rv != 0 ? 1 : -1;
	}
	if (p != NULL)
		perftools__profiles__profile__free_unpacked(p, NULL);
	arena_free(a);
	return rv;
}

static void
test_corpus(void **state)
{
	struct arena *a = arena_new(0);
	uint8_t *body;
	uint8_t *raw;
	size_t len;
	size_t n;
	size_t i;
	char path[512];

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), CORPUS "/%s", files[i]);
		body = du_slurp(path, &len);
		assert_non_null(body);
		raw = du_inflate(body, len, a, &n);
		assert_non_null(raw);
		if (both(raw, n, files[i]) != 0)
			fail_msg("%s: not accepted by both", files[i]);
		free(body);
		arena_reset(a);
	}
	arena_free(a);
}

static void
test_prefixes(void **state)
{
	uint8_t *body;
	uint8_t *cut;
	size_t len;
	size_t i;
	int agreed = 0;

	(void)state;
	body = du_slurp(CORPUS "/real/heap-uncompressed.pb", &len);
	assert_non_null(body);
	for (i = 1; i <= len; i++) {
		cut = malloc(i);
		memcpy(cut, body, i);
		agreed += both(cut, i, "prefix") == 0;
		free(cut);
	}
	assert_true(agreed > 0);
	free(body);
}

/* A second period_type replaces the first whole, as Go's parser (a new
 * ValueType each time) and protobuf-c both read it: fields it leaves out
 * are 0, not the first one's. Found by fuzz_pprof_diff: the reader kept
 * the first's type and unit under an empty second. */
static void
test_period_type_twice(void **state)
{
	/* string table "", "a", "b", "c"; period_type {type 1, unit 2},
	 * then a second one */
	static const uint8_t strs[] = {
	    0x32, 0, 0x32, 1, 'a', 0x32, 1, 'b', 0x32, 1, 'c'};
	static const uint8_t first[] = {0x5a, 4, 0x08, 1, 0x10, 2};
	static const struct {
		uint8_t second[4];
		size_t n;
		uint32_t type; /* string indices: 3 is "c" */
		uint32_t unit;
	} cases[] = {
	    {{0x5a, 2, 0x08, 3}, 4, 3, 0}, /* type only */
	    {{0x5a, 2, 0x10, 3}, 4, 0, 3}, /* unit only */
	    {{0x5a, 0}, 2, 0, 0},          /* empty */
	};
	struct decode_limits lim;
	struct pprof_profile r;
	struct arena *a = arena_new(0);
	uint8_t buf[64];
	size_t n;
	size_t i;
	char err[256];

	(void)state;
	decode_limits_default(&lim);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 0;
		memcpy(buf + n, first, sizeof(first));
		n += sizeof(first);
		memcpy(buf + n, cases[i].second, cases[i].n);
		n += cases[i].n;
		memcpy(buf + n, strs, sizeof(strs));
		n += sizeof(strs);
		assert_int_equal(both(buf, n, "period_type twice"), 0);
		assert_int_equal(
		    pprof_read(buf, n, &lim, a, &r, err, sizeof(err)), 0);
		assert_int_equal(r.period_type.type, cases[i].type);
		assert_int_equal(r.period_type.unit, cases[i].unit);
		arena_reset(a);
	}
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_period_type_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
