/*
 * options: what the aggregator stage is built from: addresses, limits and
 * timings, their defaults, and the `aggregator:` section of the pipeline's
 * YAML file. Flags are main.c's business; they override what is here.
 */
#ifndef PROFPIPE_AGG_OPTIONS_H
#define PROFPIPE_AGG_OPTIONS_H

#include <stddef.h>

struct agg_options {
	const char *decoded_url; /* NULL: ipc://$PROFPIPE_RUN/decoded.ipc */
	const char *results_url; /* NULL: ipc://$PROFPIPE_RUN/results.ipc */
	const char *tap_url;     /* NULL: ipc://$PROFPIPE_RUN/aggregator.tap */
	long series_ttl_s;     /* SeriesTTL: free a series unseen this long */
	long max_series;       /* MaxSeries */
	long max_stacks;       /* MaxStacksPerSeries: baseline stacks */
	long window_s;         /* Window: length of a time window */
	long window_grace_s;   /* WindowGrace: wait past a window's end */
	long window_stacks;    /* MaxStacksPerWindow */
	int merge_instances;   /* MergeInstances */
	int call_timeout_ms;   /* one attempt at the exporter */
	int drain_ms;          /* after SIGTERM: stop retrying the exporter */
	size_t dedup_ids;      /* profile ids remembered */
	size_t arena_cap;      /* bytes one message may take in all */
	int (*stopping)(void); /* polled while retrying; NULL: never */
};

void agg_options_defaults(struct agg_options *o);

struct cfg;

/* Read the `aggregator:` section of c into o (absent keys keep their
 * values). Unknown keys are refused. 0, or -1 with "file:line: reason" in
 * err; o may then be partly read. */
int agg_options_from_cfg(
    struct agg_options *o, const struct cfg *c, char *err, size_t errlen);
/* The same from the YAML file path. */
int agg_options_load(
    struct agg_options *o, const char *path, char *err, size_t errlen);

#endif
