/*
 * decode_resolve: from a pprof_profile (tables as read) to a
 * Profpipe__Decoded (stacks of frames). Each location becomes its frames,
 * inlined lines first-innermost; frames are deduplicated by their text
 * (function name, file, line); each sample becomes a leaf-first stack; and
 * samples with the same frames and the same label set collapse into one
 * stack whose values are the exact int64 sums. See decode.h for the stack
 * hash.
 */
#ifndef PROFPIPE_DECODE_RESOLVE_H
#define PROFPIPE_DECODE_RESOLVE_H

#include "common/arena.h"
#include "common/wire.pb-c.h"
#include "decoder/decode.h"
#include "decoder/pprof.h"

/* pr and rd are what pprof_read_tables gave: the samples are read here,
 * one at a time, straight into stacks. strs[i] is pr->strings[i]
 * NUL-terminated (same length): the Decoded's string table points at them.
 * Everything else is allocated in a. Returns 0, DECODE_EBAD (a bad sample,
 * a limit, an overflowing sum) or DECODE_ENOMEM, with a message in err.
 *
 * keep, if not NULL, is an allocation of a's scratch stream whose first
 * keep_len bytes are all of that stream the samples still need (the
 * inflated profile, its strings packed): once the locations are resolved,
 * the rest of the stream is given back (arena_trim) for the stacks to
 * reuse, and the tables pr points to there go with it.
 *
 * nw, if not NULL, takes the stacks' frames as 16-bit ids when they fit
 * (decode.h), and is left as it is otherwise (its ids NULL, as the caller
 * set them): the frames are then 32-bit, in out. */
int decode_resolve(const struct pprof_profile *pr, struct rd *rd, char **strs,
    const void *keep, size_t keep_len, const struct decode_limits *lim,
    struct arena *a, Profpipe__Decoded *out, struct decode_narrow *nw,
    char *err, size_t errlen);

#endif
