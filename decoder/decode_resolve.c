/*
 * decode_resolve: tables to stacks. The work is arranged so that the cost
 * per sample frame is a load, a store and one multiply:
 *
 *  - every location is expanded once into its frames (a run of frame ids),
 *    and every frame's text is hashed once, so a sample's stack is copying
 *    runs and chaining 64-bit frame hashes;
 *  - the stack hash doubles as the key of the collapsing table, so an
 *    identical stack costs one probe and one memcmp of frame ids.
 *
 * Frames are keyed by text, not string index, so a writer that repeats a
 * string in its table still gets one frame per (function, file, line).
 */
#include "decoder/decode_resolve.h"
#include "decoder/decode_rs.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/hash.h"

int
rs_fail(struct rs *rs, int rv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rs->err, rs->errlen, fmt, ap);
	va_end(ap);
	return rv;
}

uint64_t
rs_slots(size_t n)
{
	uint64_t s = 16;

	while (s < 2 * (uint64_t)n)
		s *= 2;
	return s;
}

static const char *
rs_str(const struct rs *rs, uint32_t i, size_t *len)
{
	if (i < rs->n_str) {
		*len = rs->pr->strings[i].n;
		return rs->pr->strings[i].p;
	}
	*len = rs->extra_len[i - rs->n_str];
	return rs->extra[i - rs->n_str];
}

static int
rs_same_str(const struct rs *rs, uint32_t a, uint32_t b)
{
	const char *pa;
	const char *pb;
	size_t na;
	size_t nb;

	if (a == b)
		return 1;
	pa = rs_str(rs, a, &na);
	pb = rs_str(rs, b, &nb);
	return na == nb && memcmp(pa, pb, na) == 0;
}

uint64_t
decode_frame_hash(const char *name, size_t name_len, const char *file,
    size_t file_len, int64_t line)
{
	uint64_t h = hash_bytes(HASH_SEED, name, name_len);

	h = hash_bytes(h, file, file_len);
	return hash_u64(h, (uint64_t)line);
}

uint64_t
decode_stack_hash(const uint64_t *frame_hashes, size_t n)
{
	uint64_t sum = 0;
	uint64_t pow = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		sum += frame_hashes[i] * pow;
		pow *= DECODE_STACK_K;
	}
	return decode_stack_hash_final(sum, n);
}

/* The frame (name, file, line) whose text hashes to fh: found or added.
 * Inline: it is on every line's way. */
static inline uint32_t
rs_frame(
    struct rs *rs, uint32_t name, uint32_t file, int64_t line, uint64_t fh)
{
	uint64_t s = (fh >> 7) & rs->f_mask;
	uint32_t e;

	while ((e = rs->f_slots[s]) != 0) {
		e--;
		if (rs->f_hash[e] == fh && rs->f_line[e] == line &&
		    rs_same_str(rs, rs->f_name[e], name) &&
		    rs_same_str(rs, rs->f_file[e], file))
			return e;
		s = (s + 1) & rs->f_mask;
	}
	e = (uint32_t)rs->n_frames++;
	rs->f_name[e] = name;
	rs->f_file[e] = file;
	rs->f_line[e] = line;
	rs->f_hash[e] = fh;
	rs->f_slots[s] = e + 1;
	return e;
}

/* A location without lines (not symbolized): one frame named by its
 * address. */
static int
rs_address_frame(struct rs *rs, uint64_t addr, uint32_t *out)
{
	char name[24];
	int n =
	    snprintf(name, sizeof(name), "0x%llx", (unsigned long long)addr);
	uint32_t idx = (uint32_t)(rs->n_str + rs->n_extra);
	uint64_t fh = decode_frame_hash(name, (size_t)n, "", 0, 0);
	size_t before = rs->n_frames;
	char *copy = arena_strndup(rs->a, name, (size_t)n);

	if (copy == NULL)
		return RS_NOMEM(rs, "frames");
	rs->extra[rs->n_extra] = copy;
	rs->extra_len[rs->n_extra] = (size_t)n;
	rs->n_extra++;
	*out = rs_frame(rs, idx, 0, 0, fh);
	if (rs->n_frames == before)
		rs->n_extra--; /* an address seen before: drop the copy */
	return 0;
}

/* A location's n frames (lf[t->off ...]) as a term of the stack hash's
 * sum, as if the stack started with them: the stack adds it times K^i,
 * i the position of its first frame. */
static void
rs_loc_term(struct rs *rs, struct pprof_loc_frames *t, uint32_t n)
{
	uint64_t pow = 1;
	uint64_t sum = 0;
	uint32_t j;

	for (j = 0; j < n; j++) {
		sum += rs->f_hash[rs->lf[t->off + j]] * pow;
		pow *= DECODE_STACK_K;
	}
	t->n = n;
	t->hash = sum;
	if (n > rs->max_n)
		rs->max_n = n;
}

/* Make every location's frames: one frame per line, innermost first, or
 * one named by its address when it has no lines. What only this pass
 * needs (the frame table's slots and hashes, the functions' hashes) goes
 * in tmp, the rest in rs->a. */
static int
rs_locations(struct rs *rs, struct arena *tmp)
{
	const struct pprof_profile *pr = rs->pr;
	const struct pprof_location *l;
	const struct pprof_function *fn;
	const struct pprof_line *ln;
	size_t bound;
	size_t naddr;
	size_t nf = 0;
	uint64_t *fnh;
	uint64_t slots;
	size_t i;
	uint64_t sum;
	uint64_t pow;
	uint64_t fh;
	uint32_t k;
	int rv;

	bound = pr->n_loc_frames;
	naddr = pr->n_bare_locations;
	if (bound > UINT32_MAX / 2)
		return rs_fail(rs, DECODE_EBAD, "%zu frames: too many", bound);
	slots = rs_slots(bound);
	rs->f_mask = slots - 1;
	rs->f_slots = arena_calloc(tmp, slots, sizeof(*rs->f_slots));
	rs->f_name = arena_alloc(rs->a, (bound + 1) * sizeof(*rs->f_name));
	rs->f_file = arena_alloc(rs->a, (bound + 1) * sizeof(*rs->f_file));
	rs->f_line = arena_alloc(rs->a, (bound + 1) * sizeof(*rs->f_line));
	rs->f_hash = arena_alloc(tmp, (bound + 1) * sizeof(*rs->f_hash));
	rs->loc = arena_alloc(rs->a, (pr->n_locations + 1) * sizeof(*rs->loc));
	rs->lf = arena_calloc(rs->a, bound + 4, sizeof(*rs->lf));
	rs->extra = arena_alloc(rs->a, (naddr + 1) * sizeof(*rs->extra));
	rs->extra_len =
	    arena_alloc(rs->a, (naddr + 1) * sizeof(*rs->extra_len));
	fnh = arena_alloc(tmp, (pr->n_functions + 1) * sizeof(*fnh));
	if (rs->f_slots == NULL || rs->f_name == NULL || rs->f_file == NULL ||
	    rs->f_line == NULL || rs->f_hash == NULL || rs->loc == NULL ||
	    rs->lf == NULL || rs->extra == NULL || rs->extra_len == NULL ||
	    fnh == NULL)
		return RS_NOMEM(rs, "frames");
	/* The text half of every frame hash, once per function. */
	for (i = 0; i < pr->n_functions; i++) {
		fn = &pr->functions[i];
		fnh[i] = hash_bytes(
		    hash_bytes(HASH_SEED, pr->strings[fn->name].p,
		        pr->strings[fn->name].n),
		    pr->strings[fn->filename].p, pr->strings[fn->filename].n);
	}
	rs->max_n = 0;
	for (i = 0; i < pr->n_locations; i++) {
		l = &pr->locations[i];
		rs->loc[i].off = (uint32_t)nf;
		if (l->n_lines == 0) {
			rv = rs_address_frame(rs, l->address, &rs->lf[nf++]);
			if (rv != 0)
				return rv;
			rs_loc_term(rs, &rs->loc[i], 1);
			continue;
		}
		/* rs_loc_term's sum, from the frames' hashes at hand */
		sum = 0;
		pow = 1;
		for (k = 0; k < l->n_lines; k++) {
			ln = &l->lines[k];
			fn = &pr->functions[ln->function];
			fh = hash_u64_inline(
			    fnh[ln->function], (uint64_t)ln->line);
			rs->lf[nf++] =
			    rs_frame(rs, fn->name, fn->filename, ln->line, fh);
			sum += fh * pow;
			pow *= DECODE_STACK_K;
		}
		rs->loc[i].n = l->n_lines;
		rs->loc[i].hash = sum;
		if (l->n_lines > rs->max_n)
			rs->max_n = l->n_lines;
	}
	rs->loc[i].off = (uint32_t)nf; /* where they end, in all */
	rs->loc[i].n = 0;
	rs->loc[i].hash = 0;
	return 0;
}

/* Go's default sample type: the named one, else the last. Found before
 * the scratch stream, where the strings' slices are, is trimmed. */
static int32_t
rs_default_type(const struct rs *rs)
{
	const struct pprof_profile *pr = rs->pr;
	size_t n;
	size_t i;

	/* Go's rule: a default named "" (at any index) names none. */
	rs_str(rs, pr->default_sample_type, &n);
	for (i = 0; n > 0 && i < pr->n_sample_types; i++) {
		if (rs_same_str(
		        rs, pr->sample_types[i].type, pr->default_sample_type))
			return (int32_t)i;
	}
	return (int32_t)pr->n_sample_types - 1;
}

static int
rs_out_tables(struct rs *rs, char **strs, int32_t dflt, Profpipe__Decoded *out)
{
	const struct pprof_profile *pr = rs->pr;
	Profpipe__ValueType *vt;
	size_t nt = pr->n_sample_types;
	size_t i;

	out->n_strings = rs->n_str + rs->n_extra;
	out->strings = strs; /* no "0x..." names: the usual case */
	if (rs->n_extra > 0)
		out->strings = arena_alloc(
		    rs->a, (out->n_strings + 1) * sizeof(*out->strings));
	out->sample_types =
	    arena_alloc(rs->a, nt * sizeof(*out->sample_types));
	vt = arena_alloc(rs->a, (nt + 1) * sizeof(*vt));
	if (out->strings == NULL || out->sample_types == NULL || vt == NULL)
		return RS_NOMEM(rs, "tables");
	if (rs->n_extra > 0) {
		memcpy(out->strings, strs, rs->n_str * sizeof(*strs));
		memcpy(out->strings + rs->n_str, rs->extra,
		    rs->n_extra * sizeof(*rs->extra));
	}
	out->n_sample_types = nt;
	out->default_sample_type = dflt;
	for (i = 0; i < nt; i++) {
		profpipe__value_type__init(&vt[i]);
		vt[i].type = pr->sample_types[i].type;
		vt[i].unit = pr->sample_types[i].unit;
		out->sample_types[i] = &vt[i];
	}
	profpipe__value_type__init(&vt[nt]);
	vt[nt].type = pr->period_type.type;
	vt[nt].unit = pr->period_type.unit;
	out->period_type = &vt[nt];
	out->period = pr->period;
	out->duration_ns = pr->duration_nanos;
	out->time_ns = pr->time_nanos;
	out->n_frame_function = rs->n_frames;
	out->frame_function = rs->f_name;
	out->n_frame_file = rs->n_frames;
	out->frame_file = rs->f_file;
	out->n_frame_line = rs->n_frames;
	out->frame_line = rs->f_line;
	return 0;
}

int
decode_resolve(const struct pprof_profile *pr, struct rd *rd, char **strs,
    const void *keep, size_t keep_len, const struct decode_limits *lim,
    struct arena *a, Profpipe__Decoded *out, struct decode_narrow *nw,
    char *err, size_t errlen)
{
	struct arena *tmp = arena_scratch(a);
	struct rs rs;
	int32_t dflt;
	int rv;

	memset(&rs, 0, sizeof(rs));
	rs.pr = pr;
	rs.rd = rd;
	rs.lim = lim;
	rs.a = a;
	rs.err = err;
	rs.errlen = errlen;
	rs.n_str = pr->n_strings;
	rs.strs = strs;
	rs.nw = nw;
	if (pr->n_sample_types == 0)
		return rs_fail(&rs, DECODE_EBAD, "no sample types");
	rv = rs_locations(&rs, tmp);
	if (rv != 0)
		return rv;
	dflt = rs_default_type(&rs);
	/* The tables are read and the frames made: from here on the
	 * scratch stream holds only keep, then the stacks' arrays. */
	if (keep != NULL)
		arena_trim(tmp, keep, keep_len);
	rv = rs_labels_alloc(&rs);
	if (rv == 0)
		rv = rs_stacks(&rs, out);
	if (rv == 0)
		rv = rs_out_labels(&rs, out);
	if (rv == 0)
		rv = rs_out_tables(&rs, strs, dflt, out);
	return rv;
}
