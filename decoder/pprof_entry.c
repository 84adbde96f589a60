/*
 * pprof_entry: one entry of a pprof table at a time: a function, mapping,
 * location (with its lines) or value type (samples: pprof_sample.c). Each
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
		l->lines =
		    arena_alloc(arena_scratch(rd->a), n * sizeof(*l->lines));
		if (l->lines == NULL)
			return rd_nomem(rd, "locations");
		memcpy(l->lines, rd->tmp_line, n * sizeof(*l->lines));
	}
	return 0;
}
