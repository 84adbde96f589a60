/*
 * pprof_fields: a sample's values and labels, read the same way by both
 * sample readers: pprof_sample.c, which keeps samples as read for
 * pprof_read, and pprof_stack.c, which reads them straight into stacks.
 * Inline, as they are on every sample's way. Internal to the reader.
 */
#ifndef PROFPIPE_PPROF_FIELDS_H
#define PROFPIPE_PPROF_FIELDS_H

#include <string.h>

#include "decoder/pprof_rd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define PPROF_PEXT 1
/* The 7-bit groups of a varint (nothing above it) squeezed together. */
static inline __attribute__((target("bmi2"))) uint64_t
rd_pext7(uint64_t v)
{
	return __builtin_ia32_pext_di(v, 0x7f7f7f7f7f7f7f7fULL);
}
#else
static inline uint64_t
rd_pext7(uint64_t v)
{
	return pb_squeeze(v);
}
#endif

/* pb_varint_packed, with pext squeezing the 7-bit groups when pext says
 * so: a heap profile's four values per sample. */
static inline __attribute__((always_inline)) const uint8_t *
rd_varint_packed(const uint8_t *q, const uint8_t *qend, const uint8_t *limit,
    uint64_t *v, const int pext)
{
	uint64_t raw;
	size_t n;

	if (pext && limit - q >= 8) {
		n = pb_varint8_raw(q, &raw);
		if (n != 0 && n <= (size_t)(qend - q)) {
			*v = rd_pext7(raw);
			return q + n;
		}
	}
	return pb_varint_packed(q, qend, limit, v);
}

/* A label whose string index is out of range: the message rd_str gives,
 * for the first bad one in field order (pprof_sample.c). Out of line:
 * never on the way of a good profile. */
int rd_label_bad(
    struct rd *rd, const uint8_t *at, int64_t key, int64_t str, int64_t unit);

/* Inline, with the index checks as three compares: a heap profile has a
 * label on every sample, and the calls cost more than the parsing. */
static inline __attribute__((always_inline)) int
rd_label(struct rd *rd, const struct pb_field *lf, struct pprof_label *lb)
{
	const uint8_t *p = lf->d;
	const uint8_t *end = p + lf->n;
	uint64_t v[5] = {0, 0, 0, 0, 0}; /* by field number */
	const uint8_t *q;
	int64_t key;
	int64_t str;
	int64_t unit;
	struct pb_field f;
	uint32_t k;
	int rv;

	/* Go's order (key, str, num, num_unit; each once, optional)
	 * without pb_next's switch, up to the first field that is
	 * anything else; the loop below goes on from there. */
#pragma GCC unroll 4
	for (k = 1; k <= 4; k++) {
		if (p >= end || *p != (k << 3 | PB_VARINT))
			continue;
		q = pb_varint_in(p + 1, end, rd->end, &v[k]);
		if (q == NULL)
			break;
		p = q;
	}
	key = (int64_t)v[1];
	str = (int64_t)v[2];
	lb->num = (int64_t)v[3];
	unit = (int64_t)v[4];
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
	/* As Go keeps a label: with a str, no num and no unit, which Go
	 * then does not read, so an index out of range there is no
	 * error either. */
	if (str != 0) {
		lb->num = 0;
		unit = 0;
	}
	if ((uint64_t)key >= rd->pr->n_strings ||
	    (uint64_t)str >= rd->pr->n_strings ||
	    (uint64_t)unit >= rd->pr->n_strings)
		return rd_label_bad(rd, lf->at, key, str, unit);
	lb->key = (uint32_t)key;
	lb->str = (uint32_t)str;
	lb->unit = (uint32_t)unit;
	return 0;
}

/* A sample's fields other than its location ids: values (packed or
 * not; more than nt are counted, not stored) and labels (into tmp_label,
 * *nlab of them). Inline: it is on every sample's way. */
static inline __attribute__((always_inline)) int
rd_sample_other(struct rd *rd, const struct pb_field *f, int64_t *vals,
    size_t *nv, uint32_t *nlab, const int pext)
{
	size_t nt = rd->pr->n_sample_types;
	const uint8_t *q;
	const uint8_t *qend;
	struct pprof_label *lb;
	uint64_t v;
	uint64_t w;
	uint64_t stop;
	unsigned start;
	int rv;

	switch (f->num << 3 | f->wt) {
	case 2 << 3 | PB_LEN:
		q = f->d;
		qend = q + f->n;
		/* Every value that ends in one 8-byte load at a time, as
		 * rd_xlocs_body reads ids: a heap profile's four values
		 * usually fit in one. What is left (a value over 8 bytes,
		 * or cut short) goes the careful way below. */
		while (q < qend && rd->end - q >= 8) {
			memcpy(&w, q, 8);
			stop = ~w & 0x8080808080808080ULL;
			if (qend - q < 8) /* only values that end inside */
				stop &= ~0ULL >> (64 - 8 * (qend - q));
			if (stop == 0)
				break;
			start = 0;
			while (stop != 0) {
				v = (w & ((stop & -stop) * 2 - 1)) >> start;
				v = pext ? rd_pext7(v) : pb_squeeze(v);
				if (*nv < nt)
					vals[*nv] = (int64_t)v;
				(*nv)++;
				start = (unsigned)__builtin_ctzll(stop) + 1;
				stop &= stop - 1;
			}
			q += start >> 3;
		}
		while (q < qend) {
			q = rd_varint_packed(q, qend, rd->end, &v, pext);
			if (q == NULL)
				return rd_fail(rd, f->d, "values: bad varint");
			if (*nv < nt)
				vals[*nv] = (int64_t)v;
			(*nv)++;
		}
		return 0;
	case 2 << 3 | PB_VARINT:
		if (*nv < nt)
			vals[*nv] = (int64_t)f->u;
		(*nv)++;
		return 0;
	case 3 << 3 | PB_LEN:
		if (*nlab == rd->lim->max_labels)
			return rd_fail(rd, f->at,
			    "more than %u labels (max_labels)",
			    rd->lim->max_labels);
		lb = &rd->tmp_label[*nlab];
		rv = rd_label(rd, f, lb);
		if (rv != 0)
			return rv;
		/* Go drops a label with neither value nor unit. */
		if (lb->str != 0 || lb->num != 0 || lb->unit != 0)
			(*nlab)++;
		return 0;
	default:
		if (f->num <= 3)
			return rd_mismatch(rd, f);
		return 0;
	}
}

#endif
