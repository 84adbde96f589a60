/*
 * Decoded profiles for the aggregator's tests, packed as a decoder would
 * send them: sample types alloc_objects, alloc_space, inuse_objects,
 * inuse_space (in that order, columns FX_AO..FX_IS), one frame per stack,
 * and an optional sample label per stack. Included by test_delta*.c and
 * test_series*.c; everything is static.
 */
#ifndef PROFPIPE_TEST_DELTA_FIXTURE_H
#define PROFPIPE_TEST_DELTA_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.pb-c.h"

enum { FX_AO, FX_AS, FX_IO, FX_IS, FX_NTYPES };

struct fx_stack {
	uint64_t hash;
	int64_t v[FX_NTYPES];
	const char *label;  /* value of label "span", or NULL */
	const char *label2; /* value of label "route", or NULL */
	int swap;           /* put "route" before "span" */
};

struct fx_profile {
	const char *id;
	const char *service;
	const char *kind;
	int is_delta;
	int64_t start_ns;
	const struct fx_stack *stacks;
	size_t n;
};

#define FX_MAX 64

/* Pack p into a malloc'd buffer (*len bytes); the caller frees it. */
static uint8_t *
fx_pack(const struct fx_profile *p, size_t *len)
{
	static const char *const fixed[] = {"", "alloc_objects", "count",
	    "alloc_space", "bytes", "inuse_objects", "inuse_space",
	    "main.work", "main.go", "span", "route"};
	enum {
		S_ALLOC_OBJECTS = 1,
		S_COUNT,
		S_ALLOC_SPACE,
		S_BYTES,
		S_INUSE_OBJECTS,
		S_INUSE_SPACE,
		S_FUNC,
		S_FILE,
		S_SPAN,
		S_ROUTE,
		S_NFIXED
	};
	Profpipe__Decoded d = PROFPIPE__DECODED__INIT;
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	Profpipe__ValueType vt[FX_NTYPES];
	Profpipe__ValueType *vtp[FX_NTYPES];
	Profpipe__SampleLabel sl[FX_MAX][2];
	Profpipe__SampleLabel *slp[FX_MAX][2];
	Profpipe__LabelSet ls[FX_MAX + 1];
	Profpipe__LabelSet *lsp[FX_MAX + 1];
	char *strings[S_NFIXED + 2 * FX_MAX];
	uint32_t fun[FX_MAX], file[FX_MAX], off[FX_MAX + 1], frames[FX_MAX];
	uint32_t labels[FX_MAX];
	int64_t line[FX_MAX], values[FX_MAX * FX_NTYPES];
	uint64_t hash[FX_MAX];
	static const uint32_t type_names[FX_NTYPES] = {
	    S_ALLOC_OBJECTS, S_ALLOC_SPACE, S_INUSE_OBJECTS, S_INUSE_SPACE};
	size_t ns = S_NFIXED;
	size_t i, t, k;
	uint8_t *buf;

	for (i = 0; i < S_NFIXED; i++)
		strings[i] = (char *)fixed[i];
	o.profile_id = (char *)p->id;
	o.source = "pull";
	o.kind = (char *)p->kind;
	o.service = (char *)(p->service ? p->service : "checkout");
	o.instance = "127.0.0.1:6060";
	o.start_ns = p->start_ns;
	o.end_ns = p->start_ns;
	o.is_delta = p->is_delta;
	d.origin = &o;
	for (t = 0; t < FX_NTYPES; t++) {
		profpipe__value_type__init(&vt[t]);
		vt[t].type = type_names[t];
		vt[t].unit = (t % 2) ? S_BYTES : S_COUNT;
		vtp[t] = &vt[t];
	}
	d.n_sample_types = FX_NTYPES;
	d.sample_types = vtp;
	profpipe__label_set__init(&ls[0]);
	lsp[0] = &ls[0];
	off[0] = 0;
	for (i = 0; i < p->n && i < FX_MAX; i++) {
		fun[i] = S_FUNC;
		file[i] = S_FILE;
		line[i] = (int64_t)i + 1;
		frames[i] = (uint32_t)i;
		off[i + 1] = (uint32_t)i + 1;
		hash[i] = p->stacks[i].hash;
		for (t = 0; t < FX_NTYPES; t++)
			values[i * FX_NTYPES + t] = p->stacks[i].v[t];
		profpipe__label_set__init(&ls[i + 1]);
		lsp[i + 1] = &ls[i + 1];
		k = 0;
		if (p->stacks[i].label != NULL) {
			profpipe__sample_label__init(&sl[i][k]);
			sl[i][k].key = S_SPAN;
			strings[ns] = (char *)p->stacks[i].label;
			sl[i][k].str = (uint32_t)ns++;
			slp[i][k] = &sl[i][k];
			k++;
		}
		if (p->stacks[i].label2 != NULL) {
			profpipe__sample_label__init(&sl[i][k]);
			sl[i][k].key = S_ROUTE;
			strings[ns] = (char *)p->stacks[i].label2;
			sl[i][k].str = (uint32_t)ns++;
			slp[i][k] = &sl[i][k];
			k++;
		}
		if (k == 2 && p->stacks[i].swap) {
			slp[i][0] = &sl[i][1];
			slp[i][1] = &sl[i][0];
		}
		ls[i + 1].n_labels = k;
		ls[i + 1].labels = slp[i];
		labels[i] = k ? (uint32_t)i + 1 : 0;
	}
	d.n_strings = ns;
	d.strings = strings;
	d.n_frame_function = d.n_frame_file = d.n_frame_line = p->n;
	d.frame_function = fun;
	d.frame_file = file;
	d.frame_line = line;
	d.n_stack_offset = p->n + 1;
	d.stack_offset = off;
	d.n_stack_frames = p->n;
	d.stack_frames = frames;
	d.n_stack_hash = p->n;
	d.stack_hash = hash;
	d.n_values = p->n * FX_NTYPES;
	d.values = values;
	d.n_stack_labels = p->n;
	d.stack_labels = labels;
	d.n_label_sets = p->n + 1;
	d.label_sets = lsp;
	d.n_samples = p->n;
	*len = profpipe__decoded__get_packed_size(&d);
	buf = malloc(*len ? *len : 1);
	if (buf != NULL)
		profpipe__decoded__pack(&d, buf);
	return buf;
}

/* Index of the first stack of o with this hash (and label "span" value,
 * or none when label is NULL), or -1 when o has none: dropped. */
static long
fx_find(const Profpipe__Decoded *o, uint64_t hash, const char *label)
{
	const Profpipe__LabelSet *ls;
	size_t i;

	for (i = 0; i < o->n_stack_hash; i++) {
		if (o->stack_hash[i] != hash)
			continue;
		ls = o->n_stack_labels && o->stack_labels[i]
		    ? o->label_sets[o->stack_labels[i]]
		    : NULL;
		if (label == NULL && (ls == NULL || ls->n_labels == 0))
			return (long)i;
		if (label != NULL && ls != NULL && ls->n_labels > 0 &&
		    strcmp(o->strings[ls->labels[0]->str], label) == 0)
			return (long)i;
	}
	return -1;
}

/* Value of type t of the stack with this hash and no label. */
static int64_t
fx_val(const Profpipe__Decoded *o, uint64_t hash, int t)
{
	long i = fx_find(o, hash, NULL);

	if (i < 0)
		return -999;
	return o->values[(size_t)i * o->n_sample_types + (size_t)t];
}

#endif
