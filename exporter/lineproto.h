/*
 * lineproto: runtime metrics as InfluxDB line protocol, DataKit's
 * profiling_metrics measurement, one line per Metrics message:
 *
 *   profiling_metrics,service=shop,host=10.0.0.1:6060,job=go,env=prod
 *   prof_go_cpu_cores=0.93,prof_go_heap_bytes=1048576 1700000010000000000
 *
 * Tags: service, host (the instance), job, then the origin's labels in
 * order; a tag whose value is empty is left out (line protocol has no
 * empty tag values) and so is a key seen already. Tag keys and values and
 * field keys escape ',', '=' and ' ' with a backslash; a newline becomes
 * a space. Fields are floats; NaN and infinities, which line protocol
 * cannot carry, are left out, and a message left without fields writes no
 * line. The timestamp is the window's end (origin.end_ns), nanoseconds.
 */
#ifndef PROFPIPE_EXPORT_LINEPROTO_H
#define PROFPIPE_EXPORT_LINEPROTO_H

#include <stddef.h>

#include "common/buf.h"
#include "common/wire.pb-c.h"

/* Append m's line (or nothing) to out; *nlines 0 or 1. 0, or -1 past
 * out's cap. */
int lineproto_render(
    const Profpipe__Metrics *m, struct buf *out, size_t *nlines);

#endif
