/*
 * stage: the exporter's hop. A REP socket listens for the aggregator's
 * Results (a profile, a window or runtime metrics); each is checked,
 * written to every sink that takes its shape (sink.takes), and acked only
 * once every such sink has written and flushed it. A sink that fails (a full
 * disk) leaves the result unacked, so the aggregator's nng resends it; sinks
 * that did write it remember its profile id and skip it then, so each
 * profile reaches each sink once. A result that can never be written (it
 * does not unpack, or breaks wire.proto's promises) is acked REJECTED.
 *
 * Single-threaded: one request at a time, handled to the end before the
 * next is taken, so a stop between steps never leaves half a result.
 */
#ifndef PROFPIPE_EXPORT_STAGE_H
#define PROFPIPE_EXPORT_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "exporter/sink.h"

/* Profile ids remembered per sink for recognising redeliveries. */
#define EXPORT_DEDUP_IDS 65536

struct export_stage;

struct export_stats {
	uint64_t written;    /* results acked after being written */
	uint64_t duplicates; /* redeliveries acked without writing */
	uint64_t unwanted;   /* acked: no sink takes results of its shape */
	uint64_t rejected;   /* acked REJECTED */
	uint64_t failed;     /* left unacked for a retry */
	uint64_t skipped;    /* sinks that could never take one (SINK_SKIP) */
};

/* Listen on url. The sinks are borrowed: the caller closes them after
 * export_stage_free. On error a negative bus_err (BUS_EINVAL: an address
 * that cannot work) and err says what and where. */
int export_stage_new(struct export_stage **out, const char *url,
    struct sink *const *sinks, size_t n_sinks, char *err, size_t errlen);
void export_stage_free(struct export_stage *st);

/* Wait up to timeout_ms for one result and handle it to the end. 0 (a
 * result handled, or none came), or a negative bus_err when the socket
 * failed. */
int export_stage_step(struct export_stage *st, int timeout_ms);

void export_stage_stats(
    const struct export_stage *st, struct export_stats *out);

#endif
