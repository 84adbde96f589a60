/*
 * stage: the aggregator as a whole, one message at a time on one thread
 * that owns every series (no locks). For each Decoded a decoder sends:
 * drop it if its profile_id was handed on already, apply the alloc deltas
 * of its series, send the Result to the exporter and wait for its Ack
 * (retrying until it comes, or until a stop's drain deadline passes), and
 * only then commit the series' new baseline, remember the id, publish on
 * the tap, and answer the decoder. The Ack upstream therefore means "the
 * exporter has it"; with no Ack the decoder's nng sends it again and the
 * baseline is still the one the result was computed against.
 *
 * Once acknowledged, the profile also joins its time window and its
 * instance's runtime metrics (timeline.h); between messages the stage
 * sends the windows and metrics that are due as Result{window} and
 * Result{metrics}, through the same exporter socket and retries.
 */
#ifndef PROFPIPE_AGG_STAGE_H
#define PROFPIPE_AGG_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator/options.h"

struct agg_stage;

struct agg_stats {
	uint64_t received;          /* Decoded messages */
	uint64_t handed_on;         /* acknowledged by the exporter */
	uint64_t duplicates;        /* redeliveries answered at once */
	uint64_t rejected;          /* unusable Decoded, refused upstream */
	uint64_t exporter_rejected; /* refused by the exporter */
	uint64_t gave_up;           /* unanswered at the drain deadline */
	uint64_t exporter_retries;  /* attempts beyond the first */
	uint64_t restarts;          /* series whose counters went down */
	uint64_t out_of_order;
	uint64_t series_refused; /* profiles of series past MaxSeries */
	uint64_t stacks_refused; /* stacks past MaxStacksPerSeries */
	uint64_t series_expired;
};

/* Listen for decoders, dial the exporter, open the tap. On error a
 * negative bus_err (BUS_EINVAL: an address that cannot work) with the
 * address and reason in err. o is copied; its strings must outlive
 * the stage. */
int agg_open(struct agg_stage **out, const struct agg_options *o, char *err,
    size_t errlen);

/* Wait up to wait_ms for one Decoded and see it through (that may take
 * longer: the exporter is waited for). 0 when a message was handled or
 * none came; -1 when the decoders' socket failed. */
int agg_step(struct agg_stage *st, int wait_ms);

/* At a stop: send every window and metrics still open, partial (ending
 * now), within the drain deadline. */
void agg_finish(struct agg_stage *st);

const struct agg_stats *agg_stats(const struct agg_stage *st);

/* Log the counters, the windows' counts and the process's memory, three
 * info lines, the first "WHEN: N received, ...": on SIGUSR1 and at exit. */
void agg_log_counters(const struct agg_stage *st, const char *when);

/* Close the sockets, log the counters, free every series. */
void agg_close(struct agg_stage *st);

#endif
