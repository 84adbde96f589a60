/*
 * wtab: interning by text. Each intern step maps a source index to the
 * window's index once per profile (wtab_maps), so a frame shared by a
 * thousand stacks is hashed and compared once. Label sets are interned in
 * wtab_set.c; a stack the window has already is found by its text first
 * (wtab_text.c), and only a new one is interned frame by frame here.
 */
#include "aggregator/wtab.h"

#include <stdlib.h>
#include <string.h>

#include "aggregator/wtab_int.h"
#include "common/arena.h"
#include "common/decoded.h"
#include "common/hash.h"
#include "common/xalloc.h"

int
wtab_grow(void *pp, size_t cap, size_t need, size_t elem, size_t *newcap)
{
	void **p = pp;
	size_t n = cap < 16 ? 16 : cap;
	void *q;

	while (n < need) {
		if (n > SIZE_MAX / 2 / elem)
			return -1;
		n *= 2;
	}
	if (n == cap && *p != NULL) {
		*newcap = n;
		return 0;
	}
	q = xrealloc(*p, n * elem);
	if (q == NULL)
		return -1;
	*p = q;
	*newcap = n;
	return 0;
}

static int
wtab_realloc(void *pp, size_t n, size_t elem)
{
	void **p = pp;
	void *q;

	if (n > SIZE_MAX / elem)
		return -1;
	q = xrealloc(*p, n * elem);
	if (q == NULL)
		return -1;
	*p = q;
	return 0;
}

struct wtab_str_key {
	const struct wtab *t;
	const char *s;
};

static int
wtab_str_eq(const void *ctx, uint32_t idx)
{
	const struct wtab_str_key *k = ctx;

	return strcmp(k->t->str[idx], k->s) == 0;
}

int
wtab_intern(struct wtab *t, const char *s, uint32_t *out)
{
	struct wtab_str_key k = {t, s};
	uint64_t h = hash_bytes(HASH_SEED, s, strlen(s));
	size_t cap;
	char *c;

	if (itab_find(&t->str_ix, h, wtab_str_eq, &k, out) == 0)
		return 0;
	if (t->n_str == t->cap_str) {
		if (wtab_grow(&t->str, t->cap_str, t->n_str + 1,
		        sizeof(*t->str), &cap) < 0)
			return -1;
		t->cap_str = cap;
	}
	c = xstrdup(s);
	if (c == NULL || itab_add(&t->str_ix, h, (uint32_t)t->n_str) < 0) {
		xfree(c);
		return -1;
	}
	t->str[t->n_str] = c;
	*out = (uint32_t)t->n_str++;
	return 0;
}

static int
wtab_empty_set(struct wtab *t)
{
	Profpipe__LabelSet *ls = xcalloc(1, sizeof(*ls));
	Profpipe__LabelSet init = PROFPIPE__LABEL_SET__INIT;
	size_t cap;

	if (ls == NULL)
		return -1;
	*ls = init;
	if (wtab_grow(&t->ls, 0, 1, sizeof(*t->ls), &cap) < 0) {
		xfree(ls);
		return -1;
	}
	t->cap_ls = cap;
	t->ls[0] = ls;
	t->n_ls = 1;
	return 0;
}

static int wtab_room_stack(struct wtab *t);

int
wtab_init(struct wtab *t)
{
	uint32_t empty;

	memset(t, 0, sizeof(*t));
	if (itab_init(&t->str_ix, 64) < 0 || itab_init(&t->fr_ix, 64) < 0 ||
	    itab_init(&t->ls_ix, 16) < 0 || itab_init(&t->st_ix, 64) < 0 ||
	    itab_init(&t->st_tix, 64) < 0 || wtab_room_stack(t) < 0)
		goto out_release;
	t->st_off[0] = 0;
	if (wtab_intern(t, "", &empty) < 0 || wtab_empty_set(t) < 0)
		goto out_release;
	return 0;

out_release:
	wtab_release(t);
	return -1;
}

void
wtab_release(struct wtab *t)
{
	size_t i;

	for (i = 0; i < t->n_str; i++)
		xfree(t->str[i]);
	for (i = 0; i < t->n_ls; i++)
		xfree(t->ls[i]);
	xfree(t->str);
	xfree(t->ls);
	xfree(t->fr_func);
	xfree(t->fr_file);
	xfree(t->fr_line);
	xfree(t->sf);
	xfree(t->st_off);
	xfree(t->st_ls);
	xfree(t->st_hash);
	xfree(t->st_val);
	itab_release(&t->str_ix);
	itab_release(&t->fr_ix);
	itab_release(&t->ls_ix);
	itab_release(&t->st_ix);
	itab_release(&t->st_tix);
	memset(t, 0, sizeof(*t));
}

int
wtab_type(struct wtab *t, const char *type, const char *unit, size_t *out)
{
	uint32_t ty;
	uint32_t un;
	size_t i;

	for (i = 0; i < t->n_types; i++) {
		if (strcmp(t->str[t->vt_type[i]], type) == 0 &&
		    strcmp(t->str[t->vt_unit[i]], unit) == 0) {
			*out = i;
			return 0;
		}
	}
	if (t->n_types == WTAB_MAX_TYPES || wtab_intern(t, type, &ty) < 0 ||
	    wtab_intern(t, unit, &un) < 0)
		return -1;
	t->vt_type[t->n_types] = ty;
	t->vt_unit[t->n_types] = un;
	*out = t->n_types++;
	return 0;
}

static uint32_t *
wtab_map_array(struct arena *a, size_t n)
{
	uint32_t *m = arena_alloc(a, (n + 1) * sizeof(*m));

	if (m != NULL)
		memset(m, 0xff, (n + 1) * sizeof(*m));
	return m;
}

int
wtab_maps_new(
    struct wtab_maps *m, const Profpipe__Decoded *src, struct arena *a)
{
	size_t i;
	size_t len;

	m->buf_len = 0;
	for (i = 0; i + 1 < src->n_stack_offset; i++) {
		len = src->stack_offset[i + 1] - src->stack_offset[i];
		if (len > m->buf_len)
			m->buf_len = len;
	}
	m->str = wtab_map_array(a, src->n_strings);
	m->fr = wtab_map_array(a, src->n_frame_function);
	m->ls = wtab_map_array(a, src->n_label_sets);
	m->buf = arena_alloc(a, (m->buf_len + 1) * sizeof(*m->buf));
	m->ls_text = decoded_label_set_sums(src, a);
	if (m->str == NULL || m->fr == NULL || m->ls == NULL ||
	    m->buf == NULL || m->ls_text == NULL)
		return -1;
	return 0;
}

int
wtab_map_str(struct wtab *t, const Profpipe__Decoded *src, struct wtab_maps *m,
    uint32_t i, uint32_t *out)
{
	if (m->str[i] == UINT32_MAX &&
	    wtab_intern(t, src->strings[i], &m->str[i]) < 0)
		return -1;
	*out = m->str[i];
	return 0;
}

struct wtab_fr_key {
	const struct wtab *t;
	uint32_t func, file;
	int64_t line;
};

static int
wtab_fr_eq(const void *ctx, uint32_t idx)
{
	const struct wtab_fr_key *k = ctx;

	return k->t->fr_func[idx] == k->func &&
	    k->t->fr_file[idx] == k->file && k->t->fr_line[idx] == k->line;
}

static int
wtab_add_frame(struct wtab *t, const struct wtab_fr_key *k, uint32_t *out)
{
	uint64_t h = hash_u64_inline(
	    hash_u64_inline(hash_u64_inline(HASH_SEED, k->func), k->file),
	    (uint64_t)k->line);
	size_t cap;

	if (itab_find(&t->fr_ix, h, wtab_fr_eq, k, out) == 0)
		return 0;
	if (t->n_fr == t->cap_fr) {
		cap = t->cap_fr < 16 ? 16 : t->cap_fr * 2;
		if (wtab_realloc(&t->fr_func, cap, sizeof(uint32_t)) < 0 ||
		    wtab_realloc(&t->fr_file, cap, sizeof(uint32_t)) < 0 ||
		    wtab_realloc(&t->fr_line, cap, sizeof(int64_t)) < 0)
			return -1;
		t->cap_fr = cap;
	}
	if (itab_add(&t->fr_ix, h, (uint32_t)t->n_fr) < 0)
		return -1;
	t->fr_func[t->n_fr] = k->func;
	t->fr_file[t->n_fr] = k->file;
	t->fr_line[t->n_fr] = k->line;
	*out = (uint32_t)t->n_fr++;
	return 0;
}

static int
wtab_map_frame(struct wtab *t, const Profpipe__Decoded *src,
    struct wtab_maps *m, uint32_t i, uint32_t *out)
{
	struct wtab_fr_key k;

	if (m->fr[i] != UINT32_MAX) {
		*out = m->fr[i];
		return 0;
	}
	k.t = t;
	k.line = src->frame_line[i];
	if (wtab_map_str(t, src, m, src->frame_function[i], &k.func) < 0 ||
	    wtab_map_str(t, src, m, src->frame_file[i], &k.file) < 0 ||
	    wtab_add_frame(t, &k, &m->fr[i]) < 0)
		return -1;
	*out = m->fr[i];
	return 0;
}

struct wtab_st_key {
	const struct wtab *t;
	const uint32_t *fr;
	size_t n;
	uint32_t ls;
};

static int
wtab_st_eq(const void *ctx, uint32_t idx)
{
	const struct wtab_st_key *k = ctx;
	const struct wtab *t = k->t;

	return t->st_ls[idx] == k->ls &&
	    t->st_off[idx + 1] - t->st_off[idx] == k->n &&
	    memcmp(t->sf + t->st_off[idx], k->fr, k->n * sizeof(*k->fr)) == 0;
}

/* Room for one more stack in every per-stack array. */
static int
wtab_room_stack(struct wtab *t)
{
	size_t n = t->cap_st < 16 ? 16 : t->cap_st;

	while (n < t->n_st + 2)
		n *= 2;
	if (n == t->cap_st)
		return 0;
	if (n > SIZE_MAX / WTAB_MAX_TYPES ||
	    wtab_realloc(&t->st_off, n, sizeof(*t->st_off)) < 0 ||
	    wtab_realloc(&t->st_ls, n, sizeof(*t->st_ls)) < 0 ||
	    wtab_realloc(&t->st_hash, n, sizeof(*t->st_hash)) < 0 ||
	    wtab_realloc(&t->st_val, n * WTAB_MAX_TYPES, sizeof(*t->st_val)) <
	        0)
		return -1;
	t->cap_st = n;
	return 0;
}

static int
wtab_add_stack(struct wtab *t, const struct wtab_st_key *k, uint64_t h,
    uint64_t text_hash, uint64_t text_key, uint32_t *out)
{
	size_t cap;

	if (t->n_sf + k->n > UINT32_MAX)
		return -1;
	if (t->n_sf + k->n > t->cap_sf) {
		if (wtab_grow(&t->sf, t->cap_sf, t->n_sf + k->n,
		        sizeof(*t->sf), &cap) < 0)
			return -1;
		t->cap_sf = cap;
	}
	if (wtab_room_stack(t) < 0 ||
	    itab_add(&t->st_ix, h, (uint32_t)t->n_st) < 0 ||
	    itab_add(&t->st_tix, text_key, (uint32_t)t->n_st) < 0)
		return -1;
	if (k->n > 0) /* t->sf is NULL until a stack has a frame */
		memcpy(t->sf + t->n_sf, k->fr, k->n * sizeof(*k->fr));
	t->n_sf += k->n;
	t->st_off[t->n_st + 1] = (uint32_t)t->n_sf;
	t->st_ls[t->n_st] = k->ls;
	t->st_hash[t->n_st] = text_hash;
	memset(t->st_val + t->n_st * WTAB_MAX_TYPES, 0,
	    WTAB_MAX_TYPES * sizeof(*t->st_val));
	*out = (uint32_t)t->n_st++;
	return 0;
}

/* The stack k, added if new. One found here that the text index missed
 * (its text hash differs from the one it was added with) is indexed
 * under this one too, so the next profile finds it by text. */
static int
wtab_find_or_add(struct wtab *t, const struct wtab_st_key *k,
    uint64_t text_hash, uint64_t text_key, int64_t **row, int *created)
{
	uint64_t h = HASH_SEED;
	uint32_t idx;
	size_t j;

	for (j = 0; j < k->n; j++)
		h = hash_u64_inline(h, k->fr[j]);
	h = hash_u64_inline(h, k->ls);
	*created = 0;
	if (itab_find(&t->st_ix, h, wtab_st_eq, k, &idx) == 0) {
		if (itab_add(&t->st_tix, text_key, idx) < 0)
			return -1;
	} else {
		if (wtab_add_stack(t, k, h, text_hash, text_key, &idx) < 0)
			return -1;
		*created = 1;
	}
	*row = t->st_val + (size_t)idx * WTAB_MAX_TYPES;
	return 0;
}

int
wtab_stack(struct wtab *t, const Profpipe__Decoded *src, struct wtab_maps *m,
    size_t i, int64_t **row, int *created)
{
	struct wtab_st_key k;
	uint32_t off = src->stack_offset[i];
	uint64_t text_key = wtab_text_key(src, m, i);
	uint32_t idx;
	size_t j;

	/* Most stacks of a profile are in the window already: found by
	 * their text, they need none of their frames interned. */
	if (wtab_text_find(t, src, m, i, text_key, &idx) == 0) {
		*created = 0;
		*row = t->st_val + (size_t)idx * WTAB_MAX_TYPES;
		return 0;
	}
	k.t = t;
	k.fr = m->buf;
	k.n = src->stack_offset[i + 1] - off;
	k.ls = 0;
	for (j = 0; j < k.n; j++) {
		if (wtab_map_frame(
		        t, src, m, src->stack_frames[off + j], &m->buf[j]) < 0)
			return -1;
	}
	if (src->n_stack_labels > 0 && src->stack_labels[i] != 0 &&
	    wtab_map_set(t, src, m, src->stack_labels[i], &k.ls) < 0)
		return -1;
	return wtab_find_or_add(
	    t, &k, src->stack_hash[i], text_key, row, created);
}

int
wtab_other(struct wtab *t, int64_t **row, uint32_t *idx)
{
	static const char name[] = "(other)";
	struct wtab_fr_key fk;
	struct wtab_st_key k;
	uint32_t fr;
	uint64_t text;
	int created;

	fk.t = t;
	fk.file = 0;
	fk.line = 0;
	if (wtab_intern(t, name, &fk.func) < 0 ||
	    wtab_add_frame(t, &fk, &fr) < 0)
		return -1;
	/* The decoder's stack hash of this one frame (decode.h): the sum
	 * over one frame is its frame hash, then the frame count. */
	text = hash_u64(
	    hash_bytes(hash_bytes(HASH_SEED, name, sizeof(name) - 1), "", 0),
	    0);
	text = hash_u64(hash_u64(HASH_SEED, text), 1);
	k.t = t;
	k.fr = &fr;
	k.n = 1;
	k.ls = 0;
	if (wtab_find_or_add(t, &k, text, text, row, &created) < 0)
		return -1;
	*idx = (uint32_t)((*row - t->st_val) / WTAB_MAX_TYPES);
	return 0;
}

void
wtab_view(const struct wtab *t, Profpipe__Decoded *out)
{
	Profpipe__Decoded init = PROFPIPE__DECODED__INIT;

	*out = init;
	out->n_strings = t->n_str;
	out->strings = t->str;
	out->n_frame_function = t->n_fr;
	out->frame_function = t->fr_func;
	out->n_frame_file = t->n_fr;
	out->frame_file = t->fr_file;
	out->n_frame_line = t->n_fr;
	out->frame_line = t->fr_line;
	out->n_stack_offset = t->n_st + 1;
	out->stack_offset = t->st_off;
	out->n_stack_frames = t->n_sf;
	out->stack_frames = t->sf;
	out->n_stack_hash = t->n_st;
	out->stack_hash = t->st_hash;
	out->n_stack_labels = t->n_st;
	out->stack_labels = t->st_ls;
	out->n_label_sets = t->n_ls;
	out->label_sets = t->ls;
}
