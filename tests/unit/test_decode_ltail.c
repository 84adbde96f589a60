/*
 * test_decode_ltail: the reader's table of label tails (pprof_ltail.h),
 * which takes a sample's label set from the bytes of its labels when the
 * same bytes came before. Each built profile repeats its samples, so that
 * every tail is seen again, and must decode as the plain reader reads it
 * (agree(), stacks_agree.h): Go's layout with a few "bytes" values
 * and units (tails that differ only in their last byte);
 * labels followed by a location list or by values (such a tail must
 * never be taken whole, or the ids or values after it are lost); two
 * labels in either order; a label Go drops; tails longer than the key;
 * a tail as the buffer's last bytes; more distinct tails than the table
 * keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "tests/unit/decode_util.h"
#include "tests/unit/stacks_agree.h"

/* A sample's body under construction. */
struct body {
	uint8_t b[512];
	size_t n;
};

static void
put_ids(struct body *s, uint64_t first, size_t n)
{
	uint8_t ids[128];
	size_t k = 0;
	size_t i;

	for (i = 0; i < n; i++)
		k += du_varint(ids + k, 1 + (first + i * 7) % 40);
	s->n += du_tag(s->b + s->n, 1, 2);
	s->n += du_varint(s->b + s->n, k);
	memcpy(s->b + s->n, ids, k);
	s->n += k;
}

static void
put_values(struct body *s, uint64_t a, uint64_t b)
{
	uint8_t v[32];
	size_t k = du_varint(v, a);

	k += du_varint(v + k, b);
	s->n += du_tag(s->b + s->n, 2, 2);
	s->n += du_varint(s->b + s->n, k);
	memcpy(s->b + s->n, v, k);
	s->n += k;
}

/* A label: key, then str, num, unit where not 0. */
static void
put_label(struct body *s, int64_t key, int64_t str, int64_t num, int64_t unit)
{
	uint8_t l[64];
	size_t k = 0;

	k += du_tag(l + k, 1, 0);
	k += du_varint(l + k, (uint64_t)key);
	if (str != 0) {
		k += du_tag(l + k, 2, 0);
		k += du_varint(l + k, (uint64_t)str);
	}
	if (num != 0) {
		k += du_tag(l + k, 3, 0);
		k += du_varint(l + k, (uint64_t)num);
	}
	if (unit != 0) {
		k += du_tag(l + k, 4, 0);
		k += du_varint(l + k, (uint64_t)unit);
	}
	s->n += du_tag(s->b + s->n, 3, 2);
	s->n += du_varint(s->b + s->n, k);
	memcpy(s->b + s->n, l, k);
	s->n += k;
}

static void
put_sample(struct buf *b, const struct body *s)
{
	uint8_t hdr[16];
	size_t k = du_tag(hdr, 2, 2);

	k += du_varint(hdr + k, s->n);
	assert_int_equal(buf_append(b, hdr, k), 0);
	assert_int_equal(buf_append(b, s->b, s->n), 0);
}

/* The tables, with the label strings the samples use. */
struct fx {
	struct du_prof d;
	int64_t bytes, kind, unit, unit2, big, small, small2;
	struct buf b;
	uint8_t *tables;
};

static void
fx_init(struct fx *f)
{
	size_t tlen;

	dense_tables(&f->d, 3);
	f->bytes = du_str(&f->d, "bytes");
	f->kind = du_str(&f->d, "kind");
	f->unit = du_str(&f->d, "B");
	f->unit2 = du_str(&f->d, "KB");
	f->big = du_str(&f->d, "a rather long label value, past the key");
	f->small = du_str(&f->d, "s");
	f->small2 = du_str(&f->d, "t");
	f->tables = du_pack(&f->d, &tlen);
	assert_non_null(f->tables);
	buf_init(&f->b, 0);
	assert_int_equal(buf_append(&f->b, f->tables, tlen), 0);
}

static void
fx_done(struct fx *f, const char *name)
{
	agree(f->b.data, f->b.len, name);
	buf_release(&f->b);
	free(f->tables);
}

/* Go's layout: ids, values, one numeric label of a few values. */
static void
test_go_layout(void **state)
{
	struct body s;
	struct fx f;
	int i;

	(void)state;
	fx_init(&f);
	for (i = 0; i < 600; i++) {
		s.n = 0;
		put_ids(&s, (uint64_t)i % 13, 1 + (size_t)i % 9);
		put_values(&s, (uint64_t)i, 1);
		/* 9 bytes; with units that differ only in the last */
		put_label(&s, f.bytes, 0, 16 << (i % 6),
		    i % 4 == 0       ? 0
		        : i % 4 == 1 ? f.unit
		                     : f.unit2);
		put_sample(&f.b, &s);
	}
	fx_done(&f, "Go's layout");
}

/* Labels, then ids or values after them: the tail is not labels only. */
static void
test_labels_not_last(void **state)
{
	struct body s;
	struct fx f;
	int i;

	(void)state;
	fx_init(&f);
	for (i = 0; i < 60; i++) {
		s.n = 0;
		put_values(&s, (uint64_t)i, 2);
		put_label(&s, f.bytes, 0, 64, 0);
		put_ids(&s, (uint64_t)i % 5, 2); /* ids after the label */
		put_sample(&f.b, &s);
		s.n = 0;
		put_ids(&s, (uint64_t)i % 3, 3);
		put_label(&s, f.kind, f.small, 0, 0);
		put_values(&s, 3, (uint64_t)i % 4); /* values after it */
		put_sample(&f.b, &s);
		s.n = 0;
		put_ids(&s, 1, 2);
		put_label(&s, f.bytes, 0, 64, 0);
		put_label(&s, f.kind, f.small, 0, 0);
		put_values(&s, 1, 1); /* after two labels */
		put_sample(&f.b, &s);
	}
	fx_done(&f, "labels not last");
}

/* Two labels in either order; a label with neither value nor unit (Go
 * drops it); string labels longer than the key; one sample's labels as
 * the buffer's last bytes, which the key must not read past. */
static void
test_sets_and_edges(void **state)
{
	struct body s;
	struct fx f;
	int i;

	(void)state;
	fx_init(&f);
	for (i = 0; i < 40; i++) {
		s.n = 0;
		put_ids(&s, (uint64_t)i % 4, 2);
		put_values(&s, 1, 2);
		if (i % 2) {
			put_label(&s, f.bytes, 0, 512, 0);
			put_label(&s, f.kind, f.small, 0, 0);
		} else {
			put_label(&s, f.kind, f.small, 0, 0);
			put_label(&s, f.bytes, 0, 512, 0);
		}
		put_sample(&f.b, &s);
		s.n = 0;
		put_ids(&s, (uint64_t)i % 6, 4);
		put_values(&s, 2, 3);
		put_label(&s, f.kind, 0, 0, 0); /* dropped */
		put_sample(&f.b, &s);
		s.n = 0;
		put_ids(&s, (uint64_t)i % 3, 2);
		put_values(&s, 6, 7);
		put_label(&s, f.bytes, 0, 512, 0);
		put_label(&s, f.kind, i % 3 ? f.small : f.small2, 0, 0);
		put_sample(&f.b, &s); /* 15 bytes, told apart by the last */
		s.n = 0;
		put_ids(&s, (uint64_t)i % 2, 1);
		put_values(&s, 4, 5);
		put_label(&s, f.kind, f.big, 0, 0);
		put_label(&s, f.bytes, 0, 1 << 20, f.unit); /* 20 bytes */
		put_sample(&f.b, &s);
	}
	s.n = 0;
	put_ids(&s, 0, 2);
	put_values(&s, 1, 2);
	put_label(&s, f.bytes, 0, 512, 0);
	put_label(&s, f.kind, f.small, 0, 0);
	put_sample(&f.b, &s);
	fx_done(&f, "label sets and edges");
}

/* More distinct tails than the table keeps, then the first ones again. */
static void
test_table_full(void **state)
{
	struct body s;
	struct fx f;
	int i;

	(void)state;
	fx_init(&f);
	for (i = 0; i < 1500; i++) {
		s.n = 0;
		put_ids(&s, (uint64_t)i % 11, 3);
		put_values(&s, 1, (uint64_t)i);
		put_label(&s, f.bytes, 0, 1 + (i < 1000 ? i : i - 1000), 0);
		put_sample(&f.b, &s);
	}
	fx_done(&f, "table full");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_go_layout),
	    cmocka_unit_test(test_labels_not_last),
	    cmocka_unit_test(test_sets_and_edges),
	    cmocka_unit_test(test_table_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
