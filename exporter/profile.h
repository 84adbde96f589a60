/*
 * profile: how the exporter reads a Decoded profile. Every sink goes
 * through here, so the rules live in one place: which indices must be in
 * range before anything is dereferenced (export_check), which value types
 * a profile reports and how (export_columns: absent types are skipped, a
 * CPU profile's samples/count becomes nanoseconds), and which single type a
 * one-value format such as folded stacks shows for a profile kind
 * (export_kind_column).
 *
 * Nothing here allocates; columns point into the profile's strings and are
 * valid as long as the profile is.
 */
#ifndef PROFPIPE_EXPORT_PROFILE_H
#define PROFPIPE_EXPORT_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.pb-c.h"

/* A value type as reported: the values of sample type src, times mul. */
struct export_col {
	const char *type; /* "cpu", "inuse_space", ... */
	const char *unit; /* "nanoseconds", "bytes", ... */
	size_t src;       /* index into sample_types */
	int64_t mul;      /* 1, or the period for CPU samples/count */
};

#define EXPORT_MAX_COLS 16

/* Is p (which may be NULL) safe to read: decoded_check's invariants. 0,
 * or -1 with the first problem in err. A profile that fails can never be
 * written and is rejected rather than retried. */
int export_check(const Profpipe__Decoded *p, char *err, size_t errlen);

/* Number of stacks of a checked profile. */
size_t export_n_stacks(const Profpipe__Decoded *p);

/* Frames of stack i, leaf first: *frames points into p->stack_frames. */
void export_stack(
    const Profpipe__Decoded *p, size_t i, const uint32_t **frames, size_t *n);

/* String i of p's table; "" when out of range. */
const char *export_string(const Profpipe__Decoded *p, uint32_t i);
const char *export_frame_function(const Profpipe__Decoded *p, uint32_t f);
const char *export_frame_file(const Profpipe__Decoded *p, uint32_t f);

/* The value types p reports, in sample-type order, at most
 * EXPORT_MAX_COLS. *n may be 0 (all types absent). */
void export_columns(
    const Profpipe__Decoded *p, struct export_col *cols, size_t *n);

/* The one column a single-value format shows for p's kind (cpu: cpu
 * nanoseconds, mem: inuse_space, goroutines: goroutine, mutex and block:
 * delay, allocs: alloc_space, threadcreate: threadcreate; any other kind:
 * the default sample type). 0, or -1 when p does not carry it. */
int export_kind_column(const Profpipe__Decoded *p, struct export_col *out);

/* Stack i's value in column c; saturates rather than overflows. */
int64_t export_value(
    const Profpipe__Decoded *p, size_t i, const struct export_col *c);

#endif
