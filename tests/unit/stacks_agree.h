/*
 * stacks_agree: the check test_decode_stacks and test_decode_ltail share.
 * agree() reads a profile both ways: the plain reader (pprof_read, itself
 * checked against protobuf-c) expanded by hand into the text of each
 * sample's frames and labels, and decode_profile's Decoded keyed the same
 * way; it requires the same rows with the same sums. dense_tables() is
 * the table part of the built profiles.
 */
#ifndef PROFPIPE_TESTS_STACKS_AGREE_H
#define PROFPIPE_TESTS_STACKS_AGREE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The checks, and how a failure is reported: cmocka's by default; a
 * fuzz target defines its own (abort) before including this. */
#ifndef SA_CHECK
#include <cmocka.h>
#define SA_CHECK(c) assert_true(c)
#define SA_FAIL(...) fail_msg(__VA_ARGS__)
#endif

#include "common/buf.h"
#include "decoder/pprof.h"
#include "tests/unit/decode_util.h"

/* Separators in a key: between a frame's fields, after a frame. */
#define US "\x1f"
#define RS "\x1e"

struct row {
	char *key;
	int64_t v[8];
};

struct rows {
	struct row *r;
	size_t n;
	size_t cap;
	size_t nt;
};

static inline void
rows_add(struct rows *rs, struct buf *key, const int64_t *v)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 256;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
		SA_CHECK(rs->r != NULL);
	}
	SA_CHECK(!key->failed);
	rs->r[rs->n].key = strndup((const char *)key->data, key->len);
	SA_CHECK(rs->r[rs->n].key != NULL);
	memset(rs->r[rs->n].v, 0, sizeof(rs->r[rs->n].v));
	memcpy(rs->r[rs->n].v, v, rs->nt * sizeof(*v));
	rs->n++;
}

static inline int
row_cmp(const void *a, const void *b)
{
	return strcmp(
	    ((const struct row *)a)->key, ((const struct row *)b)->key);
}

/* Sort by key and sum rows with equal keys. */
static inline void
rows_fold(struct rows *rs)
{
	size_t i;
	size_t o = 0;
	size_t t;

	if (rs->n == 0)
		return; /* rs->r may be NULL: qsort's is declared nonnull */
	qsort(rs->r, rs->n, sizeof(*rs->r), row_cmp);
	for (i = 0; i < rs->n; i++) {
		if (o > 0 && strcmp(rs->r[o - 1].key, rs->r[i].key) == 0) {
			/* mod 2^64: the decoder sums in another order,
			 * and refuses only a total that overflows */
			for (t = 0; t < rs->nt; t++)
				rs->r[o - 1].v[t] =
				    (int64_t)((uint64_t)rs->r[o - 1].v[t] +
				        (uint64_t)rs->r[i].v[t]);
			free(rs->r[i].key);
			continue;
		}
		rs->r[o++] = rs->r[i];
	}
	rs->n = o;
}

static inline void
rows_free(struct rows *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		free(rs->r[i].key);
	free(rs->r);
}

static inline int
label_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "key=sSTR|num|unit" (a label with a str, "" too) or "key=n|num|unit"
 * per label, by text, sorted (a set has no order). */
static inline void
labels_key(struct buf *key, const char *const *str, size_t n,
    const uint32_t *k, const uint32_t *s, const int64_t *num,
    const uint32_t *unit)
{
	char **t = calloc(n + 1, sizeof(*t));
	size_t i;

	SA_CHECK(t != NULL);
	for (i = 0; i < n; i++) {
		SA_CHECK(asprintf(&t[i], "%s=%c%s|%lld|%s", str[k[i]],
		             s[i] != 0 ? 's' : 'n', str[s[i]],
		             (long long)num[i], str[unit[i]]) > 0);
	}
	qsort(t, n, sizeof(*t), label_cmp);
	buf_printf(key, "\x1d");
	for (i = 0; i < n; i++) {
		buf_printf(key, "%s\x1c", t[i]);
		free(t[i]);
	}
	free(t);
}

/* The samples as pprof_read has them, expanded by hand. */
static inline void
reference(const struct pprof_profile *pr, struct rows *rs)
{
	const struct pprof_location *l;
	const struct pprof_function *fn;
	const struct pprof_sample *smp;
	const char **str = calloc(pr->n_strings + 1, sizeof(*str));
	uint32_t k[DECODE_MAX_LABELS], s[DECODE_MAX_LABELS];
	uint32_t u[DECODE_MAX_LABELS];
	int64_t num[DECODE_MAX_LABELS];
	struct buf key;
	size_t i;
	uint32_t j;
	uint32_t m;

	SA_CHECK(str != NULL);
	for (i = 0; i < pr->n_strings; i++)
		str[i] = strndup(pr->strings[i].p, pr->strings[i].n);
	buf_init(&key, 0);
	for (i = 0; i < pr->n_samples; i++) {
		smp = &pr->samples[i];
		buf_clear(&key);
		for (j = 0; j < smp->n_loc; j++) {
			l = &pr->locations[smp->loc[j]];
			if (l->n_lines == 0)
				buf_printf(&key, "0x%llx" US US "0" RS,
				    (unsigned long long)l->address);
			for (m = 0; m < l->n_lines; m++) {
				fn = &pr->functions[l->lines[m].function];
				buf_printf(&key, "%s" US "%s" US "%lld" RS,
				    str[fn->name], str[fn->filename],
				    (long long)l->lines[m].line);
			}
		}
		/* As Go keeps them: a str, and then no num or unit. */
		for (j = 0; j < smp->n_labels; j++) {
			k[j] = smp->labels[j].key;
			s[j] = smp->labels[j].str;
			num[j] = s[j] != 0 ? 0 : smp->labels[j].num;
			u[j] = s[j] != 0 ? 0 : smp->labels[j].unit;
		}
		labels_key(&key, str, smp->n_labels, k, s, num, u);
		rows_add(rs, &key, pr->values + i * pr->n_sample_types);
	}
	buf_release(&key);
	for (i = 0; i < pr->n_strings; i++)
		free((char *)str[i]);
	free(str);
}

/* The Decoded's stacks, keyed the same way. */
static inline void
decoded(const Profpipe__Decoded *d, struct rows *rs)
{
	uint32_t k[DECODE_MAX_LABELS], s[DECODE_MAX_LABELS];
	uint32_t u[DECODE_MAX_LABELS];
	int64_t num[DECODE_MAX_LABELS];
	const Profpipe__LabelSet *ls;
	struct buf key;
	uint32_t f;
	size_t i;
	size_t j;

	buf_init(&key, 0);
	for (i = 0; i < d->n_stack_hash; i++) {
		buf_clear(&key);
		for (j = d->stack_offset[i]; j < d->stack_offset[i + 1]; j++) {
			f = d->stack_frames[j];
			buf_printf(&key, "%s" US "%s" US "%lld" RS,
			    d->strings[d->frame_function[f]],
			    d->strings[d->frame_file[f]],
			    (long long)d->frame_line[f]);
		}
		ls = d->label_sets[d->stack_labels[i]];
		for (j = 0; j < ls->n_labels; j++) {
			k[j] = ls->labels[j]->key;
			s[j] = ls->labels[j]->str;
			num[j] = ls->labels[j]->num;
			u[j] = ls->labels[j]->unit;
		}
		labels_key(&key, (const char *const *)d->strings, ls->n_labels,
		    k, s, num, u);
		rows_add(rs, &key, d->values + i * d->n_sample_types);
	}
	buf_release(&key);
}

/* Compare the one-pass decode of body with the plain read of it: 0 if
 * both read it and give the same rows; 1 if either refused it (err, errlen
 * say which and why: "pprof_read: ..." or "decode: ..."); 2 if the rows
 * agree but two decoded stacks share one (err says how many); a
 * difference is an SA_FAIL. */
static inline int
stacks_compare(const uint8_t *body, size_t len, const char *name, char *err,
    size_t errlen)
{
	struct arena *a = arena_new(0);
	struct decode_limits lim;
	struct pprof_profile pr;
	Profpipe__Decoded d;
	struct rows want = {NULL, 0, 0, 0};
	struct rows got = {NULL, 0, 0, 0};
	uint8_t *raw;
	size_t n;
	size_t i;
	char why[512];
	int rv = 1;

	SA_CHECK(a != NULL);
	decode_limits_default(&lim);
	raw = du_inflate(body, len, a, &n);
	if (raw == NULL) {
		snprintf(err, errlen, "inflate");
		goto done;
	}
	if (pprof_read(raw, n, &lim, a, &pr, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "pprof_read: %s", why);
		goto done;
	}
	if (decode_profile(body, len, &lim, a, &d, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "decode: %s", why);
		goto done;
	}
	if (pr.n_sample_types > 8) {
		snprintf(err, errlen, "more than 8 sample types");
		goto done;
	}
	SA_CHECK(d.n_samples == pr.n_samples);
	want.nt = got.nt = pr.n_sample_types;
	reference(&pr, &want);
	decoded(&d, &got);
	rows_fold(&want);
	rows_fold(&got);
	if (want.n != got.n)
		SA_FAIL("%s: %zu stacks by hand, %zu decoded", name, want.n,
		    got.n);
	for (i = 0; i < want.n; i++) {
		if (strcmp(want.r[i].key, got.r[i].key) != 0 ||
		    memcmp(want.r[i].v, got.r[i].v, sizeof(want.r[i].v)) != 0)
			SA_FAIL("%s: stack %zu differs", name, i);
	}
	/* The decoder collapses exactly: no two stacks share a key, their
	 * text, where no string has a NUL (frames are keyed by all their
	 * bytes, the key cuts at the NUL). */
	for (i = 0; i < pr.n_strings; i++) {
		if (memchr(pr.strings[i].p, 0, pr.strings[i].n) != NULL)
			break;
	}
	rv = got.n != d.n_stack_hash && i == pr.n_strings ? 2 : 0;
	if (rv == 2)
		snprintf(err, errlen, "%zu stacks decoded, %zu keys",
		    (size_t)d.n_stack_hash, got.n);
	else
		err[0] = '\0';
	rows_free(&want);
	rows_free(&got);
done:
	arena_free(a);
	return rv;
}

/* The one-pass decode of body and the plain read of it agree, and the
 * decoder's stacks are its rows. */
static inline void
agree(const uint8_t *body, size_t len, const char *name)
{
	char err[640];

	if (stacks_compare(body, len, name, err, sizeof(err)) != 0)
		SA_FAIL("%s: %s", name, err);
}

/* agree() on the profile d describes, packed. */
static inline void
agree_built(const struct du_prof *d, const char *name)
{
	size_t len;
	uint8_t *buf = du_pack(d, &len);

	SA_CHECK(buf != NULL);
	agree(buf, len, name);
	free(buf);
}

/* Functions a, b, c (ids 1 to 3) and dense location ids 1 to 40: 1 with
 * nlines lines (functions 1, 2, 3, 1, ...; lines 1, 2, ...), the others
 * one line each. */
static inline void
dense_tables(struct du_prof *d, size_t nlines)
{
	uint64_t fid[16];
	int64_t line[16];
	int64_t ln;
	uint64_t f;
	uint64_t i;

	SA_CHECK(nlines <= 16);
	for (i = 0; i < nlines; i++) {
		fid[i] = 1 + i % 3;
		line[i] = (int64_t)i + 1;
	}
	du_init(d);
	du_func(d, 1, "a", "a.go");
	du_func(d, 2, "b", "b.go");
	du_func(d, 3, "c", "c.go");
	du_loc(d, 1, nlines, fid, line);
	for (i = 2; i <= 40; i++) {
		f = 1 + i % 3;
		ln = (int64_t)i;
		du_loc(d, i, 1, &f, &ln);
	}
}

#endif
