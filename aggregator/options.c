/*
 * options: defaults sized for one host's worth of Go services, and the
 * `aggregator:` section of the YAML file:
 *
 *   aggregator:
 *     SeriesTTL: 600            # seconds a series may go unseen
 *     MaxSeries: 10000
 *     MaxStacksPerSeries: 100000
 *     Window: 60                # seconds; windows aligned to multiples
 *     WindowGrace: 15           # seconds past a window's end before it
 *                               # closes: a seconds=S fetch (S <= 10)
 *                               # lands S seconds after its start
 *     MaxStacksPerWindow: 50000 # past it the smallest fold into (other)
 *     MergeInstances: false     # one window per (service, kind)
 *
 * A window may wait WindowGrace past its end, and one more Window for a
 * series whose profiles cover more than the grace (timeline.h): SeriesTTL
 * must exceed 2 x Window + WindowGrace, or a quiet series would be freed
 * with its window still open. WindowGrace is at most 13 Windows, which
 * keeps the windows a series holds open within timeline.h's room.
 */
#include "aggregator/options.h"

#include <stddef.h>

#include "aggregator/timeline.h"
#include "common/config.h"

void
agg_options_defaults(struct agg_options *o)
{
	o->decoded_url = NULL;
	o->results_url = NULL;
	o->tap_url = NULL;
	o->series_ttl_s = 600;
	o->max_series = 10000;
	o->max_stacks = 100000;
	o->window_s = 60;
	o->window_grace_s = 15;
	o->window_stacks = 50000;
	o->merge_instances = 0;
	o->call_timeout_ms = 2000;
	o->drain_ms = 10000;
	o->dedup_ids = 65536;
	o->arena_cap = (size_t)1024 * 1024 * 1024;
	o->stopping = NULL;
}

int
agg_options_from_cfg(
    struct agg_options *o, const struct cfg *c, char *err, size_t errlen)
{
	static const char *const known[] = {"SeriesTTL", "MaxSeries",
	    "MaxStacksPerSeries", "Window", "WindowGrace",
	    "MaxStacksPerWindow", "MergeInstances", NULL};
	struct cfg_node *m;

	if (cfg_check_top(c, err, errlen) < 0 ||
	    cfg_map(c, c->root, "aggregator", &m, err, errlen) < 0 ||
	    cfg_only(c, m, known, err, errlen) < 0)
		return -1;
	if (cfg_int(c, m, "SeriesTTL", o->series_ttl_s, 1, 30L * 86400,
	        &o->series_ttl_s, err, errlen) < 0 ||
	    cfg_int(c, m, "MaxSeries", o->max_series, 1, 1000000,
	        &o->max_series, err, errlen) < 0 ||
	    cfg_int(c, m, "MaxStacksPerSeries", o->max_stacks, 1, 10000000,
	        &o->max_stacks, err, errlen) < 0 ||
	    cfg_int(c, m, "Window", o->window_s, 1, 86400, &o->window_s, err,
	        errlen) < 0 ||
	    cfg_int(c, m, "WindowGrace", o->window_grace_s, 0, 3600,
	        &o->window_grace_s, err, errlen) < 0 ||
	    cfg_int(c, m, "MaxStacksPerWindow", o->window_stacks, 16, 10000000,
	        &o->window_stacks, err, errlen) < 0 ||
	    cfg_bool(c, m, "MergeInstances", o->merge_instances,
	        &o->merge_instances, err, errlen) < 0)
		return -1;
	if (o->window_grace_s > TIMELINE_MAX_GRACE_WINDOWS * o->window_s) {
		cfg_error(c, m, err, errlen,
		    "WindowGrace (%ld) must be at most %d x Window (%ld): a "
		    "series holds at most %d windows open",
		    o->window_grace_s, TIMELINE_MAX_GRACE_WINDOWS, o->window_s,
		    TIMELINE_MAX_OPEN);
		return -1;
	}
	if (o->series_ttl_s <= 2 * o->window_s + o->window_grace_s) {
		cfg_error(c, m, err, errlen,
		    "SeriesTTL (%ld) must exceed 2 x Window + WindowGrace "
		    "(%ld)",
		    o->series_ttl_s, 2 * o->window_s + o->window_grace_s);
		return -1;
	}
	return 0;
}

int
agg_options_load(
    struct agg_options *o, const char *path, char *err, size_t errlen)
{
	struct cfg *c;
	int rv;

	if (cfg_load(&c, path, err, errlen) < 0)
		return -1;
	rv = agg_options_from_cfg(o, c, err, errlen);
	cfg_free(c);
	return rv;
}
