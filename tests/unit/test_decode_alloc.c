/*
 * test_decode_alloc: every allocation a decode makes can fail. With the
 * Nth allocation refused (xalloc_fail_after), for every N until the
 * decode needs no more, the decode fails cleanly with a message, frees
 * everything (ASan would say otherwise), and the next decode works.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "tests/unit/decode_util.h"

static void
fail_each(const char *path)
{
	struct decode_limits lim;
	struct arena *a;
	struct decoder *d;
	Profpipe__Decoded out;
	uint8_t *body;
	size_t len;
	long n;
	int rv = -1;
	char err[512];

	decode_limits_default(&lim);
	body = du_slurp(path, &len);
	assert_non_null(body);
	for (n = 0; rv != 0; n++) {
		assert_true(n < 100000);
		xalloc_fail_after(n);
		a = arena_new(0);
		d = NULL;
		if (a == NULL || decoder_new(&d, &lim) != 0) {
			arena_free(a);
			continue;
		}
		err[0] = '\0';
		rv = decoder_run(d, body, len, a, &out, err, sizeof(err));
		if (rv != 0) {
			assert_int_equal(rv, DECODE_ENOMEM);
			assert_non_null(strstr(err, "out of memory"));
		}
		decoder_free(d);
		arena_free(a);
	}
	xalloc_fail_after(-1);
	assert_true(n > 3);
	free(body);
}

static void
test_gzip(void **state)
{
	(void)state;
	fail_each(CORPUS "/real/goapp-cpu.pb.gz");
}

static void
test_plain(void **state)
{
	(void)state;
	fail_each(CORPUS "/real/heap-uncompressed.pb");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gzip),
	    cmocka_unit_test(test_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
