/*
 * store_list: the store's small answers, written as JSON: which series
 * exist (and over what time), one number per window for the UI's
 * time-line, and a runtime metric's time series. Each is one or two
 * indexed queries; the big one, merging stacks, is store_query.c.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "exporter/store_query.h"

static int
sl_fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
	return -1;
}

static void
sl_str(struct buf *out, sqlite3_stmt *st, int col)
{
	buf_json_str(out, (const char *)sqlite3_column_text(st, col),
	    (size_t)sqlite3_column_bytes(st, col));
}

static int
sl_value_types(
    sqlite3 *db, int64_t series, struct buf *out, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int n = 0;
	int rc;

	if (sqlite3_prepare_v2(db,
	        "SELECT DISTINCT v.type, v.unit FROM windows w"
	        " JOIN window_totals t ON t.window_id = w.id"
	        " JOIN value_types v ON v.id = t.value_type_id"
	        " WHERE w.series_id = ?1 ORDER BY v.id",
	        -1, &st, NULL) != SQLITE_OK)
		return sl_fail(db, "value types", err, errlen);
	sqlite3_bind_int64(st, 1, series);
	buf_puts(out, "[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_puts(out, n++ ? ",{\"type\":" : "{\"type\":");
		sl_str(out, st, 0);
		buf_puts(out, ",\"unit\":");
		sl_str(out, st, 1);
		buf_puts(out, "}");
	}
	buf_puts(out, "]");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sl_fail(db, "value types", err, errlen);
}

int
store_series_json(struct store *s, struct buf *out, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	int n = 0;
	int rc;
	int rv = -1;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return sl_fail(db, "begin", err, errlen);
	if (sqlite3_prepare_v2(db,
	        "SELECT s.id, s.service, s.instance, s.kind, s.job,"
	        " MIN(w.start_ns), MAX(w.end_ns), COUNT(*) FROM series s"
	        " JOIN windows w ON w.series_id = s.id GROUP BY s.id"
	        " ORDER BY s.service, s.kind, s.instance",
	        -1, &st, NULL) != SQLITE_OK) {
		sl_fail(db, "series", err, errlen);
		goto out_end;
	}
	buf_puts(out, "{\"series\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_puts(out, n++ ? ",{\"service\":" : "{\"service\":");
		sl_str(out, st, 1);
		buf_puts(out, ",\"instance\":");
		sl_str(out, st, 2);
		buf_puts(out, ",\"kind\":");
		sl_str(out, st, 3);
		buf_puts(out, ",\"job\":");
		sl_str(out, st, 4);
		buf_puts(out, ",\"valueTypes\":");
		if (sl_value_types(
		        db, sqlite3_column_int64(st, 0), out, err, errlen) < 0)
			goto out_finalize;
		buf_printf(out,
		    ",\"from\":%" PRId64 ",\"to\":%" PRId64
		    ",\"windows\":%" PRId64 "}",
		    (int64_t)(sqlite3_column_int64(st, 5) / 1000000000),
		    (int64_t)((sqlite3_column_int64(st, 6) + 999999999) /
		        1000000000),
		    (int64_t)sqlite3_column_int64(st, 7));
	}
	if (rc != SQLITE_DONE) {
		sl_fail(db, "series", err, errlen);
		goto out_finalize;
	}
	buf_puts(out, "]}");
	rv = 0;
out_finalize:
	sqlite3_finalize(st);
out_end:
	sqlite3_exec(db, "END", NULL, NULL, NULL);
	return rv;
}

/* The selected series' ids as a JSON array, or STORE_ENOTFOUND. Same rule
 * as store_merge: merged-instance windows when there are any. */
static int
sl_series_ids(sqlite3 *db, const struct store_sel *q, struct buf *ids,
    char *err, size_t errlen)
{
	sqlite3_stmt *st;
	const char *inst;
	int64_t merged = -1;
	int n = 0;
	int rc;

	if (sqlite3_prepare_v2(db,
	        "SELECT id, instance FROM series WHERE service = ?1"
	        " AND kind = ?2",
	        -1, &st, NULL) != SQLITE_OK)
		return sl_fail(db, "series", err, errlen);
	sqlite3_bind_text(st, 1, q->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, q->kind, -1, SQLITE_STATIC);
	buf_puts(ids, "[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		inst = (const char *)sqlite3_column_text(st, 1);
		if (q->instance != NULL && strcmp(inst, q->instance) != 0)
			continue;
		if (q->instance == NULL && inst[0] == '\0')
			merged = sqlite3_column_int64(st, 0);
		buf_printf(ids, n++ ? ",%" PRId64 : "%" PRId64,
		    (int64_t)sqlite3_column_int64(st, 0));
	}
	sqlite3_finalize(st);
	if (merged >= 0) {
		buf_clear(ids);
		buf_printf(ids, "[%" PRId64, merged);
	}
	buf_puts(ids, "]");
	if (buf_putc(ids, '\0') < 0 || rc != SQLITE_DONE)
		return sl_fail(db, "series", err, errlen);
	if (n == 0) {
		snprintf(err, errlen, "no series service=%s kind=%s",
		    q->service, q->kind);
		return STORE_ENOTFOUND;
	}
	return 0;
}

int
store_totals_json(struct store *s, const struct store_sel *q, struct buf *out,
    char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	struct buf ids;
	int n = 0;
	int rc;
	int rv;

	buf_init(&ids, 1 << 16);
	rv = sl_series_ids(db, q, &ids, err, errlen);
	if (rv < 0)
		goto out_release;
	rv = -1;
	if (sqlite3_prepare_v2(db,
	        "SELECT w.start_ns, MAX(w.end_ns), SUM(t.total), v.unit"
	        " FROM windows w JOIN window_totals t ON t.window_id = w.id"
	        " JOIN value_types v ON v.id = t.value_type_id AND"
	        " v.type = ?1"
	        " WHERE w.series_id IN (SELECT value FROM json_each(?2))"
	        " AND w.start_ns >= ?3 AND w.start_ns < ?4"
	        " GROUP BY w.start_ns ORDER BY w.start_ns",
	        -1, &st, NULL) != SQLITE_OK) {
		sl_fail(db, "totals", err, errlen);
		goto out_release;
	}
	sqlite3_bind_text(st, 1, q->value_type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, (const char *)ids.data, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, q->range[0].from_ns);
	sqlite3_bind_int64(st, 4, q->range[0].to_ns);
	buf_puts(out, "{\"service\":");
	buf_json_str(out, q->service, strlen(q->service));
	buf_puts(out, ",\"kind\":");
	buf_json_str(out, q->kind, strlen(q->kind));
	buf_puts(out, ",\"valueType\":");
	buf_json_str(out, q->value_type, strlen(q->value_type));
	buf_puts(out, ",\"points\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_printf(out,
		    "%s{\"from\":%.3f,\"to\":%.3f,\"total\":%" PRId64
		    ",\"unit\":",
		    n++ ? "," : "", (double)sqlite3_column_int64(st, 0) / 1e9,
		    (double)sqlite3_column_int64(st, 1) / 1e9,
		    (int64_t)sqlite3_column_int64(st, 2));
		sl_str(out, st, 3);
		buf_puts(out, "}");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sl_fail(db, "totals", err, errlen);
		goto out_release;
	}
	buf_puts(out, "]}");
	rv = 0;
out_release:
	buf_release(&ids);
	return rv;
}

int
store_metrics_json(struct store *s, const char *service, const char *instance,
    const char *name, int64_t from_ns, int64_t to_ns, struct buf *out,
    char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	sqlite3_stmt *st;
	int n = 0;
	int rc;

	if (sqlite3_prepare_v2(db,
	        "SELECT instance, start_ns, end_ns, unit, value FROM metrics"
	        " WHERE service = ?1 AND name = ?2"
	        " AND (?3 IS NULL OR instance = ?3)"
	        " AND start_ns >= ?4 AND start_ns < ?5"
	        " ORDER BY start_ns, instance",
	        -1, &st, NULL) != SQLITE_OK)
		return sl_fail(db, "metrics", err, errlen);
	sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (instance != NULL)
		sqlite3_bind_text(st, 3, instance, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, from_ns);
	sqlite3_bind_int64(st, 5, to_ns);
	buf_puts(out, "{\"service\":");
	buf_json_str(out, service, strlen(service));
	buf_puts(out, ",\"name\":");
	buf_json_str(out, name, strlen(name));
	buf_puts(out, ",\"points\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_puts(out, n++ ? ",{\"instance\":" : "{\"instance\":");
		sl_str(out, st, 0);
		buf_printf(out, ",\"from\":%.3f,\"to\":%.3f,\"unit\":",
		    (double)sqlite3_column_int64(st, 1) / 1e9,
		    (double)sqlite3_column_int64(st, 2) / 1e9);
		sl_str(out, st, 3);
		buf_printf(
		    out, ",\"value\":%.17g}", sqlite3_column_double(st, 4));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sl_fail(db, "metrics", err, errlen);
	buf_puts(out, "]}");
	if (n == 0) {
		/* a name never stored is unknown; an empty range is not */
		if (sqlite3_prepare_v2(db,
		        "SELECT 1 FROM metrics WHERE service = ?1 AND"
		        " name = ?2 LIMIT 1",
		        -1, &st, NULL) != SQLITE_OK)
			return sl_fail(db, "metrics", err, errlen);
		sqlite3_bind_text(st, 1, service, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW) {
			snprintf(err, errlen, "no metric %s for service %s",
			    name, service);
			return STORE_ENOTFOUND;
		}
	}
	return 0;
}
