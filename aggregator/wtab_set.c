/*
 * wtab_set: label sets interned by text. A set is put in a canonical
 * order (by key, value, number, unit) before it is looked up, so
 * {a=1,b=2} and {b=2,a=1} are one set. Moved out of wtab.c whole when
 * finding stacks by text (wtab_text.c) took it past 600 lines.
 */
#include <string.h>

#include "aggregator/wtab_int.h"
#include "common/hash.h"
#include "common/xalloc.h"

static int
wtab_label_cmp(const struct wtab *t, const Profpipe__SampleLabel *a,
    const Profpipe__SampleLabel *b)
{
	int c = strcmp(t->str[a->key], t->str[b->key]);

	if (c == 0)
		c = strcmp(t->str[a->str], t->str[b->str]);
	if (c == 0 && a->num != b->num)
		c = a->num < b->num ? -1 : 1;
	if (c == 0)
		c = strcmp(t->str[a->unit], t->str[b->unit]);
	return c;
}

struct wtab_ls_key {
	const struct wtab *t;
	const Profpipe__SampleLabel *l; /* canonical order, t's strings */
	size_t n;
};

static int
wtab_ls_eq(const void *ctx, uint32_t idx)
{
	const struct wtab_ls_key *k = ctx;
	const Profpipe__LabelSet *ls = k->t->ls[idx];
	size_t j;

	if (ls->n_labels != k->n)
		return 0;
	for (j = 0; j < k->n; j++) {
		if (ls->labels[j]->key != k->l[j].key ||
		    ls->labels[j]->str != k->l[j].str ||
		    ls->labels[j]->num != k->l[j].num ||
		    ls->labels[j]->unit != k->l[j].unit)
			return 0;
	}
	return 1;
}

static int
wtab_add_set(
    struct wtab *t, const struct wtab_ls_key *k, uint64_t h, uint32_t *out)
{
	Profpipe__SampleLabel init = PROFPIPE__SAMPLE_LABEL__INIT;
	Profpipe__LabelSet sinit = PROFPIPE__LABEL_SET__INIT;
	Profpipe__LabelSet *ls;
	Profpipe__SampleLabel *items;
	size_t cap;
	size_t j;

	if (t->n_ls == t->cap_ls) {
		if (wtab_grow(&t->ls, t->cap_ls, t->n_ls + 1, sizeof(*t->ls),
		        &cap) < 0)
			return -1;
		t->cap_ls = cap;
	}
	ls = xmalloc(sizeof(*ls) + k->n * (sizeof(items) + sizeof(*items)));
	if (ls == NULL)
		return -1;
	if (itab_add(&t->ls_ix, h, (uint32_t)t->n_ls) < 0) {
		xfree(ls);
		return -1;
	}
	*ls = sinit;
	ls->n_labels = k->n;
	ls->labels = (Profpipe__SampleLabel **)(ls + 1);
	items = (Profpipe__SampleLabel *)(ls->labels + k->n);
	for (j = 0; j < k->n; j++) {
		items[j] = init;
		items[j].key = k->l[j].key;
		items[j].str = k->l[j].str;
		items[j].num = k->l[j].num;
		items[j].unit = k->l[j].unit;
		ls->labels[j] = &items[j];
	}
	t->ls[t->n_ls] = ls;
	*out = (uint32_t)t->n_ls++;
	return 0;
}

int
wtab_map_set(struct wtab *t, const Profpipe__Decoded *src, struct wtab_maps *m,
    uint32_t i, uint32_t *out)
{
	const Profpipe__LabelSet *in = src->label_sets[i];
	Profpipe__SampleLabel *l;
	Profpipe__SampleLabel tmp;
	struct wtab_ls_key k;
	uint64_t h = HASH_SEED;
	size_t j;
	size_t u;

	if (m->ls[i] != UINT32_MAX || in->n_labels == 0) {
		*out = in->n_labels == 0 ? 0 : m->ls[i];
		return 0;
	}
	l = xmalloc(in->n_labels * sizeof(*l));
	if (l == NULL)
		return -1;
	for (j = 0; j < in->n_labels; j++) {
		l[j].num = in->labels[j]->num;
		if (wtab_map_str(t, src, m, in->labels[j]->key, &l[j].key) <
		        0 ||
		    wtab_map_str(t, src, m, in->labels[j]->str, &l[j].str) <
		        0 ||
		    wtab_map_str(t, src, m, in->labels[j]->unit, &l[j].unit) <
		        0)
			goto out_free_l;
		/* Insertion sort: label sets are short. */
		for (u = j; u > 0 && wtab_label_cmp(t, &l[u], &l[u - 1]) < 0;
		     u--) {
			tmp = l[u];
			l[u] = l[u - 1];
			l[u - 1] = tmp;
		}
	}
	for (j = 0; j < in->n_labels; j++) {
		h = hash_u64_inline(h, l[j].key);
		h = hash_u64_inline(h, l[j].str);
		h = hash_u64_inline(h, (uint64_t)l[j].num);
		h = hash_u64_inline(h, l[j].unit);
	}
	k.t = t;
	k.l = l;
	k.n = in->n_labels;
	if (itab_find(&t->ls_ix, h, wtab_ls_eq, &k, &m->ls[i]) < 0 &&
	    wtab_add_set(t, &k, h, &m->ls[i]) < 0)
		goto out_free_l;
	xfree(l);
	*out = m->ls[i];
	return 0;

out_free_l:
	xfree(l);
	return -1;
}
