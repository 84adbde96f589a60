/*
 * delta: cumulative heap counters to per-profile deltas (rules in delta.h).
 * One profile is worked through in a few flat passes over its stacks:
 * classify the sample types, pick the mode from the series totals, build
 * the next baseline (stacks the current one knows first, so the set a
 * capped baseline tracks stays put), emit each stack's values, and copy the
 * stacks that kept a non-zero value into the result (or lend it in's
 * arrays when all did).
 */
#include "aggregator/delta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/stacktab.h"
#include "common/arena.h"
#include "common/decoded.h"
#include "common/hash.h"

/* Stacks looked ahead of the one looked up: enough to cover a miss. */
#define DELTA_AHEAD 16

/* One delta_apply call's working state; arrays live in the arena. */
struct delta_run {
	const Profpipe__Decoded *in;
	const struct delta_state *prev; /* NULL: no baseline */
	size_t nst;                     /* stacks */
	size_t nty;                     /* sample types */
	int *slot;                      /* per type: enum delta_slot or -1 */
	unsigned present;               /* slots in this profile */
	unsigned absent;                /* slots emitted absent */
	int64_t total[DELTA_NSLOTS];
	enum delta_mode mode;
	uint64_t *key;        /* per stack */
	unsigned char *known; /* per stack: its key is in prev */
	int64_t *was;         /* nst x nty: prev's value of a known key */
	int64_t **row;        /* per stack: its row in next, NULL: refused */
	unsigned char *first; /* per stack: first of its key */
	size_t shared;        /* stacks whose key an earlier one has */
	struct delta_state next;
	int64_t *emit;       /* nst x nty */
	unsigned char *keep; /* per stack: some value is not 0 */
	size_t kept;         /* stacks kept */
	size_t refused;
	size_t untracked;
};

static const char *const delta_slot_names[DELTA_NSLOTS] = {
    "alloc_objects",
    "alloc_space",
    "contentions",
    "delay",
};

/* The kinds whose profiles Go reports cumulative (without seconds=). */
static int
delta_kind_cumulative(const char *kind)
{
	return strcmp(kind, "mem") == 0 || strcmp(kind, "allocs") == 0 ||
	    strcmp(kind, "mutex") == 0 || strcmp(kind, "block") == 0;
}

const char *
delta_mode_name(enum delta_mode m)
{
	switch (m) {
	case DELTA_PASS:
		return "passed";
	case DELTA_FIRST:
		return "first of its series, no alloc delta";
	case DELTA_APPLIED:
		return "alloc delta applied";
	case DELTA_RESTART:
		return "process restarted, values taken as delta";
	case DELTA_OUT_OF_ORDER:
		return "out of order, no alloc delta";
	}
	return "?";
}

static int
delta_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The aggregator finds alloc_* by name: each must be there once. Sorted,
 * so that a message with many types costs n log n, not n^2. */
static int
delta_check_names(
    struct arena *a, const Profpipe__Decoded *d, char *err, size_t errlen)
{
	const char **names;
	size_t t;

	if (d->n_sample_types < 2)
		return 0;
	names = arena_alloc(a, d->n_sample_types * sizeof(*names));
	if (names == NULL) {
		snprintf(err, errlen, "out of memory for %zu sample types",
		    d->n_sample_types);
		return -1;
	}
	for (t = 0; t < d->n_sample_types; t++)
		names[t] = d->strings[d->sample_types[t]->type];
	qsort(names, d->n_sample_types, sizeof(*names), delta_name_cmp);
	for (t = 1; t < d->n_sample_types; t++) {
		if (strcmp(names[t - 1], names[t]) == 0) {
			snprintf(err, errlen,
			    "sample type \"%s\" appears twice", names[t]);
			return -1;
		}
	}
	return 0;
}

int
delta_unpack(struct arena *a, const void *buf, size_t len,
    Profpipe__Decoded **out, char *err, size_t errlen)
{
	ProtobufCAllocator pa;
	Profpipe__Decoded *d;

	arena_pb_allocator(a, &pa);
	d = profpipe__decoded__unpack(&pa, len, buf);
	if (d == NULL) {
		snprintf(err, errlen,
		    "not a readable Decoded message (%zu bytes)", len);
		return -1;
	}
	if (decoded_check(d, err, errlen) < 0 ||
	    delta_check_names(a, d, err, errlen) < 0)
		return -1;
	if (d->origin->profile_id[0] == '\0') {
		snprintf(err, errlen, "no profile_id");
		return -1;
	}
	*out = d;
	return 0;
}

void
delta_state_release(struct delta_state *st)
{
	stacktab_free(st->stacks);
	memset(st, 0, sizeof(*st));
}

void
delta_commit(struct delta_state *st, struct delta_state *next)
{
	if (next->stacks == NULL)
		return;
	delta_state_release(st);
	*st = *next;
	memset(next, 0, sizeof(*next));
}

static int64_t
delta_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static int64_t
delta_value(const struct delta_run *r, size_t i, size_t t)
{
	return r->in->values[i * r->nty + t];
}

/* Which types are cumulative, and this profile's total of each. 0 when
 * none is: the profile passes as it came. */
static int
delta_classify(struct delta_run *r, struct arena *a)
{
	const Profpipe__Origin *o = r->in->origin;
	const char *name;
	size_t i;
	size_t t;
	int s;

	if (o->is_delta || !delta_kind_cumulative(o->kind))
		return 0;
	r->slot = arena_alloc(a, (r->nty + 1) * sizeof(*r->slot));
	if (r->slot == NULL)
		return -1;
	for (t = 0; t < r->nty; t++) {
		name = r->in->strings[r->in->sample_types[t]->type];
		r->slot[t] = -1;
		for (s = 0; s < DELTA_NSLOTS; s++) {
			if (strcmp(name, delta_slot_names[s]) == 0)
				r->slot[t] = s;
		}
		if (r->slot[t] < 0)
			continue;
		r->present |= 1u << r->slot[t];
		for (i = 0; i < r->nst; i++)
			r->total[r->slot[t]] = delta_add(
			    r->total[r->slot[t]], delta_value(r, i, t));
	}
	return r->present != 0;
}

static void
delta_pick_mode(struct delta_run *r)
{
	const struct delta_state *p = r->prev;
	unsigned both;
	int s;

	if (p == NULL || p->stacks == NULL) {
		r->mode = DELTA_FIRST;
		r->absent = r->present;
		return;
	}
	if (r->in->origin->start_ns < p->start_ns) {
		r->mode = DELTA_OUT_OF_ORDER;
		r->absent = r->present;
		return;
	}
	/* A slot the baseline lacked has nothing to subtract: absent. */
	r->absent = r->present & ~p->present;
	both = r->present & p->present;
	r->mode = DELTA_APPLIED;
	for (s = 0; s < DELTA_NSLOTS; s++) {
		if ((both & (1u << s)) && r->total[s] < p->total[s])
			r->mode = DELTA_RESTART;
	}
}

/* stack_hash mixed with the text of the stack's labels (sums from
 * decoded_label_set_sums: label sets are shared by many stacks, and
 * hashing their text once per set rather than once per stack was a
 * tenth of the aggregator's time on labelled profiles). */
static uint64_t
delta_stack_key(const Profpipe__Decoded *in, const uint64_t *sums, size_t i)
{
	uint32_t ls;

	if (in->n_stack_labels == 0 || in->stack_labels[i] == 0)
		return in->stack_hash[i];
	ls = in->stack_labels[i];
	if (in->label_sets[ls]->n_labels == 0)
		return in->stack_hash[i];
	return hash_u64_inline(in->stack_hash[i], sums[ls]);
}

/* Add stack i's cumulative values to its row of the next baseline, and
 * remember the row: rows stay put (stacktab never rehashes), so the emit
 * pass reads a key's sum without a second lookup. */
static void
delta_take(struct delta_run *r, size_t i)
{
	int64_t *row;
	int created;
	size_t t;

	if (stacktab_put(r->next.stacks, r->key[i], &row, &created) < 0) {
		r->refused++;
		return;
	}
	r->row[i] = row;
	r->first[i] = (unsigned char)created;
	r->shared += !created;
	for (t = 0; t < r->nty; t++) {
		if (r->slot[t] >= 0)
			row[r->slot[t]] =
			    delta_add(row[r->slot[t]], delta_value(r, i, t));
	}
}

/* Look stack i up in prev, copying what prev holds for it beside the
 * stack's own values: the emit pass then walks two arrays in order where
 * it would go back to prev's table, in no order, for every stack. */
static void
delta_known(struct delta_run *r, const struct stacktab *prev, size_t i)
{
	const int64_t *was = stacktab_get(prev, r->key[i]);
	size_t t;

	r->known[i] = was != NULL;
	if (was == NULL)
		return;
	for (t = 0; t < r->nty; t++) {
		if (r->slot[t] >= 0)
			r->was[i * r->nty + t] = was[r->slot[t]];
	}
}

static int
delta_baseline(struct delta_run *r, size_t max_stacks, struct arena *a)
{
	const struct stacktab *prev = r->prev ? r->prev->stacks : NULL;
	uint64_t *sums = decoded_label_set_sums(r->in, a);
	size_t i;

	r->key = arena_alloc(a, (r->nst + 1) * sizeof(*r->key));
	r->known = arena_calloc(a, r->nst + 1, 1);
	r->was = arena_alloc(a, (r->nst * r->nty + 1) * sizeof(*r->was));
	r->row = arena_calloc(a, r->nst + 1, sizeof(*r->row));
	r->first = arena_calloc(a, r->nst + 1, 1);
	if (sums == NULL || r->key == NULL || r->known == NULL ||
	    r->was == NULL || r->row == NULL || r->first == NULL)
		return -1;
	if (stacktab_new(&r->next.stacks, DELTA_NSLOTS,
	        r->nst < max_stacks ? r->nst : max_stacks) < 0)
		return -1;
	for (i = 0; i < r->nst; i++)
		r->key[i] = delta_stack_key(r->in, sums, i);
	for (i = 0; prev != NULL && i < r->nst; i++) {
		if (i + DELTA_AHEAD < r->nst)
			stacktab_prefetch(prev, r->key[i + DELTA_AHEAD]);
		delta_known(r, prev, i);
	}
	/* Known stacks first: a capped baseline keeps tracking the same
	 * stacks, and those of prev always fit (prev held <= max_stacks). */
	for (i = 0; i < r->nst; i++) {
		if (i + DELTA_AHEAD < r->nst)
			stacktab_prefetch(
			    r->next.stacks, r->key[i + DELTA_AHEAD]);
		if (r->known[i])
			delta_take(r, i);
	}
	for (i = 0; i < r->nst; i++) {
		if (i + DELTA_AHEAD < r->nst && !r->known[i + DELTA_AHEAD])
			stacktab_prefetch(
			    r->next.stacks, r->key[i + DELTA_AHEAD]);
		if (!r->known[i])
			delta_take(r, i);
	}
	r->next.start_ns = r->in->origin->start_ns;
	memcpy(r->next.total, r->total, sizeof(r->total));
	r->next.present = r->present;
	r->next.overflowed = r->refused > 0;
	return 0;
}

/* Stack i's delta for cumulative type t (slot s) in DELTA_APPLIED mode:
 * against its key's sum in next, which is the stack's own value unless
 * another stack shares its key (then the first carries the delta). */
static int64_t
delta_one(const struct delta_run *r, size_t i, size_t t, int s)
{
	int64_t was;
	int64_t now;
	int64_t d;

	if (!r->known[i])
		return r->prev->overflowed ? 0 : delta_value(r, i, t);
	if (r->row[i] == NULL)
		return delta_value(r, i, t);
	if (r->shared == 0) {
		now = delta_value(r, i, t);
	} else {
		if (!r->first[i])
			return 0;
		now = r->row[i][s];
	}
	was = r->was[i * r->nty + t];
	if (__builtin_sub_overflow(now, was, &d) || d < 0)
		return now;
	return d;
}

/* How type t is emitted: its delta, its value as it came, or 0. */
enum delta_how { DELTA_HOW_VALUE, DELTA_HOW_ZERO, DELTA_HOW_DELTA };

static enum delta_how
delta_how(const struct delta_run *r, size_t t)
{
	int s = r->slot[t];

	if (s >= 0 && (r->absent & (1u << s)))
		return DELTA_HOW_ZERO;
	if (s < 0 || r->mode == DELTA_RESTART)
		return DELTA_HOW_VALUE;
	return DELTA_HOW_DELTA;
}

/* Each stack's values, and whether any of them is not 0 (keep). */
static int
delta_emit(struct delta_run *r, struct arena *a)
{
	enum delta_how *how;
	int64_t *e;
	int64_t v;
	size_t i;
	size_t t;
	int nz;

	r->emit = arena_alloc(a, (r->nst * r->nty + 1) * sizeof(*r->emit));
	r->keep = arena_alloc(a, r->nst + 1);
	how = arena_alloc(a, (r->nty + 1) * sizeof(*how));
	if (r->emit == NULL || r->keep == NULL || how == NULL)
		return -1;
	for (t = 0; t < r->nty; t++)
		how[t] = delta_how(r, t);
	for (i = 0; i < r->nst; i++) {
		if (r->mode == DELTA_APPLIED && !r->known[i] &&
		    r->prev->overflowed)
			r->untracked++;
		e = r->emit + i * r->nty;
		nz = 0;
		for (t = 0; t < r->nty; t++) {
			if (how[t] == DELTA_HOW_ZERO)
				v = 0;
			else if (how[t] == DELTA_HOW_VALUE)
				v = delta_value(r, i, t);
			else
				v = delta_one(r, i, t, r->slot[t]);
			e[t] = v;
			nz |= v != 0;
		}
		r->keep[i] = (unsigned char)nz;
		r->kept += (size_t)nz;
	}
	return 0;
}

static int
delta_types(const struct delta_run *r, struct arena *a, Profpipe__Decoded *o)
{
	Profpipe__ValueType *vt;
	size_t t;

	o->sample_types = arena_alloc(a, (r->nty + 1) * sizeof(vt));
	vt = arena_alloc(a, (r->nty + 1) * sizeof(*vt));
	if (o->sample_types == NULL || vt == NULL)
		return -1;
	for (t = 0; t < r->nty; t++) {
		vt[t] = *r->in->sample_types[t];
		if (r->slot[t] >= 0 && (r->absent & (1u << r->slot[t])))
			vt[t].absent = 1;
		o->sample_types[t] = &vt[t];
	}
	return 0;
}

/* The stacks kept, copied out of in when some were dropped. */
static int
delta_compact(const struct delta_run *r, struct arena *a, Profpipe__Decoded *o)
{
	const Profpipe__Decoded *in = r->in;
	size_t kept = r->kept;
	size_t nfr = 0;
	size_t i;
	size_t k;
	size_t len;

	for (i = 0; i < r->nst; i++) {
		if (r->keep[i])
			nfr += in->stack_offset[i + 1] - in->stack_offset[i];
	}
	o->n_stack_offset = kept + 1;
	o->n_stack_frames = nfr;
	o->n_stack_hash = kept;
	o->n_values = kept * r->nty;
	o->n_stack_labels = in->n_stack_labels ? kept : 0;
	o->stack_offset = arena_alloc(a, (kept + 1) * sizeof(uint32_t));
	o->stack_frames = arena_alloc(a, (nfr + 1) * sizeof(uint32_t));
	o->stack_hash = arena_alloc(a, (kept + 1) * sizeof(uint64_t));
	o->values = arena_alloc(a, (kept * r->nty + 1) * sizeof(int64_t));
	o->stack_labels = arena_alloc(a, (kept + 1) * sizeof(uint32_t));
	if (o->stack_offset == NULL || o->stack_frames == NULL ||
	    o->stack_hash == NULL || o->values == NULL ||
	    o->stack_labels == NULL)
		return -1;
	o->stack_offset[0] = 0;
	for (i = 0, k = 0; i < r->nst; i++) {
		if (!r->keep[i])
			continue;
		len = in->stack_offset[i + 1] - in->stack_offset[i];
		memcpy(o->stack_frames + o->stack_offset[k],
		    in->stack_frames + in->stack_offset[i],
		    len * sizeof(uint32_t));
		o->stack_offset[k + 1] = o->stack_offset[k] + (uint32_t)len;
		o->stack_hash[k] = in->stack_hash[i];
		memcpy(o->values + k * r->nty, r->emit + i * r->nty,
		    r->nty * sizeof(int64_t));
		if (in->n_stack_labels)
			o->stack_labels[k] = in->stack_labels[i];
		k++;
	}
	return 0;
}

/* The result: in's strings, frames and label sets, new sample types, and
 * the stacks with a non-zero value. When every stack is kept (a heap
 * profile's inuse_* rarely all go to 0), the stack arrays are in's own
 * and the values the emitted ones: nothing is copied. */
static int
delta_build(
    const struct delta_run *r, struct arena *a, Profpipe__Decoded **out)
{
	Profpipe__Decoded *o = arena_alloc(a, sizeof(*o));

	if (o == NULL)
		return -1;
	*o = *r->in;
	if (delta_types(r, a, o) < 0)
		return -1;
	if (r->kept < r->nst) {
		if (delta_compact(r, a, o) < 0)
			return -1;
	} else {
		o->values = r->emit;
	}
	*out = o;
	return 0;
}

int
delta_apply(const struct delta_state *prev, const Profpipe__Decoded *in,
    size_t max_stacks, struct arena *a, Profpipe__Decoded **out,
    struct delta_state *next, struct delta_report *rep)
{
	struct delta_run r;
	int rv;

	memset(&r, 0, sizeof(r));
	memset(rep, 0, sizeof(*rep));
	if (next != NULL)
		memset(next, 0, sizeof(*next));
	r.in = in;
	r.prev = prev;
	r.nst = decoded_n_stacks(in);
	r.nty = in->n_sample_types;
	rep->stacks_in = r.nst;
	rv = delta_classify(&r, a);
	if (rv <= 0) {
		*out = (Profpipe__Decoded *)in;
		rep->mode = DELTA_PASS;
		rep->stacks_out = r.nst;
		return rv;
	}
	delta_pick_mode(&r);
	if (r.mode != DELTA_OUT_OF_ORDER &&
	    delta_baseline(&r, max_stacks, a) < 0)
		goto out_free_next;
	if (delta_emit(&r, a) < 0 || delta_build(&r, a, out) < 0)
		goto out_free_next;
	rep->mode = r.mode;
	if (prev != NULL && prev->stacks != NULL)
		rep->since_ns = prev->start_ns;
	rep->stacks_out = (*out)->n_stack_hash;
	rep->refused = r.refused;
	rep->untracked = r.untracked;
	if (next != NULL)
		*next = r.next;
	else
		delta_state_release(&r.next);
	return 0;

out_free_next:
	delta_state_release(&r.next);
	return -1;
}
