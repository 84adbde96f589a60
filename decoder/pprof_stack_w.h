/*
 * pprof_stack_w: the width-dependent half of pprof_stack.c, the sample
 * reader's hot loop, included there once per width of frame id: with
 * FR_T uint32_t and W(name) name##_32, and with FR_T uint16_t and W(name)
 * name##_16 (pprof.h: a profile of at most 2^16 frames has 16-bit ids,
 * which halves the frames, the largest part of a decode's peak memory).
 * One text, so the two cannot drift apart; the compiler makes each its own
 * loop, with its own copy width, as if written twice.
 */

/* Frame ids per 16-byte copy */
#define FR_STEP (16 / sizeof(FR_T))

/* One sample being read into a stack. */
struct W(xs) {
	FR_T *fr;     /* its frames */
	uint64_t sum; /* the hash sum so far */
	uint32_t k;   /* frames written */
	uint32_t nl;  /* locations read */
	uint64_t nf;  /* frames counted, past the cap too */
};

/* One location id, the careful way: looked up, the caps checked, its
 * frames appended while they fit under max_depth (past it they are only
 * counted, so that the message is the one pprof_read gives). */
static int
W(rd_xloc)(struct rd *rd, const uint8_t *at, uint64_t v,
    const struct pprof_expand *x, struct W(xs) * s)
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
		memcpy(s->fr + s->k, (const FR_T *)x->lf + lf->off,
		    lf->n * sizeof(*s->fr));
		s->sum += lf->hash * x->pow[s->k];
		s->k += lf->n;
	}
	return 0;
}

/* What the fast loop over a sample's location ids reads: the tables, and
 * the bounds it must stay within. */
struct W(xrun) {
	const struct pprof_loc_frames *loc;
	const FR_T *lfr;
	const uint64_t *pow;
	uint64_t nloc;
	uint64_t room; /* frames allowed: max_depth - 8 * max_n */
	uint32_t maxl; /* locations allowed: max_depth - 8 */
	const uint8_t *limit;
};

/* The ids in q[0 .. qend) that end in one 8-byte load at a time, while
 * the caps cannot be reached within it; each location then costs a
 * 16-byte copy of its frame ids (more only when it has more than
 * FR_STEP: there is room) and a multiply-add into the hash sum, which,
 * unlike a hash chained frame by frame, is not one long dependency chain.
 * Returns where it stopped: a varint over 8 bytes, or cut short, or an id
 * not found, is left to the careful way. Its own function, out of the
 * sample reader's: there, its loop lost its registers to the reader's
 * and reloaded the tables' addresses on every id. */
static inline __attribute__((always_inline)) const uint8_t *
W(rd_xlocs_run)(const uint8_t *q, const uint8_t *qend,
    const struct W(xrun) * c, struct W(xs) * s, const int pext)
{
	const struct pprof_loc_frames *loc = c->loc;
	const struct pprof_loc_frames *lf;
	const FR_T *lfr = c->lfr;
	const uint64_t nloc = c->nloc;
	const uint64_t room = c->room;
	const uint32_t maxl = c->maxl;
	const uint8_t *limit = c->limit;
	FR_T *const fr = s->fr;
	/* The next frame's place and its power: k is frk - fr */
	FR_T *frk = fr + s->k;
	const uint64_t *powk = c->pow + s->k;
	/* fr + room, as a number: it may lie past the array (the caps and
	 * the array's size are separate bounds) */
	const uintptr_t fend = (uintptr_t)fr + room * sizeof(*fr);
	uint32_t nl = s->nl;
	uint64_t sum = s->sum;
	uint64_t w;
	uint64_t stop;
	uint64_t b;
	uint64_t v;
	uint32_t j;
	unsigned start = 0;

	/* Only locals in the loop's test: the stores through fr might alias
	 * anything of type uint32_t, so fields would be loaded again each
	 * time round. */
	while (q < qend && limit - q >= 8 && nl <= maxl &&
	    (uintptr_t)frk <= fend) {
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
			memcpy(frk, lfr + lf->off, 16);
			/* 16 bytes at a time, no call: one would take
			 * the loop's registers */
			for (j = FR_STEP; j < lf->n; j += FR_STEP)
				memcpy(frk + j, lfr + lf->off + j, 16);
			sum += lf->hash * *powk;
			frk += lf->n;
			powk += lf->n;
			nl++;
			start = (unsigned)__builtin_ctzll(b) + 1;
			stop ^= b;
		}
		q += start >> 3;
		if (stop != 0)
			break;
	}
	s->nf += (uint64_t)(frk - fr) - s->k;
	s->k = (uint32_t)(frk - fr);
	s->nl = nl;
	s->sum = sum;
	return q;
}

#ifdef PPROF_PEXT
static __attribute__((noinline, target("bmi,bmi2"))) const uint8_t *
W(rd_xlocs_pext)(const uint8_t *q, const uint8_t *qend,
    const struct W(xrun) * c, struct W(xs) * s)
{
	return W(rd_xlocs_run)(q, qend, c, s, 1);
}
#endif

static __attribute__((noinline)) const uint8_t *
W(rd_xlocs_plain)(const uint8_t *q, const uint8_t *qend,
    const struct W(xrun) * c, struct W(xs) * s)
{
	return W(rd_xlocs_run)(q, qend, c, s, 0);
}

/* A sample's packed location ids into frames: the fast loop first, then
 * one id at a time, the careful way, for whatever it left. */
static inline __attribute__((always_inline)) int
W(rd_xlocs_body)(struct rd *rd, const uint8_t *q, size_t n,
    const struct pprof_expand *x, struct W(xs) * s, const int pext)
{
	const uint8_t *qend = q + n;
	const uint8_t *next;
	const uint32_t maxd = rd->lim->max_depth;
	const uint64_t big = 8 * (uint64_t)x->max_n;
	struct W(xrun) c;
	uint64_t v;
	int rv;

	/* past the cap, frames are only counted: the slow path's business */
	if (rd->lmap.dense && s->nf == s->k && maxd >= 8 && maxd >= big) {
		c.loc = x->loc;
		c.lfr = x->lf;
		c.pow = x->pow;
		c.nloc = rd->lmap.n;
		c.room = maxd - big;
		c.maxl = maxd - 8;
		c.limit = rd->end;
#ifdef PPROF_PEXT
		if (pext)
			q = W(rd_xlocs_pext)(q, qend, &c, s);
		else
#endif
			q = W(rd_xlocs_plain)(q, qend, &c, s);
	}
	while (q < qend) {
		next = pb_varint_packed(q, qend, rd->end, &v);
		if (next == NULL)
			return rd_fail(rd, q, "location ids: bad varint");
		rv = W(rd_xloc)(rd, q, v, x, s);
		if (rv != 0)
			return rv;
		q = next;
	}
	return 0;
}

/* A sample's first location list, f, looked up in x->memo: 1 if found (its
 * frames and hash sum then in s), else 0 with the list noted in out for
 * pprof_memo_add. Out of line: the reader's loop keeps its registers. */
static __attribute__((noinline)) int
W(rd_memo)(struct rd *rd, const struct pprof_expand *x,
    const struct pb_field *f, struct W(xs) * s, struct pprof_stack *out)
{
	uint64_t h = pprof_memo_hash(f->d, f->n, rd->end);
	const struct pprof_memo_entry *m =
	    pprof_memo_find(x->memo, f->d, f->n, h, rd->end);

	if (m != NULL) {
		memcpy(s->fr, (const FR_T *)x->frames + m->off,
		    m->k * sizeof(*s->fr));
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
W(rd_stack_body)(struct rd *rd, size_t i, const struct pprof_expand *x,
    FR_T *frames, int64_t *vals, struct pprof_stack *out, const int pext)
{
	const struct pb_slice *sl = rd_sample_at(rd, i);
	const uint8_t *p = sl->p;
	const uint8_t *end = p + sl->n;
	size_t nt = rd->pr->n_sample_types;
	struct W(xs) s = {frames, 0, 0, 0, 0};
	struct pb_field f;
	uint32_t nlab = 0;
	size_t nv = 0;
	int seen_label = 0;
	int rv;

	rd->kind = "sample";
	rd->index = i;
	rd->id = 0;
	out->ids = NULL;
	out->lset = PPROF_NONE;
	out->ltail_n = 0;
	while (p < end) {
		rv = pb_next(&p, end, &f);
		if (rv != 0)
			return rd_wire(rd, &f, rv);
		/* One switch on one value: testing num and wt one after
		 * the other made the compiler load them as one 64-bit word
		 * just stored as two, a store-forwarding stall per field.
		 * A field other than a label forgets the tail of labels
		 * noted before it: labels are not the sample's tail. */
		switch (f.num << 3 | f.wt) {
		case 3 << 3 | PB_LEN:
			if (!seen_label && x->ltail != NULL &&
			    rd_ltail(rd, x->ltail, f.at, end, out)) {
				p = end; /* the set is known: skip */
				rv = 0;
				break;
			}
			seen_label = 1;
			rv = rd_sample_other(rd, &f, vals, &nv, &nlab, pext);
			break;
		case 1 << 3 | PB_LEN:
			out->ltail_n = 0;
			/* The memo only knows lists that are a sample's
			 * whole location ids. */
			if (s.nl == 0 && x->memo != NULL && x->memo->on) {
				if (W(rd_memo)(rd, x, &f, &s, out)) {
					rv = 0;
					break;
				}
			} else {
				out->ids = NULL;
			}
			rv = W(rd_xlocs_body)(rd, f.d, f.n, x, &s, pext);
			break;
		case 1 << 3 | PB_VARINT:
			out->ltail_n = 0;
			out->ids = NULL;
			rv = W(rd_xloc)(rd, f.at, f.u, x, &s);
			break;
		default:
			out->ltail_n = 0;
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
W(rd_stack_pext)(struct rd *rd, size_t i, const struct pprof_expand *x,
    FR_T *frames, int64_t *vals, struct pprof_stack *out)
{
	return W(rd_stack_body)(rd, i, x, frames, vals, out, 1);
}
#endif

static int
W(rd_stack)(struct rd *rd, size_t i, const struct pprof_expand *x,
    FR_T *frames, int64_t *vals, struct pprof_stack *out)
{
#ifdef PPROF_PEXT
	if (x->pext)
		return W(rd_stack_pext)(rd, i, x, frames, vals, out);
#endif
	return W(rd_stack_body)(rd, i, x, frames, vals, out, 0);
}

#undef FR_STEP
