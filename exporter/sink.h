/*
 * sink: where results go. A sink type is a table of four operations, so a
 * new output (pprof files, flame graphs, Prometheus metrics, the SQLite
 * store) is one file defining a struct sink_ops and one line in
 * exporter/outputs.c; the stage drives every sink the same way:
 *
 *   open   from its entry in the config's outputs: list
 *   write  one result: a profile, a window or a set of runtime metrics,
 *          whichever of the three the sink takes (sink.takes; the stage
 *          calls only the matching one). The stage acks the result only
 *          when every sink that takes it wrote and flushed it, and writes
 *          it to each sink at most once (redeliveries are recognised per
 *          sink by the origin's profile_id; a window has its own)
 *   flush  make what write produced durable enough to ack
 *   close  flush what is left and free
 *
 * A write that fails should leave nothing behind (file sinks truncate back
 * to where they started), so the retry that follows does not duplicate.
 */
#ifndef PROFPIPE_EXPORT_SINK_H
#define PROFPIPE_EXPORT_SINK_H

#include <stddef.h>

#include "common/config.h"
#include "common/wire.pb-c.h"

struct sink;

/* What a sink takes: a bit set in struct sink.takes. */
enum sink_takes {
	SINK_PROFILES = 1, /* Result.profile: one profile, deltas applied */
	SINK_WINDOWS = 2,  /* Result.window: a series merged over a window */
	SINK_METRICS = 4,  /* Result.metrics: an instance's runtime metrics */
};

/* What write, write_window and write_metrics return besides 0 and -1
 * (failed: the result is not acked and comes again): this sink can never
 * take the result (past one of its caps). The stage logs err and acks the
 * result as far as this sink goes, so one result cannot hold the
 * pipeline. */
#define SINK_SKIP (-2)

struct sink_ops {
	const char *type; /* the Type: of an outputs: entry */
	/* n is the outputs: entry (a map); refuse keys it does not know
	 * with cfg_only. Errors as "file:line: reason". */
	int (*open)(struct sink **out, const struct cfg *c,
	    const struct cfg_node *n, char *err, size_t errlen);
	/* p has passed export_check. *nrec: records/lines written, for the
	 * log. On error, err names the file and the reason. */
	int (*write)(struct sink *s, const Profpipe__Decoded *p, size_t *nrec,
	    char *err, size_t errlen);
	/* w->merged has passed export_check with merged->origin set to
	 * w->origin and merged->duration_ns to the window's length
	 * (end_ns - start_ns), so a profile writer can take it as it is. */
	int (*write_window)(struct sink *s, const Profpipe__Window *w,
	    size_t *nrec, char *err, size_t errlen);
	/* m->origin is set; metrics may be empty. */
	int (*write_metrics)(struct sink *s, const Profpipe__Metrics *m,
	    size_t *nrec, char *err, size_t errlen);
	/* NULL when write leaves nothing to flush (every sink here hands
	 * its data to the kernel, or commits, before write returns). */
	int (*flush)(struct sink *s, char *err, size_t errlen);
	void (*close)(struct sink *s);
};

/* The part of every sink the stage reads; a sink's own state follows it
 * (each sink type embeds this as its first member). */
struct sink {
	const struct sink_ops *ops;
	unsigned takes; /* enum sink_takes bits; its ops are set for each */
	char name[256]; /* "jsonl -", "folded /var/lib/...": for logs */
};

/* Sink types with a config entry; each is defined in its own file. */
extern const struct sink_ops sink_jsonl_ops;
extern const struct sink_ops sink_folded_ops;
extern const struct sink_ops sink_pprof_ops;
extern const struct sink_ops sink_flamegraph_ops;
extern const struct sink_ops sink_metrics_ops;
extern const struct sink_ops sink_store_ops;

/* Per: profile|window|both of a profile sink's entry (default profile)
 * as SINK_PROFILES/SINK_WINDOWS bits in *takes. Defined in outputs.c. */
int sink_per(const struct cfg *c, const struct cfg_node *n, unsigned *takes,
    char *err, size_t errlen);

/* The jsonl sink on stdout, for when there is no config file. */
int sink_jsonl_stdout(struct sink **out, char *err, size_t errlen);

#endif
