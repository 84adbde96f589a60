/*
 * raw_view: the decoder stage's RawProfile view must read every message
 * exactly as protobuf-c's unpack does (tests/unit/raw_view_diff.h), and
 * for the layout the fetcher writes it must not copy the body: the body it
 * gives points into the message. Layouts: the fetcher's own, fields
 * swapped or missing, repeated (protobuf merges them), unknown fields,
 * wrong wire types, odd but valid encodings, a broken Origin, and every
 * truncation and every single-byte change of a real message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "common/arena.h"
#include "decode_util.h"
#include "raw_view_diff.h"

struct fx {
	struct arena *a;
	uint8_t *msg; /* a packed RawProfile: Origin, then a corpus body */
	size_t len;
	size_t origin_len; /* the Origin field's whole size, tag included */
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	Profpipe__RawProfile rp = PROFPIPE__RAW_PROFILE__INIT;
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	Profpipe__Label l = PROFPIPE__LABEL__INIT;
	Profpipe__Label *ls[1] = {&l};
	size_t blen;
	uint8_t *body = du_slurp(CORPUS "/real/goapp-heap.pb.gz", &blen);

	assert_non_null(body);
	f->a = arena_new(0);
	o.profile_id = "5e3c0a4e-2b1f-4a57-9d3e-0c1f2a3b4c5d";
	o.source = "pull";
	o.kind = "mem";
	o.service = "svc";
	o.instance = "10.0.0.1:6060";
	l.key = "zone";
	l.value = "a";
	o.n_labels = 1;
	o.labels = ls;
	o.start_ns = 1700000000000000000LL;
	o.end_ns = 1700000010000000000LL;
	rp.origin = &o;
	rp.body.data = body;
	rp.body.len = blen;
	f->len = profpipe__raw_profile__get_packed_size(&rp);
	f->msg = malloc(f->len);
	profpipe__raw_profile__pack(&rp, f->msg);
	f->origin_len = f->len - blen - 1 - du_varint((uint8_t[10]){0}, blen);
	free(body);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	arena_free(f->a);
	free(f->msg);
	free(f);
	return 0;
}

static void
agree(struct fx *f, const uint8_t *msg, size_t len, const char *what)
{
	char why[256];

	if (raw_view_diff(f->a, msg, len, why, sizeof(why)) != 0)
		fail_msg("%s: %s", what, why);
}

/* The fetcher's layout: read alike, body not copied. */
static void
test_plain(void **state)
{
	struct fx *f = *state;
	ProtobufCAllocator pa;
	Profpipe__RawProfile *v;

	agree(f, f->msg, f->len, "plain");
	arena_reset(f->a);
	arena_pb_allocator(f->a, &pa);
	v = raw_view(f->msg, f->len, &pa);
	assert_non_null(v);
	assert_non_null(v->origin);
	assert_string_equal(v->origin->kind, "mem");
	assert_true(v->body.data > f->msg && v->body.data < f->msg + f->len);
	assert_int_equal(v->body.data + v->body.len, f->msg + f->len);
}

/* Body first, then the Origin; one of them alone; nothing at all. */
static void
test_order_and_absence(void **state)
{
	struct fx *f = *state;
	uint8_t *m = malloc(f->len);
	size_t ol = f->origin_len;

	memcpy(m, f->msg + ol, f->len - ol);
	memcpy(m + f->len - ol, f->msg, ol);
	agree(f, m, f->len, "body first");
	agree(f, f->msg, ol, "origin only");
	agree(f, f->msg + ol, f->len - ol, "body only");
	agree(f, f->msg, 0, "empty message");
	agree(f, (const uint8_t *)"\x12\x00", 2, "empty body");
	agree(f, (const uint8_t *)"\x0a\x00", 2, "empty origin");
	free(m);
}

/* Fields twice (an Origin merges, a body's last wins), unknown fields,
 * wrong wire types, non-minimal tags and lengths: protobuf-c decides. */
static void
test_odd_layouts(void **state)
{
	struct fx *f = *state;
	size_t ol = f->origin_len;
	uint8_t *m = malloc(2 * f->len + 32);
	size_t n;

	memcpy(m, f->msg, f->len);
	memcpy(m + f->len, f->msg, f->len);
	agree(f, m, 2 * f->len, "everything twice");
	memcpy(m, f->msg, ol);
	memcpy(m + ol, f->msg, f->len);
	agree(f, m, ol + f->len, "origin twice");
	memcpy(m, f->msg, f->len);
	memcpy(m + f->len, "\x18\x07", 2); /* field 3, varint 7 */
	agree(f, m, f->len + 2, "unknown field");
	memcpy(m + f->len, "\x22\x01x", 3); /* field 4, bytes "x" */
	agree(f, m, f->len + 3, "unknown bytes field");
	agree(f, (const uint8_t *)"\x08\x01", 2, "origin as a varint");
	agree(
	    f, (const uint8_t *)"\x15\x01\x02\x03\x04", 5, "body as fixed32");
	agree(f, (const uint8_t *)"\x8a\x00\x00", 3, "two-byte tag");
	agree(f, (const uint8_t *)"\x12\x81\x80\x80\x80\x00x", 7,
	    "five-byte length");
	agree(f, (const uint8_t *)"\x12\x81\x80\x80\x80\x80\x00x", 8,
	    "six-byte length");
	agree(f, (const uint8_t *)"\x0a\x02\x08\x01", 4,
	    "origin holding a varint where a string goes");
	agree(f, (const uint8_t *)"\x0a\x03\x0a\x05x", 5,
	    "origin with a truncated string");
	n = 0;
	m[n++] = 0x12;
	m[n++] = 0x7f; /* a length past the end */
	agree(f, m, n + 3, "length past the end");
	free(m);
}

/* Every truncation, and every byte of the Origin's part (and the body's
 * first bytes) set to a few values: each read alike. */
static void
test_truncations_and_changes(void **state)
{
	struct fx *f = *state;
	static const uint8_t vals[] = {
	    0x00, 0x01, 0x0a, 0x12, 0x7f, 0x80, 0xff};
	uint8_t *m = malloc(f->len);
	size_t i;
	size_t j;
	char what[64];

	for (i = 0; i <= f->len; i++) {
		snprintf(what, sizeof(what), "first %zu bytes", i);
		agree(f, f->msg, i, what);
	}
	for (i = 0; i < f->origin_len + 8; i++) {
		for (j = 0; j < sizeof(vals); j++) {
			memcpy(m, f->msg, f->len);
			m[i] = vals[j];
			snprintf(what, sizeof(what), "byte %zu = 0x%02x", i,
			    vals[j]);
			agree(f, m, f->len, what);
		}
	}
	free(m);
}

/* Origin fields by the thousand: protobuf-c merges each into the one
 * before, copying the labels so far, and with an arena that costs memory
 * quadratic in their number. Under a cap, as the decoder stage's arena
 * always has, the message is refused once the cap is reached. */
static void
test_repeats_under_a_cap(void **state)
{
	static const uint8_t one[] = {0x0a, 0x04, 0x3a, 0x02, 0x0a, 0x00};
	struct arena *capped = arena_new((size_t)16 << 20);
	ProtobufCAllocator pa;
	size_t n = 20000;
	uint8_t *m = malloc(n * sizeof(one));
	size_t i;

	assert_non_null(capped);
	for (i = 0; i < n; i++)
		memcpy(m + i * sizeof(one), one, sizeof(one));
	arena_pb_allocator(capped, &pa);
	assert_null(raw_view(m, n * sizeof(one), &pa));
	/* A few hundred merge within the cap, and read as protobuf-c does. */
	agree((struct fx *)*state, m, 300 * sizeof(one), "300 origins");
	arena_free(capped);
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_plain, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_order_and_absence, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_odd_layouts, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_truncations_and_changes, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
	        test_repeats_under_a_cap, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
