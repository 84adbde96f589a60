/*
 * pipebench_raw (tests/bench): a request stamped for a send unpacks, with
 * protobuf-c's reference unpacker, to the id and the times stamped and to
 * the file's bytes untouched, however often it is stamped again, in the
 * template and in a memfd copy; a time that does not fit its 9 bytes is
 * refused and writes nothing; and every file make bench sends can be
 * stamped.
 */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/wire.pb-c.h"
#include "tests/bench/pipebench_raw.h"
#include "tests/unit/decode_util.h"

#define HEAP CORPUS "/real/biggo-heap.pb.gz"
#define T0 1800000000123456789LL /* 2027-01-15, unix ns */

/* msg (r->len bytes) stamped with id at now: check what it unpacks to. */
static void
check_stamped(const uint8_t *msg, const struct raw *r, const char *id,
    int64_t now, const uint8_t *body, size_t body_len)
{
	Profpipe__RawProfile *rp =
	    profpipe__raw_profile__unpack(NULL, r->len, msg);

	assert_non_null(rp);
	assert_non_null(rp->origin);
	assert_string_equal(rp->origin->profile_id, id);
	assert_true(rp->origin->end_ns == now);
	assert_true(rp->origin->start_ns == now - RAW_SPAN_NS);
	assert_string_equal(rp->origin->instance, "file3:6060");
	assert_string_equal(rp->origin->kind, "mem");
	assert_int_equal(rp->body.len, body_len);
	assert_memory_equal(rp->body.data, body, body_len);
	profpipe__raw_profile__free_unpacked(rp, NULL);
}

static void
test_stamp_round_trip(void **state)
{
	struct raw r;
	size_t body_len;
	uint8_t *body = du_slurp(HEAP, &body_len);

	(void)state;
	assert_int_equal(raw_load(&r, HEAP, 3), 0);
	assert_int_equal(raw_stamp(r.msg, &r, 0xabc, T0), 0);
	check_stamped(r.msg, &r, "00000000-0000-4000-8000-000000000abc", T0,
	    body, body_len);
	/* again, over the last stamp: nothing of it may stay */
	assert_int_equal(
	    raw_stamp(r.msg, &r, 0x123456789abcULL, T0 + 987654321), 0);
	check_stamped(r.msg, &r, "00000000-0000-4000-8000-123456789abc",
	    T0 + 987654321, body, body_len);
	/* ids past 12 hex digits wrap, they do not spill */
	assert_int_equal(raw_stamp(r.msg, &r, 0x1000000000001ULL, T0), 0);
	check_stamped(r.msg, &r, "00000000-0000-4000-8000-000000000001", T0,
	    body, body_len);
	raw_release(&r);
	free(body);
}

static void
test_stamp_refuses_what_does_not_fit(void **state)
{
	struct raw r;
	uint8_t *before;

	(void)state;
	assert_int_equal(raw_load(&r, HEAP, 3), 0);
	before = malloc(r.len);
	assert_non_null(before);
	memcpy(before, r.msg, r.len);
	/* 1970, one byte short; before 1970 */
	assert_int_equal(raw_stamp(r.msg, &r, 1, 1000000000LL), -1);
	assert_int_equal(raw_stamp(r.msg, &r, 1, -1), -1);
	/* the start is 10 s before now: it too must fit */
	assert_int_equal(
	    raw_stamp(r.msg, &r, 1, (1LL << 56) + RAW_SPAN_NS - 1), -1);
	assert_memory_equal(r.msg, before, r.len);
	free(before);
	raw_release(&r);
}

static void
test_memfd_copy_is_stamped(void **state)
{
	struct raw r;
	struct rawfd *f;
	struct rawfd *g;
	char why[256];
	size_t body_len;
	uint8_t *body = du_slurp(HEAP, &body_len);

	(void)state;
	assert_int_equal(raw_load(&r, HEAP, 3), 0);
	f = raw_fd(&r, why, sizeof(why));
	assert_non_null(f);
	assert_int_equal(raw_stamp(f->out.base, &r, 7, T0), 0);
	check_stamped(f->out.base, &r, "00000000-0000-4000-8000-000000000007",
	    T0, body, body_len);
	/* a busy memfd is not handed out again; a free one is reused */
	f->busy = 1;
	g = raw_fd(&r, why, sizeof(why));
	assert_non_null(g);
	assert_ptr_not_equal(g, f);
	g->busy = 0;
	f->busy = 0;
	assert_ptr_equal(raw_fd(&r, why, sizeof(why)), f);
	raw_release(&r);
	free(body);
}

/* make bench's files: each loads, and its id and times are found once. */
static void
test_bench_files_load(void **state)
{
	static const char *const pats[] = {
	    CORPUS "/synth/*-large*", CORPUS "/real/biggo-*.pb.gz"};
	struct raw r;
	glob_t g;
	size_t i;
	size_t j;
	size_t n = 0;

	(void)state;
	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		assert_int_equal(glob(pats[i], 0, NULL, &g), 0);
		for (j = 0; j < g.gl_pathc; j++, n++) {
			assert_int_equal(raw_load(&r, g.gl_pathv[j], 3), 0);
			assert_int_equal(raw_stamp(r.msg, &r, n, T0), 0);
			raw_release(&r);
		}
		globfree(&g);
	}
	assert_true(n >= 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stamp_round_trip),
	    cmocka_unit_test(test_stamp_refuses_what_does_not_fit),
	    cmocka_unit_test(test_memfd_copy_is_stamped),
	    cmocka_unit_test(test_bench_files_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
