/*
 * decode_labels: a sample's labels as a set, found or added among the
 * profile's. A set is its labels sorted, so order does not matter, and
 * keyed by text, as frames are (decode_resolve.c): a label names its
 * strings by the first string index with the same text, so a writer that
 * repeats a string in its table still gets one set per text. A unit of
 * "" is no unit, as Go's pprof shows it.
 */
#include "decoder/decode_rs.h"

#include <string.h>

#include "common/hash.h"

static uint64_t
rs_label_str_hash(const char *s)
{
	return hash_bytes(HASH_SEED, s, strlen(s));
}

/* The first string index from 1 with string i's text (1 <= i < n_str),
 * as the Decoded has it (cut at a NUL): from rs->lc, or found in
 * rs->lc_slots by text and noted there. -1 out of memory. Labels use few
 * strings; the table starts small. */
static int64_t
rs_label_str_first(struct rs *rs, uint32_t i)
{
	const char *si = rs->strs[i];
	uint64_t mask;
	uint64_t s;
	uint32_t *t;
	uint32_t j;
	size_t e;

	if (rs->lc[i] != 0)
		return rs->lc[i] - 1;
	if (2 * (rs->n_lc + 1) > rs->lc_mask + 1) {
		mask = 2 * rs->lc_mask + 1;
		t = arena_calloc(rs->a, mask + 1, sizeof(*t));
		if (t == NULL)
			return -1;
		for (e = 0; e <= rs->lc_mask; e++) {
			if ((j = rs->lc_slots[e]) == 0)
				continue;
			s = rs_label_str_hash(rs->strs[j - 1]) & mask;
			while (t[s] != 0)
				s = (s + 1) & mask;
			t[s] = j;
		}
		rs->lc_slots = t;
		rs->lc_mask = mask;
	}
	for (s = rs_label_str_hash(si) & rs->lc_mask;
	     (j = rs->lc_slots[s]) != 0; s = (s + 1) & rs->lc_mask) {
		if (strcmp(rs->strs[j - 1], si) == 0) {
			rs->lc[i] = j;
			return j - 1;
		}
	}
	rs->lc_slots[s] = i + 1;
	rs->n_lc++;
	rs->lc[i] = i + 1;
	return i;
}

/* x's strings by text: its key and unit, "" as index 0 (for a unit: no
 * unit), else the first index with their text; its str, when it has one
 * (index 0 is none), the first index from 1 with its text, "" too. 0, or
 * -1 out of memory. */
static int
rs_label_text(struct rs *rs, struct pprof_label *x)
{
	uint32_t *f[3] = {&x->key, &x->str, &x->unit};
	int64_t c;
	int k;

	if (rs->lc == NULL) {
		rs->lc = arena_calloc(rs->a, rs->n_str, sizeof(*rs->lc));
		rs->lc_mask = 15;
		rs->lc_slots = arena_calloc(rs->a, 16, sizeof(*rs->lc_slots));
		if (rs->lc == NULL || rs->lc_slots == NULL)
			return -1;
	}
	for (k = 0; k < 3; k++) {
		if (*f[k] == 0)
			continue;
		if (k != 1 && rs->strs[*f[k]][0] == '\0') {
			*f[k] = 0;
			continue;
		}
		c = rs_label_str_first(rs, *f[k]);
		if (c < 0)
			return -1;
		*f[k] = (uint32_t)c;
	}
	return 0;
}

static int
rs_label_less(const struct pprof_label *x, const struct pprof_label *y)
{
	if (x->key != y->key)
		return x->key < y->key;
	if (x->str != y->str)
		return x->str < y->str;
	if (x->num != y->num)
		return x->num < y->num;
	return x->unit < y->unit;
}

/* Room for n more labels in the label sets: the total is not known before
 * the samples are read, and most profiles have few. */
static int
rs_labels_grow(struct rs *rs, uint32_t n)
{
	size_t used = rs->ls_off[rs->n_ls];
	size_t cap = rs->ls_cap * 2;
	struct pprof_label *p;

	if (cap < used + n)
		cap = used + n;
	p = arena_alloc(rs->a, cap * sizeof(*p));
	if (p == NULL)
		return DECODE_ENOMEM;
	memcpy(p, rs->ls_labels, used * sizeof(*p));
	rs->ls_labels = p;
	rs->ls_cap = cap;
	return 0;
}

/* The label sets' table at twice its slots, every set placed again: it
 * starts small and grows with the sets, since most profiles have a few
 * (a table sized for one set per sample was 256 KB of a heap profile's
 * peak, for 21 sets). */
static int
rs_label_rehash(struct rs *rs)
{
	uint64_t slots = (rs->ls_mask + 1) * 2;
	uint32_t *t = arena_calloc(rs->a, slots, sizeof(*t));
	uint64_t s;
	size_t e;

	if (t == NULL)
		return RS_NOMEM(rs, "label sets");
	for (e = 1; e < rs->n_ls; e++) {
		s = (rs->ls_hash[e] >> 7) & (slots - 1);
		while (t[s] != 0)
			s = (s + 1) & (slots - 1);
		t[s] = (uint32_t)e;
	}
	rs->ls_slots = t;
	rs->ls_mask = slots - 1;
	return 0;
}

/* The label set of a sample: its labels (as Go keeps them: rd_label),
 * their strings by text, sorted (a set has no order), found or added. */
int
rs_label_set(
    struct rs *rs, const struct pprof_label *labels, uint32_t n, uint32_t *out)
{
	struct pprof_label *t = rs->tmp_labels;
	struct pprof_label x;
	uint64_t h = HASH_SEED;
	uint32_t i;
	uint32_t j;
	uint32_t e;
	uint64_t s;

	if (n == 0) {
		*out = 0;
		return 0;
	}
	for (i = 0; i < n; i++) {
		x = labels[i];
		if (rs_label_text(rs, &x) != 0)
			return RS_NOMEM(rs, "label strings");
		for (j = i; j > 0 && rs_label_less(&x, &t[j - 1]); j--)
			t[j] = t[j - 1];
		t[j] = x;
	}
	/* Inline: a heap profile has a label set per sample. */
	for (i = 0; i < n; i++) {
		h = hash_u64_inline(h, (uint64_t)t[i].key << 32 | t[i].str);
		h = hash_u64_inline(h, (uint64_t)t[i].num);
		h = hash_u64_inline(h, t[i].unit);
	}
	s = (h >> 7) & rs->ls_mask;
	while ((e = rs->ls_slots[s]) != 0) {
		if (rs->ls_hash[e] == h &&
		    rs->ls_off[e + 1] - rs->ls_off[e] == n) {
			for (i = 0; i < n; i++) {
				x = rs->ls_labels[rs->ls_off[e] + i];
				if (x.key != t[i].key || x.str != t[i].str ||
				    x.num != t[i].num || x.unit != t[i].unit)
					break;
			}
			if (i == n) {
				*out = e;
				return 0;
			}
		}
		s = (s + 1) & rs->ls_mask;
	}
	if (rs->ls_off[rs->n_ls] + (size_t)n > rs->ls_cap &&
	    rs_labels_grow(rs, n) != 0)
		return RS_NOMEM(rs, "label sets");
	if (2 * (rs->n_ls + 1) > rs->ls_mask + 1) {
		if (rs_label_rehash(rs) != 0)
			return DECODE_ENOMEM;
		s = (h >> 7) & rs->ls_mask;
		while (rs->ls_slots[s] != 0)
			s = (s + 1) & rs->ls_mask;
	}
	e = (uint32_t)rs->n_ls++;
	memcpy(rs->ls_labels + rs->ls_off[e], t, n * sizeof(*t));
	rs->ls_off[e + 1] = rs->ls_off[e] + n;
	rs->ls_hash[e] = h;
	rs->ls_slots[s] = e;
	*out = e;
	return 0;
}

int
rs_labels_alloc(struct rs *rs)
{
	size_t sets = rs->pr->n_samples + 1;
	uint64_t slots = 64;

	rs->ls_mask = slots - 1;
	rs->ls_slots = arena_calloc(rs->a, slots, sizeof(*rs->ls_slots));
	rs->ls_off = arena_alloc(rs->a, (sets + 1) * sizeof(*rs->ls_off));
	rs->ls_hash = arena_alloc(rs->a, sets * sizeof(*rs->ls_hash));
	rs->ls_cap = 64;
	rs->ls_labels =
	    arena_alloc(rs->a, rs->ls_cap * sizeof(*rs->ls_labels));
	rs->tmp_labels = arena_alloc(
	    rs->a, (rs->lim->max_labels + 1) * sizeof(*rs->tmp_labels));
	if (rs->ls_slots == NULL || rs->ls_off == NULL ||
	    rs->ls_hash == NULL || rs->ls_labels == NULL ||
	    rs->tmp_labels == NULL)
		return RS_NOMEM(rs, "label sets");
	rs->ls_off[0] = 0;
	rs->ls_off[1] = 0;
	rs->ls_hash[0] = 0;
	rs->n_ls = 1;
	return 0;
}

int
rs_out_labels(struct rs *rs, Profpipe__Decoded *out)
{
	Profpipe__LabelSet *sets;
	Profpipe__SampleLabel *lab;
	size_t total = rs->ls_off[rs->n_ls];
	size_t i;
	uint32_t j;

	out->label_sets =
	    arena_alloc(rs->a, rs->n_ls * sizeof(*out->label_sets));
	sets = arena_alloc(rs->a, rs->n_ls * sizeof(*sets));
	lab = arena_alloc(rs->a, (total + 1) * sizeof(*lab));
	if (out->label_sets == NULL || sets == NULL || lab == NULL)
		return RS_NOMEM(rs, "label sets");
	for (i = 0; i < total; i++) {
		profpipe__sample_label__init(&lab[i]);
		lab[i].key = rs->ls_labels[i].key;
		lab[i].str = rs->ls_labels[i].str;
		lab[i].num = rs->ls_labels[i].num;
		lab[i].unit = rs->ls_labels[i].unit;
	}
	/* Pointer arrays, as protobuf-c wants them, carved from one. */
	out->n_label_sets = rs->n_ls;
	for (i = 0; i < rs->n_ls; i++) {
		profpipe__label_set__init(&sets[i]);
		sets[i].n_labels = rs->ls_off[i + 1] - rs->ls_off[i];
		sets[i].labels = arena_alloc(
		    rs->a, (sets[i].n_labels + 1) * sizeof(*sets[i].labels));
		if (sets[i].labels == NULL)
			return RS_NOMEM(rs, "label sets");
		for (j = 0; j < sets[i].n_labels; j++)
			sets[i].labels[j] = &lab[rs->ls_off[i] + j];
		out->label_sets[i] = &sets[i];
	}
	return 0;
}
