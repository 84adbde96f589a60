/*
 * decode_stacks: samples into stacks, the resolver's hot loop. For each
 * sample its locations' frames are copied into the output array while the
 * stack hash is chained over their precomputed frame hashes; then the
 * stack is looked up in the collapsing table by that hash (and label set),
 * and either summed into the stack it repeats or kept.
 *
 * The lookup is done one sample late: the table slot is prefetched as soon
 * as a sample's hash is known, and probed only after the next sample has
 * been expanded, so the cache miss of a table that does not fit in L1
 * overlaps useful work instead of stalling it. A sample that turns out to
 * repeat a stack then has its frames removed from the array, which means
 * moving the next sample's frames down over them.
 */
#include <string.h>

#include "common/hash.h"
#include "decoder/decode_rs.h"

struct st {
	const struct pprof_profile *pr;
	size_t nt;
	uint32_t *frames;
	uint32_t *offs;   /* n + 1 */
	uint64_t *hashes; /* per stack */
	uint32_t *labels; /* per stack */
	int64_t *values;  /* per stack, nt each */
	uint32_t *slots;  /* stack index + 1, 0 empty */
	uint64_t mask;
	size_t n; /* stacks so far */
};

/* A sample expanded but not yet looked up. */
struct pending {
	size_t sample;
	uint64_t hash;
	uint64_t slot;
	uint32_t labels;
	uint32_t top; /* its frames: frames[top .. end) */
	uint32_t end;
};

/* Look p up: 0 if it is a new stack (kept where it is), 1 if it repeats
 * one (values summed into it), -1 if a sum overflows. */
static int
st_commit(struct st *st, const struct pending *p)
{
	const int64_t *sv = st->pr->values + p->sample * st->nt;
	uint32_t len = p->end - p->top;
	uint64_t s = p->slot;
	int64_t *v;
	uint32_t e;
	size_t t;

	while ((e = st->slots[s]) != 0) {
		e--;
		if (st->hashes[e] == p->hash && st->labels[e] == p->labels &&
		    st->offs[e + 1] - st->offs[e] == len &&
		    memcmp(st->frames + st->offs[e], st->frames + p->top,
		        len * sizeof(*st->frames)) == 0) {
			v = st->values + e * st->nt;
			for (t = 0; t < st->nt; t++) {
				if (__builtin_add_overflow(v[t], sv[t], &v[t]))
					return -1;
			}
			return 1;
		}
		s = (s + 1) & st->mask;
	}
	e = (uint32_t)st->n++;
	st->hashes[e] = p->hash;
	st->labels[e] = p->labels;
	memcpy(st->values + e * st->nt, sv, st->nt * sizeof(*sv));
	st->offs[e + 1] = p->end;
	st->slots[s] = e + 1;
	return 0;
}

/* Copy sample smp's frames to frames[k ...] and chain their hashes.
 * Returns the end of its frames; *h is the stack hash. Four frame ids are
 * copied for every location whatever its count (there is room), so the
 * loop has no branch on how many lines a location has: that branch,
 * taken at random for the inlined ones, was most of the time spent here. */
static uint32_t
st_expand(const struct rs *rs, const struct pprof_sample *smp,
    uint32_t *frames, uint32_t k, uint64_t *h)
{
	const uint32_t *lo = rs->lo;
	const uint32_t *lf = rs->lf;
	const uint64_t *fh = rs->f_hash;
	uint64_t x = HASH_SEED;
	uint32_t start = k;
	uint32_t j;
	uint32_t o;
	uint32_t n;

	for (j = 0; j < smp->n_loc; j++) {
		o = lo[smp->loc[j]];
		n = lo[smp->loc[j] + 1] - o;
		memcpy(frames + k, lf + o, 4 * sizeof(*frames));
		if (n > 4)
			memcpy(frames + k, lf + o, n * sizeof(*frames));
		k += n;
	}
	for (j = start; j < k; j++)
		x = hash_u64_inline(x, fh[frames[j]]);
	*h = x;
	return k;
}

static int
st_alloc(struct st *st, struct rs *rs, size_t total)
{
	size_t ns = rs->pr->n_samples;

	st->pr = rs->pr;
	st->nt = rs->pr->n_sample_types;
	st->mask = rs_slots(ns) - 1;
	st->frames = arena_alloc(rs->a, (total + 4) * sizeof(*st->frames));
	st->offs = arena_alloc(rs->a, (ns + 1) * sizeof(*st->offs));
	st->hashes = arena_alloc(rs->a, (ns + 1) * sizeof(*st->hashes));
	st->values = arena_alloc(rs->a, (ns * st->nt + 1) * sizeof(int64_t));
	st->labels = arena_alloc(rs->a, (ns + 1) * sizeof(*st->labels));
	st->slots = arena_calloc(rs->a, st->mask + 1, sizeof(*st->slots));
	if (st->frames == NULL || st->offs == NULL || st->hashes == NULL ||
	    st->values == NULL || st->labels == NULL || st->slots == NULL)
		return RS_NOMEM(rs, "stacks");
	st->offs[0] = 0;
	st->n = 0;
	return 0;
}

int
rs_stacks(struct rs *rs, Profpipe__Decoded *out)
{
	const struct pprof_profile *pr = rs->pr;
	struct pending p = {0, 0, 0, 0, 0, 0};
	struct pending c;
	struct st st;
	size_t total;
	uint32_t shift;
	size_t i;
	int have = 0;
	int rv;

	/* The reader counted the frames and checked each sample's depth. */
	total = pr->n_frame_refs;
	if (total > UINT32_MAX)
		return rs_fail(
		    rs, DECODE_EBAD, "%zu frames in all: too many", total);
	rv = st_alloc(&st, rs, total);
	if (rv != 0)
		return rv;
	for (i = 0; i < pr->n_samples; i++) {
		c.sample = i;
		c.top = have ? p.end : 0;
		c.end =
		    st_expand(rs, &pr->samples[i], st.frames, c.top, &c.hash);
		rv = rs_label_set(rs, &pr->samples[i], &c.labels);
		if (rv != 0)
			return rv;
		c.slot =
		    ((c.hash ^ (uint64_t)c.labels * 0x9e3779b97f4a7c15ULL) >>
		        7) &
		    st.mask;
		__builtin_prefetch(&st.slots[c.slot]);
		if (have) {
			rv = st_commit(&st, &p);
			if (rv < 0)
				goto overflow;
			if (rv == 1) {
				/* p repeated a stack: close its gap. */
				shift = p.end - p.top;
				memmove(st.frames + p.top, st.frames + c.top,
				    (c.end - c.top) * sizeof(*st.frames));
				c.top -= shift;
				c.end -= shift;
			}
		}
		p = c;
		have = 1;
	}
	if (have && st_commit(&st, &p) < 0)
		goto overflow;
	out->n_stack_offset = st.n + 1;
	out->stack_offset = st.offs;
	out->n_stack_frames = st.offs[st.n];
	out->stack_frames = st.frames;
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
	    "sample %zu: a value overflows int64 when summed", p.sample);
}
