/*
 * window_oracle: an independent reading of a Decoded's stacks for the
 * window and metrics tests: every (value type, stack text, label text)
 * with its value, as strings, so two profiles with unrelated string tables
 * compare by text alone. Sums of several profiles are made here by
 * sorting and adding, not by the code under test. Header-only.
 */
#ifndef PROFPIPE_TEST_WINDOW_ORACLE_H
#define PROFPIPE_TEST_WINDOW_ORACLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.pb-c.h"

struct wo_entry {
	char *key;
	int64_t val;
};

struct wo_set {
	struct wo_entry *e;
	size_t n, cap;
};

static int
wo_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
wo_cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct wo_entry *)a)->key,
	    ((const struct wo_entry *)b)->key);
}

/* The text of stack i of d for value type t. */
static char *
wo_key(const Profpipe__Decoded *d, size_t i, size_t t)
{
	const Profpipe__LabelSet *ls = NULL;
	char *labels[256];
	size_t nl = 0;
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	size_t j;

	fprintf(f, "%s/%s|", d->strings[d->sample_types[t]->type],
	    d->strings[d->sample_types[t]->unit]);
	for (j = d->stack_offset[i]; j < d->stack_offset[i + 1]; j++) {
		uint32_t fr = d->stack_frames[j];
		fprintf(f, "%s %s:%lld;", d->strings[d->frame_function[fr]],
		    d->strings[d->frame_file[fr]],
		    (long long)d->frame_line[fr]);
	}
	if (d->n_stack_labels > 0 && d->stack_labels[i] != 0)
		ls = d->label_sets[d->stack_labels[i]];
	for (j = 0; ls != NULL && j < ls->n_labels && nl < 256; j++) {
		const Profpipe__SampleLabel *l = ls->labels[j];
		if (asprintf(&labels[nl++], "%s=%s#%lld%s", d->strings[l->key],
		        d->strings[l->str], (long long)l->num,
		        d->strings[l->unit]) < 0)
			abort();
	}
	qsort(labels, nl, sizeof(*labels), wo_cmp_str);
	for (j = 0; j < nl; j++) {
		fprintf(f, "|%s", labels[j]);
		free(labels[j]);
	}
	fclose(f);
	return buf;
}

/* Add every non-zero value of d (not of absent types), times mult. */
static void
wo_add(struct wo_set *s, const Profpipe__Decoded *d, int64_t mult)
{
	size_t nty = d->n_sample_types;
	size_t nst = d->n_stack_offset ? d->n_stack_offset - 1 : 0;
	size_t i;
	size_t t;

	for (i = 0; i < nst; i++) {
		for (t = 0; t < nty; t++) {
			if (d->sample_types[t]->absent ||
			    d->values[i * nty + t] == 0)
				continue;
			if (s->n == s->cap) {
				s->cap = s->cap ? s->cap * 2 : 256;
				s->e = realloc(s->e, s->cap * sizeof(*s->e));
			}
			s->e[s->n].key = wo_key(d, i, t);
			s->e[s->n].val = d->values[i * nty + t] * mult;
			s->n++;
		}
	}
}

/* Sort and add up equal keys. */
static void
wo_sum(struct wo_set *s)
{
	size_t i;
	size_t k = 0;

	qsort(s->e, s->n, sizeof(*s->e), wo_cmp_entry);
	for (i = 0; i < s->n; i++) {
		if (k > 0 && strcmp(s->e[k - 1].key, s->e[i].key) == 0) {
			s->e[k - 1].val += s->e[i].val;
			free(s->e[i].key);
			continue;
		}
		s->e[k++] = s->e[i];
	}
	s->n = k;
}

/* The total of value type "type" over s. */
__attribute__((unused)) static int64_t
wo_total(const struct wo_set *s, const char *type)
{
	size_t len = strlen(type);
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strncmp(s->e[i].key, type, len) == 0 &&
		    s->e[i].key[len] == '/')
			sum += s->e[i].val;
	}
	return sum;
}

__attribute__((unused)) static const struct wo_entry *
wo_find(const struct wo_set *s, const char *key)
{
	struct wo_entry k = {(char *)key, 0};

	return bsearch(&k, s->e, s->n, sizeof(*s->e), wo_cmp_entry);
}

static void
wo_free(struct wo_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->e[i].key);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

#endif
