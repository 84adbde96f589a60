/*
 * pprof_stack: pprof_read_stack, the decoder's way of reading a sample. It
 * writes the sample's frames straight into the stack being built, copying
 * each location's precomputed run of frame ids and adding up its
 * precomputed hash term, so that a location id costs a varint, two loads,
 * a 16-byte copy and one multiply, and nothing is stored per location
 * reference on the way; a location list seen before is taken whole
 * (pprof_memo.h). The loop itself is in pprof_stack_w.h, once per width
 * of frame id.
 */
#include <string.h>

#include "decoder/pprof_fields.h"
#include "decoder/pprof_ltail.h"
#include "decoder/pprof_memo.h"

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
	return pprof_stack_depth(rd, max_n) + 8;
}

size_t
pprof_samples_bytes(const struct rd *rd)
{
	return rd->samples_bytes;
}

/* A sample's first label field, at `at`: if the bytes from there to the
 * sample's end are a tail x->ltail knows, 1 with its set in out->lset;
 * else 0, with the tail noted in out for rs_stacks to remember once the
 * set is found (if it is short enough, and turns out to be labels only).
 * Out of line: the reader's loop keeps its registers. */
static __attribute__((noinline)) int
rd_ltail(struct rd *rd, const struct pprof_ltail *t, const uint8_t *at,
    const uint8_t *end, struct pprof_stack *out)
{
	size_t n = (size_t)(end - at);
	int64_t set;

	if (n > PPROF_LTAIL_MAX)
		return 0;
	pprof_ltail_key(at, n, rd->end, out->ltail_w);
	set = t->slots != NULL ? pprof_ltail_find(t, out->ltail_w, n) : -1;
	if (set >= 0) {
		out->lset = (uint32_t)set;
		return 1;
	}
	out->ltail_n = (uint32_t)n;
	return 0;
}

#define FR_T uint32_t
#define W(name) name##_32
#include "decoder/pprof_stack_w.h"
#undef W
#undef FR_T

#define FR_T uint16_t
#define W(name) name##_16
#include "decoder/pprof_stack_w.h"
#undef W
#undef FR_T

int
pprof_read_stack(struct rd *rd, size_t i, const struct pprof_expand *x,
    void *frames, int64_t *vals, struct pprof_stack *out)
{
	if (x->narrow)
		return rd_stack_16(rd, i, x, frames, vals, out);
	return rd_stack_32(rd, i, x, frames, vals, out);
}
