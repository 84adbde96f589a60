/*
 * flame: building the call tree. Stacks are walked root to leaf into a
 * trie whose nodes are found by (parent, signature) in one hash table; a
 * frame's signature ("function:line") is named and interned once per
 * profile, not once per stack it appears in. The trie is then laid out in
 * pre-order with each node's children sorted by signature, which is what
 * makes the element ids stable for one profile.
 */
#include "exporter/flame.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

#define FLAME_SIGS_CAP ((size_t)256 * 1024 * 1024)

struct flame_node {
	uint32_t parent; /* UINT32_MAX for the root */
	uint32_t sig;
	uint32_t depth;
	uint32_t first_child; /* after layout: CSR start into order */
	uint32_t n_children;
	uint32_t elem; /* pre-order index */
	int64_t total, self, count_total, count_self;
};

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
	xfree(f->nodes);
	xfree(f->child_index);
	xfree(f->sig_index);
	xfree(f->frame_sig);
	xfree(f->order);
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

/* Grow *p (elements of size sz) to hold at least want; caps at
 * FLAME_MAX_ELEMS. */
static int
flame_grow(void **p, size_t *size, size_t want, size_t sz)
{
	size_t n = *size ? *size : 64;
	void *q;

	if (want <= *size)
		return 0;
	if (want > FLAME_MAX_ELEMS + 1)
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

static int
flame_rehash_children(struct flame *f)
{
	const struct flame_node *nd;
	size_t i;
	size_t h;

	if (flame_table(&f->child_index, &f->child_mask, f->n_nodes * 2) < 0)
		return -1;
	for (i = 1; i < f->n_nodes; i++) {
		nd = &f->nodes[i];
		h = hash_u64(hash_u64(HASH_SEED, nd->parent), nd->sig) &
		    f->child_mask;
		while (f->child_index[h] != 0)
			h = (h + 1) & f->child_mask;
		f->child_index[h] = (uint32_t)i + 1;
	}
	return 0;
}

/* The child of parent named sig, made when new. */
static int
flame_child(struct flame *f, uint32_t parent, uint32_t sig, uint32_t *out)
{
	size_t h = hash_u64(hash_u64(HASH_SEED, parent), sig) & f->child_mask;
	struct flame_node *nd;
	uint32_t i;

	while (f->child_index[h] != 0) {
		i = f->child_index[h] - 1;
		if (f->nodes[i].parent == parent && f->nodes[i].sig == sig) {
			*out = i;
			return 0;
		}
		h = (h + 1) & f->child_mask;
	}
	if (f->n_nodes >= FLAME_MAX_ELEMS ||
	    flame_grow((void **)&f->nodes, &f->size_nodes, f->n_nodes + 1,
	        sizeof(*f->nodes)) < 0)
		return -1;
	nd = &f->nodes[f->n_nodes];
	memset(nd, 0, sizeof(*nd));
	nd->parent = parent;
	nd->sig = sig;
	nd->depth = f->nodes[parent].depth + 1;
	f->child_index[h] = (uint32_t)f->n_nodes + 1;
	*out = (uint32_t)f->n_nodes++;
	if (f->n_nodes * 2 > f->child_mask)
		return flame_rehash_children(f);
	return 0;
}

static int
flame_stack(struct flame *f, const Profpipe__Decoded *p, size_t i, int64_t v,
    int64_t c)
{
	const uint32_t *frames;
	struct flame_node *nd;
	uint32_t node = 0;
	uint32_t sig;
	size_t n;
	size_t k;

	export_stack(p, i, &frames, &n);
	f->nodes[0].total = flame_add(f->nodes[0].total, v);
	f->nodes[0].count_total = flame_add(f->nodes[0].count_total, c);
	for (k = n; k > 0; k--) {
		if (flame_frame_sig(f, p, frames[k - 1], &sig) < 0 ||
		    flame_child(f, node, sig, &node) < 0)
			return -1;
		nd = &f->nodes[node];
		nd->total = flame_add(nd->total, v);
		nd->count_total = flame_add(nd->count_total, c);
	}
	nd = &f->nodes[node];
	nd->self = flame_add(nd->self, v);
	nd->count_self = flame_add(nd->count_self, c);
	return 0;
}

static int
flame_cmp_sig(const void *a, const void *b, void *arg)
{
	const struct flame *f = arg;
	const struct flame_node *x = &f->nodes[*(const uint32_t *)a];
	const struct flame_node *y = &f->nodes[*(const uint32_t *)b];

	return strcmp(flame_sig_text(f, x->sig), flame_sig_text(f, y->sig));
}

/* Children of every node in f->order (CSR by first_child/n_children),
 * each node's sorted by signature. */
static int
flame_children(struct flame *f)
{
	size_t i;
	uint32_t at = 0;
	struct flame_node *pa;

	if (flame_grow((void **)&f->order, &f->size_order, f->n_nodes + 1,
	        sizeof(*f->order)) < 0)
		return -1;
	for (i = 0; i < f->n_nodes; i++)
		f->nodes[i].n_children = 0;
	for (i = 1; i < f->n_nodes; i++)
		f->nodes[f->nodes[i].parent].n_children++;
	for (i = 0; i < f->n_nodes; i++) {
		f->nodes[i].first_child = at;
		at += f->nodes[i].n_children;
		f->nodes[i].n_children = 0;
	}
	for (i = 1; i < f->n_nodes; i++) {
		pa = &f->nodes[f->nodes[i].parent];
		f->order[pa->first_child + pa->n_children++] = (uint32_t)i;
	}
	for (i = 0; i < f->n_nodes; i++) {
		if (f->nodes[i].n_children > 1)
			qsort_r(f->order + f->nodes[i].first_child,
			    f->nodes[i].n_children, sizeof(*f->order),
			    flame_cmp_sig, f);
	}
	return 0;
}

static void
flame_emit(struct flame *f, uint32_t node)
{
	struct flame_node *nd = &f->nodes[node];
	struct flame_elem *e = &f->elems[f->n];

	nd->elem = (uint32_t)f->n;
	e->parent = node == 0 ? -1 : (int64_t)f->nodes[nd->parent].elem;
	e->sig = nd->sig;
	e->depth = nd->depth;
	e->total = nd->total;
	e->self = nd->self;
	e->count_total = nd->count_total;
	e->count_self = nd->count_self;
	if (nd->depth > f->max_depth)
		f->max_depth = nd->depth;
	f->n++;
}

/* Pre-order without recursion: stacks are up to thousands deep. The
 * scratch stack holds nodes still to emit, the next sibling on top. */
static int
flame_layout(struct flame *f)
{
	uint32_t *todo;
	size_t top = 0;
	uint32_t node;
	uint32_t k;
	const struct flame_node *nd;

	xfree(f->elems);
	f->elems = xcalloc(f->n_nodes, sizeof(*f->elems));
	todo = xmalloc(f->n_nodes * sizeof(*todo));
	if (f->elems == NULL || todo == NULL) {
		xfree(todo);
		return -1;
	}
	todo[top++] = 0;
	while (top > 0) {
		node = todo[--top];
		flame_emit(f, node);
		nd = &f->nodes[node];
		for (k = nd->n_children; k > 0; k--)
			todo[top++] = f->order[nd->first_child + k - 1];
	}
	xfree(todo);
	return 0;
}

static int
flame_reset(struct flame *f, const Profpipe__Decoded *p)
{
	uint32_t root;
	size_t start;

	f->n = 0;
	f->max_depth = 0;
	f->n_nodes = 0;
	f->n_sigs = 0;
	buf_clear(&f->sigs);
	if (flame_table(&f->sig_index, &f->sig_mask, 1024) < 0 ||
	    flame_table(&f->child_index, &f->child_mask, 1024) < 0 ||
	    flame_grow((void **)&f->frame_sig, &f->size_frame_sig,
	        p->n_frame_function + 1, sizeof(*f->frame_sig)) < 0 ||
	    flame_grow(
	        (void **)&f->nodes, &f->size_nodes, 1, sizeof(*f->nodes)) < 0)
		return -1;
	memset(f->frame_sig, 0, f->size_frame_sig * sizeof(*f->frame_sig));
	start = f->sigs.len;
	if (buf_puts(&f->sigs, "root") < 0 ||
	    flame_intern(f, start, &root) < 0)
		return -1;
	memset(&f->nodes[0], 0, sizeof(f->nodes[0]));
	f->nodes[0].parent = UINT32_MAX;
	f->nodes[0].sig = root;
	f->n_nodes = 1;
	return 0;
}

int
flame_build(struct flame *f, const Profpipe__Decoded *p,
    const struct export_col *value, const struct export_col *count)
{
	size_t n = export_n_stacks(p);
	size_t i;
	int64_t v;
	int64_t c;

	f->has_count = count != NULL;
	if (flame_reset(f, p) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		v = export_value(p, i, value);
		c = count != NULL ? export_value(p, i, count) : 0;
		if (v == 0 && c == 0)
			continue;
		if (flame_stack(f, p, i, v, c) < 0)
			return -1;
	}
	if (flame_children(f) < 0)
		return -1;
	return flame_layout(f);
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
