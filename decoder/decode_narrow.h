/*
 * decode_narrow: 16-bit frame ids out of a decode (decode.h declares
 * decode_packed_size and decode_pack, the stage's way out).
 */
#ifndef PROFPIPE_DECODE_NARROW_H
#define PROFPIPE_DECODE_NARROW_H

#include "decoder/decode.h"

/* nw's ids (nw->ids not NULL), from an allocation in a's scratch stream,
 * as 32-bit frames in out: in place when that allocation can be made
 * large enough, else copied. 0, or DECODE_ENOMEM with err set. */
int decode_widen(struct arena *a, const struct decode_narrow *nw,
    Profpipe__Decoded *out, char *err, size_t errlen);

#endif
