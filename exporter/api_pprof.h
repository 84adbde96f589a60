/*
 * api_pprof: a merged profile (exporter/store_query.h) as the gzipped
 * pprof `go tool pprof` reads, for GET /api/v1/profile.
 */
#ifndef PROFPIPE_EXPORT_API_PPROF_H
#define PROFPIPE_EXPORT_API_PPROF_H

#include <stddef.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/wire.pb-c.h"

/* Column col of d (checked, origin set) gzipped onto out; scratch in a.
 * 0, or -1 out of memory or past out's cap. */
int api_pprof(
    const Profpipe__Decoded *d, size_t col, struct arena *a, struct buf *out);

#endif
