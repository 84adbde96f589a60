/*
 * splice: the packed Result{profile} for a profile, built from the bytes
 * the Decoded arrived in rather than packed field by field. A Result with
 * only its profile set is tag 1, a length, and the Decoded's bytes; the
 * fields delta_apply left as they came (origin, strings, frames, label
 * sets, and the stacks when none was dropped) are the received records,
 * copied in runs, and only those it changed (sample types, values, ...)
 * are packed by protobuf-c. A profile with no delta is one copy of what
 * came in.
 *
 * Which fields changed is read off the structs: a field of res that holds
 * what the same field of in holds (the same pointer and count, the same
 * value) came from the received bytes unchanged. The Result may list its
 * profile's fields in another order than protobuf-c would: readers take
 * fields in any order.
 */
#ifndef PROFPIPE_AGG_SPLICE_H
#define PROFPIPE_AGG_SPLICE_H

#include <stddef.h>

#include "common/wire.pb-c.h"

struct arena;

/* A Result planned: size bytes, which splice_write writes. It points into
 * the received bytes and the structs, which must outlive it. */
struct splice {
	const uint8_t *buf; /* the received Decoded */
	size_t len;
	const Profpipe__Decoded *whole; /* set: res packed whole */
	Profpipe__Decoded part;         /* the fields delta_apply changed */
	uint64_t mask;                  /* their field numbers */
	size_t raw;                     /* bytes kept from buf */
	size_t packed;                  /* part's packed size */
	size_t head;                    /* the Result's tag and length */
	size_t size;
};

/* Plan the packed Result{profile = res}, where in is the Decoded unpacked
 * from the len bytes at buf and res is delta_apply's result for it (or in
 * itself). Bytes it cannot walk are planned to be packed whole. */
void splice_plan(struct splice *sp, const void *buf, size_t len,
    const Profpipe__Decoded *in, const Profpipe__Decoded *res);
/* Write the planned Result's sp->size bytes at out: straight into the
 * message sent, so it is not built once and copied again. */
void splice_write(const struct splice *sp, void *out);

/* splice_plan and splice_write into arena a. 0, or -1 out of memory. */
int splice_result(struct arena *a, const void *buf, size_t len,
    const Profpipe__Decoded *in, const Profpipe__Decoded *res, void **out,
    size_t *outlen);

#endif
