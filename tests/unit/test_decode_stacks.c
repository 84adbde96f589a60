/*
 * test_decode_stacks: the decoder's one-pass sample reader against the
 * plain one. decoder_run reads each sample straight into a stack
 * (pprof_read_stack: ids decoded 8 bytes at a time, frames copied from
 * per-location runs, the hash summed); pprof_read keeps the samples as
 * read, and is itself checked against protobuf-c (test_pprof_diff). Here
 * every sample read the plain way is expanded by hand into the text of
 * its frames and its labels, summed by that key, and compared with the
 * Decoded's stacks keyed the same way: on every corpus profile, and on
 * built ones that take the careful paths (sparse ids, locations with more
 * lines than the fast copy, locations without lines) and step over the
 * fast path's edges.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "decoder/pprof.h"
#include "tests/unit/decode_util.h"
#include "tests/unit/stacks_agree.h"

static void
agree_dir(const char *dir)
{
	char path[1024];
	struct dirent *e;
	uint8_t *body;
	size_t len;
	DIR *dh = opendir(dir);
	int seen = 0;

	assert_non_null(dh);
	while ((e = readdir(dh)) != NULL) {
		if (strstr(e->d_name, ".pb") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		body = du_slurp(path, &len);
		assert_non_null(body);
		agree(body, len, e->d_name);
		free(body);
		seen++;
	}
	closedir(dh);
	assert_true(seen >= 5);
}

static void
test_corpus_real(void **state)
{
	(void)state;
	agree_dir(CORPUS "/real");
}

static void
test_corpus_synth(void **state)
{
	(void)state;
	agree_dir(CORPUS "/synth");
}

/* Sparse ids (so no fast path), a location of six lines (more than the
 * 16-byte copy), one without lines, labels in two orders. */
static void
test_built_careful_paths(void **state)
{
	static const uint64_t fid[6] = {11, 12, 13, 11, 12, 13};
	static const int64_t line[6] = {1, 2, 3, 4, 5, 6};
	static const uint64_t one = 11;
	static const int64_t l9 = 9;
	uint64_t locs[40];
	struct du_prof d;
	Perftools__Profiles__Sample *s;
	int64_t kk;
	int64_t kv;
	int64_t kn;
	size_t i;

	(void)state;
	du_init(&d);
	du_func(&d, 11, "a", "a.go");
	du_func(&d, 12, "b", "b.go");
	du_func(&d, 13, "c", "c.go");
	du_loc(&d, 900, 6, fid, line);
	du_loc(&d, 7, 1, &one, &l9);
	du_loc(&d, 123456789, 0, NULL, NULL);
	for (i = 0; i < 40; i++)
		locs[i] = i % 3 == 0 ? 900 : i % 3 == 1 ? 7 : 123456789;
	kk = du_str(&d, "k");
	kv = du_str(&d, "v");
	kn = du_str(&d, "n");
	s = du_sample(&d, 40, locs, 1, 2);
	du_label(&d, s, kk, kv, 0);
	du_label(&d, s, kn, 0, 5);
	s = du_sample(&d, 40, locs, 3, 4);
	du_label(&d, s, kn, 0, 5);
	du_label(&d, s, kk, kv, 0);
	du_sample(&d, 7, locs, 5, 6);
	du_sample(&d, 1, locs + 1, 7, 8);
	agree_built(&d, "built sparse");
}

/* Go keeps a label's str and drops its num and unit then, so samples
 * whose labels differ only there are one stack: agree() checks that the
 * decoder collapses them (one key, one stack). */
static void
test_built_str_wins(void **state)
{
	static const uint64_t fid = 11;
	static const int64_t line = 3;
	static const uint64_t loc = 1;
	struct du_prof d;
	Perftools__Profiles__Sample *s;
	int64_t kk;
	int64_t kv;
	int64_t ku;

	(void)state;
	du_init(&d);
	du_func(&d, 11, "a", "a.go");
	du_loc(&d, 1, 1, &fid, &line);
	kk = du_str(&d, "k");
	kv = du_str(&d, "v");
	ku = du_str(&d, "u");
	du_label(&d, du_sample(&d, 1, &loc, 1, 2), kk, kv, 7);
	du_label(&d, du_sample(&d, 1, &loc, 3, 4), kk, kv, 8);
	du_label(&d, du_sample(&d, 1, &loc, 5, 6), kk, kv, 0);
	s = du_sample(&d, 1, &loc, 7, 8);
	du_label(&d, s, kk, kv, 9);
	s->label[0]->num_unit = ku;
	agree_built(&d, "built, str with num or unit");
}

/* A writer that repeats strings in its table: labels naming either copy
 * of a text are one label, so their samples are one stack (agree()
 * checks there is one stack per text); a unit of "" is no unit. Frames
 * are keyed by text too: functions a and a' have the same text. */
static void
test_built_repeated_strings(void **state)
{
	static const uint64_t fid1 = 11;
	static const uint64_t fid2 = 12;
	static const int64_t line = 3;
	static const uint64_t loc1 = 1;
	static const uint64_t loc2 = 2;
	struct du_prof d;
	Perftools__Profiles__Sample *s;
	int64_t k[2];
	int64_t v[2];
	int64_t u[2];
	int64_t e[2];
	int i;

	(void)state;
	du_init(&d);
	du_func(&d, 11, "a", "a.go");
	du_func(&d, 12, "a", "a.go");
	du_loc(&d, 1, 1, &fid1, &line);
	du_loc(&d, 2, 1, &fid2, &line);
	for (i = 0; i < 2; i++) {
		k[i] = du_str(&d, "k");
		v[i] = du_str(&d, "v");
		u[i] = du_str(&d, "u");
		e[i] = du_str(&d, "");
	}
	for (i = 0; i < 2; i++) {
		/* k=v; k=5 u; k="" (a str); k=6 with a unit "" */
		du_label(&d, du_sample(&d, 1, i ? &loc2 : &loc1, 1, 2), k[i],
		    v[1 - i], 0);
		s = du_sample(&d, 1, &loc1, 3, 4);
		du_label(&d, s, k[1 - i], 0, 5);
		s->label[0]->num_unit = u[i];
		du_label(&d, du_sample(&d, 1, &loc2, 5, 6), k[i], e[i], 0);
		s = du_sample(&d, 1, &loc1, 7, 8);
		du_label(&d, s, k[i], 0, 6);
		if (i == 1)
			s->label[0]->num_unit = e[0];
	}
	agree_built(&d, "built, repeated strings");
}

/* Dense ids, a location of 6, 9 or 13 lines among one-line ones (the
 * fast loop copies frames 4 at a time: one, two and three more copies),
 * stacks whose lengths step over the 8-byte loads' edges. */
static void
test_built_fast_path_edges(void **state)
{
	static const size_t nlines[] = {6, 9, 13};
	uint64_t locs[64];
	struct du_prof d;
	uint8_t *buf;
	size_t len;
	size_t i;
	size_t t;

	(void)state;
	for (t = 0; t < sizeof(nlines) / sizeof(nlines[0]); t++) {
		dense_tables(&d, nlines[t]);
		for (i = 0; i < 64; i++)
			locs[i] = 1 + (i * 7) % 40;
		for (i = 1; i <= 12; i++)
			du_sample(&d, i * 3, locs + (i % 3), (int64_t)i, 1);
		buf = du_pack(&d, &len);
		assert_non_null(buf);
		agree(buf, len, "built dense");
		free(buf);
	}
}

/* Layouts other than Go's: strings before and between the samples. The
 * decoder NUL-terminates a string in place, on the byte after it, which
 * is the next field's tag: a sample reader that read a sample's tag again
 * afterwards found field 0 there (a fuzzer's 6-byte find, now refused
 * cleanly below). */
static void
test_built_layouts(void **state)
{
	/* sample_type {1, 2}; strings "", "x", "y"; samples of value 5, 7 */
	static const uint8_t before[] = {0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,
	    0x32, 0x00, 0x32, 0x01, 'x', 0x32, 0x01, 'y', 0x12, 0x02, 0x10,
	    0x05, 0x12, 0x02, 0x10, 0x07};
	static const uint8_t between[] = {0x0a, 0x04, 0x08, 0x01, 0x10, 0x02,
	    0x32, 0x00, 0x32, 0x01, 'x', 0x12, 0x02, 0x10, 0x05, 0x32, 0x01,
	    'y', 0x12, 0x02, 0x10, 0x07};
	static const uint8_t found[] = {0x0a, 0x00, 0x32, 0x00, 0x12, 0x00};
	struct arena *a = arena_new(0);
	struct decode_limits lim;
	Profpipe__Decoded d;
	char err[512];

	(void)state;
	agree(before, sizeof(before), "strings before the samples");
	agree(between, sizeof(between), "a string between samples");
	assert_non_null(a);
	decode_limits_default(&lim);
	assert_int_equal(decode_profile(before, sizeof(before), &lim, a, &d,
	                     err, sizeof(err)),
	    0);
	assert_int_equal(d.n_stack_hash, 1);
	assert_int_equal(d.values[0], 12);
	assert_int_equal(decode_profile(found, sizeof(found), &lim, a, &d, err,
	                     sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "0 values for 1 sample types"));
	arena_free(a);
}

/* A raw sample (field 2) of values 1 and v: location ids as the packed
 * lists lists[0 .. nl) (n[i] ids each) or, where packed[i] is 0, one
 * varint field per id; then a "bytes" label of num, unless num < 0. */
static void
raw_sample(struct buf *b, size_t nl, const uint64_t *const *lists,
    const size_t *n, const int *packed, int64_t key, int64_t num, int64_t v)
{
	uint8_t body[1024];
	uint8_t ids[512];
	uint8_t hdr[16];
	size_t len = 0;
	size_t k;
	size_t i;
	size_t j;

	for (i = 0; i < nl; i++) {
		for (j = 0, k = 0; j < n[i]; j++) {
			if (!packed[i]) {
				len += du_tag(body + len, 1, 0);
				len += du_varint(body + len, lists[i][j]);
			} else {
				k += du_varint(ids + k, lists[i][j]);
			}
		}
		if (packed[i]) {
			len += du_tag(body + len, 1, 2);
			len += du_varint(body + len, k);
			memcpy(body + len, ids, k);
			len += k;
		}
	}
	len += du_tag(body + len, 2, 0);
	len += du_varint(body + len, 1);
	len += du_tag(body + len, 2, 0);
	len += du_varint(body + len, (uint64_t)v);
	if (num >= 0) {
		k = du_tag(ids, 1, 0);
		k += du_varint(ids + k, (uint64_t)key);
		k += du_tag(ids + k, 3, 0);
		k += du_varint(ids + k, (uint64_t)num);
		len += du_tag(body + len, 3, 2);
		len += du_varint(body + len, k);
		memcpy(body + len, ids, k);
		len += k;
	}
	k = du_tag(hdr, 2, 2);
	k += du_varint(hdr + k, len);
	assert_int_equal(buf_append(b, hdr, k), 0);
	assert_int_equal(buf_append(b, body, len), 0);
}

/* A sample of a list seen often, between two that test the memo. */
static void
filler(struct buf *b, const uint64_t *all, int64_t key)
{
	static const size_t n = 3;
	static const int one = 1;

	raw_sample(b, 1, &all, &n, &one, key, 99, 1);
}

/* Stacks repeated under many labels, as in a real heap profile, so that
 * the reader's memo of location lists (pprof_memo.h) takes most of them
 * whole: lists shorter and longer than its 8-byte loads, the same list
 * under the same label again (collapsed), enough samples to pass its
 * trial; and the layouts it must not take whole: a list after another,
 * after a varint id, after an empty list, a list without labels, and a
 * remembered list as the buffer's last bytes. */
static void
test_built_memo(void **state)
{
	static const size_t len[5] = {1, 3, 8, 9, 20};
	static const int one = 1;
	static const int both[2] = {1, 1};
	static const int mixed[2] = {0, 1};
	static const int after[2] = {1, 0};
	uint64_t all[24];
	const uint64_t *lists[2];
	size_t n[2];
	struct du_prof d;
	struct buf b;
	int64_t key;
	uint8_t *tables;
	size_t tlen;
	size_t i;

	(void)state;
	dense_tables(&d, 3);
	key = du_str(&d, "bytes");
	for (i = 0; i < 24; i++)
		all[i] = 1 + (i * 11) % 40;
	tables = du_pack(&d, &tlen);
	assert_non_null(tables);
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, tables, tlen), 0);
	for (i = 0; i < 1200; i++) {
		lists[0] = all + i % 3;
		n[0] = len[i % 5];
		raw_sample(&b, 1, lists, n, &one, key,
		    i % 7 == 0 ? 7 : (int64_t)i, (int64_t)i);
	}
	/* Lists not seen before, each then alone: what the memo holds for
	 * them must be the list's frames, not the whole sample's. A sample
	 * is remembered once the next one is read (rs_stacks looks each up
	 * one sample late), so one comes between. */
	lists[0] = all + 4;
	n[0] = 2;
	lists[1] = all + 5;
	n[1] = 9;
	raw_sample(&b, 2, lists, n, both, key, 1, 5); /* two lists */
	filler(&b, all, key);
	raw_sample(&b, 1, lists, n, &one, key, 2, 6);
	lists[0] = all + 6;
	raw_sample(&b, 2, lists, n, mixed, key, 3, 7); /* varints, a list */
	filler(&b, all, key);
	raw_sample(&b, 1, lists + 1, n + 1, &one, key, 4, 8);
	lists[0] = all + 9;
	n[0] = 2;
	raw_sample(&b, 2, lists, n, after, key, 11, 13); /* a list, varints */
	filler(&b, all, key);
	raw_sample(&b, 1, lists, n, &one, key, 12, 14);
	lists[0] = all + 7;
	n[0] = 0;
	lists[1] = all + 8;
	raw_sample(&b, 2, lists, n, both, key, 5, 9); /* empty, a list */
	filler(&b, all, key);
	raw_sample(&b, 1, lists + 1, n + 1, &one, key, 6, 10);
	lists[0] = all + 1;
	n[0] = 20;
	raw_sample(&b, 1, lists, n, &one, key, -1, 11); /* no labels */
	lists[0] = all + 2;
	n[0] = 3;
	raw_sample(&b, 1, lists, n, &one, key, 7, 12); /* last bytes */
	agree(b.data, b.len, "built memo");
	buf_release(&b);
	free(tables);
}

/* Tables and no sample: nothing to agree on but the emptiness, with no
 * row array at all on the plain side (a fuzz run found its sort handed
 * a null pointer, which UBSan stops on). */
static void
test_built_no_samples(void **state)
{
	struct du_prof d;
	uint8_t *tables;
	size_t tlen;

	(void)state;
	dense_tables(&d, 2);
	tables = du_pack(&d, &tlen);
	assert_non_null(tables);
	agree(tables, tlen, "built, no samples");
	free(tables);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_real),
	    cmocka_unit_test(test_corpus_synth),
	    cmocka_unit_test(test_built_careful_paths),
	    cmocka_unit_test(test_built_str_wins),
	    cmocka_unit_test(test_built_repeated_strings),
	    cmocka_unit_test(test_built_fast_path_edges),
	    cmocka_unit_test(test_built_layouts),
	    cmocka_unit_test(test_built_memo),
	    cmocka_unit_test(test_built_no_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
