/*
 * pprof: a hand-written, zero-copy reader for pprof's profile.proto. Strings
 * are (pointer, length) slices into the input; everything else lands in
 * flat arrays in an arena. Packed and unpacked repeated fields are both
 * accepted, unknown fields are skipped, and every length, varint and index
 * is checked: the reader never reads past the input, and a profile that
 * refers to a string, function or location that is not there is refused
 * with a message naming it, as Go's parser refuses it.
 *
 * References are resolved while reading: a sample's locations and a line's
 * function are array indices here, not ids, so later stages never look an
 * id up. Ids may be sparse and in any order (Go writes 1..N, others need
 * not); duplicates and the reserved id 0 are refused.
 *
 * A sample's frames (its locations' lines, or one for a location without
 * lines) are counted as it is read and checked against max_depth, so the
 * resolver can size its arrays without another pass.
 *
 * Memory: all in the arena given (some in its scratch stream, see
 * pprof_read.c); the input must outlive the result.
 */
#ifndef PROFPIPE_PPROF_H
#define PROFPIPE_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "decoder/decode.h"

#define PPROF_NONE UINT32_MAX /* no index (a location without mapping) */

struct pprof_str {
	const char *p; /* into the input; not NUL-terminated */
	size_t n;
};

/* String fields below are indices into pprof_profile.strings, checked. */
struct pprof_value_type {
	uint32_t type;
	uint32_t unit;
};

struct pprof_label {
	uint32_t key;
	uint32_t str;  /* 0: a numeric label */
	uint32_t unit; /* num_unit */
	int64_t num;
};

struct pprof_sample {
	uint32_t *loc; /* indices into locations, leaf first */
	uint32_t n_loc;
	uint32_t n_frames; /* with inlining: sum of max(1, n_lines) */
	uint32_t n_labels;
	struct pprof_label *labels; /* as in the input, empty ones dropped */
};

struct pprof_line {
	uint32_t function; /* index into functions */
	int64_t line;
};

struct pprof_location {
	uint64_t id;
	uint64_t mapping_id;
	uint64_t address;
	uint32_t mapping; /* index into mappings, or PPROF_NONE */
	uint32_t n_lines;
	struct pprof_line *lines; /* line[0] is the innermost (inlined) */
	int is_folded;
};

struct pprof_function {
	uint64_t id;
	uint32_t name;
	uint32_t system_name;
	uint32_t filename;
	int64_t start_line;
};

struct pprof_mapping {
	uint64_t id;
	uint64_t memory_start;
	uint64_t memory_limit;
	uint64_t file_offset;
	uint32_t filename;
	uint32_t build_id;
	uint8_t has_functions;
	uint8_t has_filenames;
	uint8_t has_line_numbers;
	uint8_t has_inline_frames;
};

struct pprof_profile {
	struct pprof_str *strings;
	size_t n_strings;
	struct pprof_value_type *sample_types;
	size_t n_sample_types;
	struct pprof_sample *samples;
	size_t n_samples;
	int64_t *values; /* n_samples x n_sample_types, row-major */
	struct pprof_mapping *mappings;
	size_t n_mappings;
	struct pprof_location *locations;
	size_t n_locations;
	struct pprof_function *functions;
	size_t n_functions;
	uint32_t *comments; /* string indices */
	size_t n_comments;
	uint32_t drop_frames;
	uint32_t keep_frames;
	int64_t time_nanos;
	int64_t duration_nanos;
	struct pprof_value_type period_type;
	int64_t period;
	uint32_t default_sample_type; /* string index; 0: not given */
	size_t n_loc_frames;     /* sum of max(1, n_lines) over locations */
	size_t n_bare_locations; /* locations without lines */
	size_t n_loc_refs;       /* sum of n_loc over samples */
	size_t n_frame_refs;     /* sum of n_frames over samples */
};

/* Read buf (len bytes of uncompressed profile.proto) into *out. Returns 0,
 * DECODE_EBAD with "byte N: what is wrong" in err, or DECODE_ENOMEM. */
int pprof_read(const uint8_t *buf, size_t len, const struct decode_limits *lim,
    struct arena *a, struct pprof_profile *out, char *err, size_t errlen);

/*
 * The decoder's way, in two steps: pprof_read_tables reads and checks
 * everything but the samples' contents (out->samples, values, n_loc_refs
 * and n_frame_refs stay empty; n_samples is set), and returns the reader
 * (in the arena, holding err) for pprof_read_stack to read sample i
 * straight into a stack of frames, with the same checks and messages as
 * pprof_read.
 */
struct rd; /* the reader's state (pprof_rd.h) */

int pprof_read_tables(const uint8_t *buf, size_t len,
    const struct decode_limits *lim, struct arena *a,
    struct pprof_profile *out, struct rd **rdp, char *err, size_t errlen);

/* A location's frames, made by the caller: lf[off .. off + n), and their
 * hash term, sum over j < n of frame_hash(lf[off + j]) * K^j. */
struct pprof_loc_frames {
	uint64_t hash;
	uint32_t off;
	uint32_t n;
};

/* Frame ids are 16-bit when every id fits (narrow: a profile of at most
 * 2^16 frames, which is nearly all of them) and 32-bit otherwise: lf, the
 * memo's frames and the frames pprof_read_stack writes are all uint16_t
 * or all uint32_t, as narrow says. */
struct pprof_expand {
	const struct pprof_loc_frames *loc; /* per location */
	int narrow;
	const void *lf;      /* 16 readable bytes past the end */
	const uint64_t *pow; /* K^i, i < pprof_stack_depth() */
	uint32_t max_n;      /* the largest n */
	int pext; /* use BMI2's pext: only if pprof_fast_pext() said so */
	/* Location lists already resolved (pprof_memo.h; NULL: none), and
	 * the frame array its entries' offsets are in. */
	struct pprof_memo *memo;
	const void *frames;
	/* Label sets already found, by their labels' bytes
	 * (pprof_ltail.h; NULL: do not look). */
	const struct pprof_ltail *ltail;
};

/* Whether this CPU has a fast pext (BMI2, and not in microcode). */
int pprof_fast_pext(void);

/* What pprof_read_stack found besides the frames and values. */
struct pprof_stack {
	uint32_t n_frames;
	uint64_t sum; /* sum over frames i (leaf 0) of hash(frame i) * K^i */
	uint32_t n_locs;
	/* The sample's one location list, not found in x->memo: its bytes
	 * and their hash, for pprof_memo_add once its stack is kept. NULL
	 * if found, or if the sample's ids are not one packed list. */
	const uint8_t *ids;
	uint32_t n_ids;
	uint64_t ids_hash;
	uint32_t n_labels;
	const struct pprof_label
	    *labels; /* the reader's: until the next call */
	/* The label set, when x->ltail knew the labels' bytes (labels
	 * then not read, n_labels 0); else PPROF_NONE, and ltail_n, if
	 * not 0, the length of a tail of labels to remember, in ltail_w. */
	uint32_t lset;
	uint32_t ltail_n;
	uint64_t ltail_w[2];
};

/* How deep any stack can be: min(max_depth, the largest sample's bytes *
 * max_n); pow needs as many entries. */
size_t pprof_stack_depth(const struct rd *rd, uint32_t max_n);

/* How many frame ids pprof_read_stack may write for any sample:
 * pprof_stack_depth and 8 to spare (it copies 16 bytes at a time: 4
 * 32-bit ids or 8 16-bit ones). */
size_t pprof_stack_room(const struct rd *rd, uint32_t max_n);

/* Bytes of all the samples: for a first guess at the frames' size. */
size_t pprof_samples_bytes(const struct rd *rd);

/* One past the last byte of any sample's payload (the buffer's start if
 * there is none): all that pprof_read_stack reads lies before it. */
const uint8_t *pprof_samples_end(const struct rd *rd);

/* Sample i: its frames, leaf first, to frames[0 .. n_frames) (ids of the
 * width x->narrow says; writing at most pprof_stack_room ids), its values
 * to vals[0 .. n_sample_types). Returns 0, DECODE_EBAD with err set, or
 * DECODE_ENOMEM. */
int pprof_read_stack(struct rd *rd, size_t i, const struct pprof_expand *x,
    void *frames, int64_t *vals, struct pprof_stack *out);

/* Id to index maps (pprof_idmap.c). Dense ids 1..N in order, the usual
 * case, cost nothing to look up; others go through a table. */
struct pprof_idmap {
	int dense;
	uint32_t n;
	uint64_t mask;  /* table: slots - 1 */
	uint64_t *keys; /* table: ids, 0 = empty */
	uint32_t *vals; /* table: indices */
};

/* Build from n ids (stride bytes apart, starting at ids). On a duplicate
 * or a zero id returns DECODE_EBAD with *bad set to its position. */
int pprof_idmap_build(struct pprof_idmap *m, const void *ids, size_t stride,
    size_t n, struct arena *a, size_t *bad);
uint32_t pprof_idmap_find(const struct pprof_idmap *m, uint64_t id);

static inline uint32_t
pprof_idmap_get(const struct pprof_idmap *m, uint64_t id)
{
	if (m->dense)
		return id - 1 < m->n ? (uint32_t)(id - 1) : PPROF_NONE;
	return pprof_idmap_find(m, id);
}

#endif
