/*
 * wtab_text: finding a profile's stack among a window's by text. Merging
 * a profile used to intern every frame of every stack (hash the frame's
 * strings, look the frame up, hash the stack's frame indices, look the
 * stack up): most of the aggregator's time, though in a steady service
 * nearly every stack of a profile is in its window already. The decoder
 * has hashed each stack's frames' text (Decoded.stack_hash); mixed with a
 * hash of the stack's labels' text, it finds the window's candidate in one
 * lookup, and the candidate is then compared frame by frame, by text
 * (strcmp), with what each comparison proves noted in the maps (src
 * string s is window string w, src frame f is window frame g), so each
 * string and frame of a profile is compared once and every later use is
 * an integer compare. The result is exactly what interning would find:
 * only a stack whose every frame's function, file and line and whose
 * label set match is taken; anything else goes the long way.
 */
#include <string.h>

#include "aggregator/wtab_int.h"
#include "common/arena.h"
#include "common/hash.h"

/* src's label set of stack i; 0 when it has none. */
static uint32_t
wtab_text_set(const Profpipe__Decoded *src, size_t i)
{
	uint32_t ls;

	if (src->n_stack_labels == 0 || src->stack_labels[i] == 0)
		return 0;
	ls = src->stack_labels[i];
	return src->label_sets[ls]->n_labels > 0 ? ls : 0;
}

uint64_t
wtab_text_key(
    const Profpipe__Decoded *src, const struct wtab_maps *m, size_t i)
{
	uint32_t ls = wtab_text_set(src, i);

	if (ls == 0)
		return src->stack_hash[i];
	return hash_u64_inline(src->stack_hash[i], m->ls_text[ls]);
}

struct wtab_text_ctx {
	const struct wtab *t;
	const Profpipe__Decoded *src;
	struct wtab_maps *m;
	struct wtab *tw; /* t, for interning a label set */
	size_t i;
};

/* Whether src's string s is t's string w, noting it when so. */
static int
wtab_text_same_str(const struct wtab_text_ctx *c, uint32_t s, uint32_t w)
{
	if (c->m->str[s] != UINT32_MAX)
		return c->m->str[s] == w;
	if (strcmp(c->src->strings[s], c->t->str[w]) != 0)
		return 0;
	c->m->str[s] = w;
	return 1;
}

/* Whether src's frame f is t's frame g, noting it when so. */
static int
wtab_text_same_frame(const struct wtab_text_ctx *c, uint32_t f, uint32_t g)
{
	const Profpipe__Decoded *src = c->src;

	if (c->m->fr[f] != UINT32_MAX)
		return c->m->fr[f] == g;
	if (src->frame_line[f] != c->t->fr_line[g] ||
	    !wtab_text_same_str(c, src->frame_function[f], c->t->fr_func[g]) ||
	    !wtab_text_same_str(c, src->frame_file[f], c->t->fr_file[g]))
		return 0;
	c->m->fr[f] = g;
	return 1;
}

/* itab_eq_fn: t's stack idx is stack i of src. */
static int
wtab_text_eq(const void *ctx, uint32_t idx)
{
	const struct wtab_text_ctx *c = ctx;
	const struct wtab *t = c->t;
	const Profpipe__Decoded *src = c->src;
	uint32_t off = src->stack_offset[c->i];
	uint32_t n = src->stack_offset[c->i + 1] - off;
	uint32_t woff = t->st_off[idx];
	uint32_t ls = wtab_text_set(src, c->i);
	uint32_t wls;
	uint32_t j;

	if (t->st_off[idx + 1] - woff != n)
		return 0;
	for (j = 0; j < n; j++) {
		if (!wtab_text_same_frame(
		        c, src->stack_frames[off + j], t->sf[woff + j]))
			return 0;
	}
	if (ls == 0)
		return t->st_ls[idx] == 0;
	/* The frames match, so this is the stack unless two label texts
	 * share a hash: the window has this label set, and interning it
	 * adds nothing. */
	if (t->st_ls[idx] == 0 || wtab_map_set(c->tw, src, c->m, ls, &wls) < 0)
		return 0;
	return t->st_ls[idx] == wls;
}

int
wtab_text_find(struct wtab *t, const Profpipe__Decoded *src,
    struct wtab_maps *m, size_t i, uint64_t key, uint32_t *idx)
{
	struct wtab_text_ctx c;

	c.t = t;
	c.tw = t;
	c.src = src;
	c.m = m;
	c.i = i;
	return itab_find(&t->st_tix, key, wtab_text_eq, &c, idx);
}

void
wtab_prefetch(const struct wtab *t, const Profpipe__Decoded *src,
    const struct wtab_maps *m, size_t i)
{
	itab_prefetch(&t->st_tix, wtab_text_key(src, m, i));
}

void
wtab_prefetch_stack(const struct wtab *t, const Profpipe__Decoded *src,
    const struct wtab_maps *m, size_t i)
{
	uint32_t idx = itab_peek(&t->st_tix, wtab_text_key(src, m, i));

	if (idx == UINT32_MAX)
		return;
	__builtin_prefetch(&t->st_off[idx]);
	__builtin_prefetch(&t->st_ls[idx]);
	__builtin_prefetch(&t->st_val[(size_t)idx * WTAB_MAX_TYPES]);
}
