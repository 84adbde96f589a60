/*
 * decode_print: a Decoded as people and flame-graph tools read it, for the
 * decoder's one-shot mode (profpipe-decoder --format folded|json FILE).
 *
 * Folded is Brendan Gregg's collapsed format: "root;...;leaf VALUE" per
 * line, frames named by function name (inlined frames expanded), one value
 * column, and stacks with the same sequence of names summed into one line,
 * which is what Go's pprof package gives when grouped by function names.
 * Lines whose sum is 0 are left out. In a name, ';' becomes ':' and control
 * bytes become '?', so that a line always splits the same way.
 *
 * JSON is one object per profile on one line: sample types, period,
 * duration, time, and every stack with its frames (leaf first: name, file,
 * line), values (one per sample type) and labels.
 */
#ifndef PROFPIPE_DECODE_PRINT_H
#define PROFPIPE_DECODE_PRINT_H

#include <stdint.h>
#include <stdio.h>

#include "common/arena.h"
#include "common/wire.pb-c.h"

/* Stacks grouped by their sequence of function names as printed (two
 * names that differ only in what printing replaces are one). */
struct decode_fold {
	size_t n;                /* groups, in order of first appearance */
	uint32_t *stack;         /* the first stack of each group */
	int64_t *values;         /* n x n_sample_types: the group's sums */
	unsigned char *overflow; /* per sample type: a sum overflowed */
	const char **name;       /* per frame: its function's name, printed */
	size_t *name_len;
};

/* Group d's stacks (in a). Returns 0 or -1 out of memory. */
int decode_fold(
    const Profpipe__Decoded *d, struct arena *a, struct decode_fold *out);

/* Print the groups' value of sample type `type`. Returns 0, -1 (write
 * error, errno set) or -2 (a sum of that type overflows int64: nothing
 * printed). */
int decode_fold_print(const Profpipe__Decoded *d, const struct decode_fold *g,
    size_t type, FILE *f);

/* The sample type named name, or -1. */
int decode_sample_type(const Profpipe__Decoded *d, const char *name);

/* One JSON line for d; file names it. Returns 0 or -1 (write error or out
 * of memory). */
int decode_json_print(const Profpipe__Decoded *d, const char *file, FILE *f);

#endif
