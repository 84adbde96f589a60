/*
 * pprof_sample: one sample at a time, kept as read (location indices,
 * values, labels) for pprof_read. The decoder's own way, straight into
 * stacks, is pprof_stack.c; the values and labels both read the same way
 * (pprof_fields.h).
 */
#include <string.h>

#include "decoder/pprof_fields.h"

/* See pprof_fields.h. */
__attribute__((noinline, cold)) int
rd_label_bad(
    struct rd *rd, const uint8_t *at, int64_t key, int64_t str, int64_t unit)
{
	uint32_t out;

	if (rd_str(rd, at, key, &out, "label key") != 0 ||
	    rd_str(rd, at, str, &out, "label str") != 0 ||
	    rd_str(rd, at, unit, &out, "label num_unit") != 0)
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
	size_t nt = rd->pr->n_sample_types;
	size_t nv = 0;
	uint32_t nl = 0;
	uint32_t nlab = 0;
	uint64_t nf = 0;
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
		default:
			rv = rd_sample_other(rd, &f, vals, &nv, &nlab, 0);
			if (rv != 0)
				return rv;
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
