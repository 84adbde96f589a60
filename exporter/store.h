/*
 * store: the exporter's embedded database of closed windows and runtime
 * metrics (SQLite, WAL mode), the data behind the HTTP API and the web UI.
 *
 * Schema (see store.c for the SQL): a series is (service, instance, kind);
 * a window is one series over [start, end); frame strings are stored once
 * in `strings`, frames once in `frames`, stacks once in `stacks` (frame ids
 * leaf first, keyed by the 64-bit stack hash), and a window holds only
 * window_values(window_id, stack_id, value_type_id, value) rows, so a day
 * of windows of a 20k-stack service repeats nothing but integers. Runtime
 * metrics go to `metrics`, one row per instance, window and name.
 *
 * Writes: every window (or profile, or metrics message) is one
 * transaction; a window already stored (same id) is skipped, so a
 * redelivery is harmless. After each write, retention by age and by size
 * deletes the oldest windows and what only they referenced.
 *
 * One struct store is one SQLite connection and belongs to one thread; a
 * reader (the HTTP API) opens its own with store_open_ro.
 */
#ifndef PROFPIPE_EXPORT_STORE_H
#define PROFPIPE_EXPORT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.pb-c.h"

struct store;

/* The longest Retention: 100 years, well inside int64 nanoseconds. */
#define STORE_MAX_RETENTION_S (36500LL * 86400)

struct store_limits {
	int64_t retention_s; /* delete windows that ended longer ago; 0: no;
	                      * at most STORE_MAX_RETENTION_S */
	int64_t max_bytes;   /* keep the live database under this; 0: no */
};

/* Open (creating it and its schema when missing) for writing. */
int store_open(struct store **out, const char *path,
    const struct store_limits *lim, char *err, size_t errlen);
/* Open an existing store for reading only (another process may write). */
int store_open_ro(
    struct store **out, const char *path, char *err, size_t errlen);
void store_close(struct store *s);

/* The SQLite connection, for store_query.c. */
struct sqlite3 *store_db(struct store *s);

/* Store a closed window (w->merged has passed decoded_check). *nrows:
 * window_values rows written (0 when the window was already there). */
int store_put_window(struct store *s, const Profpipe__Window *w, size_t *nrows,
    char *err, size_t errlen);
/* Store one profile as a window of one profile of its instance. */
int store_put_profile(struct store *s, const Profpipe__Decoded *p,
    size_t *nrows, char *err, size_t errlen);
int store_put_metrics(struct store *s, const Profpipe__Metrics *m,
    size_t *nrows, char *err, size_t errlen);

/* Apply retention now (store_put_* do after every write). now_s: unix
 * seconds. *deleted: windows removed. */
int store_retain(
    struct store *s, int64_t now_s, size_t *deleted, char *err, size_t errlen);

/* Parse "7d", "12h", "30m", "90s" or plain seconds; "2GB", "512MB",
 * "100KB" or plain bytes. 0, or -1 when s is malformed or out of range. */
int store_parse_duration(const char *s, int64_t *out);
int store_parse_size(const char *s, int64_t *out);

#endif
