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

/* The packed Result{profile = res} in arena a, where in is the Decoded
 * unpacked from the len bytes at buf and res is delta_apply's result for
 * it (or in itself). Bytes it cannot walk are packed whole instead. 0, or
 * -1 out of memory. */
int splice_result(struct arena *a, const void *buf, size_t len,
    const Profpipe__Decoded *in, const Profpipe__Decoded *res, void **out,
    size_t *outlen);

#endif
