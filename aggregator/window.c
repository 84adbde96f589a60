/*
 * window: merging into a window (window.h), folding past the stack cap,
 * and the wire message. Folding rebuilds the tables from the stacks it
 * keeps, so strings and frames only used by folded stacks are freed too:
 * a window's memory follows the stacks it holds.
 */
#include "aggregator/window.h"

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/decoded.h"
#include "common/uuid.h"
#include "common/xalloc.h"

/* Stacks looked up ahead of the one merged: enough to cover a miss. */
#define WINDOW_AHEAD 16

int
window_new(struct window **out, int64_t start_ns, int64_t end_ns,
    size_t max_stacks, int merged)
{
	struct window *w = xcalloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	if (wtab_init(&w->tab) < 0) {
		xfree(w);
		return -1;
	}
	w->start_ns = start_ns;
	w->end_ns = end_ns;
	w->max_stacks = max_stacks < 4 ? 4 : max_stacks;
	w->merged = merged;
	*out = w;
	return 0;
}

void
window_free(struct window *w)
{
	size_t i;

	if (w == NULL)
		return;
	wtab_release(&w->tab);
	for (i = 0; i < w->n_instances; i++)
		xfree(w->instances[i]);
	for (i = 0; i < w->n_labels; i++) {
		xfree(w->label_key[i]);
		xfree(w->label_val[i]);
	}
	xfree(w->instances);
	xfree(w->period_type);
	xfree(w->period_unit);
	xfree(w->service);
	xfree(w->instance);
	xfree(w->kind);
	xfree(w->job);
	xfree(w);
}

int
window_bounds(int64_t t_ns, int64_t len_ns, int64_t *start, int64_t *end)
{
	int64_t r = t_ns % len_ns;

	if (r < 0)
		r += len_ns;
	if (__builtin_sub_overflow(t_ns, r, start) ||
	    __builtin_add_overflow(*start, len_ns, end))
		return -1;
	return 0;
}

static int64_t
window_sum(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Remember the series' origin from the first profile. */
static int
window_take_origin(struct window *w, const Profpipe__Decoded *in)
{
	const Profpipe__Origin *o = in->origin;
	size_t i;

	w->service = xstrdup(o->service);
	w->instance = xstrdup(w->merged ? "" : o->instance);
	w->kind = xstrdup(o->kind);
	w->job = xstrdup(o->job);
	w->period_type = xstrdup(
	    in->period_type != NULL ? in->strings[in->period_type->type] : "");
	w->period_unit = xstrdup(
	    in->period_type != NULL ? in->strings[in->period_type->unit] : "");
	w->period = in->period;
	if (w->service == NULL || w->instance == NULL || w->kind == NULL ||
	    w->job == NULL || w->period_type == NULL || w->period_unit == NULL)
		return -1;
	for (i = 0; i < o->n_labels && i < WINDOW_MAX_LABELS; i++) {
		w->label_key[i] = xstrdup(o->labels[i]->key);
		w->label_val[i] = xstrdup(o->labels[i]->value);
		w->n_labels = i + 1;
		if (w->label_key[i] == NULL || w->label_val[i] == NULL)
			return -1;
	}
	return 0;
}

/* Add instance to the sorted list (unless listed, or the list is full). */
static int
window_note_instance(struct window *w, const char *instance)
{
	char **p;
	char *copy;
	size_t lo = 0;
	size_t hi = w->n_instances;
	size_t mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(w->instances[mid], instance);
		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (w->n_instances == WINDOW_MAX_INSTANCES)
		return 0;
	p = xrealloc(w->instances, (w->n_instances + 1) * sizeof(*p));
	if (p == NULL)
		return -1;
	w->instances = p;
	copy = xstrdup(instance);
	if (copy == NULL)
		return -1;
	memmove(p + lo + 1, p + lo, (w->n_instances - lo) * sizeof(*p));
	p[lo] = copy;
	w->n_instances++;
	return 0;
}

/* qsort_r: larger stacks first, compared from the last value type down,
 * then by index so the order is the same on every run. */
static int
window_cmp_size(const void *pa, const void *pb, void *arg)
{
	const struct wtab *t = arg;
	uint32_t a = *(const uint32_t *)pa;
	uint32_t b = *(const uint32_t *)pb;
	const int64_t *ra = t->st_val + (size_t)a * WTAB_MAX_TYPES;
	const int64_t *rb = t->st_val + (size_t)b * WTAB_MAX_TYPES;
	size_t k;

	for (k = t->n_types; k-- > 0;) {
		if (ra[k] != rb[k])
			return ra[k] > rb[k] ? -1 : 1;
	}
	return a < b ? -1 : a > b;
}

/* Keep the largest stacks, fold the others into "(other)", and rebuild
 * the tables from what is kept. */
static int
window_fold(struct window *w)
{
	struct wtab *old = &w->tab;
	int64_t other[WTAB_MAX_TYPES] = {0};
	Profpipe__Decoded view;
	struct wtab_maps m;
	struct wtab nt;
	struct arena *a;
	uint32_t *order;
	uint32_t other_old = UINT32_MAX;
	uint32_t other_new;
	int64_t *row;
	size_t keep = w->max_stacks * 3 / 4 - 1;
	size_t n = 0;
	size_t i;
	size_t k;
	size_t ty;
	int created;
	int rv = -1;

	a = arena_new(0);
	order = xmalloc((old->n_st + 1) * sizeof(*order));
	if (a == NULL || order == NULL || wtab_init(&nt) < 0)
		goto out_free_order;
	for (k = 0; k < old->n_types; k++) {
		if (wtab_type(&nt, old->str[old->vt_type[k]],
		        old->str[old->vt_unit[k]], &ty) < 0)
			goto out_release_nt;
	}
	if (wtab_other(old, &row, &other_old) < 0)
		goto out_release_nt;
	for (i = 0; i < old->n_st; i++) {
		if (i != other_old)
			order[n++] = (uint32_t)i;
	}
	qsort_r(order, n, sizeof(*order), window_cmp_size, old);
	wtab_view(old, &view);
	if (wtab_maps_new(&m, &view, a) < 0 ||
	    wtab_other(&nt, &row, &other_new) < 0)
		goto out_release_nt;
	for (k = 0; k < WTAB_MAX_TYPES; k++)
		other[k] = old->st_val[(size_t)other_old * WTAB_MAX_TYPES + k];
	for (i = 0; i < n; i++) {
		row = old->st_val + (size_t)order[i] * WTAB_MAX_TYPES;
		if (i >= keep) {
			for (k = 0; k < WTAB_MAX_TYPES; k++)
				other[k] = window_sum(other[k], row[k]);
			w->n_folded++;
			continue;
		}
		if (wtab_stack(&nt, &view, &m, order[i], &row, &created) < 0)
			goto out_release_nt;
		memcpy(row, old->st_val + (size_t)order[i] * WTAB_MAX_TYPES,
		    WTAB_MAX_TYPES * sizeof(*row));
	}
	memcpy(nt.st_val + (size_t)other_new * WTAB_MAX_TYPES, other,
	    sizeof(other));
	wtab_release(old);
	w->tab = nt;
	rv = 0;
	goto out_free_order;

out_release_nt:
	wtab_release(&nt);
out_free_order:
	xfree(order);
	arena_free(a);
	return rv;
}

/* Where each of in's value types goes in w (-1: absent, left out). */
static int
window_map_types(
    struct window *w, const Profpipe__Decoded *in, int *map, size_t n)
{
	const Profpipe__ValueType *vt;
	size_t fresh = 0;
	size_t t;
	size_t k;
	size_t ty;

	/* Count the new ones first, so a refusal changes nothing. */
	for (t = 0; t < n; t++) {
		vt = in->sample_types[t];
		if (vt->absent)
			continue;
		for (k = 0; k < w->tab.n_types; k++) {
			if (strcmp(w->tab.str[w->tab.vt_type[k]],
			        in->strings[vt->type]) == 0 &&
			    strcmp(w->tab.str[w->tab.vt_unit[k]],
			        in->strings[vt->unit]) == 0)
				break;
		}
		if (k == w->tab.n_types)
			fresh++;
	}
	if (w->tab.n_types + fresh > WTAB_MAX_TYPES)
		return -2;
	for (t = 0; t < n; t++) {
		vt = in->sample_types[t];
		map[t] = -1;
		if (vt->absent)
			continue;
		if (wtab_type(&w->tab, in->strings[vt->type],
		        in->strings[vt->unit], &ty) < 0)
			return -1;
		map[t] = (int)ty;
	}
	return 0;
}

static int
window_row_zero(const Profpipe__Decoded *in, const int *map, size_t i)
{
	size_t t;

	for (t = 0; t < in->n_sample_types; t++) {
		if (map[t] >= 0 && in->values[i * in->n_sample_types + t] != 0)
			return 0;
	}
	return 1;
}

int
window_add(
    struct window *w, const Profpipe__Decoded *in, struct arena *scratch)
{
	size_t nty = in->n_sample_types;
	size_t nst = decoded_n_stacks(in);
	struct wtab_maps m;
	int map[WTAB_MAX_TYPES * 4];
	int64_t *row;
	size_t i;
	size_t t;
	int created;
	int rv;

	if (nty > WTAB_MAX_TYPES * 4)
		return -2;
	rv = window_map_types(w, in, map, nty);
	if (rv < 0)
		return rv;
	if (w->service == NULL && window_take_origin(w, in) < 0)
		return -1;
	if (window_note_instance(w, in->origin->instance) < 0 ||
	    wtab_maps_new(&m, in, scratch) < 0)
		return -1;
	w->n_profiles++;
	for (i = 0; i < nst; i++) {
		if (i + WINDOW_AHEAD < nst)
			wtab_prefetch(&w->tab, in, &m, i + WINDOW_AHEAD);
		if (i + WINDOW_AHEAD / 2 < nst)
			wtab_prefetch_stack(
			    &w->tab, in, &m, i + WINDOW_AHEAD / 2);
		if (window_row_zero(in, map, i))
			continue;
		if (wtab_stack(&w->tab, in, &m, i, &row, &created) < 0)
			return -1;
		for (t = 0; t < nty; t++) {
			if (map[t] >= 0)
				row[map[t]] = window_sum(
				    row[map[t]], in->values[i * nty + t]);
		}
		if (created && w->tab.n_st > w->max_stacks) {
			/* The maps point into the old tables: start new
			 * ones (the scratch arena takes the old ones). */
			if (window_fold(w) < 0 ||
			    wtab_maps_new(&m, in, scratch) < 0)
				return -1;
		}
	}
	return 0;
}

static int
window_origin(const struct window *w, struct arena *a, Profpipe__Origin **out)
{
	Profpipe__Origin init = PROFPIPE__ORIGIN__INIT;
	Profpipe__Label linit = PROFPIPE__LABEL__INIT;
	Profpipe__Origin *o = arena_alloc(a, sizeof(*o));
	char *id = arena_alloc(a, UUID_STRLEN + 1);
	size_t i;

	if (o == NULL || id == NULL || uuid_v4(id) < 0)
		return -1;
	*o = init;
	o->profile_id = id;
	o->source = "";
	o->kind = w->kind;
	o->service = w->service;
	o->instance = w->instance;
	o->job = w->job;
	o->start_ns = w->start_ns;
	o->end_ns = w->end_ns;
	o->is_delta = 1;
	o->target = "";
	o->labels = arena_alloc(a, (w->n_labels + 1) * sizeof(*o->labels));
	if (o->labels == NULL)
		return -1;
	for (i = 0; i < w->n_labels; i++) {
		o->labels[i] = arena_alloc(a, sizeof(**o->labels));
		if (o->labels[i] == NULL)
			return -1;
		*o->labels[i] = linit;
		o->labels[i]->key = w->label_key[i];
		o->labels[i]->value = w->label_val[i];
	}
	o->n_labels = w->n_labels;
	*out = o;
	return 0;
}

static int
window_merged(struct window *w, struct arena *a, Profpipe__Decoded **out)
{
	Profpipe__ValueType vinit = PROFPIPE__VALUE_TYPE__INIT;
	const struct wtab *t = &w->tab;
	Profpipe__Decoded *d = arena_alloc(a, sizeof(*d));
	Profpipe__ValueType *vt;
	uint32_t pt;
	uint32_t pu;
	size_t nty = t->n_types;
	size_t i;
	size_t k;

	if (d == NULL || wtab_intern(&w->tab, w->period_type, &pt) < 0 ||
	    wtab_intern(&w->tab, w->period_unit, &pu) < 0)
		return -1;
	wtab_view(t, d);
	d->sample_types = arena_alloc(a, (nty + 1) * sizeof(vt));
	d->values = arena_alloc(a, (t->n_st * nty + 1) * sizeof(int64_t));
	vt = arena_alloc(a, (nty + 1) * sizeof(*vt));
	d->period_type = arena_alloc(a, sizeof(*d->period_type));
	if (d->sample_types == NULL || d->values == NULL || vt == NULL ||
	    d->period_type == NULL)
		return -1;
	for (k = 0; k < nty; k++) {
		vt[k] = vinit;
		vt[k].type = t->vt_type[k];
		vt[k].unit = t->vt_unit[k];
		d->sample_types[k] = &vt[k];
	}
	d->n_sample_types = nty;
	d->default_sample_type = nty > 0 ? (int32_t)(nty - 1) : 0;
	*d->period_type = vinit;
	d->period_type->type = pt;
	d->period_type->unit = pu;
	d->period = w->period;
	d->duration_ns = w->end_ns - w->start_ns;
	d->time_ns = w->start_ns;
	for (i = 0; i < t->n_st; i++) {
		for (k = 0; k < nty; k++)
			d->values[i * nty + k] =
			    t->st_val[i * WTAB_MAX_TYPES + k];
	}
	d->n_values = t->n_st * nty;
	*out = d;
	return 0;
}

int
window_message(struct window *w, struct arena *a, Profpipe__Window **out)
{
	Profpipe__Window init = PROFPIPE__WINDOW__INIT;
	Profpipe__Window *m = arena_alloc(a, sizeof(*m));

	if (m == NULL)
		return -1;
	*m = init;
	if (window_origin(w, a, &m->origin) < 0 ||
	    window_merged(w, a, &m->merged) < 0)
		return -1;
	m->n_profiles = w->n_profiles;
	m->n_instances = w->n_instances;
	m->instances = w->instances;
	m->n_folded = w->n_folded;
	*out = m;
	return 0;
}
