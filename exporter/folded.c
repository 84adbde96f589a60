/*
 * folded: collapsing a profile's stacks by function names. The text of each
 * stack is built once into one buffer; a hash table over (hash, text) finds
 * a line already seen, whose sum then grows, and the duplicate text is
 * dropped again. Frames are named by function only, so the inlined and
 * per-line frames of one function that pprof keeps apart fold together.
 */
#include "exporter/folded.h"

#include <inttypes.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"
#include "exporter/profile.h"

#define FOLDED_KEYS_CAP ((size_t)256 * 1024 * 1024)
#define FOLDED_MAX_LINES ((size_t)UINT32_MAX / 4)

struct folded_line {
	uint64_t hash;
	size_t off;
	size_t len;
	int64_t sum;
};

void
folded_init(struct folded *f)
{
	memset(f, 0, sizeof(*f));
	buf_init(&f->keys, FOLDED_KEYS_CAP);
}

void
folded_release(struct folded *f)
{
	buf_release(&f->keys);
	xfree(f->lines);
	xfree(f->index);
	memset(f, 0, sizeof(*f));
}

static void
folded_reset(struct folded *f)
{
	buf_clear(&f->keys);
	f->n_lines = 0;
	if (f->index != NULL)
		memset(f->index, 0, (f->mask + 1) * sizeof(*f->index));
}

/* A function name as one frame of a line: ';' separates frames and a
 * newline ends the line, so neither may appear inside a name. */
static void
folded_name(struct buf *b, const char *s)
{
	const char *p;

	if (*s == '\0') {
		buf_puts(b, "[unknown]");
		return;
	}
	for (p = s; *p != '\0'; p++) {
		if (*p == ';')
			buf_putc(b, ':');
		else if (*p == '\n' || *p == '\r')
			buf_putc(b, ' ');
		else
			buf_putc(b, *p);
	}
}

static int
folded_grow_index(struct folded *f)
{
	size_t size = f->index == NULL ? 1024 : (f->mask + 1) * 2;
	uint32_t *index;
	size_t i;
	size_t k;

	index = xcalloc(size, sizeof(*index));
	if (index == NULL)
		return -1;
	for (i = 0; i < f->n_lines; i++) {
		k = (size_t)f->lines[i].hash & (size - 1);
		while (index[k] != 0)
			k = (k + 1) & (size - 1);
		index[k] = (uint32_t)(i + 1);
	}
	xfree(f->index);
	f->index = index;
	f->mask = size - 1;
	return 0;
}

static int
folded_new_line(struct folded *f, size_t slot, uint64_t h, size_t off,
    size_t len, int64_t v)
{
	struct folded_line *lines;
	size_t size;

	if (f->n_lines >= FOLDED_MAX_LINES)
		return -1;
	if (f->n_lines == f->size_lines) {
		size = f->size_lines ? f->size_lines * 2 : 256;
		lines = xrealloc(f->lines, size * sizeof(*lines));
		if (lines == NULL)
			return -1;
		f->lines = lines;
		f->size_lines = size;
	}
	f->lines[f->n_lines].hash = h;
	f->lines[f->n_lines].off = off;
	f->lines[f->n_lines].len = len;
	f->lines[f->n_lines].sum = v;
	f->n_lines++;
	f->index[slot] = (uint32_t)f->n_lines;
	return 0;
}

/* Add v to the line whose text is keys[off..]: an existing line (the text
 * just built is dropped again) or a new one. */
static int
folded_add(struct folded *f, size_t off, int64_t v)
{
	size_t len = f->keys.len - off;
	const unsigned char *key = f->keys.data + off;
	struct folded_line *l;
	uint64_t h = hash_bytes(HASH_SEED, key, len);
	size_t k;

	if ((f->n_lines + 1) * 2 > f->mask + 1 && folded_grow_index(f) < 0)
		return -1;
	for (k = (size_t)h & f->mask; f->index[k] != 0;
	     k = (k + 1) & f->mask) {
		l = &f->lines[f->index[k] - 1];
		if (l->hash != h || l->len != len ||
		    memcmp(f->keys.data + l->off, key, len) != 0)
			continue;
		if (__builtin_add_overflow(l->sum, v, &l->sum))
			l->sum = v > 0 ? INT64_MAX : INT64_MIN;
		f->keys.len = off;
		return 0;
	}
	return folded_new_line(f, k, h, off, len, v);
}

int
folded_render(struct folded *f, const Profpipe__Decoded *p, struct buf *out,
    size_t *nlines)
{
	struct export_col col;
	const uint32_t *frames;
	size_t n_stacks = export_n_stacks(p);
	size_t i;
	size_t n;
	size_t off;
	int64_t v;

	*nlines = 0;
	folded_reset(f);
	if (export_kind_column(p, &col) < 0)
		return 0;
	for (i = 0; i < n_stacks; i++) {
		v = export_value(p, i, &col);
		export_stack(p, i, &frames, &n);
		if (v == 0 || n == 0)
			continue;
		off = f->keys.len;
		while (n-- > 0) {
			folded_name(
			    &f->keys, export_frame_function(p, frames[n]));
			if (n > 0)
				buf_putc(&f->keys, ';');
		}
		if (f->keys.failed || folded_add(f, off, v) < 0)
			return -1;
	}
	for (i = 0; i < f->n_lines; i++) {
		if (f->lines[i].sum <= 0)
			continue;
		buf_append(
		    out, f->keys.data + f->lines[i].off, f->lines[i].len);
		buf_printf(out, " %" PRId64 "\n", f->lines[i].sum);
		(*nlines)++;
	}
	return out->failed ? -1 : 0;
}
