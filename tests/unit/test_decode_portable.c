/*
 * test_decode_portable: the two ways the reader reads location ids and
 * values give the same Decoded, byte for byte once packed: with BMI2's
 * pext (where pprof_fast_pext() says this CPU has a fast one) and without
 * (--portable, decode_limits.portable: how AMD before Zen 3 and x86
 * before BMI2 read). On every corpus profile, gzipped and plain. On a CPU
 * without a fast pext both ways are the portable one, and the test says
 * it is skipped.
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
#include "decoder/pprof.h"

/* path decoded, packed into *out (malloc'd); the way lim says. */
static size_t
decode_packed(const char *path, const struct decode_limits *lim, uint8_t **out)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	uint8_t *body;
	size_t len;
	size_t n;
	char err[512];

	body = du_slurp(path, &len);
	if (body == NULL)
		fail_msg("%s: cannot read", path);
	if (decode_profile(body, len, lim, a, &d, err, sizeof(err)) != 0)
		fail_msg(
		    "%s%s: %s", path, lim->portable ? " (portable)" : "", err);
	n = profpipe__decoded__get_packed_size(&d);
	*out = malloc(n + 1);
	assert_non_null(*out);
	assert_int_equal(profpipe__decoded__pack(&d, *out), n);
	free(body);
	arena_free(a);
	return n;
}

/* One file decoded both ways: the same bytes. */
static void
check_same(const char *path, void *arg)
{
	struct decode_limits fast;
	struct decode_limits portable;
	uint8_t *x;
	uint8_t *y;
	size_t nx;
	size_t ny;

	(void)arg;
	decode_limits_default(&fast);
	decode_limits_default(&portable);
	portable.portable = 1;
	nx = decode_packed(path, &fast, &x);
	ny = decode_packed(path, &portable, &y);
	if (nx != ny || memcmp(x, y, nx) != 0)
		fail_msg("%s: %zu bytes with pext, %zu without, not the same",
		    path, nx, ny);
	free(x);
	free(y);
}

static void
test_same_decoded(void **state)
{
	static const char *const pats[] = {CORPUS "/real/*.pb.gz",
	    CORPUS "/real/*.pb", CORPUS "/synth/*.pb.gz"};

	(void)state;
	if (!pprof_fast_pext())
		skip(); /* both ways are the portable one here */
	assert_true(du_each_file(pats, 3, check_same, NULL) >= 21);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_decoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
