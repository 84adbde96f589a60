/*
 * decoded: the checks behind decoded.h. Each names the first thing wrong
 * in words a person can act on; nothing allocates.
 *
 * The per-element checks over the big arrays (frames, stack frames, stack
 * offsets) first run four elements at a time with no exit in the loop
 * ("some index is out of range", "some offset goes backwards"), and only
 * when one fails walk the array again to name the first culprit:
 * every stage checks every profile it receives, and the element-by-element
 * loops with an exit in each were most of the check's time.
 */
#include "common/decoded.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/hash.h"

static int
decoded_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

size_t
decoded_n_stacks(const Profpipe__Decoded *d)
{
	return d->n_stack_offset > 0 ? d->n_stack_offset - 1 : 0;
}

static int
decoded_check_types(const Profpipe__Decoded *d, char *err, size_t errlen)
{
	const Profpipe__ValueType *vt;
	size_t t;

	for (t = 0; t < d->n_sample_types; t++) {
		vt = d->sample_types[t];
		if (vt->type >= d->n_strings || vt->unit >= d->n_strings)
			return decoded_err(err, errlen,
			    "sample type %zu: string index out of range (%zu "
			    "strings)",
			    t, d->n_strings);
	}
	if (d->default_sample_type != 0 &&
	    (d->default_sample_type < 0 ||
	        (size_t)d->default_sample_type >= d->n_sample_types))
		return decoded_err(err, errlen,
		    "default sample type %d out of range",
		    (int)d->default_sample_type);
	if (d->period_type != NULL &&
	    (d->period_type->type >= d->n_strings ||
	        d->period_type->unit >= d->n_strings))
		return decoded_err(
		    err, errlen, "period type: string index out of range");
	return 0;
}

/* Four indices at a time: GCC's vector extension, since -O2 does not
 * vectorize loops of unknown length by itself. */
typedef uint32_t decoded_v4 __attribute__((vector_size(16)));

/* Whether some of the n indices in v is lim or more. */
static int
decoded_any_ge(const uint32_t *v, size_t n, uint32_t lim)
{
	decoded_v4 l = {lim, lim, lim, lim};
	decoded_v4 acc = {0, 0, 0, 0};
	decoded_v4 x;
	size_t i;
	int bad = 0;

	for (i = 0; i + 4 <= n; i += 4) {
		memcpy(&x, v + i, sizeof(x));
		acc |= (decoded_v4)(x >= l);
	}
	for (; i < n; i++)
		bad |= v[i] >= lim;
	return bad || (acc[0] | acc[1] | acc[2] | acc[3]) != 0;
}

/* Whether some of the n indices in v is out of [0, lim). */
static int
decoded_any_out(const uint32_t *v, size_t n, size_t lim)
{
	return lim <= UINT32_MAX && decoded_any_ge(v, n, (uint32_t)lim);
}

/* Whether some v[i] > v[i + 1], i < n. */
static int
decoded_any_down(const uint32_t *v, size_t n)
{
	decoded_v4 acc = {0, 0, 0, 0};
	decoded_v4 x;
	decoded_v4 y;
	size_t i;
	int bad = 0;

	for (i = 0; i + 4 <= n; i += 4) {
		memcpy(&x, v + i, sizeof(x));
		memcpy(&y, v + i + 1, sizeof(y));
		acc |= (decoded_v4)(x > y);
	}
	for (; i < n; i++)
		bad |= v[i] > v[i + 1];
	return bad || (acc[0] | acc[1] | acc[2] | acc[3]) != 0;
}

static int
decoded_check_frames(const Profpipe__Decoded *d, char *err, size_t errlen)
{
	size_t nfr = d->n_frame_function;
	size_t i;

	if (d->n_frame_file != nfr || d->n_frame_line != nfr)
		return decoded_err(err, errlen,
		    "frame arrays disagree (%zu functions, %zu files, %zu "
		    "lines)",
		    nfr, d->n_frame_file, d->n_frame_line);
	if (decoded_any_out(d->frame_function, nfr, d->n_strings) ||
	    decoded_any_out(d->frame_file, nfr, d->n_strings)) {
		for (i = 0; i < nfr; i++) {
			if (d->frame_function[i] >= d->n_strings ||
			    d->frame_file[i] >= d->n_strings)
				break;
		}
		return decoded_err(
		    err, errlen, "frame %zu: string index out of range", i);
	}
	if (decoded_any_out(d->stack_frames, d->n_stack_frames, nfr)) {
		for (i = 0; d->stack_frames[i] < nfr; i++)
			;
		return decoded_err(err, errlen,
		    "stack frame %zu: frame %u out of range (%zu frames)", i,
		    d->stack_frames[i], nfr);
	}
	return 0;
}

static int
decoded_check_labels(
    const Profpipe__Decoded *d, size_t nst, char *err, size_t errlen)
{
	const Profpipe__SampleLabel *l;
	size_t i;
	size_t j;

	if (d->n_stack_labels != 0 && d->n_stack_labels != nst)
		return decoded_err(err, errlen,
		    "%zu stack labels for %zu stacks", d->n_stack_labels, nst);
	for (i = 0; i < d->n_stack_labels; i++) {
		if (d->stack_labels[i] != 0 &&
		    d->stack_labels[i] >= d->n_label_sets)
			return decoded_err(err, errlen,
			    "stack %zu: label set %u out of range (%zu label "
			    "sets)",
			    i, d->stack_labels[i], d->n_label_sets);
	}
	for (i = 0; i < d->n_label_sets; i++) {
		for (j = 0; j < d->label_sets[i]->n_labels; j++) {
			l = d->label_sets[i]->labels[j];
			if (l->key >= d->n_strings || l->str >= d->n_strings ||
			    l->unit >= d->n_strings)
				return decoded_err(err, errlen,
				    "label set %zu: string index out of range",
				    i);
		}
	}
	return 0;
}

static int
decoded_check_stacks(const Profpipe__Decoded *d, char *err, size_t errlen)
{
	size_t nst = decoded_n_stacks(d);
	size_t nty = d->n_sample_types;
	size_t i;

	if (d->n_stack_offset == 0 && d->n_stack_frames != 0)
		return decoded_err(
		    err, errlen, "stack frames without stack offsets");
	if (decoded_any_down(d->stack_offset, nst)) {
		for (i = 0; d->stack_offset[i] <= d->stack_offset[i + 1]; i++)
			;
		return decoded_err(
		    err, errlen, "stack %zu: offsets go backwards", i);
	}
	if (d->n_stack_offset != 0 &&
	    (d->stack_offset[0] != 0 ||
	        d->stack_offset[nst] != d->n_stack_frames))
		return decoded_err(err, errlen,
		    "stack offsets do not span the %zu stack frames",
		    d->n_stack_frames);
	if (d->n_stack_hash != nst)
		return decoded_err(err, errlen,
		    "%zu stack hashes for %zu stacks", d->n_stack_hash, nst);
	if ((nty != 0 && nst > SIZE_MAX / nty) || d->n_values != nst * nty)
		return decoded_err(err, errlen,
		    "%zu values for %zu stacks of %zu types", d->n_values, nst,
		    nty);
	return decoded_check_labels(d, nst, err, errlen);
}

/* Whether m or a message in it holds an unknown field numbered 0.
 * protobuf-c reads one from a tag written in more bytes than it needs
 * (0x82 0x00), keeps it, packs it back as 0x02, and refuses that: a
 * Result packed by protobuf-c from such a profile would not read back. */
static int
decoded_field_zero(const ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	const ProtobufCFieldDescriptor *fd;
	const ProtobufCMessage *const *v;
	const char *base = (const char *)m;
	size_t n;
	size_t i;
	size_t k;

	for (i = 0; i < m->n_unknown_fields; i++) {
		if (m->unknown_fields[i].tag == 0)
			return 1;
	}
	if (depth == 0)
		return 0;
	for (i = 0; i < desc->n_fields; i++) {
		fd = &desc->fields[i];
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy(&n, base + fd->quantifier_offset, sizeof(n));
			memcpy(&v, base + fd->offset, sizeof(v));
		} else {
			n = 1;
			v = (const ProtobufCMessage *const *)(base +
			    fd->offset);
		}
		for (k = 0; k < n; k++) {
			if (v[k] != NULL &&
			    decoded_field_zero(v[k], depth - 1))
				return 1;
		}
	}
	return 0;
}

int
decoded_check(const Profpipe__Decoded *d, char *err, size_t errlen)
{
	int64_t span;

	if (d->origin == NULL)
		return decoded_err(err, errlen, "no origin");
	/* Stages take a profile's span as end minus start (a push sets
	 * both, each anywhere in 1677..2262). */
	if (__builtin_sub_overflow(
	        d->origin->end_ns, d->origin->start_ns, &span))
		return decoded_err(err, errlen,
		    "origin: from %lld to %lld ns: its length overflows",
		    (long long)d->origin->start_ns,
		    (long long)d->origin->end_ns);
	/* Every sender puts "" first; the pprof files written from a
	 * profile take its table as it is, and pprof requires it. */
	if (d->n_strings == 0 || d->strings[0][0] != '\0')
		return decoded_err(err, errlen, "strings[0] is not \"\"");
	if (decoded_field_zero(&d->base, 4))
		return decoded_err(err, errlen, "a field numbered 0");
	if (decoded_check_types(d, err, errlen) < 0 ||
	    decoded_check_frames(d, err, errlen) < 0 ||
	    decoded_check_stacks(d, err, errlen) < 0)
		return -1;
	return 0;
}

static uint64_t
decoded_str_hash(uint64_t h, const char *s)
{
	return hash_bytes(h, s, strlen(s) + 1);
}

uint64_t *
decoded_label_set_sums(const Profpipe__Decoded *d, struct arena *a)
{
	const Profpipe__LabelSet *ls;
	const Profpipe__SampleLabel *l;
	uint64_t *sum = arena_alloc(a, (d->n_label_sets + 1) * sizeof(*sum));
	uint64_t h;
	size_t i;
	size_t j;

	if (sum == NULL)
		return NULL;
	for (i = 0; i < d->n_label_sets; i++) {
		ls = d->label_sets[i];
		sum[i] = 0;
		for (j = 0; j < ls->n_labels; j++) {
			l = ls->labels[j];
			h = decoded_str_hash(HASH_SEED, d->strings[l->key]);
			h = decoded_str_hash(h, d->strings[l->str]);
			h = hash_u64_inline(h, (uint64_t)l->num);
			h = decoded_str_hash(h, d->strings[l->unit]);
			sum[i] += h;
		}
	}
	return sum;
}
