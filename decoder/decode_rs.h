/*
 * decode_rs: the resolver's state, shared by decode_resolve.c (frames,
 * label sets, the Decoded's tables) and decode_stacks.c (samples into
 * collapsed stacks). Internal to the resolver.
 */
#ifndef PROFPIPE_DECODE_RS_H
#define PROFPIPE_DECODE_RS_H

#include <stdint.h>

#include "common/arena.h"
#include "common/wire.pb-c.h"
#include "decoder/decode.h"
#include "decoder/pprof.h"

struct rs {
	const struct pprof_profile *pr;
	const struct decode_limits *lim;
	struct arena *a;
	char *err;
	size_t errlen;
	/* strings: the profile's, then "0x..." names made for locations
	 * without lines */
	size_t n_str;
	char **extra;
	size_t *extra_len;
	size_t n_extra;
	/* frames */
	uint32_t *f_name;
	uint32_t *f_file;
	int64_t *f_line;
	uint64_t *f_hash;
	size_t n_frames;
	uint32_t *f_slots; /* frame id + 1, 0 empty */
	uint64_t f_mask;
	/* each location's frames and hash term (pprof.h), innermost first,
	 * with 16 spare bytes at the end of lf so that 16 can always be
	 * copied; max_n: the most frames a location makes */
	struct pprof_loc_frames *loc;
	uint32_t *lf;
	uint32_t max_n;
	/* where the stacks' frames go as 16-bit ids, if they may (NULL:
	 * 32-bit, into the Decoded) */
	struct decode_narrow *nw;
	/* label sets: [0] empty */
	uint32_t *ls_off;
	struct pprof_label *ls_labels; /* ls_cap of them, grown on demand */
	size_t ls_cap;
	uint64_t *ls_hash;
	size_t n_ls;
	uint32_t *ls_slots;
	uint64_t ls_mask;
	struct pprof_label *tmp_labels;
	/* the profile's strings as C strings (cut at a NUL), as the
	 * Decoded has them: valid through the samples, unlike pr's slices */
	char **strs;
	/* label strings by text (decode_labels.c): lc[i] is 1 + the first
	 * string index with string i's text, 0 until seen (lc is allocated
	 * at the first label); lc_slots holds those first indices + 1 by
	 * text hash */
	uint32_t *lc;
	uint32_t *lc_slots;
	uint64_t lc_mask;
	size_t n_lc;
	/* the reader, for the samples */
	struct rd *rd;
};

int rs_fail(struct rs *rs, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define RS_NOMEM(rs, what)                                                    \
	rs_fail((rs), DECODE_ENOMEM,                                          \
	    "out of memory for %s (past --max-memory, or malloc failed)",     \
	    (what))

/* Open-addressing table size for n entries: a power of two, half full. */
uint64_t rs_slots(size_t n);

/* The label sets (decode_labels.c): the table, before the samples; the
 * label set of a sample's n labels (0: none), found or added; the sets
 * into out, after them. */
int rs_labels_alloc(struct rs *rs);
int rs_label_set(struct rs *rs, const struct pprof_label *labels, uint32_t n,
    uint32_t *out);
int rs_out_labels(struct rs *rs, Profpipe__Decoded *out);

/* Samples into collapsed stacks (decode_stacks.c): their frames as
 * 16-bit ids in rs->nw if it is set and every frame id fits, else as
 * 32-bit ones in out. */
int rs_stacks(struct rs *rs, Profpipe__Decoded *out);

#endif
