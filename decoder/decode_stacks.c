/*
 * decode_stacks: samples into stacks, the resolver's hot loop, in one pass
 * over the samples' bytes. The reader (pprof_read_stack) writes each
 * sample's frames straight to the end of the output's frame array and sums
 * its stack hash from the locations' precomputed terms; then the stack is
 * looked up in the collapsing table (open addressing, keyed by the stack
 * hash and label set, frames compared only when both match) and either
 * kept, by moving the array's end past it, or summed into the stack it
 * repeats, its frames then simply overwritten by the next sample's.
 *
 * The sample's values are read into the row the stack would get if it is
 * new, so a new stack costs no copy either. Nothing is allocated per
 * sample: the frame array is sized from a guess and grows (rarely, by
 * doubling) when a sample might not fit. Its ids are 16-bit when every
 * frame's fits and the caller takes them so (decode.h, decode_narrow),
 * else 32-bit: w bytes each.
 */
#include <string.h>

#include "decoder/decode_rs.h"
#include "decoder/pprof_ltail.h"
#include "decoder/pprof_memo.h"

struct st {
	size_t nt;
	void *frames;
	size_t w;         /* bytes per frame id: 2 or 4 */
	size_t cap;       /* of frames */
	uint32_t *offs;   /* n + 1 */
	uint64_t *hashes; /* per stack */
	uint32_t *labels; /* per stack */
	int64_t *values;  /* per stack, nt each */
	uint32_t *slots;  /* stack index + 1, 0 empty */
	uint64_t mask;
	size_t n; /* stacks so far */
};

/* A sample read but not yet looked up: the stack it would be, n, whose
 * frames are frames[offs[n] .. offs[n] + o.n_frames) and whose values are
 * in row n. */
struct pending {
	size_t sample;
	uint64_t hash;
	uint64_t slot;
	uint32_t labels;
	struct pprof_stack o; /* what the reader said */
};

/* Frame id k's place in the frame array. */
static inline void *
st_at(const struct st *st, size_t k)
{
	return (char *)st->frames + k * st->w;
}

/* The slot of (stack, label set): both, since one stack may come with
 * many label sets (a heap profile's "bytes" label: 55 samples of one
 * stack in a real one), and a slot from the stack alone chained them all,
 * a quarter of the decode of such a profile. */
static uint64_t
st_slot(const struct st *st, uint64_t hash, uint32_t labels)
{
	return ((hash + labels * DECODE_STACK_K) >> 7) & st->mask;
}

/* Look p up: 0 if it is a new stack (kept), 1 if it repeats one (values
 * summed into it), -1 if a sum overflows. *at: the stack it is now. */
static int
st_commit(struct st *st, const struct pending *p, uint32_t *at)
{
	uint32_t top = st->offs[st->n];
	const int64_t *sv = st->values + st->n * st->nt;
	uint64_t s = p->slot;
	int64_t *v;
	uint32_t e;
	size_t t;

	while ((e = st->slots[s]) != 0) {
		e--;
		if (st->hashes[e] == p->hash && st->labels[e] == p->labels &&
		    st->offs[e + 1] - st->offs[e] == p->o.n_frames &&
		    memcmp(st_at(st, st->offs[e]), st_at(st, top),
		        p->o.n_frames * st->w) == 0) {
			v = st->values + e * st->nt;
			for (t = 0; t < st->nt; t++) {
				if (__builtin_add_overflow(v[t], sv[t], &v[t]))
					return -1;
			}
			*at = e;
			return 1;
		}
		s = (s + 1) & st->mask;
	}
	e = (uint32_t)st->n++;
	st->hashes[e] = p->hash;
	st->labels[e] = p->labels;
	st->offs[e + 1] = top + p->o.n_frames;
	st->slots[s] = e + 1;
	*at = e;
	return 0;
}

/* The sample after p (read into stack n + 1's place) moves into p's
 * place when p turned out to repeat a stack. */
static void
st_close_gap(struct st *st, const struct pending *p, const struct pending *c)
{
	uint32_t top = st->offs[st->n];

	memmove(st_at(st, top), st_at(st, top + p->o.n_frames),
	    c->o.n_frames * st->w);
	memcpy(st->values + st->n * st->nt, st->values + (st->n + 1) * st->nt,
	    st->nt * sizeof(*st->values));
}

/* Room for need more frames after the kept ones and the pending ones.
 * The frames are the scratch stream's last allocation (st_alloc), so they
 * usually grow in place; a copy is the fallback. */
static int
st_room(struct st *st, struct rs *rs, size_t pending, size_t need)
{
	size_t used = st->offs[st->n] + pending;
	size_t cap = st->cap * 2;
	void *p;

	if (used + need <= st->cap)
		return 0;
	if (used + need > UINT32_MAX)
		return rs_fail(rs, DECODE_EBAD,
		    "over %u frames in all: too many", UINT32_MAX);
	if (cap < used + need)
		cap = used + need;
	if (arena_extend(arena_scratch(rs->a), st->frames, st->cap * st->w,
	        cap * st->w) == 0) {
		st->cap = cap;
		return 0;
	}
	p = arena_alloc(arena_scratch(rs->a), cap * st->w);
	if (p == NULL)
		return RS_NOMEM(rs, "stacks");
	memcpy(p, st->frames, used * st->w);
	st->frames = p;
	st->cap = cap;
	return 0;
}

/* K^i for every position a stack may have. */
static uint64_t *
st_powers(struct rs *rs, size_t n)
{
	uint64_t *pow = arena_alloc(rs->a, (n + 1) * sizeof(*pow));
	size_t i;

	if (pow == NULL)
		return NULL;
	pow[0] = 1;
	for (i = 1; i <= n; i++)
		pow[i] = pow[i - 1] * DECODE_STACK_K;
	return pow;
}

/* In the scratch stream, which decode_resolve has just trimmed back, so
 * that the stacks reuse the pages the tables used; the frames last, so
 * that they can grow in place. */
static int
st_alloc(struct st *st, struct rs *rs)
{
	const struct pprof_profile *pr = rs->pr;
	struct arena *a = arena_scratch(rs->a);
	size_t ns = pr->n_samples;
	size_t nloc = pr->n_locations ? pr->n_locations : 1;
	size_t guess;

	st->nt = pr->n_sample_types;
	st->mask = rs_slots(ns) - 1;
	/* A location id takes two bytes or so, and makes lf's average of
	 * frames. Too small costs an extension in place (a copy if the block
	 * is full); too large, room in the block, which is free unless it
	 * no longer fits there (the average rounded up to a whole frame made
	 * heap-large's guess 2.4 times its frames, and did that). */
	guess = pprof_samples_bytes(rs->rd) / 2 *
	        rs->loc[pr->n_locations].off / nloc +
	    64;
	if (guess > UINT32_MAX)
		guess = UINT32_MAX;
	st->cap = guess;
	st->offs = arena_alloc(a, (ns + 1) * sizeof(*st->offs));
	st->hashes = arena_alloc(a, (ns + 1) * sizeof(*st->hashes));
	st->values = arena_alloc(a, ((ns + 1) * st->nt + 1) * sizeof(int64_t));
	st->labels = arena_alloc(a, (ns + 1) * sizeof(*st->labels));
	st->slots = arena_calloc(a, st->mask + 1, sizeof(*st->slots));
	st->frames = arena_alloc(a, st->cap * st->w);
	if (st->frames == NULL || st->offs == NULL || st->hashes == NULL ||
	    st->values == NULL || st->labels == NULL || st->slots == NULL)
		return RS_NOMEM(rs, "stacks");
	st->offs[0] = 0;
	st->n = 0;
	return 0;
}

/* The locations' frames (rs->lf) as 16-bit ids, with the 16 bytes to
 * spare that pprof_read_stack's copies read past them; in the main arena,
 * for the frames to stay the scratch stream's last allocation. */
static uint16_t *
st_lf16(struct rs *rs)
{
	size_t n = rs->loc[rs->pr->n_locations].off;
	uint16_t *lf = arena_calloc(rs->a, n + 8, sizeof(*lf));
	size_t i;

	if (lf == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		lf[i] = (uint16_t)rs->lf[i];
	return lf;
}

/* The memo of location lists (pprof_memo.h): twice as many slots as it
 * may hold entries, in the scratch stream with the stacks. Without the
 * room it is switched off: it only saves work. */
static void
st_memo_table(struct pprof_memo *m, struct rs *rs)
{
	size_t ns = rs->pr->n_samples;
	size_t want = 2 * (ns < PPROF_MEMO_MAX ? ns : PPROF_MEMO_MAX);
	size_t slots = 16;

	while (slots < want)
		slots *= 2;
	m->slots =
	    arena_calloc(arena_scratch(rs->a), slots, sizeof(*m->slots));
	m->mask = (uint32_t)(slots - 1);
	if (m->slots == NULL)
		m->on = 0;
}

/* p is in the table now, as stack e: remember its location list, if
 * another sample may repeat it (it has labels). */
static void
st_remember(struct pprof_memo *m, struct rs *rs, const struct st *st,
    const struct pending *p, uint32_t e)
{
	int labelled =
	    p->o.n_labels != 0 || (p->o.lset != PPROF_NONE && p->o.lset != 0);

	if (p->o.ids == NULL || !labelled || !m->on)
		return;
	if (m->slots == NULL)
		st_memo_table(m, rs);
	pprof_memo_add(m, p->o.ids, p->o.n_ids, p->o.ids_hash, st->offs[e],
	    p->o.n_frames, p->o.n_locs, p->o.sum);
}

/* The sample just read had labels whose bytes x->ltail did not know: they
 * are set `set`. The table is made on the first such sample, outside the
 * scratch stream, whose last allocation, the frames, must stay last to
 * grow in place; without the room, none is kept: it only saves work. */
static void
st_ltail_add(struct pprof_ltail *t, struct rs *rs, const struct pprof_stack *o,
    uint32_t set)
{
	if (t->slots == NULL)
		t->slots =
		    arena_calloc(rs->a, PPROF_LTAIL_SLOTS, sizeof(*t->slots));
	pprof_ltail_add(t, o->ltail_w, o->ltail_n, set);
}

int
rs_stacks(struct rs *rs, Profpipe__Decoded *out)
{
	const struct pprof_profile *pr = rs->pr;
	struct pprof_expand x;
	struct pprof_memo memo;
	struct pprof_ltail ltail;
	struct pending two[2];
	struct pending *p = &two[0]; /* read, not yet looked up */
	struct pending *c = &two[1]; /* being read */
	struct pending *t;
	struct st st;
	size_t room;
	size_t top;
	size_t i;
	uint32_t e;
	int have = 0;
	int rv;

	x.narrow = rs->nw != NULL && !rs->lim->wide &&
	    rs->n_frames <= (size_t)UINT16_MAX + 1;
	x.lf = rs->lf;
	st.w = sizeof(uint32_t);
	if (x.narrow) {
		x.lf = st_lf16(rs);
		if (x.lf == NULL)
			return RS_NOMEM(rs, "frames");
		st.w = sizeof(uint16_t);
	}
	rv = st_alloc(&st, rs);
	if (rv != 0)
		return rv;
	x.loc = rs->loc;
	x.max_n = rs->max_n;
	x.pext = !rs->lim->portable && pprof_fast_pext();
	x.pow = st_powers(rs, pprof_stack_depth(rs->rd, rs->max_n));
	memset(&memo, 0, sizeof(memo));
	memo.on = 1;
	x.memo = &memo;
	memset(&ltail, 0, sizeof(ltail));
	x.ltail = &ltail;
	if (x.pow == NULL)
		return RS_NOMEM(rs, "stacks");
	room = pprof_stack_room(rs->rd, rs->max_n);
	/* Each sample is looked up one sample late: its table slot is
	 * prefetched as soon as its hash is known, and probed only after the
	 * next sample has been read, so that the slot's cache miss (the
	 * table outgrows L1 and L2 on large profiles) overlaps that work. */
	for (i = 0; i < pr->n_samples; i++) {
		rv = st_room(&st, rs, have ? p->o.n_frames : 0, room);
		if (rv != 0)
			return rv;
		x.frames = st.frames; /* st_room may have moved them */
		top = st.offs[st.n] + (have ? p->o.n_frames : 0);
		rv = pprof_read_stack(rs->rd, i, &x, st_at(&st, top),
		    st.values + (st.n + have) * st.nt, &c->o);
		if (rv != 0)
			return rv;
		c->sample = i;
		c->hash = decode_stack_hash_final(c->o.sum, c->o.n_frames);
		if (c->o.lset != PPROF_NONE) {
			c->labels = c->o.lset;
		} else {
			rv = rs_label_set(
			    rs, c->o.labels, c->o.n_labels, &c->labels);
			if (rv != 0)
				return rv;
			if (c->o.ltail_n != 0)
				st_ltail_add(&ltail, rs, &c->o, c->labels);
		}
		c->slot = st_slot(&st, c->hash, c->labels);
		__builtin_prefetch(&st.slots[c->slot]);
		if (have) {
			rv = st_commit(&st, p, &e);
			if (rv < 0)
				goto overflow;
			st_remember(&memo, rs, &st, p, e);
			if (rv == 1)
				st_close_gap(&st, p, c);
		}
		t = p;
		p = c;
		c = t;
		have = 1;
	}
	if (have && st_commit(&st, p, &e) < 0)
		goto overflow;
	out->n_stack_offset = st.n + 1;
	out->stack_offset = st.offs;
	if (x.narrow) {
		rs->nw->ids = st.frames;
		rs->nw->n = st.offs[st.n];
		rs->nw->cap = st.cap;
	} else {
		out->n_stack_frames = st.offs[st.n];
		out->stack_frames = st.frames;
	}
	out->n_stack_hash = st.n;
	out->stack_hash = st.hashes;
	out->n_values = st.n * st.nt;
	out->values = st.values;
	out->n_stack_labels = st.n;
	out->stack_labels = st.labels;
	out->n_samples = pr->n_samples;
	return 0;
overflow:
	return rs_fail(rs, DECODE_EBAD,
	    "sample %zu: a value overflows int64 when summed", p->sample);
}
