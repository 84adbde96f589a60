/*
 * pprof_rd: what pprof_read.c (the top level, the order of the tables) and
 * pprof_entry.c (one table entry: a function, a location, a sample...)
 * share: the reader's state and its error helpers. Internal to the reader.
 */
#ifndef PROFPIPE_PPROF_RD_H
#define PROFPIPE_PPROF_RD_H

#include "decoder/pprof.h"
#include "common/pb_wire.h"

enum {
	F_SAMPLE_TYPE = 1,
	F_SAMPLE,
	F_MAPPING,
	F_LOCATION,
	F_FUNCTION,
	F_STRING,
	F_DROP,
	F_KEEP,
	F_TIME,
	F_DURATION,
	F_PERIOD_TYPE,
	F_PERIOD,
	F_COMMENT,
	F_DEFAULT_TYPE,
	F_TOP
};

struct pb_slice {
	const uint8_t *p;
	size_t n;
};

struct rd {
	const uint8_t *base;
	const uint8_t *end; /* of the whole buffer: 8-byte loads stop here */
	const struct decode_limits *lim;
	struct arena *a;
	struct pprof_profile *pr;
	char *err;
	size_t errlen;
	const char *kind; /* what is being read, for messages */
	size_t index;
	uint64_t id;
	size_t count[F_TOP];          /* top-level fields seen, per number */
	struct pb_slice *msgs[F_TOP]; /* payloads of the repeated messages */
	int64_t raw[F_TOP];           /* scalars, string indices unchecked */
	int64_t pt_type;
	int64_t pt_unit;
	struct pprof_idmap fmap;
	struct pprof_idmap mmap;
	struct pprof_idmap lmap;
	uint32_t *tmp_loc;             /* max_depth */
	struct pprof_line *tmp_line;   /* max_depth */
	struct pprof_label *tmp_label; /* max_labels */
	/* the locations' lines: carved from chunks, not one arena_alloc
	 * (and a memcpy call) per location */
	struct pprof_line *line_at;
	struct pprof_line *line_end;
	/* per location: the frames it makes (max(1, lines)), in a byte so
	 * the table stays in L1; nfr_ok: none was over 255 */
	uint8_t *nfr;
	int nfr_ok;
	size_t samples_bytes; /* of all the samples' messages */
	size_t max_sample;    /* bytes of the largest */
	/* Samples are not kept as slices (16 bytes each, 0.45 MB of a
	 * 28k-sample profile's peak) but found by walking the top level
	 * from the one before: they are read in order, and Go's heap,
	 * mutex, block and goroutine profiles have them one after another.
	 * Its CPU profiles interleave them with locations and functions
	 * (written as they are met); then each sample's payload is kept as
	 * an offset and a length (8 bytes), not walked to through the
	 * tables. No tag but that of a sample right after another is read
	 * again: decode.c NUL-terminates strings in place, on the byte
	 * after each, which is the next field's tag. */
	const uint8_t *first_sample; /* its field's start; NULL: none */
	struct pb_slice first;       /* its payload */
	const uint8_t *samples_end;  /* past the last sample's bytes */
	int scattered;               /* other fields between samples */
	struct rd_sample_ref {
		uint32_t off; /* from base */
		uint32_t n;
	} * sample_ref;      /* when scattered */
	struct pb_slice cur; /* sample cur_i's payload */
	size_t cur_i;
	const uint8_t *scan; /* past sample cur_i's field */
	int cur_ok;
};

/* Sample i's payload (i < n_samples): the last one found again, or the
 * walk from it (from the start when i is behind it). */
const struct pb_slice *rd_sample_walk(struct rd *rd, size_t i);

/* Sample i's payload is p[0 .. n): the cursor moves to it. */
static inline const struct pb_slice *
rd_sample_found(struct rd *rd, size_t i, const uint8_t *p, size_t n)
{
	rd->cur.p = p;
	rd->cur.n = n;
	rd->cur_i = i;
	rd->scan = p + n;
	rd->cur_ok = 1;
	return &rd->cur;
}

/* rd_sample_at, inline for the usual cases: the same sample again, or
 * the next one right after it. */
static inline const struct pb_slice *
rd_sample_at(struct rd *rd, size_t i)
{
	const uint8_t *p = rd->scan;
	uint64_t n;

	if (rd->cur_ok && i == rd->cur_i)
		return &rd->cur;
	if (rd->cur_ok && i == rd->cur_i + 1 && p < rd->end &&
	    *p == (F_SAMPLE << 3 | PB_LEN)) {
		p = pb_varint(p + 1, rd->end, &n);
		if (p != NULL && n <= (uint64_t)(rd->end - p))
			return rd_sample_found(rd, i, p, (size_t)n);
	}
	return rd_sample_walk(rd, i);
}

int rd_fail(struct rd *rd, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rd_nomem(struct rd *rd, const char *what);
int rd_wire(struct rd *rd, const struct pb_field *f, int why);
int rd_mismatch(struct rd *rd, const struct pb_field *f);
int rd_str(struct rd *rd, const uint8_t *at, int64_t v, uint32_t *out,
    const char *what);

#define WANT(rd, f, w)                                                        \
	do {                                                                  \
		if ((f).wt != (w))                                            \
			return rd_mismatch((rd), &(f));                       \
	} while (0)

/* Table entries (pprof_entry.c). */
int rd_value_type(
    struct rd *rd, const uint8_t *p, size_t n, int64_t *type, int64_t *unit);
int rd_mapping(
    struct rd *rd, const struct pb_slice *s, struct pprof_mapping *m);
/* The whole table, with the entry's loop here so that the reading of one
 * is inlined into it. rd_locations also sets nfr and the profile's
 * n_loc_frames and n_bare_locations. */
int rd_functions(struct rd *rd);
int rd_locations(struct rd *rd);
int rd_sample(struct rd *rd, const struct pb_slice *s,
    struct pprof_sample *out, int64_t *vals);

#endif
