/*
 * stage: profpipe-decoder as a pipeline stage. It dials the fetcher (REP
 * on raw.ipc) and the aggregator (REQ on decoded.ipc), turns each raw
 * profile into a Decoded, hands it on, and only then replies upstream, so
 * a profile is never lost between the two: if the aggregator cannot be
 * reached, the decoder does not reply and the fetcher's nng resends the
 * profile. A profile that cannot be decoded is answered REJECTED with the
 * reason and never passed on. Each decoded profile is also published on
 * the tap.
 *
 * It keeps up to DECODER_STAGE_SLOTS profiles in flight: while the
 * aggregator works on some, the next is received and decoded (one decode at
 * a time all the same, in one arena capped by --max-memory). A decoded
 * profile waits packed, so what waits is its message, not its arena. Eight,
 * not two: the aggregator's time per profile follows the profile's size
 * as the decoder's does, so after a large profile a decoder that may run
 * only one ahead stalls on the small ones behind it (tests/bench/HISTORY.md,
 * 2026-12-06).
 */
#ifndef PROFPIPE_DECODER_STAGE_H
#define PROFPIPE_DECODER_STAGE_H

#include "decoder/options.h"

#define DECODER_STAGE_SLOTS 8

/* Open the sockets, notify readiness, and receive, decode, send and reply
 * until SIGTERM or SIGINT (installs the handlers), then drain: the profiles
 * in flight are offered to the aggregator for o->drain_ms more, and no new
 * one is taken. Returns the exit status: EXIT_OK, or EXIT_SYSTEM if the
 * stage could not start. */
int decoder_stage_run(const struct decoder_opts *o);

#endif
