/*
 * decode_folded: stacks grouped by function names, printed collapsed.
 * Frames are first mapped to a canonical name (the first frame with the
 * same name text), so a group's key is a sequence of small integers:
 * hashing and comparing it never touches the text again.
 */
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"
#include "decoder/decode_print.h"

#define FOLD_FLUSH (64 * 1024)

static uint64_t
fold_slots(size_t n)
{
	uint64_t s = 16;

	while (s < 2 * (uint64_t)n)
		s *= 2;
	return s;
}

/* cn[f]: the canonical name id of frame f, by the names as printed. */
static uint32_t *
fold_names(
    const Profpipe__Decoded *d, const struct decode_fold *g, struct arena *a)
{
	size_t nf = d->n_frame_function;
	uint64_t mask = fold_slots(nf) - 1;
	uint32_t *slots = arena_calloc(a, mask + 1, sizeof(*slots));
	uint64_t *hs = arena_alloc(a, (nf + 1) * sizeof(*hs));
	uint32_t *cn = arena_alloc(a, (nf + 1) * sizeof(*cn));
	uint64_t s;
	uint32_t e;
	size_t i;

	if (slots == NULL || hs == NULL || cn == NULL)
		return NULL;
	for (i = 0; i < nf; i++) {
		hs[i] = hash_bytes(HASH_SEED, g->name[i], g->name_len[i]);
		s = (hs[i] >> 7) & mask;
		while ((e = slots[s]) != 0) {
			if (hs[e - 1] == hs[i] &&
			    g->name_len[e - 1] == g->name_len[i] &&
			    memcmp(g->name[e - 1], g->name[i],
			        g->name_len[i]) == 0)
				break;
			s = (s + 1) & mask;
		}
		if (e == 0) {
			slots[s] = (uint32_t)i + 1;
			e = (uint32_t)i + 1;
		}
		cn[i] = e - 1;
	}
	return cn;
}

/* Each frame's name as printed: the string itself, or (if it holds ';'
 * or control bytes) a cleaned copy. */
static int
fold_printable(
    const Profpipe__Decoded *d, struct arena *a, const char **nm, size_t *nl)
{
	const char *s;
	char *c;
	size_t i;
	size_t k;

	for (i = 0; i < d->n_frame_function; i++) {
		s = d->strings[d->frame_function[i]];
		nl[i] = strlen(s);
		nm[i] = s;
		for (k = 0; k < nl[i]; k++) {
			if (s[k] == ';' || (unsigned char)s[k] < 0x20)
				break;
		}
		if (k == nl[i])
			continue;
		c = arena_strndup(a, s, nl[i]);
		if (c == NULL)
			return -1;
		for (; k < nl[i]; k++) {
			if (c[k] == ';')
				c[k] = ':';
			else if ((unsigned char)c[k] < 0x20)
				c[k] = '?';
		}
		nm[i] = c;
	}
	return 0;
}

static int
fold_same(const Profpipe__Decoded *d, const uint32_t *cn, size_t x, size_t y)
{
	uint32_t nx = d->stack_offset[x + 1] - d->stack_offset[x];
	uint32_t ny = d->stack_offset[y + 1] - d->stack_offset[y];
	const uint32_t *fx = d->stack_frames + d->stack_offset[x];
	const uint32_t *fy = d->stack_frames + d->stack_offset[y];
	uint32_t i;

	if (nx != ny)
		return 0;
	for (i = 0; i < nx; i++) {
		if (cn[fx[i]] != cn[fy[i]])
			return 0;
	}
	return 1;
}

int
decode_fold(
    const Profpipe__Decoded *d, struct arena *a, struct decode_fold *out)
{
	size_t ns = d->n_stack_hash;
	size_t nt = d->n_sample_types;
	size_t nf = d->n_frame_function;
	uint64_t mask = fold_slots(ns) - 1;
	uint32_t *cn;
	uint32_t *slots = arena_calloc(a, mask + 1, sizeof(*slots));
	uint64_t *gh = arena_alloc(a, (ns + 1) * sizeof(*gh));
	uint64_t h;
	uint64_t s;
	uint32_t e;
	uint32_t k;
	size_t i;
	size_t t;

	memset(out, 0, sizeof(*out));
	out->stack = arena_alloc(a, (ns + 1) * sizeof(*out->stack));
	out->values = arena_alloc(a, (ns * nt + 1) * sizeof(*out->values));
	out->overflow = arena_calloc(a, nt + 1, 1);
	out->name = arena_alloc(a, (nf + 1) * sizeof(*out->name));
	out->name_len = arena_alloc(a, (nf + 1) * sizeof(*out->name_len));
	if (slots == NULL || gh == NULL || out->stack == NULL ||
	    out->values == NULL || out->overflow == NULL ||
	    out->name == NULL || out->name_len == NULL ||
	    fold_printable(d, a, out->name, out->name_len) < 0)
		return -1;
	cn = fold_names(d, out, a);
	if (cn == NULL)
		return -1;
	for (i = 0; i < ns; i++) {
		h = HASH_SEED;
		for (k = d->stack_offset[i]; k < d->stack_offset[i + 1]; k++)
			h = hash_u64_inline(h, cn[d->stack_frames[k]]);
		s = (h >> 7) & mask;
		while ((e = slots[s]) != 0) {
			if (gh[e - 1] == h &&
			    fold_same(d, cn, out->stack[e - 1], i))
				break;
			s = (s + 1) & mask;
		}
		if (e == 0) {
			e = (uint32_t)++out->n;
			slots[s] = e;
			gh[e - 1] = h;
			out->stack[e - 1] = (uint32_t)i;
			memcpy(out->values + (e - 1) * nt, d->values + i * nt,
			    nt * sizeof(*out->values));
			continue;
		}
		/* An overflow spoils its type's column only. */
		for (t = 0; t < nt; t++)
			out->overflow[t] |= __builtin_add_overflow(
			    out->values[(e - 1) * nt + t],
			    d->values[i * nt + t],
			    &out->values[(e - 1) * nt + t]);
	}
	return 0;
}

/* Output through a fixed buffer: lines are many and short, so each piece
 * is a bounds check and a memcpy. */
struct fold_out {
	FILE *f;
	size_t len;
	int failed;
	char buf[FOLD_FLUSH];
};

static void
fold_flush(struct fold_out *o)
{
	if (o->len > 0 && !o->failed &&
	    fwrite(o->buf, 1, o->len, o->f) != o->len)
		o->failed = 1;
	o->len = 0;
}

static void
fold_put(struct fold_out *o, const char *p, size_t n)
{
	if (o->len + n > sizeof(o->buf)) {
		fold_flush(o);
		if (n > sizeof(o->buf)) {
			if (!o->failed && fwrite(p, 1, n, o->f) != n)
				o->failed = 1;
			return;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

int
decode_fold_print(const Profpipe__Decoded *d, const struct decode_fold *g,
    size_t type, FILE *f)
{
	struct fold_out *o;
	size_t nt = d->n_sample_types;
	char num[32];
	uint32_t lo;
	uint32_t k;
	uint32_t fr;
	size_t i;
	int64_t v;
	int n;
	int rv;

	if (g->overflow[type])
		return -2;
	o = xmalloc(sizeof(*o));
	if (o == NULL)
		return -1;
	o->f = f;
	o->len = 0;
	o->failed = 0;
	for (i = 0; i < g->n && !o->failed; i++) {
		v = g->values[i * nt + type];
		if (v == 0)
			continue;
		lo = d->stack_offset[g->stack[i]];
		for (k = d->stack_offset[g->stack[i] + 1]; k > lo; k--) {
			fr = d->stack_frames[k - 1];
			fold_put(o, g->name[fr], g->name_len[fr]);
			if (k - 1 > lo)
				fold_put(o, ";", 1);
		}
		n = snprintf(num, sizeof(num), " %lld\n", (long long)v);
		fold_put(o, num, (size_t)n);
	}
	fold_flush(o);
	rv = o->failed ? -1 : 0;
	xfree(o);
	return rv;
}

int
decode_sample_type(const Profpipe__Decoded *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n_sample_types; i++) {
		if (strcmp(d->strings[d->sample_types[i]->type], name) == 0)
			return (int)i;
	}
	return -1;
}
