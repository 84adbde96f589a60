/*
 * decode_folded: stacks grouped by function names, printed collapsed.
 * Frames are first mapped to a canonical name (the first frame with the
 * same name text), so a group's key is a sequence of small integers:
 * hashing and comparing it never touches the text again.
 */
#include <string.h>

#include "common/buf.h"
#include "common/hash.h"
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

/* cn[f]: the canonical name id of frame f. */
static uint32_t *
fold_names(const Profpipe__Decoded *d, struct arena *a)
{
	size_t nf = d->n_frame_function;
	uint64_t mask = fold_slots(nf) - 1;
	uint32_t *slots = arena_calloc(a, mask + 1, sizeof(*slots));
	uint64_t *hs = arena_alloc(a, (nf + 1) * sizeof(*hs));
	uint32_t *cn = arena_alloc(a, (nf + 1) * sizeof(*cn));
	const char *name;
	uint64_t s;
	uint32_t e;
	size_t i;

	if (slots == NULL || hs == NULL || cn == NULL)
		return NULL;
	for (i = 0; i < nf; i++) {
		name = d->strings[d->frame_function[i]];
		hs[i] = hash_bytes(HASH_SEED, name, strlen(name));
		s = (hs[i] >> 7) & mask;
		while ((e = slots[s]) != 0) {
			if (hs[e - 1] == hs[i] &&
			    strcmp(d->strings[d->frame_function[e - 1]],
			        name) == 0)
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
	uint64_t mask = fold_slots(ns) - 1;
	uint32_t *cn = fold_names(d, a);
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
	if (cn == NULL || slots == NULL || gh == NULL || out->stack == NULL ||
	    out->values == NULL)
		return -1;
	for (i = 0; i < ns; i++) {
		h = HASH_SEED;
		for (k = d->stack_offset[i]; k < d->stack_offset[i + 1]; k++)
			h = hash_u64(h, cn[d->stack_frames[k]]);
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
		for (t = 0; t < nt; t++) {
			if (__builtin_add_overflow(
			        out->values[(e - 1) * nt + t],
			        d->values[i * nt + t],
			        &out->values[(e - 1) * nt + t]))
				return -2;
		}
	}
	return 0;
}

static void
fold_name(struct buf *b, const char *s)
{
	size_t start = b->len;
	size_t i;

	buf_puts(b, s);
	if (b->failed)
		return;
	for (i = start; i < b->len; i++) {
		if (b->data[i] == ';')
			b->data[i] = ':';
		else if (b->data[i] < 0x20)
			b->data[i] = '?';
	}
}

static int
fold_flush(struct buf *b, FILE *f)
{
	if (b->failed)
		return -1;
	if (b->len > 0 && fwrite(b->data, 1, b->len, f) != b->len)
		return -1;
	buf_clear(b);
	return 0;
}

int
decode_fold_print(const Profpipe__Decoded *d, const struct decode_fold *g,
    size_t type, FILE *f)
{
	size_t nt = d->n_sample_types;
	struct buf b;
	uint32_t lo;
	uint32_t k;
	size_t i;
	int64_t v;
	int rv = 0;

	buf_init(&b, 0);
	for (i = 0; i < g->n && rv == 0; i++) {
		v = g->values[i * nt + type];
		if (v == 0)
			continue;
		lo = d->stack_offset[g->stack[i]];
		for (k = d->stack_offset[g->stack[i] + 1]; k > lo; k--) {
			fold_name(&b,
			    d->strings
			        [d->frame_function[d->stack_frames[k - 1]]]);
			if (k - 1 > lo)
				buf_putc(&b, ';');
		}
		buf_printf(&b, " %lld\n", (long long)v);
		if (b.len >= FOLD_FLUSH || b.failed)
			rv = fold_flush(&b, f);
	}
	if (rv == 0)
		rv = fold_flush(&b, f);
	buf_release(&b);
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
