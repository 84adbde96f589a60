/*
 * pprof_pack: a Decoded profile (a window's merged profile) back into
 * pprof's own format, gzipped, as `go tool pprof` and every pprof reader
 * open it. Packed with the code protoc-c generates from common/profile.proto
 * (perftools__profiles__profile), never by hand.
 *
 * What goes in: the sample types that are not absent, with every stack's
 * values as they are (raw, not scaled: a CPU profile keeps samples/count
 * and cpu/nanoseconds), so each sample type's total in the file is the
 * profile's; stacks whose values are all 0 are left out. One Location per
 * frame (one Line each: inlined lines are frames already), one Function
 * per distinct (name, file), the stacks' pprof labels, period and period
 * type, time_nanos = origin.start_ns, duration_nanos = the profile's
 * duration_ns. No mappings: profpipe has only symbolized frames.
 */
#ifndef PROFPIPE_EXPORT_PPROF_PACK_H
#define PROFPIPE_EXPORT_PPROF_PACK_H

#include "common/buf.h"
#include "common/wire.pb-c.h"

/* Append the gzipped profile to out. p must have passed export_check.
 * *nsamples: samples written. 0, or -1 out of memory or past out's cap. */
int pprof_pack(const Profpipe__Decoded *p, struct buf *out, size_t *nsamples);

#endif
