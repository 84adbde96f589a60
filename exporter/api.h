/*
 * api: the store's HTTP API and web UI, served by the exporter on a thread
 * of its own (common/httpd's loop thread) with its own read-only
 * connection to the store, so a slow query never holds up the pipeline
 * and the pipeline's writes never block a query (SQLite WAL).
 *
 *   GET /api/v1/series       services, instances, kinds, value types, times
 *   GET /api/v1/flamegraph   the merged flame tree over a range
 *   GET /api/v1/diff         two ranges in one tree, both totals per element
 *   GET /api/v1/profile      the merged range as a gzipped pprof
 *   GET /api/v1/totals       one total per window, for the UI's time-line
 *   GET /api/v1/metrics      a runtime metric's time series
 *   GET /                    the UI: static files from ui_dir
 *
 * Bad parameters are answered 400 with {"error": "parameter X: why"}, a
 * series the store does not hold 404, everything else JSON.
 */
#ifndef PROFPIPE_EXPORT_API_H
#define PROFPIPE_EXPORT_API_H

#include <stddef.h>

struct api_opts {
	const char *db_path; /* the store, created already by its writer */
	const char *ui_dir;  /* index.html and friends */
	const char *host;    /* listen address */
	int port;            /* 0: any (see api_port) */
};

struct api;

/* Start serving. 0, or -1 with "host:port: reason" in err. */
int api_start(
    struct api **out, const struct api_opts *o, char *err, size_t errlen);
int api_port(const struct api *a);
/* Stop the thread, close everything. NULL: nothing. */
void api_stop(struct api *a);

#endif
