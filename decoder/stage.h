/*
 * stage: profpipe-decoder as a pipeline stage. It dials the fetcher (REP
 * on raw.ipc) and the aggregator (REQ on decoded.ipc), turns each raw
 * profile into a Decoded, hands it on, and only then replies upstream, so
 * a profile is never lost between the two: if the aggregator cannot be
 * reached, the decoder does not reply and the fetcher's nng resends the
 * profile. A profile that cannot be decoded is answered REJECTED with the
 * reason and never passed on. Each decoded profile is also published on
 * the tap.
 */
#ifndef PROFPIPE_DECODER_STAGE_H
#define PROFPIPE_DECODER_STAGE_H

#include "decoder/options.h"

/* Open the sockets, notify readiness, and receive, decode, send and reply
 * until SIGTERM or SIGINT (installs the handlers), then drain: the profile
 * in hand is offered to the aggregator for o->drain_ms more. Returns the
 * exit status: EXIT_OK, or EXIT_SYSTEM if the stage could not start. */
int decoder_stage_run(const struct decoder_opts *o);

#endif
