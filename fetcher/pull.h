/*
 * pull: the fetcher's pull mode. Every enabled kind of every target is a
 * job on the schedule; when a job is due it is scraped over HTTP, and a
 * profile that comes back is stamped with its origin (a fresh profile_id,
 * who, what, when) and handed to the sender.
 *
 * A due job is skipped, and counted, when its previous fetch still runs
 * (single flight) or when the sender has no free context (the pipeline is
 * full: nothing queues). A fetch that fails is one warn line naming the
 * target, the kind and the reason, and the next interval goes on:
 *
 *   127.0.0.1:6060 cpu: HTTP 500: Could not enable CPU profiling: ...
 *   127.0.0.1:6060 cpu: skipped: the previous fetch is still running
 *   127.0.0.1:6060 mem: skipped: pipeline full (N profiles await ...)
 *
 * The last is logged once per stretch of a full pipeline (the counter has
 * every skip), and "pipeline has room again after N skipped scrapes" ends
 * the stretch.
 */
#ifndef PROFPIPE_FETCHER_PULL_H
#define PROFPIPE_FETCHER_PULL_H

#include <stddef.h>
#include <stdint.h>

#include "fetcher/inputs.h"
#include "fetcher/scrape.h"
#include "fetcher/sender.h"

struct ev_loop;

struct pull_stats {
	uint64_t scrapes;                /* requests started */
	uint64_t fetched;                /* profiles handed to the sender */
	uint64_t failed[SCRAPE_NSTATUS]; /* by scrape_status (aborted too) */
	uint64_t skipped_running;        /* due while its last fetch ran */
	uint64_t skipped_full;           /* due while no context was free */
	uint64_t dropped_full; /* fetched, but the pipeline had filled */
};

struct pull;

/* Schedule in's targets on loop, sending through snd, whose last reserve
 * slots are left to others (the push intake's): a scrape is skipped while
 * no more are free. On success the pull holds its own reference to in.
 * 0, or -1 with the reason in err. */
int pull_new(struct pull **out, struct ev_loop *loop, struct sender *snd,
    struct inputs *in, size_t reserve, char *err, size_t errlen);
/* Aborts the fetches in flight. */
void pull_free(struct pull *p);

/* Replace the targets. Fetches in flight finish (a job that stays keeps
 * its single-flight state). 0, or -1 (out of memory) with the old targets
 * kept. The pull takes its own reference to in. */
int pull_reload(struct pull *p, struct inputs *in, char *err, size_t errlen);

/* Stop scheduling and abort the fetches in flight. */
void pull_stop(struct pull *p);

size_t pull_jobs(const struct pull *p);
size_t pull_running(const struct pull *p);
void pull_stats(const struct pull *p, struct pull_stats *out);

/* The counters of p and snd (and abandoned, profiles left unacked at
 * exit) as one "key=value ..." line. */
void pull_format_counters(const struct pull *p, const struct sender *snd,
    size_t abandoned, char *out, size_t outlen);

#endif
