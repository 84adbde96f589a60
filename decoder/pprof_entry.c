/*
 * pprof_entry: one entry of a pprof table at a time: a function, mapping,
 * location (with its lines), sample (with its labels) or value type. Each
 * reads its message's fields, checks the string indices and references it
 * holds, and fills the struct pprof.h defines. Also the reader's error
 * helpers, which name the entry and the byte offset.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decoder/pprof_rd.h"

int
rd_fail(struct rd *rd, const uint8_t *at, const char *fmt, ...)
{
	char msg[256];
	size_t off = (size_t)(at - rd->base);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rd->kind != NULL && rd->id != 0)
		snprintf(rd->err, rd->errlen, "byte %zu: %s %zu (id %llu): %s",
		    off, rd->kind, rd->index, (unsigned long long)rd->id, msg);
	else if (rd->kind != NULL)
		snprintf(rd->err, rd->errlen, "byte %zu: %s %zu: %s", off,
		    rd->kind, rd->index, msg);
	else
		snprintf(rd->err, rd->errlen, "byte %zu: %s", off, msg);
	return DECODE_EBAD;
}

int
rd_nomem(struct rd *rd, const char *what)
{
	snprintf(
	    rd->err, rd->errlen, "out of memory for %s (arena cap)", what);
	return DECODE_ENOMEM;
}

int
rd_wire(struct rd *rd, const struct pb_field *f, int why)
{
	switch (why) {
	case PB_FAIL_VARINT:
		return rd_fail(rd, f->at,
		    "bad varint (truncated, or over "
		    "10 bytes)");
	case PB_FAIL_FIELD0:
		return rd_fail(rd, f->at, "invalid field number");
	case PB_FAIL_WIRETYPE:
		return rd_fail(rd, f->at, "field %u: unsupported wire type %u",
		    f->num, f->wt);
	default:
		return rd_fail(rd, f->at,
		    "field %u: runs past the end of its "
		    "message (truncated?)",
		    f->num);
	}
}

int
rd_mismatch(struct rd *rd, const struct pb_field *f)
{
	return rd_fail(
	    rd, f->at, "field %u: unexpected wire type %u", f->num, f->wt);
}

/* A string index read as int64: in range, or refused naming what it is. */
int
rd_str(struct rd *rd, const uint8_t *at, int64_t v, uint32_t *out,
    const char *what)
{
	if (v < 0 || (uint64_t)v >= rd->pr->n_strings)
		return rd_fail(rd, at,
		    "%s: string index %lld out of range "
		    "(the table has %zu)",
		    what, (long long)v, rd->pr->n_strings);
	*out = (uint32_t)v;
	return 0;
}

/* A ValueType message (sample_type, period_type): merged into *type and
 * *unit as protobuf merges a repeated occurrence. */
int
rd_value_type(
    struct rd *rd, const uint8_t *p, size_t n, int64_t *type, int64_t *unit)
{
	const uint8_t *end = p + n;
	struct pb_field f;
	int rv;

	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		if (f.num == 1 || f.num == 2) {
			WANT(rd, f, PB_VARINT);
			*(f.num == 1 ? type : unit) = (int64_t)f.u;
		}
	}
	return 0;
}

int
rd_function(struct rd *rd, const struct pb_slice *s, struct pprof_function *fn)
{
	const uint8_t *p = s->p;
	const uint8_t *end = p + s->n;
	int64_t str[3] = {0, 0, 0};
	struct pb_field f;
	int rv;

	memset(fn, 0, sizeof(*fn));
	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		if (f.num > 5)
			continue;
		WANT(rd, f, PB_VARINT);
		if (f.num == 1)
			fn->id = f.u;
		else if (f.num == 5)
			fn->start_line = (int64_t)f.u;
		else
			str[f.num - 2] = (int64_t)f.u;
	}
	rd->id = fn->id;
	if (rd_str(rd, s->p, str[0], &fn->name, "name") != 0 ||
	    rd_str(rd, s->p, str[1], &fn->system_name, "system_name") != 0 ||
	    rd_str(rd, s->p, str[2], &fn->filename, "filename") != 0)
		return DECODE_EBAD;
	return 0;
}

int
rd_mapping(struct rd *rd, const struct pb_slice *s, struct pprof_mapping *m)
{
	const uint8_t *p = s->p;
	const uint8_t *end = p + s->n;
	int64_t file = 0;
	int64_t build = 0;
	struct pb_field f;
	int rv;

	memset(m, 0, sizeof(*m));
	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		if (f.num > 10)
			continue;
		WANT(rd, f, PB_VARINT);
		switch (f.num) {
		case 1:
			m->id = f.u;
			break;
		case 2:
			m->memory_start = f.u;
			break;
		case 3:
			m->memory_limit = f.u;
			break;
		case 4:
			m->file_offset = f.u;
			break;
		case 5:
			file = (int64_t)f.u;
			break;
		case 6:
			build = (int64_t)f.u;
			break;
		case 7:
			m->has_functions = f.u != 0;
			break;
		case 8:
			m->has_filenames = f.u != 0;
			break;
		case 9:
			m->has_line_numbers = f.u != 0;
			break;
		default:
			m->has_inline_frames = f.u != 0;
			break;
		}
	}
	rd->id = m->id;
	if (rd_str(rd, s->p, file, &m->filename, "filename") != 0 ||
	    rd_str(rd, s->p, build, &m->build_id, "build_id") != 0)
		return DECODE_EBAD;
	return 0;
}

static int
rd_line(struct rd *rd, const struct pb_field *lf, struct pprof_line *ln,
    uint32_t nth)
{
	const uint8_t *p = lf->d;
	const uint8_t *end = p + lf->n;
	uint64_t fid = 0;
	struct pb_field f;
	int rv;

	ln->line = 0;
	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		if (f.num > 2)
			continue;
		WANT(rd, f, PB_VARINT);
		if (f.num == 1)
			fid = f.u;
		else
			ln->line = (int64_t)f.u;
	}
	ln->function = pprof_idmap_get(&rd->fmap, fid);
	if (ln->function == PPROF_NONE)
		return rd_fail(rd, lf->at,
		    "line %u: function id %llu not "
		    "found",
		    nth, (unsigned long long)fid);
	return 0;
}

int
rd_location(struct rd *rd, const struct pb_slice *s, struct pprof_location *l)
{
	const uint8_t *p = s->p;
	const uint8_t *end = p + s->n;
	struct pb_field f;
	uint32_t n = 0;
	int rv;

	memset(l, 0, sizeof(*l));
	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		if (f.num > 5)
			continue;
		if (f.num == 4) {
			WANT(rd, f, PB_LEN);
			if (n == rd->lim->max_depth)
				return rd_fail(rd, f.at,
				    "more than %u lines "
				    "(max_depth)",
				    rd->lim->max_depth);
			rv = rd_line(rd, &f, &rd->tmp_line[n], n);
			if (rv != 0)
				return rv;
			n++;
			continue;
		}
		WANT(rd, f, PB_VARINT);
		switch (f.num) {
		case 1:
			l->id = f.u;
			rd->id = f.u;
			break;
		case 2:
			l->mapping_id = f.u;
			break;
		case 3:
			l->address = f.u;
			break;
		default:
			l->is_folded = f.u != 0;
			break;
		}
	}
	l->mapping = pprof_idmap_get(&rd->mmap, l->mapping_id);
	l->n_lines = n;
	if (n > 0) {
		l->lines = arena_alloc(rd->a, n * sizeof(*l->lines));
		if (l->lines == NULL)
			return rd_nomem(rd, "locations");
		memcpy(l->lines, rd->tmp_line, n * sizeof(*l->lines));
	}
	return 0;
}

static int
rd_label(struct rd *rd, const struct pb_field *lf, struct pprof_label *lb)
{
	const uint8_t *p = lf->d;
	const uint8_t *end = p + lf->n;
	int64_t key = 0;
	int64_t str = 0;
	int64_t unit = 0;
	struct pb_field f;
	int rv;

	lb->num = 0;
	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		if (f.num > 4)
			continue;
		WANT(rd, f, PB_VARINT);
		switch (f.num) {
		case 1:
			key = (int64_t)f.u;
			break;
		case 2:
			str = (int64_t)f.u;
			break;
		case 3:
			lb->num = (int64_t)f.u;
			break;
		default:
			unit = (int64_t)f.u;
			break;
		}
	}
	if (rd_str(rd, lf->at, key, &lb->key, "label key") != 0 ||
	    rd_str(rd, lf->at, str, &lb->str, "label str") != 0 ||
	    rd_str(rd, lf->at, unit, &lb->unit, "label num_unit") != 0)
		return DECODE_EBAD;
	return 0;
}

/* One location id of a sample: resolved to an index, appended to
 * tmp_loc, its frames counted. at is where it was read. */
static inline int
rd_loc(
    struct rd *rd, const uint8_t *at, uint64_t v, uint32_t *nl, uint64_t *nf)
{
	const struct pprof_idmap *lm = &rd->lmap;
	uint32_t idx;

	if (lm->dense)
		idx = v - 1 < lm->n ? (uint32_t)(v - 1) : PPROF_NONE;
	else
		idx = pprof_idmap_find(lm, v);
	if (idx == PPROF_NONE)
		return rd_fail(rd, at, "location id %llu not found",
		    (unsigned long long)v);
	if (*nl == rd->lim->max_depth)
		return rd_fail(rd, at, "more than %u locations (max_depth)",
		    rd->lim->max_depth);
	rd->tmp_loc[(*nl)++] = idx;
	*nf += rd->pr->locations[idx].n_lines ? rd->pr->locations[idx].n_lines
	                                      : 1;
	return 0;
}

/* A sample's packed location ids, the bulk of a profile's bytes. Each
 * step loads 8 bytes and decodes every varint that ends in them, so the
 * next load waits on one bit scan instead of on every varint in turn.
 * The id map's state is copied into locals, so the stores to tmp_loc do
 * not make the compiler reload it for every id. Anything unusual (sparse
 * ids, long varints, an error) goes the careful way, one id at a time. */
static int
rd_locs(struct rd *rd, const uint8_t *q, size_t n, uint32_t *nl, uint64_t *nf)
{
	const uint8_t *qend = q + n;
	const uint8_t *next;
	const int dense = rd->lmap.dense;
	const uint64_t nloc = rd->lmap.n;
	const uint32_t maxd = rd->lim->max_depth;
	const uint8_t *nfr = rd->nfr;
	uint32_t *tmp = rd->tmp_loc;
	uint32_t k = *nl;
	uint64_t f = *nf;
	uint64_t w;
	uint64_t stop;
	uint64_t b;
	uint64_t x;
	unsigned start = 0;
	int rv;

	while (dense && rd->nfr_ok && qend - q >= 8 && k + 8 <= maxd) {
		memcpy(&w, q, 8);
		stop = ~w & 0x8080808080808080ULL;
		if (stop == 0)
			break; /* a varint over 8 bytes */
		start = 0;
		while (stop != 0) {
			/* The first varint left: through its last byte. */
			b = stop & -stop;
			x = (w & ((b << 1) - 1)) >> start;
			if (x >> 24 == 0) /* up to 3 bytes: ids under 2^21 */
				x = (x & 0x7f) | ((x >> 1) & 0x3f80) |
				    ((x >> 2) & 0x1fc000);
			else
				x = pb_squeeze(x);
			if (x - 1 >= nloc)
				break; /* let rd_loc say why */
			tmp[k++] = (uint32_t)(x - 1);
			f += nfr[x - 1];
			start = (unsigned)__builtin_ctzll(b) + 1;
			stop ^= b;
		}
		q += start >> 3;
		if (stop != 0)
			break;
	}
	*nl = k;
	*nf = f;
	while (q < qend) {
		next = pb_varint_packed(q, qend, rd->end, &x);
		if (next == NULL)
			return rd_fail(rd, q, "location ids: bad varint");
		rv = rd_loc(rd, q, x, nl, nf);
		if (rv != 0)
			return rv;
		q = next;
	}
	return 0;
}

int
rd_sample(struct rd *rd, const struct pb_slice *s, struct pprof_sample *out,
    int64_t *vals)
{
	const uint8_t *p = s->p;
	const uint8_t *end = p + s->n;
	const uint8_t *q;
	const uint8_t *qend;
	size_t nt = rd->pr->n_sample_types;
	size_t nv = 0;
	uint32_t nl = 0;
	uint32_t nlab = 0;
	uint64_t nf = 0;
	uint64_t v;
	struct pb_field f;
	int rv;

	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		switch (f.num << 3 | f.wt) {
		case 1 << 3 | PB_LEN:
			rv = rd_locs(rd, f.d, f.n, &nl, &nf);
			if (rv != 0)
				return rv;
			break;
		case 1 << 3 | PB_VARINT:
			rv = rd_loc(rd, f.at, f.u, &nl, &nf);
			if (rv != 0)
				return rv;
			break;
		case 2 << 3 | PB_LEN:
			q = f.d;
			qend = q + f.n;
			while (q < qend) {
				q = pb_varint_packed(q, qend, rd->end, &v);
				if (q == NULL)
					return rd_fail(rd, f.d,
					    "values: bad "
					    "varint");
				if (nv < nt)
					vals[nv] = (int64_t)v;
				nv++;
			}
			break;
		case 2 << 3 | PB_VARINT:
			if (nv < nt)
				vals[nv] = (int64_t)f.u;
			nv++;
			break;
		case 3 << 3 | PB_LEN:
			if (nlab == rd->lim->max_labels)
				return rd_fail(rd, f.at,
				    "more than %u labels "
				    "(max_labels)",
				    rd->lim->max_labels);
			rv = rd_label(rd, &f, &rd->tmp_label[nlab]);
			if (rv != 0)
				return rv;
			/* Go drops a label with neither value nor unit. */
			if (rd->tmp_label[nlab].str != 0 ||
			    rd->tmp_label[nlab].num != 0 ||
			    rd->tmp_label[nlab].unit != 0)
				nlab++;
			break;
		default:
			if (f.num <= 3)
				return rd_mismatch(rd, &f);
			break;
		}
	}
	if (nf > rd->lim->max_depth)
		return rd_fail(rd, s->p,
		    "%llu frames with inlining, over the cap of %u "
		    "(max_depth)",
		    (unsigned long long)nf, rd->lim->max_depth);
	if (nv != nt)
		return rd_fail(
		    rd, s->p, "%zu values for %zu sample types", nv, nt);
	out->n_loc = nl;
	out->n_frames = (uint32_t)nf;
	out->n_labels = nlab;
	out->loc = NULL;
	out->labels = NULL;
	if (nl > 0) {
		out->loc = arena_alloc(rd->a, nl * sizeof(*out->loc));
		if (out->loc == NULL)
			return rd_nomem(rd, "samples");
		memcpy(out->loc, rd->tmp_loc, nl * sizeof(*out->loc));
	}
	if (nlab > 0) {
		out->labels = arena_alloc(rd->a, nlab * sizeof(*out->labels));
		if (out->labels == NULL)
			return rd_nomem(rd, "labels");
		memcpy(
		    out->labels, rd->tmp_label, nlab * sizeof(*out->labels));
	}
	return 0;
}
