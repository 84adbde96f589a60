/*
 * memstats: the runtime.MemStats tail of Go's /debug/pprof/heap?debug=1
 * text, into Decoded.memstats (kind "memstats": no stacks). Go prints it
 * after the heap records as "# Name = value" lines under "# runtime.MemStats";
 * PauseNs and PauseEnd are Go's 256-entry circular buffers printed as
 * "[a b c ...]", the pause of GC number n (from 1) at index (n-1) % 256.
 * Go does not print PauseTotalNs there: pause_total_ns stays 0 unless a
 * "# PauseTotalNs = " line is present.
 *
 * Needed: TotalAlloc, Mallocs, Frees, HeapAlloc, HeapObjects, NumGC,
 * PauseNs and PauseEnd (same length, at most 256 entries); the rest is
 * taken when present. Lines are read up to MEMSTATS_MAX_LINE bytes; a
 * longer one, a number that is no unsigned 64-bit decimal, a key twice,
 * or a missing needed key makes the whole text unusable. No I/O.
 */
#ifndef PROFPIPE_DECODER_MEMSTATS_H
#define PROFPIPE_DECODER_MEMSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.pb-c.h"

#define MEMSTATS_MAX_PAUSES 256
#define MEMSTATS_MAX_LINE 16384

struct arena;

/* Parse text (len bytes, not NUL-terminated) into *out, allocated in
 * arena a. 0, or -1 with the reason and line number in err. */
int memstats_parse(const char *text, size_t len, struct arena *a,
    Profpipe__MemStats **out, char *err, size_t errlen);

/* A Decoded of kind "memstats" for body: no stacks, memstats set. The
 * caller fills out->origin. 0, or -1 with the reason in err. */
int memstats_decode(const uint8_t *body, size_t len, struct arena *a,
    Profpipe__Decoded *out, char *err, size_t errlen);

#endif
