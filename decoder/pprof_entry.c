/*
 * pprof_entry: one entry of a pprof table at a time: a function, mapping,
 * location (with its lines) or value type (samples: pprof_sample.c and
 * pprof_stack.c). Each reads its message's fields, checks the string
 * indices and references it holds, and fills the struct pprof.h defines.
 * Also the reader's error helpers, which name the entry and the byte
 * offset.
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
	snprintf(rd->err, rd->errlen,
	    "out of memory for %s (past --max-memory, or malloc failed)",
	    what);
	return DECODE_ENOMEM;
}

/* The number of the field at f->at as written: pb_next gives one no
 * message uses (0, or past 2^29 - 1) as PB_NUM_NONE, so its tag, which
 * it read whole before failing, is read again. */
static unsigned long long
rd_field_num(const struct rd *rd, const struct pb_field *f)
{
	uint64_t tag;

	if (f->num != PB_NUM_NONE || pb_varint(f->at, rd->end, &tag) == NULL)
		return f->num;
	return (unsigned long long)(tag >> 3);
}

int
rd_wire(struct rd *rd, const struct pb_field *f, int why)
{
	switch (why) {
	case PB_FAIL_VARINT:
		return rd_fail(rd, f->at,
		    "bad varint (truncated, or over "
		    "10 bytes)");
	case PB_FAIL_WIRETYPE:
		return rd_fail(rd, f->at,
		    "field %llu: unsupported wire type %u",
		    rd_field_num(rd, f), f->wt);
	default:
		return rd_fail(rd, f->at,
		    "field %llu: runs past the end of its "
		    "message (truncated?)",
		    rd_field_num(rd, f));
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

/* A ValueType message (sample_type, period_type) into *type and *unit,
 * whole: a field left out is 0, so that a second period_type replaces the
 * first, as in Go's parser (a new ValueType each time) and protobuf-c. A
 * field given twice keeps the last, as protobuf reads scalars. */
int
rd_value_type(
    struct rd *rd, const uint8_t *p, size_t n, int64_t *type, int64_t *unit)
{
	const uint8_t *end = p + n;
	struct pb_field f;
	int rv;

	*type = 0;
	*unit = 0;
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

/* A string index as rd_str checks it, without the call, for the usual
 * case; rd_str says what is wrong otherwise. */
static inline int
rd_str_ok(const struct rd *rd, uint64_t v)
{
	return v < rd->pr->n_strings;
}

/* Go's function: fields 1 to 5 in order, each once (start_line 0 left
 * out), straight to v[num] without pb_next's switch. Stops at the first
 * field that is not the next of these, or does not read cleanly; the
 * generic loop goes on from there (and reports what is wrong). */
static const uint8_t *
rd_function_go(
    const uint8_t *p, const uint8_t *end, const uint8_t *limit, uint64_t *v)
{
	const uint8_t *q;
	uint32_t k;

	/* unrolled: v[k] in registers, no loop counter */
#pragma GCC unroll 5
	for (k = 1; k <= 5; k++) {
		if (p >= end || *p != (k << 3 | PB_VARINT))
			continue;
		q = pb_varint_in(p + 1, end, limit, &v[k]);
		if (q == NULL)
			break;
		p = q;
	}
	return p;
}

static int
rd_function(struct rd *rd, const struct pb_slice *s, struct pprof_function *fn)
{
	const uint8_t *p = s->p;
	const uint8_t *end = p + s->n;
	uint64_t v[6] = {0, 0, 0, 0, 0, 0}; /* by field number */
	struct pb_field f;
	int rv;

	p = rd_function_go(p, end, rd->end, v);
	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		if (f.num > 5)
			continue;
		WANT(rd, f, PB_VARINT);
		v[f.num] = f.u;
	}
	fn->id = v[1];
	fn->start_line = (int64_t)v[5];
	if (rd_str_ok(rd, v[2]) && rd_str_ok(rd, v[3]) &&
	    rd_str_ok(rd, v[4])) {
		fn->name = (uint32_t)v[2];
		fn->system_name = (uint32_t)v[3];
		fn->filename = (uint32_t)v[4];
		return 0;
	}
	rd->id = fn->id;
	if (rd_str(rd, s->p, (int64_t)v[2], &fn->name, "name") != 0 ||
	    rd_str(rd, s->p, (int64_t)v[3], &fn->system_name, "system_name") !=
	        0 ||
	    rd_str(rd, s->p, (int64_t)v[4], &fn->filename, "filename") != 0)
		return DECODE_EBAD;
	return 0;
}

int
rd_functions(struct rd *rd)
{
	struct pprof_profile *pr = rd->pr;
	size_t i;
	int rv;

	rd->kind = "function";
	for (i = 0; i < pr->n_functions; i++) {
		rd->index = i;
		rd->id = 0;
		rv = rd_function(
		    rd, &rd->msgs[F_FUNCTION][i], &pr->functions[i]);
		if (rv != 0)
			return rv;
	}
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

/* A line as Go writes it, {function_id, line}, each once and optional,
 * into *ln. Returns 0, or -1 for anything else (rd_line reads it then,
 * and reports what is wrong). */
static int
rd_line_go(
    struct rd *rd, const uint8_t *p, const uint8_t *end, struct pprof_line *ln)
{
	uint64_t fid = 0;
	uint64_t v = 0;

	if (p < end && *p == (1 << 3 | PB_VARINT)) {
		p = pb_varint_in(p + 1, end, rd->end, &fid);
		if (p == NULL)
			return -1;
	}
	if (p < end && *p == (2 << 3 | PB_VARINT)) {
		p = pb_varint_in(p + 1, end, rd->end, &v);
		if (p == NULL)
			return -1;
	}
	if (p != end)
		return -1;
	ln->function = pprof_idmap_get(&rd->fmap, fid);
	ln->line = (int64_t)v;
	return ln->function == PPROF_NONE ? -1 : 0;
}

/* Go's location: id, mapping_id, address, then its lines (google/pprof's
 * order), or id, address, lines, mapping_id (the runtime's), each scalar
 * once and optional, read without pb_next's switch. Stops at the first
 * field that is none of these in that order, or does not read cleanly,
 * and returns where: the generic loop goes on from there (and reports
 * what is wrong). Lines go to rd->tmp_line, *np of them. */
static const uint8_t *
rd_location_go(struct rd *rd, const uint8_t *p, const uint8_t *end,
    struct pprof_location *l, uint32_t *np)
{
	const uint8_t *q;
	uint64_t len;
	uint32_t n = 0;

	if (p < end && *p == (1 << 3 | PB_VARINT)) {
		q = pb_varint_in(p + 1, end, rd->end, &l->id);
		if (q == NULL)
			return p;
		rd->id = l->id;
		p = q;
	}
	if (p < end && *p == (2 << 3 | PB_VARINT)) {
		q = pb_varint_in(p + 1, end, rd->end, &l->mapping_id);
		if (q == NULL)
			return p;
		p = q;
	}
	if (p < end && *p == (3 << 3 | PB_VARINT)) {
		q = pb_varint_in(p + 1, end, rd->end, &l->address);
		if (q == NULL)
			return p;
		p = q;
	}
	while (p < end && *p == (4 << 3 | PB_LEN) && n < rd->lim->max_depth) {
		q = pb_varint_in(p + 1, end, rd->end, &len);
		if (q == NULL || len > (uint64_t)(end - q) ||
		    rd_line_go(rd, q, q + len, &rd->tmp_line[n]) != 0)
			break;
		p = q + len;
		n++;
	}
	/* Go's runtime writes the mapping last (google/pprof's writer,
	 * second): a later one overrides, as protobuf merges scalars. */
	if (p < end && *p == (2 << 3 | PB_VARINT)) {
		q = pb_varint_in(p + 1, end, rd->end, &l->mapping_id);
		if (q != NULL)
			p = q;
	}
	*np = n;
	return p;
}

/* Lines per chunk: most locations have one, a few a handful. */
#define RD_LINE_CHUNK 256

static int
rd_location(struct rd *rd, const struct pb_slice *s, struct pprof_location *l)
{
	const uint8_t *p = s->p;
	const uint8_t *end = p + s->n;
	struct pb_field f;
	uint32_t n = 0;
	size_t chunk;
	int rv;

	memset(l, 0, sizeof(*l));
	p = rd_location_go(rd, p, end, l, &n);
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
	if (n == 0)
		return 0;
	if ((size_t)(rd->line_end - rd->line_at) < n) {
		chunk = n > RD_LINE_CHUNK ? n : RD_LINE_CHUNK;
		rd->line_at = arena_alloc(
		    arena_scratch(rd->a), chunk * sizeof(*rd->line_at));
		if (rd->line_at == NULL)
			return rd_nomem(rd, "locations");
		rd->line_end = rd->line_at + chunk;
	}
	l->lines = rd->line_at;
	rd->line_at += n;
	if (n == 1)
		l->lines[0] = rd->tmp_line[0];
	else
		memcpy(l->lines, rd->tmp_line, n * sizeof(*l->lines));
	return 0;
}

int
rd_locations(struct rd *rd)
{
	struct pprof_profile *pr = rd->pr;
	uint32_t n;
	size_t i;
	int rv;

	rd->nfr = arena_alloc(arena_scratch(rd->a), pr->n_locations + 1);
	if (rd->nfr == NULL)
		return rd_nomem(rd, "locations");
	rd->nfr_ok = 1;
	rd->kind = "location";
	for (i = 0; i < pr->n_locations; i++) {
		rd->index = i;
		rd->id = 0;
		rv = rd_location(
		    rd, &rd->msgs[F_LOCATION][i], &pr->locations[i]);
		if (rv != 0)
			return rv;
		n = pr->locations[i].n_lines ? pr->locations[i].n_lines : 1;
		rd->nfr[i] = (uint8_t)(n < 255 ? n : 255);
		rd->nfr_ok &= n < 255;
		pr->n_loc_frames += n;
		pr->n_bare_locations += pr->locations[i].n_lines == 0;
	}
	return 0;
}
