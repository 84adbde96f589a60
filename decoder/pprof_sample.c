/*
 * pprof_sample: one sample at a time, the bulk of a profile's bytes, read
 * two ways. rd_sample keeps it as read (location indices, values, labels)
 * for pprof_read. pprof_read_stack, the decoder's way, writes the sample's
 * frames straight into the stack being built, copying each location's
 * precomputed run of frame ids and adding up its precomputed hash term, so
 * that a location id costs a varint, two loads, a 16-byte copy and one
 * multiply, and nothing is stored per location reference on the way.
 */
#include <string.h>

#include "decoder/pprof_memo.h"
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
 * for the first bad one in field order. Out of line: never on the way of
 * a good profile. */
static __attribute__((noinline, cold)) int
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
	if ((uint64_t)key >= rd->pr->n_strings ||
	    (uint64_t)str >= rd->pr->n_strings ||
	    (uint64_t)unit >= rd->pr->n_strings)
		return rd_label_bad(rd, lf->at, key, str, unit);
	lb->key = (uint32_t)key;
	lb->str = (uint32_t)str;
	lb->unit = (uint32_t)unit;
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

/* One sample being read into a stack. */
struct xs {
	uint32_t *fr; /* its frames */
	uint64_t sum; /* the hash sum so far */
	uint32_t k;   /* frames written */
	uint32_t nl;  /* locations read */
	uint64_t nf;  /* frames counted, past the cap too */
};

/* One location id, the careful way: looked up, the caps checked, its
 * frames appended while they fit under max_depth (past it they are only
 * counted, so that the message is the one pprof_read gives). */
static int
rd_xloc(struct rd *rd, const uint8_t *at, uint64_t v,
    const struct pprof_expand *x, struct xs *s)
{
	const struct pprof_loc_frames *lf;
	uint32_t idx = pprof_idmap_get(&rd->lmap, v);

	if (idx == PPROF_NONE)
		return rd_fail(rd, at, "location id %llu not found",
		    (unsigned long long)v);
	if (s->nl == rd->lim->max_depth)
		return rd_fail(rd, at, "more than %u locations (max_depth)",
		    rd->lim->max_depth);
	s->nl++;
	lf = &x->loc[idx];
	s->nf += lf->n;
	if (s->nf <= rd->lim->max_depth) {
		memcpy(s->fr + s->k, x->lf + lf->off, lf->n * sizeof(*s->fr));
		s->sum += lf->hash * x->pow[s->k];
		s->k += lf->n;
	}
	return 0;
}

/* A sample's packed location ids into frames. As in rd_locs, each step
 * decodes every varint that ends in one 8-byte load, while the caps
 * cannot be reached within it; each location then costs a 16-byte copy of
 * its frame ids (whatever their number: there is room, and no branch on
 * it) and a multiply-add into the hash sum, which, unlike a hash chained
 * frame by frame, is not one long dependency chain. */
static inline __attribute__((always_inline)) int
rd_xlocs_body(struct rd *rd, const uint8_t *q, size_t n,
    const struct pprof_expand *x, struct xs *s, const int pext)
{
	const uint8_t *qend = q + n;
	const uint8_t *next;
	const struct pprof_loc_frames *loc = x->loc;
	const struct pprof_loc_frames *lf;
	const uint32_t *lfr = x->lf;
	const uint64_t *pow = x->pow;
	const uint64_t nloc = rd->lmap.n;
	const uint32_t maxd = rd->lim->max_depth;
	const uint64_t big = 8 * (uint64_t)x->max_n;
	const uint8_t *limit = rd->end;
	/* past the cap, frames are only counted: the slow path's business */
	const int dense = rd->lmap.dense && s->nf == s->k;
	uint32_t *fr = s->fr;
	uint32_t k = s->k;
	uint32_t nl = s->nl;
	uint64_t sum = s->sum;
	uint64_t w;
	uint64_t stop;
	uint64_t b;
	uint64_t v;
	unsigned start = 0;
	int rv;

	/* Only locals in the loop's test: the stores through fr might alias
	 * anything of type uint32_t, so fields would be loaded again each
	 * time round. */
	while (dense && q < qend && limit - q >= 8 && nl + 8 <= maxd &&
	    k + big <= maxd) {
		memcpy(&w, q, 8);
		stop = ~w & 0x8080808080808080ULL;
		if (qend - q < 8) /* only varints that end inside */
			stop &= ~0ULL >> (64 - 8 * (qend - q));
		if (stop == 0)
			break; /* a varint over 8 bytes, or cut short */
		start = 0;
		while (stop != 0) {
			b = stop & -stop;
			v = (w & ((b << 1) - 1)) >> start;
			if (pext)
				v = rd_pext7(v);
			else if (v >> 24 == 0) /* up to 3 bytes: < 2^21 */
				v = (v & 0x7f) | ((v >> 1) & 0x3f80) |
				    ((v >> 2) & 0x1fc000);
			else
				v = pb_squeeze(v);
			if (v - 1 >= nloc)
				break; /* let rd_xloc say why */
			lf = &loc[v - 1];
			memcpy(fr + k, lfr + lf->off, 4 * sizeof(*fr));
			if (lf->n > 4)
				memcpy(fr + k, lfr + lf->off,
				    lf->n * sizeof(*fr));
			sum += lf->hash * pow[k];
			k += lf->n;
			nl++;
			start = (unsigned)__builtin_ctzll(b) + 1;
			stop ^= b;
		}
		q += start >> 3;
		if (stop != 0)
			break;
	}
	s->nf += k - s->k;
	s->k = k;
	s->nl = nl;
	s->sum = sum;
	while (q < qend) {
		next = pb_varint_packed(q, qend, rd->end, &v);
		if (next == NULL)
			return rd_fail(rd, q, "location ids: bad varint");
		rv = rd_xloc(rd, q, v, x, s);
		if (rv != 0)
			return rv;
		q = next;
	}
	return 0;
}

int
pprof_fast_pext(void)
{
#ifdef PPROF_PEXT
	/* AMD before Zen 3 has pext in microcode: far slower than the
	 * shifts and masks it would replace. */
	return __builtin_cpu_supports("bmi2") && !__builtin_cpu_is("znver1") &&
	    !__builtin_cpu_is("znver2") && !__builtin_cpu_is("amdfam15h");
#else
	return 0;
#endif
}

size_t
pprof_stack_depth(const struct rd *rd, uint32_t max_n)
{
	uint64_t d = (uint64_t)rd->max_sample * max_n;

	return d < rd->lim->max_depth ? (size_t)d : rd->lim->max_depth;
}

size_t
pprof_stack_room(const struct rd *rd, uint32_t max_n)
{
	return pprof_stack_depth(rd, max_n) + 4;
}

size_t
pprof_samples_bytes(const struct rd *rd)
{
	return rd->samples_bytes;
}

/* A sample's first location list, f, looked up in x->memo: 1 if found (its
 * frames and hash sum then in s), else 0 with the list noted in out for
 * pprof_memo_add. Out of line: the reader's loop keeps its registers. */
static __attribute__((noinline)) int
rd_memo(struct rd *rd, const struct pprof_expand *x, const struct pb_field *f,
    struct xs *s, struct pprof_stack *out)
{
	uint64_t h = pprof_memo_hash(f->d, f->n, rd->end);
	const struct pprof_memo_entry *m =
	    pprof_memo_find(x->memo, f->d, f->n, h, rd->end);

	if (m != NULL) {
		memcpy(s->fr, x->frames + m->off, m->k * sizeof(*s->fr));
		s->k = m->k;
		s->nf = m->k;
		s->nl = m->nl;
		s->sum = m->sum;
		return 1;
	}
	out->ids = f->d;
	out->n_ids = (uint32_t)f->n;
	out->ids_hash = h;
	return 0;
}

/* pprof_read_stack, inlined twice (with and without pext) so that the
 * sample's fields, its locations among them, are read in one function
 * with no call per field. */
static inline __attribute__((always_inline)) int
rd_stack_body(struct rd *rd, size_t i, const struct pprof_expand *x,
    uint32_t *frames, int64_t *vals, struct pprof_stack *out, const int pext)
{
	const struct pb_slice *sl = rd_sample_at(rd, i);
	const uint8_t *p = sl->p;
	const uint8_t *end = p + sl->n;
	size_t nt = rd->pr->n_sample_types;
	struct xs s = {frames, 0, 0, 0, 0};
	struct pb_field f;
	uint32_t nlab = 0;
	size_t nv = 0;
	int rv;

	rd->kind = "sample";
	rd->index = i;
	rd->id = 0;
	out->ids = NULL;
	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		/* One switch on one value: testing num and wt one after
		 * the other made the compiler load them as one 64-bit word
		 * just stored as two, a store-forwarding stall per field. */
		switch (f.num << 3 | f.wt) {
		case 1 << 3 | PB_LEN:
			/* The memo only knows lists that are a sample's
			 * whole location ids. */
			if (s.nl == 0 && x->memo != NULL && x->memo->on) {
				if (rd_memo(rd, x, &f, &s, out)) {
					rv = 0;
					break;
				}
			} else {
				out->ids = NULL;
			}
			rv = rd_xlocs_body(rd, f.d, f.n, x, &s, pext);
			break;
		case 1 << 3 | PB_VARINT:
			out->ids = NULL;
			rv = rd_xloc(rd, f.at, f.u, x, &s);
			break;
		default:
			rv = rd_sample_other(rd, &f, vals, &nv, &nlab, pext);
			break;
		}
		if (rv != 0)
			return rv;
	}
	if (s.nf > rd->lim->max_depth)
		return rd_fail(rd, sl->p,
		    "%llu frames with inlining, over the cap of %u "
		    "(max_depth)",
		    (unsigned long long)s.nf, rd->lim->max_depth);
	if (nv != nt)
		return rd_fail(
		    rd, sl->p, "%zu values for %zu sample types", nv, nt);
	out->n_frames = s.k;
	out->sum = s.sum;
	out->n_locs = s.nl;
	out->n_labels = nlab;
	out->labels = rd->tmp_label;
	return 0;
}

#ifdef PPROF_PEXT
static __attribute__((target("bmi2"))) int
rd_stack_pext(struct rd *rd, size_t i, const struct pprof_expand *x,
    uint32_t *frames, int64_t *vals, struct pprof_stack *out)
{
	return rd_stack_body(rd, i, x, frames, vals, out, 1);
}
#endif

int
pprof_read_stack(struct rd *rd, size_t i, const struct pprof_expand *x,
    uint32_t *frames, int64_t *vals, struct pprof_stack *out)
{
#ifdef PPROF_PEXT
	if (x->pext)
		return rd_stack_pext(rd, i, x, frames, vals, out);
#endif
	return rd_stack_body(rd, i, x, frames, vals, out, 0);
}
