/*
 * pprof_read: profile.proto into struct pprof_profile. Two quick passes
 * over the top-level fields (count, then slice) size every table exactly,
 * so nothing is reallocated. The tables are then read in dependency order,
 * strings, functions, mappings, locations, samples, so that every
 * reference is checked and turned into an index the moment it is read and
 * later stages never look an id up.
 *
 * Memory: what the decoder still needs once the locations are resolved
 * (the reader itself, where the samples are when they are interleaved
 * with the tables, the location id map, the label buffer, the sample
 * types) goes in the arena given; the rest (the other
 * tables, their slices, the strings' slices) in its scratch stream, which
 * the decoder gives back before it builds the stacks (decode.c).
 *
 * Go's parser is the reference for what is valid: string_table[0] must be
 * "", every string index in range, ids non-zero and unique, a line's
 * function and a sample's locations present, as many values per sample as
 * sample types, and a second time_nanos means two profiles were
 * concatenated. A location's mapping may be missing (Go keeps it nil).
 */
#include <stdio.h>
#include <string.h>

#include "decoder/pprof_rd.h"

static const char *const rd_top_names[F_TOP] = {
    "",
    "sample types",
    "samples",
    "mappings",
    "locations",
    "functions",
    "strings",
    "",
    "",
    "",
    "",
    "",
    "",
    "comments",
    "",
};

/* What the sample pass plans with, met in the counting pass: a sample's
 * field starts at at, its payload is d[0 .. n). */
static inline void
rd_count_sample(struct rd *rd, const uint8_t *at, const uint8_t *d, size_t n)
{
	if (rd->first_sample == NULL) {
		rd->first_sample = at;
		rd->first.p = d;
		rd->first.n = n;
	} else if (at != rd->samples_end)
		rd->scattered = 1;
	if (d + n > rd->samples_end)
		rd->samples_end = d + n;
	rd->samples_bytes += n;
	if (n > rd->max_sample)
		rd->max_sample = n;
}

const struct pb_slice *
rd_sample_walk(struct rd *rd, size_t i)
{
	const uint8_t *p = rd->base;
	size_t k = 0;
	struct pb_field f;

	if (rd->cur_ok && i == rd->cur_i)
		return &rd->cur;
	memset(&f, 0, sizeof(f));
	if (rd->sample_ref != NULL)
		return rd_sample_found(rd, i, rd->base + rd->sample_ref[i].off,
		    rd->sample_ref[i].n);
	if (rd->first_sample == NULL)
		return NULL;
	if (!rd->cur_ok || i < rd->cur_i) {
		rd_sample_found(rd, 0, rd->first.p, rd->first.n);
		if (i == 0)
			return &rd->cur;
	}
	/* Samples are contiguous here: each tag read follows a sample's
	 * payload, so no string's NUL was written on it, and the bytes
	 * between samples are never moved or trimmed (decode.c moves only
	 * what lies past the last one). The counting pass checked them. */
	p = rd->scan;
	k = rd->cur_i + 1;
	while (p < rd->end && pb_next(&p, rd->end, &f) == 0) {
		if (f.num != F_SAMPLE || f.wt != PB_LEN)
			return NULL;
		if (k == i)
			return rd_sample_found(rd, i, f.d, f.n);
		k++;
	}
	return NULL;
}

/* An entry of a table at the top level: where its field starts, its
 * payload. */
struct rd_entry {
	const uint8_t *at;
	const uint8_t *d;
	size_t n;
};

enum { RD_MSG, RD_STRING, RD_SAMPLE }; /* where an entry is stored */

/* Entry *e of table num and those right after it with the same one-byte
 * tag, counted from *kp (fill 0: checked against max_table, samples
 * noted) or stored (fill 1, where cls says); *pp moves past them and *e
 * is the last. Inline, with fill and cls constant: a loop for each. */
static inline __attribute__((always_inline)) int
rd_run(struct rd *rd, const uint8_t **pp, const uint8_t *end,
    struct rd_entry *e, size_t *kp, uint32_t num, const int fill,
    const int cls)
{
	const uint8_t *p = *pp;
	const uint8_t *q;
	const uint8_t tag = (uint8_t)(num << 3 | PB_LEN);
	const size_t max = rd->lim->max_table;
	struct pb_slice *msgs = rd->msgs[num];
	struct pprof_str *strs = rd->pr->strings;
	size_t k = *kp;
	uint64_t len;
	int rv = 0;

	for (;;) {
		if (!fill && k == max) {
			rv = rd_fail(rd, e->at, "more than %u %s (max_table)",
			    rd->lim->max_table, rd_top_names[num]);
			break;
		}
		if (!fill && cls == RD_SAMPLE)
			rd_count_sample(rd, e->at, e->d, e->n);
		if (fill && cls == RD_STRING) {
			strs[k].p = (const char *)e->d;
			strs[k].n = e->n;
		} else if (fill && cls == RD_SAMPLE) {
			if (rd->sample_ref != NULL) {
				rd->sample_ref[k].off =
				    (uint32_t)(e->d - rd->base);
				rd->sample_ref[k].n = (uint32_t)e->n;
			}
		} else if (fill) {
			msgs[k].p = e->d;
			msgs[k].n = e->n;
		}
		k++;
		if (p >= end || *p != tag)
			break;
		q = pb_varint_in(p + 1, end, rd->end, &len);
		if (q == NULL || len > (uint64_t)(end - q))
			break;
		e->at = p;
		e->d = q;
		e->n = (size_t)len;
		p = q + len;
	}
	*kp = k;
	*pp = p;
	return rv;
}

/* Table entry f (a sample type, sample, mapping, location, function or
 * string) and the entries right after it, counted (fill 0: checked
 * against max_table, samples noted) or stored (fill 1); *pp moves past
 * them. Go writes most of the top level as such entries, in runs or (CPU
 * and heap profiles) samples among locations and functions: a check of
 * the one-byte tag and the length here, rather than pb_next's switch.
 * Anything else, or a field that does not read cleanly, is left to
 * pb_next (which reports what is wrong). */
static inline __attribute__((always_inline)) int
rd_entries(struct rd *rd, const uint8_t **pp, const uint8_t *end,
    const struct pb_field *f, size_t *seen, const int fill)
{
	const uint8_t *p = *pp;
	const uint8_t *q;
	struct rd_entry e = {f->at, f->d, f->n};
	uint32_t num = f->num;
	uint64_t len;
	uint8_t t;
	int rv;

	for (;;) {
		if (num == F_SAMPLE)
			rv = rd_run(
			    rd, &p, end, &e, &seen[num], num, fill, RD_SAMPLE);
		else if (fill && num == F_STRING)
			rv = rd_run(
			    rd, &p, end, &e, &seen[num], num, fill, RD_STRING);
		else
			rv = rd_run(
			    rd, &p, end, &e, &seen[num], num, fill, RD_MSG);
		if (rv != 0)
			return rv;
		/* Another table's entry next (or the same one's, cut). */
		if (p >= end)
			break;
		t = *p;
		if ((t & 7) != PB_LEN || t < (F_SAMPLE_TYPE << 3) ||
		    t > (F_STRING << 3 | PB_LEN) || t == (num << 3 | PB_LEN))
			break;
		q = pb_varint_in(p + 1, end, rd->end, &len);
		if (q == NULL || len > (uint64_t)(end - q))
			break;
		num = t >> 3;
		e.at = p;
		e.d = q;
		e.n = (size_t)len;
		p = q + len;
	}
	*pp = p;
	return 0;
}

/* One pass over the top-level fields. Counting (fill 0) checks the wire
 * format, reads the scalars and sizes the tables; filling (fill 1) stores
 * the payloads of the repeated fields. */
static int
rd_top(struct rd *rd, const uint8_t *buf, size_t len, int fill)
{
	const uint8_t *p = buf;
	const uint8_t *end = buf + len;
	const uint8_t *q;
	size_t seen[F_TOP] = {0};
	struct pprof_profile *pr = rd->pr;
	struct pb_field f;
	uint64_t v;
	int rv;

	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		if (f.num >= F_TOP)
			continue;
		switch (f.num) {
		case F_SAMPLE_TYPE:
		case F_SAMPLE:
		case F_MAPPING:
		case F_LOCATION:
		case F_FUNCTION:
		case F_STRING:
			WANT(rd, f, PB_LEN);
			rv = fill ? rd_entries(rd, &p, end, &f, seen, 1)
			          : rd_entries(rd, &p, end, &f, seen, 0);
			if (rv != 0)
				return rv;
			break;
		case F_COMMENT:
			if (f.wt == PB_VARINT) {
				if (fill &&
				    rd_str(rd, f.at, (int64_t)f.u,
				        &pr->comments[seen[f.num]],
				        "comment") != 0)
					return DECODE_EBAD;
				seen[f.num]++;
				break;
			}
			WANT(rd, f, PB_LEN);
			for (q = f.d; q < f.d + f.n; seen[f.num]++) {
				q = pb_varint(q, f.d + f.n, &v);
				if (q == NULL)
					return rd_fail(rd, f.at,
					    "comments: "
					    "bad varint");
				if (!fill && seen[f.num] == rd->lim->max_table)
					return rd_fail(rd, f.at,
					    "more than "
					    "%u comments (max_table)",
					    rd->lim->max_table);
				if (fill &&
				    rd_str(rd, f.at, (int64_t)v,
				        &pr->comments[seen[f.num]],
				        "comment") != 0)
					return DECODE_EBAD;
			}
			break;
		case F_PERIOD_TYPE:
			WANT(rd, f, PB_LEN);
			if (!fill) {
				rv = rd_value_type(
				    rd, f.d, f.n, &rd->pt_type, &rd->pt_unit);
				if (rv != 0)
					return rv;
			}
			break;
		case F_TIME:
			WANT(rd, f, PB_VARINT);
			if (!fill && rd->raw[F_TIME] != 0)
				return rd_fail(rd, f.at,
				    "a second time_nanos: "
				    "concatenated profiles");
			rd->raw[F_TIME] = (int64_t)f.u;
			break;
		default:
			WANT(rd, f, PB_VARINT);
			rd->raw[f.num] = (int64_t)f.u;
			break;
		}
	}
	if (!fill)
		memcpy(rd->count, seen, sizeof(seen));
	return 0;
}

/* Build an id map over a table just read; a zero or repeated id is an
 * error naming the entry, as in Go's CheckValid. */
static int
rd_ids(struct rd *rd, struct pprof_idmap *m, const void *ids, size_t stride,
    size_t n, const char *kind, struct pb_slice *msgs, struct arena *a)
{
	size_t bad = 0;
	uint64_t id;
	int rv;

	rv = pprof_idmap_build(m, ids, stride, n, a, &bad);
	if (rv == DECODE_ENOMEM)
		return rd_nomem(rd, kind);
	if (rv == 0)
		return 0;
	memcpy(&id, (const char *)ids + bad * stride, sizeof(id));
	rd->kind = kind;
	rd->index = bad;
	rd->id = 0;
	if (id == 0)
		return rd_fail(rd, msgs[bad].p, "reserved id 0");
	return rd_fail(
	    rd, msgs[bad].p, "id %llu used twice", (unsigned long long)id);
}

static int
rd_alloc(struct rd *rd)
{
	struct pprof_profile *pr = rd->pr;
	const struct decode_limits *lim = rd->lim;
	struct arena *tmp = arena_scratch(rd->a);
	size_t i;

	for (i = F_SAMPLE_TYPE; i <= F_FUNCTION; i++) {
		if (i == F_SAMPLE)
			continue; /* found as they are read: rd_sample_at */
		rd->msgs[i] = arena_alloc(
		    tmp, (rd->count[i] + 1) * sizeof(struct pb_slice));
		if (rd->msgs[i] == NULL)
			return rd_nomem(rd, rd_top_names[i]);
	}
	if (rd->scattered) {
		rd->sample_ref = arena_alloc(rd->a,
		    (rd->count[F_SAMPLE] + 1) * sizeof(*rd->sample_ref));
		if (rd->sample_ref == NULL)
			return rd_nomem(rd, "samples");
	}
	pr->n_strings = rd->count[F_STRING];
	pr->strings =
	    arena_alloc(tmp, (pr->n_strings + 1) * sizeof(*pr->strings));
	pr->n_comments = rd->count[F_COMMENT];
	pr->comments =
	    arena_alloc(tmp, (pr->n_comments + 1) * sizeof(*pr->comments));
	pr->n_sample_types = rd->count[F_SAMPLE_TYPE];
	pr->sample_types = arena_alloc(
	    rd->a, (pr->n_sample_types + 1) * sizeof(*pr->sample_types));
	pr->n_functions = rd->count[F_FUNCTION];
	pr->functions =
	    arena_alloc(tmp, (pr->n_functions + 1) * sizeof(*pr->functions));
	pr->n_mappings = rd->count[F_MAPPING];
	pr->mappings =
	    arena_alloc(tmp, (pr->n_mappings + 1) * sizeof(*pr->mappings));
	pr->n_locations = rd->count[F_LOCATION];
	pr->locations =
	    arena_alloc(tmp, (pr->n_locations + 1) * sizeof(*pr->locations));
	pr->n_samples = rd->count[F_SAMPLE];
	rd->tmp_loc = arena_alloc(tmp, lim->max_depth * sizeof(*rd->tmp_loc));
	rd->tmp_line =
	    arena_alloc(tmp, lim->max_depth * sizeof(*rd->tmp_line));
	rd->tmp_label =
	    arena_alloc(rd->a, lim->max_labels * sizeof(*rd->tmp_label));
	if (pr->strings == NULL || pr->comments == NULL ||
	    pr->sample_types == NULL || pr->functions == NULL ||
	    pr->mappings == NULL || pr->locations == NULL ||
	    rd->tmp_loc == NULL || rd->tmp_line == NULL ||
	    rd->tmp_label == NULL)
		return rd_nomem(rd, "tables");
	return 0;
}

/* The scalars met in the counting pass, now that the strings are known. */
static int
rd_scalars(struct rd *rd, const uint8_t *buf)
{
	struct pprof_profile *pr = rd->pr;

	if (pr->n_strings == 0)
		return rd_fail(rd, buf, "no string table");
	if (pr->strings[0].n != 0)
		return rd_fail(rd, (const uint8_t *)pr->strings[0].p,
		    "string_table[0] must be \"\"");
	pr->time_nanos = rd->raw[F_TIME];
	pr->duration_nanos = rd->raw[F_DURATION];
	pr->period = rd->raw[F_PERIOD];
	if (rd_str(rd, buf, rd->raw[F_DROP], &pr->drop_frames,
	        "drop_frames") != 0 ||
	    rd_str(rd, buf, rd->raw[F_KEEP], &pr->keep_frames,
	        "keep_frames") != 0 ||
	    rd_str(rd, buf, rd->raw[F_DEFAULT_TYPE], &pr->default_sample_type,
	        "default_sample_type") != 0 ||
	    rd_str(rd, buf, rd->pt_type, &pr->period_type.type,
	        "period_type.type") != 0 ||
	    rd_str(rd, buf, rd->pt_unit, &pr->period_type.unit,
	        "period_type.unit") != 0)
		return DECODE_EBAD;
	return 0;
}

static int
rd_tables(struct rd *rd)
{
	struct pprof_profile *pr = rd->pr;
	struct pb_slice *m;
	int64_t type;
	int64_t unit;
	size_t i;
	int rv;

	rv = rd_functions(rd);
	if (rv != 0)
		return rv;
	rv = rd_ids(rd, &rd->fmap, &pr->functions[0].id,
	    sizeof(*pr->functions), pr->n_functions, "function",
	    rd->msgs[F_FUNCTION], arena_scratch(rd->a));
	if (rv != 0)
		return rv;
	rd->kind = "mapping";
	for (i = 0; i < pr->n_mappings; i++) {
		rd->index = i;
		rd->id = 0;
		rv = rd_mapping(rd, &rd->msgs[F_MAPPING][i], &pr->mappings[i]);
		if (rv != 0)
			return rv;
	}
	rv = rd_ids(rd, &rd->mmap, &pr->mappings[0].id, sizeof(*pr->mappings),
	    pr->n_mappings, "mapping", rd->msgs[F_MAPPING],
	    arena_scratch(rd->a));
	if (rv != 0)
		return rv;
	rv = rd_locations(rd);
	if (rv != 0)
		return rv;
	rv =
	    rd_ids(rd, &rd->lmap, &pr->locations[0].id, sizeof(*pr->locations),
	        pr->n_locations, "location", rd->msgs[F_LOCATION], rd->a);
	if (rv != 0)
		return rv;
	rd->kind = "sample type";
	rd->id = 0;
	for (i = 0; i < pr->n_sample_types; i++) {
		m = &rd->msgs[F_SAMPLE_TYPE][i];
		rd->index = i;
		rv = rd_value_type(rd, m->p, m->n, &type, &unit);
		if (rv != 0)
			return rv;
		if (rd_str(rd, m->p, type, &pr->sample_types[i].type,
		        "type") != 0 ||
		    rd_str(rd, m->p, unit, &pr->sample_types[i].unit,
		        "unit") != 0)
			return DECODE_EBAD;
	}
	return 0;
}

static int
rd_samples(struct rd *rd)
{
	struct pprof_profile *pr = rd->pr;
	size_t nt = pr->n_sample_types;
	size_t i;
	int rv;

	if (nt != 0 && pr->n_samples > SIZE_MAX / sizeof(int64_t) / nt)
		return rd_nomem(rd, "values");
	pr->samples =
	    arena_alloc(rd->a, (pr->n_samples + 1) * sizeof(*pr->samples));
	pr->values = arena_alloc(rd->a, pr->n_samples * nt * sizeof(int64_t));
	if (pr->samples == NULL || pr->values == NULL)
		return rd_nomem(rd, "values");
	rd->kind = "sample";
	rd->id = 0;
	for (i = 0; i < pr->n_samples; i++) {
		rd->index = i;
		rv = rd_sample(rd, rd_sample_at(rd, i), &pr->samples[i],
		    pr->values + i * nt);
		if (rv != 0)
			return rv;
		pr->n_loc_refs += pr->samples[i].n_loc;
		pr->n_frame_refs += pr->samples[i].n_frames;
	}
	rd->kind = NULL;
	return 0;
}

const uint8_t *
pprof_samples_end(const struct rd *rd)
{
	return rd->samples_end != NULL ? rd->samples_end : rd->base;
}

int
pprof_read_tables(const uint8_t *buf, size_t len,
    const struct decode_limits *lim, struct arena *a,
    struct pprof_profile *out, struct rd **rdp, char *err, size_t errlen)
{
	struct rd *rd;
	int rv;

	memset(out, 0, sizeof(*out));
	if (len == 0) {
		snprintf(err, errlen, "empty profile");
		return DECODE_EBAD;
	}
	rd = arena_calloc(a, 1, sizeof(*rd));
	if (rd == NULL) {
		snprintf(err, errlen,
		    "out of memory for the reader (past --max-memory, or "
		    "malloc failed)");
		return DECODE_ENOMEM;
	}
	rd->base = buf;
	rd->end = buf + len;
	rd->lim = lim;
	rd->a = a;
	rd->pr = out;
	rd->err = err;
	rd->errlen = errlen;
	rv = rd_top(rd, buf, len, 0);
	if (rv == 0)
		rv = rd_alloc(rd);
	if (rv == 0)
		rv = rd_top(rd, buf, len, 1);
	if (rv == 0)
		rv = rd_scalars(rd, buf);
	if (rv == 0)
		rv = rd_tables(rd);
	if (rv == 0 && out->n_sample_types == 0 && out->n_samples > 0)
		rv = rd_fail(
		    rd, rd->first_sample, "samples but no sample types");
	*rdp = rd;
	return rv;
}

int
pprof_read(const uint8_t *buf, size_t len, const struct decode_limits *lim,
    struct arena *a, struct pprof_profile *out, char *err, size_t errlen)
{
	struct rd *rd;
	int rv;

	rv = pprof_read_tables(buf, len, lim, a, out, &rd, err, errlen);
	if (rv == 0)
		rv = rd_samples(rd);
	return rv;
}
