/*
 * profile: views over a Decoded profile for the sinks. The aggregator is
 * trusted to send what wire.proto promises, but a message that breaks the
 * promise must cost a rejected ack, not a crash: common/decoded.h checks
 * every index once, and the sinks then read without checks.
 */
#include "exporter/profile.h"

#include <stdio.h>
#include <string.h>

#include "common/decoded.h"

const char *
export_string(const Profpipe__Decoded *p, uint32_t i)
{
	if (i >= p->n_strings || p->strings[i] == NULL)
		return "";
	return p->strings[i];
}

size_t
export_n_stacks(const Profpipe__Decoded *p)
{
	return decoded_n_stacks(p);
}

int
export_check(const Profpipe__Decoded *p, char *err, size_t errlen)
{
	if (p == NULL) {
		snprintf(err, errlen, "no profile");
		return -1;
	}
	return decoded_check(p, err, errlen);
}

void
export_stack(
    const Profpipe__Decoded *p, size_t i, const uint32_t **frames, size_t *n)
{
	*frames = p->stack_frames + p->stack_offset[i];
	*n = p->stack_offset[i + 1] - p->stack_offset[i];
}

const char *
export_frame_function(const Profpipe__Decoded *p, uint32_t f)
{
	return export_string(p, p->frame_function[f]);
}

const char *
export_frame_file(const Profpipe__Decoded *p, uint32_t f)
{
	return export_string(p, p->frame_file[f]);
}

static int
export_is(
    const Profpipe__Decoded *p, size_t t, const char *type, const char *unit)
{
	const Profpipe__ValueType *vt = p->sample_types[t];

	return strcmp(export_string(p, vt->type), type) == 0 &&
	    (unit == NULL || strcmp(export_string(p, vt->unit), unit) == 0);
}

static int
export_is_cpu(const Profpipe__Decoded *p)
{
	return strcmp(p->origin->kind, "cpu") == 0;
}

/* A CPU profile reports time, not sample counts (as iLogtail does): with
 * cpu/nanoseconds present its samples/count column is dropped, without it
 * the counts are scaled by the sampling period. Index of the samples/count
 * type to scale, or -1 when there is nothing to scale. */
static long
export_cpu_samples(const Profpipe__Decoded *p)
{
	long samples = -1;
	size_t t;

	for (t = 0; t < p->n_sample_types; t++) {
		if (p->sample_types[t]->absent)
			continue;
		if (export_is(p, t, "cpu", "nanoseconds"))
			return -1;
		if (samples < 0 && export_is(p, t, "samples", "count"))
			samples = (long)t;
	}
	return p->period > 0 ? samples : -1;
}

void
export_columns(const Profpipe__Decoded *p, struct export_col *cols, size_t *n)
{
	const Profpipe__ValueType *vt;
	int cpu = export_is_cpu(p);
	long scale = cpu ? export_cpu_samples(p) : -1;
	size_t t;

	*n = 0;
	for (t = 0; t < p->n_sample_types && *n < EXPORT_MAX_COLS; t++) {
		vt = p->sample_types[t];
		if (vt->absent)
			continue;
		if (cpu && (long)t == scale) {
			cols[*n].type = "cpu";
			cols[*n].unit = "nanoseconds";
			cols[*n].mul = p->period;
		} else if (cpu && export_is(p, t, "samples", "count")) {
			continue;
		} else {
			cols[*n].type = export_string(p, vt->type);
			cols[*n].unit = export_string(p, vt->unit);
			cols[*n].mul = 1;
		}
		cols[*n].src = t;
		(*n)++;
	}
}

static const struct {
	const char *kind;
	const char *type;
} export_kind_types[] = {
    {"cpu", "cpu"},
    {"mem", "inuse_space"},
    {"goroutines", "goroutine"},
    {"mutex", "delay"},
    {"block", "delay"},
    {"allocs", "alloc_space"},
    {"threadcreate", "threadcreate"},
};

int
export_kind_column(const Profpipe__Decoded *p, struct export_col *out)
{
	struct export_col cols[EXPORT_MAX_COLS];
	const char *want = NULL;
	size_t n;
	size_t i;

	export_columns(p, cols, &n);
	for (i = 0;
	     i < sizeof(export_kind_types) / sizeof(export_kind_types[0]);
	     i++) {
		if (strcmp(p->origin->kind, export_kind_types[i].kind) == 0)
			want = export_kind_types[i].type;
	}
	for (i = 0; i < n; i++) {
		if (want != NULL
		        ? strcmp(cols[i].type, want) == 0
		        : cols[i].src == (size_t)p->default_sample_type) {
			*out = cols[i];
			return 0;
		}
	}
	return -1;
}

int64_t
export_value(const Profpipe__Decoded *p, size_t i, const struct export_col *c)
{
	int64_t v = p->values[i * p->n_sample_types + c->src];
	int64_t r;

	if (c->mul == 1)
		return v;
	if (__builtin_mul_overflow(v, c->mul, &r))
		return (v < 0) != (c->mul < 0) ? INT64_MIN : INT64_MAX;
	return r;
}
