/*
 * store_retain: what keeps the store from growing without end. After
 * every write, windows and metrics older than the retention go; once
 * the pages in use exceed the size cap, the oldest windows go, 16 at a
 * time, with the metrics that end no later than they do (and, with no
 * windows left, the oldest 1024 metric rows at a time), until the pages
 * in use are down to nine tenths of the cap. A window's rows are deleted
 * with it; the stacks, frames and strings that no window uses any more
 * are swept at most hourly (the sweep reads every value row), and when
 * the size cap deleted windows: every 8 rounds of it and at its end. The
 * nine-tenths mark leaves room, so a store kept at its cap sweeps after
 * each tenth of the cap written rather than after every 16 windows.
 * Also the parsers of Retention: and MaxSize:.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "exporter/store_int.h"

/* Orphaned stacks, frames and strings are swept at most this often. */
#define STORE_SWEEP_NS (3600LL * 1000000000LL)
/* Windows deleted per round while the database is over its size, and
 * metric rows when it holds no window. */
#define STORE_SIZE_BATCH 16
#define STORE_METRICS_BATCH 1024
/* Over the cap, deleting goes on down to this many tenths of it. */
#define STORE_SIZE_LOW_TENTHS 9
/* Rounds of deleting between two sweeps, over the cap. */
#define STORE_SWEEP_ROUNDS 8

static int
store_live_bytes(struct store *s, int64_t *out)
{
	sqlite3_stmt *st;
	int rv = -1;

	if (sqlite3_prepare_v2(s->db,
	        "SELECT (p.page_count - f.freelist_count) * z.page_size"
	        " FROM pragma_page_count p, pragma_freelist_count f,"
	        " pragma_page_size z",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rv = 0;
	}
	sqlite3_finalize(st);
	return rv;
}

static int
store_exec_int(struct store *s, const char *sql, int64_t arg)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Delete the windows `where` selects, and their rows. */
static int
store_delete_windows(
    struct store *s, const char *where, int64_t arg, size_t *deleted)
{
	char sql[512];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql),
	    "CREATE TEMP TABLE IF NOT EXISTS doomed(id INTEGER PRIMARY KEY);"
	    "DELETE FROM temp.doomed;");
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	snprintf(sql, sizeof(sql),
	    "INSERT INTO temp.doomed SELECT id FROM windows %s", where);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	*deleted += (size_t)sqlite3_changes(s->db);
	if (sqlite3_exec(s->db,
	        "DELETE FROM window_values WHERE window_id IN temp.doomed;"
	        "DELETE FROM window_totals WHERE window_id IN temp.doomed;"
	        "DELETE FROM windows WHERE id IN temp.doomed;",
	        NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	return 0;
}

/* The size cap's round: the oldest windows, and the metrics ending no
 * later than the last of them; with no window, the oldest metrics. How
 * many windows went is added to *deleted; *progress says whether anything
 * did. */
static int
store_delete_oldest(struct store *s, size_t *deleted, int *progress)
{
	size_t before = *deleted;
	int64_t metrics_before;
	int64_t cut = 0;
	sqlite3_stmt *st;

	/* The end of the last window about to go. */
	if (sqlite3_prepare_v2(s->db,
	        "SELECT MAX(end_ns) FROM (SELECT end_ns FROM windows"
	        " ORDER BY end_ns LIMIT ?1)",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, STORE_SIZE_BATCH);
	if (sqlite3_step(st) == SQLITE_ROW)
		cut = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (store_delete_windows(
	        s, "ORDER BY end_ns LIMIT ?1", STORE_SIZE_BATCH, deleted) < 0)
		return -1;
	metrics_before = sqlite3_total_changes(s->db);
	if (*deleted > before) {
		if (store_exec_int(
		        s, "DELETE FROM metrics WHERE end_ns <= ?1", cut) < 0)
			return -1;
	} else if (store_exec_int(s,
	               "DELETE FROM metrics WHERE end_ns <= COALESCE("
	               "(SELECT end_ns FROM metrics ORDER BY end_ns"
	               " LIMIT 1 OFFSET ?1 - 1),"
	               " (SELECT MAX(end_ns) FROM metrics))",
	               STORE_METRICS_BATCH) < 0) {
		return -1;
	}
	*progress =
	    *deleted > before || sqlite3_total_changes(s->db) > metrics_before;
	return 0;
}

/* Stacks, frames and strings no window refers to any more. */
static int
store_sweep(struct store *s)
{
	return sqlite3_exec(s->db,
	           "DELETE FROM stacks WHERE id NOT IN"
	           " (SELECT stack_id FROM window_values);"
	           "CREATE TEMP TABLE IF NOT EXISTS live_frames("
	           " id INTEGER PRIMARY KEY);"
	           "DELETE FROM temp.live_frames;"
	           "INSERT OR IGNORE INTO temp.live_frames SELECT CAST(j.value"
	           " AS INTEGER) FROM stacks, json_each('[' || stacks.frames"
	           " || ']') j;"
	           "DELETE FROM frames WHERE id NOT IN temp.live_frames;"
	           "DELETE FROM strings WHERE id NOT IN"
	           " (SELECT function_id FROM frames UNION"
	           " SELECT file_id FROM frames);",
	           NULL, NULL, NULL) == SQLITE_OK
	    ? 0
	    : -1;
}

int
store_retain(
    struct store *s, int64_t now_s, size_t *deleted, char *err, size_t errlen)
{
	int64_t live;
	int64_t now_ns = now_s * 1000000000LL;
	int64_t cut;
	int64_t low = s->lim.max_bytes / 10 * STORE_SIZE_LOW_TENTHS;
	int progress = 1;
	int rounds;
	int over = 0;
	int swept = 0;

	*deleted = 0;
	if (s->lim.retention_s <= 0 && s->lim.max_bytes <= 0)
		return 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_fail(s, "retention", err, errlen);
	/* A cutoff before 1970 (or past what int64 nanoseconds hold: no
	 * retention is that long, sink_store refuses one) deletes nothing,
	 * rather than wrap round into the future and delete everything. */
	if (s->lim.retention_s > 0 &&
	    s->lim.retention_s <= STORE_MAX_RETENTION_S &&
	    s->lim.retention_s < now_s) {
		cut = now_ns - s->lim.retention_s * 1000000000LL;
		if (store_delete_windows(
		        s, "WHERE end_ns < ?1", cut, deleted) < 0 ||
		    store_exec_int(
		        s, "DELETE FROM metrics WHERE end_ns < ?1", cut) < 0)
			goto out_rollback;
	}
	/* Freed pages are reused, not returned: the live size is what the
	 * cap bounds, and the file stops growing once it is reached. */
	for (rounds = 0; s->lim.max_bytes > 0 && rounds < 64 && progress;
	     rounds++) {
		if (store_live_bytes(s, &live) < 0)
			goto out_rollback;
		if (live <= (over ? low : s->lim.max_bytes))
			break;
		over = 1;
		if (store_delete_oldest(s, deleted, &progress) < 0)
			goto out_rollback;
		swept = !progress ||
		    rounds % STORE_SWEEP_ROUNDS == STORE_SWEEP_ROUNDS - 1;
		if (swept && store_sweep(s) < 0)
			goto out_rollback;
	}
	if (over && !swept && store_sweep(s) < 0)
		goto out_rollback;
	if (over) {
		s->last_sweep_ns = now_ns;
		s->swept_needed = 0;
	}
	if (*deleted > 0)
		s->swept_needed = 1;
	if (s->swept_needed && now_ns - s->last_sweep_ns >= STORE_SWEEP_NS) {
		if (store_sweep(s) < 0)
			goto out_rollback;
		s->last_sweep_ns = now_ns;
		s->swept_needed = 0;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out_rollback;
	return 0;
out_rollback:
	store_fail(s, "retention", err, errlen);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* ---- config values ---- */

static int
store_parse_scaled(const char *s, const char *const *suffix,
    const int64_t *scale, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	for (i = 0; suffix[i] != NULL; i++) {
		if (strcmp(s, suffix[i]) == 0)
			break;
	}
	if (suffix[i] == NULL || v > INT64_MAX / scale[i])
		return -1;
	*out = v * scale[i];
	return 0;
}

int
store_parse_duration(const char *s, int64_t *out)
{
	static const char *const suf[] = {"", "s", "m", "h", "d", NULL};
	static const int64_t scale[] = {1, 1, 60, 3600, 86400};

	return store_parse_scaled(s, suf, scale, out);
}

int
store_parse_size(const char *s, int64_t *out)
{
	static const char *const suf[] = {
	    "", "B", "KB", "MB", "GB", "TB", NULL};
	static const int64_t scale[] = {
	    1, 1, 1LL << 10, 1LL << 20, 1LL << 30, 1LL << 40};

	return store_parse_scaled(s, suf, scale, out);
}
