/*
 * folded: a profile as Brendan Gregg's collapsed stacks, the input of
 * flamegraph.pl and speedscope: one line per distinct stack, frames by
 * function name from the root to the leaf joined by ';', a space, and the
 * value.
 *
 *   main.main;main.work;runtime.memmove 30000000
 *
 * One value per line, so one value type per profile kind
 * (export_kind_column). Stacks that name the same functions (they differ
 * only in files, lines or pprof labels) are summed into one line, in the
 * order first seen; lines whose sum is not positive are left out, as
 * flame-graph tools cannot draw them.
 *
 * Pure: text into a buf. A struct folded keeps its tables between profiles
 * so a sink does not reallocate them for each.
 */
#ifndef PROFPIPE_EXPORT_FOLDED_H
#define PROFPIPE_EXPORT_FOLDED_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/wire.pb-c.h"

struct folded_line;

struct folded {
	struct buf keys;           /* every distinct stack's text */
	struct folded_line *lines; /* in first-seen order */
	size_t n_lines;
	size_t size_lines;
	uint32_t *index; /* open addressing: line + 1; 0 empty */
	size_t mask;
};

void folded_init(struct folded *f);
void folded_release(struct folded *f);

/* Append p's collapsed stacks to out; *nlines is their number. p must have
 * passed export_check. A profile without the kind's value type yields no
 * lines. 0, or -1 out of memory or past a cap. */
int folded_render(struct folded *f, const Profpipe__Decoded *p,
    struct buf *out, size_t *nlines);

#endif
