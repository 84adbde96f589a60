/*
 * flame: building the call tree. A frame's signature ("function:line") is
 * named and interned once per profile, not once per stack it appears in,
 * and the signatures are ranked in byte order. Each stack then becomes
 * its path of ranks, root first, and the paths are sorted: in that order
 * the tree's elements come out in pre-order with sorted siblings, each
 * path sharing a prefix with the one before, so the tree is laid down in
 * one pass with no lookup per frame. That order is what makes the element
 * ids stable for one profile.
 */
#include "exporter/flame.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

#define FLAME_SIGS_CAP ((size_t)256 * 1024 * 1024)

void
flame_init(struct flame *f)
{
	memset(f, 0, sizeof(*f));
	buf_init(&f->sigs, FLAME_SIGS_CAP);
}

void
flame_release(struct flame *f)
{
	buf_release(&f->sigs);
	xfree(f->elems);
	xfree(f->sig_off);
	xfree(f->sig_index);
	xfree(f->frame_sig);
	xfree(f->sorted);
	xfree(f->rank);
	xfree(f->stk);
	xfree(f->seq_off);
	xfree(f->seq);
	xfree(f->order);
	xfree(f->path);
	memset(f, 0, sizeof(*f));
}

static int64_t
flame_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b < 0 ? INT64_MIN : INT64_MAX;
	return r;
}

/* Grow *p (elements of size sz) to hold at least want; no array holds
 * more than FLAME_MAX_FRAMES (the callers check their own caps first). */
static int
flame_grow(void **p, size_t *size, size_t want, size_t sz)
{
	size_t n = *size ? *size : 64;
	void *q;

	if (want <= *size)
		return 0;
	if (want > FLAME_MAX_FRAMES + 2)
		return -1;
	while (n < want)
		n *= 2;
	q = xrealloc(*p, n * sz);
	if (q == NULL)
		return -1;
	*p = q;
	*size = n;
	return 0;
}

/* An open-addressing table of uint32 (slot value = index + 1) sized for
 * at least 2 * n entries. */
static int
flame_table(uint32_t **t, size_t *mask, size_t n)
{
	size_t size = 1024;

	while (size < 2 * n)
		size *= 2;
	if (*t == NULL || *mask + 1 < size) {
		xfree(*t);
		*t = xcalloc(size, sizeof(**t));
		if (*t == NULL)
			return -1;
		*mask = size - 1;
	} else {
		memset(*t, 0, (*mask + 1) * sizeof(**t));
	}
	return 0;
}

const char *
flame_signature(const struct flame *f, size_t i)
{
	return (const char *)f->sigs.data + f->sig_off[f->elems[i].sig];
}

static const char *
flame_sig_text(const struct flame *f, uint32_t sig)
{
	return (const char *)f->sigs.data + f->sig_off[sig];
}

static int
flame_rehash_sigs(struct flame *f)
{
	const char *s;
	size_t i;
	size_t h;

	if (flame_table(&f->sig_index, &f->sig_mask, f->n_sigs * 2) < 0)
		return -1;
	for (i = 0; i < f->n_sigs; i++) {
		s = flame_sig_text(f, (uint32_t)i);
		h = hash_bytes(HASH_SEED, s, strlen(s)) & f->sig_mask;
		while (f->sig_index[h] != 0)
			h = (h + 1) & f->sig_mask;
		f->sig_index[h] = (uint32_t)i + 1;
	}
	return 0;
}

/* The id of signature text (len bytes at the end of f->sigs, not yet
 * terminated), interning it when new. */
static int
flame_intern(struct flame *f, size_t start, uint32_t *out)
{
	const char *s = (const char *)f->sigs.data + start;
	size_t len = f->sigs.len - start;
	uint64_t hv = hash_bytes(HASH_SEED, s, len);
	size_t h = hv & f->sig_mask;
	const char *t;
	uint32_t id;

	while (f->sig_index[h] != 0) {
		id = f->sig_index[h] - 1;
		t = flame_sig_text(f, id);
		if (strlen(t) == len && memcmp(t, s, len) == 0) {
			f->sigs.len = start; /* drop the duplicate text */
			*out = id;
			return 0;
		}
		h = (h + 1) & f->sig_mask;
	}
	if (buf_putc(&f->sigs, '\0') < 0 ||
	    flame_grow((void **)&f->sig_off, &f->size_sigs, f->n_sigs + 1,
	        sizeof(*f->sig_off)) < 0)
		return -1;
	if (start > UINT32_MAX)
		return -1;
	f->sig_off[f->n_sigs] = (uint32_t)start;
	f->sig_index[h] = (uint32_t)f->n_sigs + 1;
	*out = (uint32_t)f->n_sigs++;
	if (f->n_sigs * 2 > f->sig_mask)
		return flame_rehash_sigs(f);
	return 0;
}

static int
flame_frame_sig(
    struct flame *f, const Profpipe__Decoded *p, uint32_t fr, uint32_t *out)
{
	size_t start = f->sigs.len;

	if (f->frame_sig[fr] != 0) {
		*out = f->frame_sig[fr] - 1;
		return 0;
	}
	buf_printf(&f->sigs, "%s:%" PRId64, export_frame_function(p, fr),
	    p->frame_line[fr]);
	if (f->sigs.failed || flame_intern(f, start, out) < 0)
		return -1;
	f->frame_sig[fr] = *out + 1;
	return 0;
}

/* The signatures in byte order: f->sorted[rank] = sig, and
 * f->rank[sig] = rank. */
static int
flame_cmp_text(const void *a, const void *b, void *arg)
{
	const struct flame *f = arg;

	return strcmp(flame_sig_text(f, *(const uint32_t *)a),
	    flame_sig_text(f, *(const uint32_t *)b));
}

static int
flame_rank(struct flame *f)
{
	size_t i;

	if (flame_grow((void **)&f->sorted, &f->size_sorted, f->n_sigs + 1,
	        sizeof(*f->sorted)) < 0 ||
	    flame_grow((void **)&f->rank, &f->size_rank, f->n_sigs + 1,
	        sizeof(*f->rank)) < 0)
		return -1;
	for (i = 0; i < f->n_sigs; i++)
		f->sorted[i] = (uint32_t)i;
	qsort_r(f->sorted, f->n_sigs, sizeof(*f->sorted), flame_cmp_text, f);
	for (i = 0; i < f->n_sigs; i++)
		f->rank[f->sorted[i]] = (uint32_t)i;
	return 0;
}

/* Stacks with a value or a count, each as its signatures root first:
 * f->stk[k] is kept stack k's index in p, its signatures
 * f->seq[f->seq_off[k] .. f->seq_off[k + 1]). */
static int
flame_paths(struct flame *f, const Profpipe__Decoded *p,
    const struct export_col *value, const struct export_col *count)
{
	size_t n = export_n_stacks(p);
	const uint32_t *frames;
	size_t len;
	size_t i;
	size_t k;
	uint32_t at = 0;
	int64_t c;

	if (p->n_stack_frames > FLAME_MAX_FRAMES) {
		f->over_cap = 1;
		return -1;
	}
	if (flame_grow(
	        (void **)&f->stk, &f->size_stk, n + 1, sizeof(*f->stk)) < 0 ||
	    flame_grow((void **)&f->seq_off, &f->size_seq_off, n + 2,
	        sizeof(*f->seq_off)) < 0 ||
	    flame_grow((void **)&f->seq, &f->size_seq, p->n_stack_frames + 1,
	        sizeof(*f->seq)) < 0)
		return -1;
	f->n_stk = 0;
	for (i = 0; i < n; i++) {
		c = count != NULL ? export_value(p, i, count) : 0;
		if (export_value(p, i, value) == 0 && c == 0)
			continue;
		export_stack(p, i, &frames, &len);
		f->stk[f->n_stk] = (uint32_t)i;
		f->seq_off[f->n_stk++] = at;
		for (k = len; k > 0; k--) {
			if (flame_frame_sig(f, p, frames[k - 1], &f->seq[at]) <
			    0)
				return -1;
			at++;
		}
	}
	f->seq_off[f->n_stk] = at;
	return 0;
}

/* Stacks in the order of their paths: signature by signature in byte
 * order, a path before the paths it is a prefix of, equal paths in
 * profile order. That is the tree's pre-order with sorted siblings. */
static int
flame_cmp_path(const void *a, const void *b, void *arg)
{
	const struct flame *f = arg;
	uint32_t x = *(const uint32_t *)a;
	uint32_t y = *(const uint32_t *)b;
	const uint32_t *s = f->seq + f->seq_off[x];
	const uint32_t *t = f->seq + f->seq_off[y];
	size_t ns = f->seq_off[x + 1] - f->seq_off[x];
	size_t nt = f->seq_off[y + 1] - f->seq_off[y];
	size_t i;

	for (i = 0; i < ns && i < nt; i++) {
		if (s[i] != t[i])
			return s[i] < t[i] ? -1 : 1;
	}
	if (ns != nt)
		return ns < nt ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int
flame_new_elem(struct flame *f, int64_t parent, uint32_t sig, uint32_t depth)
{
	struct flame_elem *e;

	if (f->n >= FLAME_MAX_ELEMS) {
		f->over_cap = 1;
		return -1;
	}
	if (flame_grow((void **)&f->elems, &f->size_elems, f->n + 1,
	        sizeof(*f->elems)) < 0)
		return -1;
	e = &f->elems[f->n++];
	memset(e, 0, sizeof(*e));
	e->parent = parent;
	e->sig = sig;
	e->depth = depth;
	if (depth > f->max_depth)
		f->max_depth = depth;
	return 0;
}

/* Walk the sorted paths: a path shares its first elements with the one
 * before it and makes the rest anew, so elements come out in pre-order
 * with no lookups. path[d] is the element at depth d of the last path. */
static int
flame_walk(struct flame *f, const Profpipe__Decoded *p,
    const struct export_col *value, const struct export_col *count)
{
	const uint32_t *s;
	const uint32_t *prev = NULL;
	size_t n_prev = 0;
	size_t len;
	size_t same;
	size_t d;
	size_t k;
	uint32_t j;
	int64_t v;
	int64_t c;
	struct flame_elem *e;

	if (flame_new_elem(f, -1, f->root_sig, 0) < 0)
		return -1;
	for (k = 0; k < f->n_stk; k++) {
		j = f->order[k];
		s = f->seq + f->seq_off[j];
		len = f->seq_off[j + 1] - f->seq_off[j];
		if (flame_grow((void **)&f->path, &f->size_path, len + 1,
		        sizeof(*f->path)) < 0)
			return -1;
		for (same = 0;
		     same < len && same < n_prev && s[same] == prev[same];
		     same++)
			;
		for (d = same; d < len; d++) {
			f->path[d + 1] = (uint32_t)f->n;
			if (flame_new_elem(f, f->path[d], f->sorted[s[d]],
			        (uint32_t)d + 1) < 0)
				return -1;
		}
		v = export_value(p, f->stk[j], value);
		c = count != NULL ? export_value(p, f->stk[j], count) : 0;
		for (d = 0; d <= len; d++) {
			e = &f->elems[f->path[d]];
			e->total = flame_add(e->total, v);
			e->count_total = flame_add(e->count_total, c);
		}
		e->self = flame_add(e->self, v);
		e->count_self = flame_add(e->count_self, c);
		prev = s;
		n_prev = len;
	}
	return 0;
}

static int
flame_reset(struct flame *f, const Profpipe__Decoded *p)
{
	size_t start;

	f->n = 0;
	f->max_depth = 0;
	f->n_sigs = 0;
	buf_clear(&f->sigs);
	if (flame_table(&f->sig_index, &f->sig_mask, 1024) < 0 ||
	    flame_grow((void **)&f->frame_sig, &f->size_frame_sig,
	        p->n_frame_function + 1, sizeof(*f->frame_sig)) < 0 ||
	    flame_grow((void **)&f->path, &f->size_path, 1, sizeof(*f->path)) <
	        0)
		return -1;
	memset(f->frame_sig, 0, f->size_frame_sig * sizeof(*f->frame_sig));
	f->path[0] = 0;
	start = f->sigs.len;
	if (buf_puts(&f->sigs, "root") < 0 ||
	    flame_intern(f, start, &f->root_sig) < 0)
		return -1;
	return 0;
}

int
flame_build(struct flame *f, const Profpipe__Decoded *p,
    const struct export_col *value, const struct export_col *count)
{
	size_t i;
	size_t k;

	f->has_count = count != NULL;
	f->over_cap = 0;
	if (flame_reset(f, p) < 0 || flame_paths(f, p, value, count) < 0 ||
	    flame_rank(f) < 0 ||
	    flame_grow((void **)&f->order, &f->size_order, f->n_stk + 1,
	        sizeof(*f->order)) < 0)
		return f->over_cap ? -2 : -1;
	/* signatures to ranks, so that paths compare as integers */
	for (i = 0; i < f->seq_off[f->n_stk]; i++)
		f->seq[i] = f->rank[f->seq[i]];
	for (k = 0; k < f->n_stk; k++)
		f->order[k] = (uint32_t)k;
	qsort_r(f->order, f->n_stk, sizeof(*f->order), flame_cmp_path, f);
	if (flame_walk(f, p, value, count) < 0)
		return f->over_cap ? -2 : -1;
	return 0;
}

static const struct {
	const char *value;
	const char *count;
} flame_counts[] = {
    {"cpu", "samples"},
    {"delay", "contentions"},
    {"inuse_space", "inuse_objects"},
    {"alloc_space", "alloc_objects"},
};

int
flame_count_column(const Profpipe__Decoded *p, const struct export_col *value,
    struct export_col *out)
{
	const char *want = NULL;
	const Profpipe__ValueType *vt;
	size_t i;

	if (strcmp(value->unit, "count") == 0) {
		*out = *value;
		out->mul = 1;
		return 0;
	}
	for (i = 0; i < sizeof(flame_counts) / sizeof(flame_counts[0]); i++) {
		if (strcmp(value->type, flame_counts[i].value) == 0)
			want = flame_counts[i].count;
	}
	if (want == NULL)
		return -1;
	for (i = 0; i < p->n_sample_types; i++) {
		vt = p->sample_types[i];
		if (vt->absent ||
		    strcmp(export_string(p, vt->type), want) != 0)
			continue;
		out->type = export_string(p, vt->type);
		out->unit = export_string(p, vt->unit);
		out->src = i;
		out->mul = 1;
		return 0;
	}
	return -1;
}

static void
flame_json_str(struct buf *b, const char *s)
{
	buf_json_str(b, s, strlen(s));
}

int
flame_json(const struct flame *f, const char *title,
    const struct export_col *value, const struct export_col *count,
    struct buf *out)
{
	const struct flame_elem *e;
	size_t i;

	buf_puts(out, "{\"title\":");
	flame_json_str(out, title);
	buf_puts(out, ",\"valueType\":");
	flame_json_str(out, value->type);
	buf_puts(out, ",\"unit\":");
	flame_json_str(out, value->unit);
	buf_puts(out, ",\"countType\":");
	flame_json_str(out, count != NULL ? count->type : "");
	buf_printf(out, ",\"total\":%" PRId64 ",\"totalCount\":%" PRId64,
	    f->n ? f->elems[0].total : 0, f->n ? f->elems[0].count_total : 0);
	buf_puts(out, ",\"elements\":[");
	for (i = 0; i < f->n; i++) {
		e = &f->elems[i];
		buf_printf(out, "%s{\"id\":%zu,\"parentId\":%" PRId64,
		    i ? ",\n" : "\n", i, e->parent);
		buf_puts(out, ",\"codeSignature\":");
		flame_json_str(out, flame_signature(f, i));
		buf_printf(out,
		    ",\"total\":%" PRId64 ",\"self\":%" PRId64
		    ",\"totalCount\":%" PRId64 ",\"selfCount\":%" PRId64 "}",
		    e->total, e->self, e->count_total, e->count_self);
		if (out->failed)
			return -1;
	}
	buf_puts(out, "]}\n");
	return out->failed ? -1 : 0;
}
