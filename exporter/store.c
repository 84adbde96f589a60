/*
 * store: writing windows, profiles and metrics into SQLite. The schema is
 * below, written to be read by a person with the sqlite3 shell:
 *
 *   SELECT f.s, SUM(v.value) FROM window_values v JOIN stacks k ON ...
 *
 * Each write is one transaction (a window's tens of thousands of rows go
 * in together or not at all), in WAL mode with synchronous=FULL, so a
 * window the stage has acked is on disk, a SIGKILL mid-write leaves the
 * database as it was before that window, and a reader in another process
 * never blocks the writer.
 *
 * Frames and strings are looked up only for stacks the database does not
 * hold yet: after the first windows of a service nearly every stack is
 * known by its hash, and a window costs one index probe per stack plus
 * its value rows.
 */
#include "exporter/store.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/decoded.h"
#include "common/xalloc.h"
#include "exporter/profile.h"
#include "exporter/store_int.h"

/* A stack's frame list as text: ids of at most 10 digits and a comma. */
#define STORE_STACK_TEXT_CAP ((size_t)4096 * 11 + 1)

static const char store_schema[] =
    "CREATE TABLE IF NOT EXISTS strings("
    " id INTEGER PRIMARY KEY, s TEXT NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS frames("
    " id INTEGER PRIMARY KEY,"
    " function_id INTEGER NOT NULL REFERENCES strings(id),"
    " file_id INTEGER NOT NULL REFERENCES strings(id),"
    " line INTEGER NOT NULL,"
    " UNIQUE(function_id, file_id, line));"
    /* frames: frame ids, leaf first, comma-separated */
    "CREATE TABLE IF NOT EXISTS stacks("
    " id INTEGER PRIMARY KEY, hash INTEGER NOT NULL UNIQUE,"
    " frames TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS series("
    " id INTEGER PRIMARY KEY, service TEXT NOT NULL,"
    " instance TEXT NOT NULL, kind TEXT NOT NULL, job TEXT NOT NULL,"
    " UNIQUE(service, instance, kind));"
    "CREATE TABLE IF NOT EXISTS value_types("
    " id INTEGER PRIMARY KEY, type TEXT NOT NULL, unit TEXT NOT NULL,"
    " UNIQUE(type, unit));"
    /* uuid: the window's (or profile's) id; instances: comma-separated */
    "CREATE TABLE IF NOT EXISTS windows("
    " id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
    " series_id INTEGER NOT NULL REFERENCES series(id),"
    " start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,"
    " n_profiles INTEGER NOT NULL, n_folded INTEGER NOT NULL,"
    " instances TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS windows_by_series_time"
    " ON windows(series_id, start_ns);"
    "CREATE INDEX IF NOT EXISTS windows_by_end ON windows(end_ns);"
    "CREATE TABLE IF NOT EXISTS window_totals("
    " window_id INTEGER NOT NULL, value_type_id INTEGER NOT NULL,"
    " total INTEGER NOT NULL, PRIMARY KEY(window_id, value_type_id))"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS window_values("
    " window_id INTEGER NOT NULL, value_type_id INTEGER NOT NULL,"
    " stack_id INTEGER NOT NULL, value INTEGER NOT NULL,"
    " PRIMARY KEY(window_id, value_type_id, stack_id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS metrics("
    " service TEXT NOT NULL, instance TEXT NOT NULL, name TEXT NOT NULL,"
    " start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,"
    " unit TEXT NOT NULL, value REAL NOT NULL,"
    " PRIMARY KEY(service, name, start_ns, instance)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS metrics_by_end ON metrics(end_ns);";

static const char *const store_sql[ST_N] = {
    "SELECT id FROM strings WHERE s = ?1",
    "INSERT INTO strings(s) VALUES(?1)",
    "SELECT id FROM frames WHERE function_id = ?1 AND file_id = ?2"
    " AND line = ?3",
    "INSERT INTO frames(function_id, file_id, line) VALUES(?1, ?2, ?3)",
    "SELECT id FROM stacks WHERE hash = ?1",
    "INSERT INTO stacks(hash, frames) VALUES(?1, ?2)",
    "SELECT id FROM series WHERE service = ?1 AND instance = ?2"
    " AND kind = ?3",
    "INSERT INTO series(service, instance, kind, job)"
    " VALUES(?1, ?2, ?3, ?4)",
    "SELECT id FROM value_types WHERE type = ?1 AND unit = ?2",
    "INSERT INTO value_types(type, unit) VALUES(?1, ?2)",
    "SELECT 1 FROM windows WHERE uuid = ?1",
    "INSERT INTO windows(uuid, series_id, start_ns, end_ns, n_profiles,"
    " n_folded, instances) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    "INSERT INTO window_values(window_id, value_type_id, stack_id, value)"
    " VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE"
    " SET value = value + excluded.value",
    "INSERT INTO window_totals(window_id, value_type_id, total)"
    " VALUES(?1, ?2, ?3)",
    "INSERT OR REPLACE INTO metrics(service, instance, name, start_ns,"
    " end_ns, unit, value) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
};

/* What a window and a profile have in common, for store_put. */
struct store_win {
	const Profpipe__Origin *origin;
	const Profpipe__Decoded *d;
	const char *uuid;
	uint32_t n_profiles;
	uint64_t n_folded;
	const char *instances;
};

struct sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

int
store_fail(struct store *s, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", sqlite3_db_filename(s->db, NULL),
	    what, sqlite3_errmsg(s->db));
	return -1;
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	buf_release(&s->text);
	xfree(s->frame_ids);
	xfree(s);
}

static int
store_open_db(
    struct store **out, const char *path, int flags, char *err, size_t errlen)
{
	struct store *s;

	s = xcalloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf_init(&s->text, STORE_STACK_TEXT_CAP);
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "out of memory");
		store_close(s);
		return -1;
	}
	/* a reader waits out a checkpoint rather than failing */
	sqlite3_busy_timeout(s->db, 5000);
	*out = s;
	return 0;
}

int
store_open_ro(struct store **out, const char *path, char *err, size_t errlen)
{
	return store_open_db(out, path, SQLITE_OPEN_READONLY, err, errlen);
}

int
store_open(struct store **out, const char *path,
    const struct store_limits *lim, char *err, size_t errlen)
{
	struct store *s;
	size_t i;

	if (store_open_db(&s, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	        err, errlen) < 0)
		return -1;
	s->lim = *lim;
	if (sqlite3_exec(s->db,
	        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	        " PRAGMA foreign_keys=OFF;",
	        NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, store_schema, NULL, NULL, NULL) != SQLITE_OK) {
		store_fail(s, "schema", err, errlen);
		goto out_close;
	}
	for (i = 0; i < ST_N; i++) {
		if (sqlite3_prepare_v2(s->db, store_sql[i], -1, &s->st[i],
		        NULL) != SQLITE_OK) {
			store_fail(s, store_sql[i], err, errlen);
			goto out_close;
		}
	}
	*out = s;
	return 0;
out_close:
	store_close(s);
	return -1;
}

/* Run a prepared statement once. 1: a row (its first column in *id), 0:
 * done without a row, -1: error. The statement is reset either way. */
static int
store_step(sqlite3_stmt *st, int64_t *id)
{
	int rc = sqlite3_step(st);
	int rv = -1;

	if (rc == SQLITE_ROW) {
		if (id != NULL)
			*id = sqlite3_column_int64(st, 0);
		rv = 1;
	} else if (rc == SQLITE_DONE) {
		rv = 0;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rv;
}

/* Look up with get (bound already), else insert with add (bound already)
 * and take the new rowid. */
static int
store_get_or_add(
    struct store *s, sqlite3_stmt *get, sqlite3_stmt *add, int64_t *id)
{
	int rv = store_step(get, id);

	if (rv != 0)
		return rv < 0 ? -1 : 0;
	if (store_step(add, NULL) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int
store_string(struct store *s, const char *str, int64_t *id)
{
	sqlite3_bind_text(s->st[ST_STRING_GET], 1, str, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->st[ST_STRING_ADD], 1, str, -1, SQLITE_STATIC);
	return store_get_or_add(
	    s, s->st[ST_STRING_GET], s->st[ST_STRING_ADD], id);
}

/* The database id of frame f of d, looked up once per write. */
static int
store_frame(
    struct store *s, const Profpipe__Decoded *d, uint32_t f, uint32_t *out)
{
	sqlite3_stmt *get = s->st[ST_FRAME_GET];
	sqlite3_stmt *add = s->st[ST_FRAME_ADD];
	int64_t fn;
	int64_t file;
	int64_t id;

	if (s->frame_ids[f] != 0) {
		*out = s->frame_ids[f];
		return 0;
	}
	if (store_string(s, export_frame_function(d, f), &fn) < 0 ||
	    store_string(s, export_frame_file(d, f), &file) < 0)
		return -1;
	sqlite3_bind_int64(get, 1, fn);
	sqlite3_bind_int64(get, 2, file);
	sqlite3_bind_int64(get, 3, d->frame_line[f]);
	sqlite3_bind_int64(add, 1, fn);
	sqlite3_bind_int64(add, 2, file);
	sqlite3_bind_int64(add, 3, d->frame_line[f]);
	if (store_get_or_add(s, get, add, &id) < 0)
		return -1;
	s->frame_ids[f] = (uint32_t)id;
	*out = (uint32_t)id;
	return 0;
}

static int
store_stack(struct store *s, const Profpipe__Decoded *d, size_t i, int64_t *id)
{
	const uint32_t *frames;
	uint32_t fid;
	size_t n;
	size_t k;
	int rv;

	sqlite3_bind_int64(s->st[ST_STACK_GET], 1, (int64_t)d->stack_hash[i]);
	rv = store_step(s->st[ST_STACK_GET], id);
	if (rv != 0)
		return rv < 0 ? -1 : 0;
	export_stack(d, i, &frames, &n);
	buf_clear(&s->text);
	for (k = 0; k < n; k++) {
		if (store_frame(s, d, frames[k], &fid) < 0)
			return -1;
		buf_printf(&s->text, k ? ",%" PRIu32 : "%" PRIu32, fid);
	}
	if (buf_putc(&s->text, '\0') < 0)
		return -1;
	sqlite3_bind_int64(s->st[ST_STACK_ADD], 1, (int64_t)d->stack_hash[i]);
	sqlite3_bind_text(s->st[ST_STACK_ADD], 2, (const char *)s->text.data,
	    -1, SQLITE_STATIC);
	if (store_step(s->st[ST_STACK_ADD], NULL) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int
store_series(struct store *s, const Profpipe__Origin *o, int64_t *id)
{
	sqlite3_stmt *get = s->st[ST_SERIES_GET];
	sqlite3_stmt *add = s->st[ST_SERIES_ADD];

	sqlite3_bind_text(get, 1, o->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(get, 2, o->instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(get, 3, o->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(add, 1, o->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(add, 2, o->instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(add, 3, o->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(add, 4, o->job, -1, SQLITE_STATIC);
	return store_get_or_add(s, get, add, id);
}

static int
store_value_type(struct store *s, const struct export_col *c, int64_t *id)
{
	sqlite3_stmt *get = s->st[ST_VT_GET];
	sqlite3_stmt *add = s->st[ST_VT_ADD];

	sqlite3_bind_text(get, 1, c->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(get, 2, c->unit, -1, SQLITE_STATIC);
	sqlite3_bind_text(add, 1, c->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(add, 2, c->unit, -1, SQLITE_STATIC);
	return store_get_or_add(s, get, add, id);
}

/* 1 when the window was already stored. */
static int
store_window_row(
    struct store *s, const struct store_win *w, int64_t series, int64_t *id)
{
	sqlite3_stmt *has = s->st[ST_WINDOW_HAS];
	sqlite3_stmt *add = s->st[ST_WINDOW_ADD];
	int rv;

	sqlite3_bind_text(has, 1, w->uuid, -1, SQLITE_STATIC);
	rv = store_step(has, NULL);
	if (rv != 0)
		return rv;
	sqlite3_bind_text(add, 1, w->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(add, 2, series);
	sqlite3_bind_int64(add, 3, w->origin->start_ns);
	sqlite3_bind_int64(add, 4, w->origin->end_ns);
	sqlite3_bind_int64(add, 5, w->n_profiles);
	sqlite3_bind_int64(add, 6, (int64_t)w->n_folded);
	sqlite3_bind_text(add, 7, w->instances, -1, SQLITE_STATIC);
	if (store_step(add, NULL) < 0)
		return -1;
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int
store_values(
    struct store *s, const Profpipe__Decoded *d, int64_t win, size_t *nrows)
{
	struct export_col cols[EXPORT_MAX_COLS];
	sqlite3_stmt *add = s->st[ST_VALUE_ADD];
	int64_t vt[EXPORT_MAX_COLS];
	int64_t total[EXPORT_MAX_COLS];
	size_t ns = decoded_n_stacks(d);
	size_t nc;
	size_t c;
	size_t i;
	int64_t stack;
	int64_t v;

	export_columns(d, cols, &nc);
	for (c = 0; c < nc; c++) {
		total[c] = 0;
		if (store_value_type(s, &cols[c], &vt[c]) < 0)
			return -1;
	}
	for (i = 0; i < ns; i++) {
		stack = 0;
		for (c = 0; c < nc; c++) {
			v = export_value(d, i, &cols[c]);
			if (v == 0)
				continue;
			if (stack == 0 && store_stack(s, d, i, &stack) < 0)
				return -1;
			sqlite3_bind_int64(add, 1, win);
			sqlite3_bind_int64(add, 2, vt[c]);
			sqlite3_bind_int64(add, 3, stack);
			sqlite3_bind_int64(add, 4, v);
			if (store_step(add, NULL) < 0)
				return -1;
			total[c] += v;
			(*nrows)++;
		}
	}
	for (c = 0; c < nc; c++) {
		sqlite3_bind_int64(s->st[ST_TOTAL_ADD], 1, win);
		sqlite3_bind_int64(s->st[ST_TOTAL_ADD], 2, vt[c]);
		sqlite3_bind_int64(s->st[ST_TOTAL_ADD], 3, total[c]);
		if (store_step(s->st[ST_TOTAL_ADD], NULL) < 0)
			return -1;
	}
	return 0;
}

static int64_t
store_now_s(void)
{
	return (int64_t)time(NULL);
}

static int
store_put(struct store *s, const struct store_win *w, size_t *nrows, char *err,
    size_t errlen)
{
	const Profpipe__Decoded *d = w->d;
	int64_t series;
	int64_t win;
	size_t deleted;
	int rv;

	*nrows = 0;
	if (s->st[0] == NULL) {
		snprintf(err, errlen, "%s: opened read-only",
		    sqlite3_db_filename(s->db, NULL));
		return -1;
	}
	xfree(s->frame_ids);
	s->n_frame_ids = d->n_frame_function;
	s->frame_ids = xcalloc(
	    s->n_frame_ids ? s->n_frame_ids : 1, sizeof(*s->frame_ids));
	if (s->frame_ids == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_fail(s, "begin", err, errlen);
	if (store_series(s, w->origin, &series) < 0)
		goto out_rollback;
	rv = store_window_row(s, w, series, &win);
	if (rv < 0)
		goto out_rollback;
	if (rv == 0 && store_values(s, d, win, nrows) < 0)
		goto out_rollback;
	if (s->text.failed) {
		snprintf(err, errlen, "a stack deeper than the store keeps");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		buf_clear(&s->text);
		s->text.failed = 0;
		return -1;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out_rollback;
	return store_retain(s, store_now_s(), &deleted, err, errlen);
out_rollback:
	store_fail(s, "write", err, errlen);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
store_put_window(struct store *s, const Profpipe__Window *w, size_t *nrows,
    char *err, size_t errlen)
{
	Profpipe__Decoded d;
	struct store_win sw;
	struct buf inst;
	size_t i;
	int rv;

	if (w->origin == NULL || w->merged == NULL) {
		snprintf(err, errlen, "window without origin or stacks");
		return -1;
	}
	/* export_columns reads the kind from the profile's origin */
	d = *w->merged;
	d.origin = w->origin;
	buf_init(&inst, 1 << 20);
	for (i = 0; i < w->n_instances; i++)
		buf_printf(&inst, i ? ",%s" : "%s", w->instances[i]);
	if (buf_putc(&inst, '\0') < 0) {
		buf_release(&inst);
		snprintf(err, errlen, "window %s: instance list too long",
		    w->origin->profile_id);
		return -1;
	}
	sw.origin = w->origin;
	sw.d = &d;
	sw.uuid = w->origin->profile_id;
	sw.n_profiles = w->n_profiles;
	sw.n_folded = w->n_folded;
	sw.instances = (const char *)inst.data;
	rv = store_put(s, &sw, nrows, err, errlen);
	buf_release(&inst);
	return rv;
}

int
store_put_profile(struct store *s, const Profpipe__Decoded *p, size_t *nrows,
    char *err, size_t errlen)
{
	struct store_win sw;

	sw.origin = p->origin;
	sw.d = p;
	sw.uuid = p->origin->profile_id;
	sw.n_profiles = 1;
	sw.n_folded = 0;
	sw.instances = p->origin->instance;
	return store_put(s, &sw, nrows, err, errlen);
}

int
store_put_metrics(struct store *s, const Profpipe__Metrics *m, size_t *nrows,
    char *err, size_t errlen)
{
	sqlite3_stmt *add = s->st[ST_METRIC_ADD];
	const Profpipe__Origin *o = m->origin;
	size_t deleted;
	size_t i;

	*nrows = 0;
	if (o == NULL || s->st[0] == NULL) {
		snprintf(err, errlen, "metrics without origin");
		return -1;
	}
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return store_fail(s, "begin", err, errlen);
	for (i = 0; i < m->n_metrics; i++) {
		sqlite3_bind_text(add, 1, o->service, -1, SQLITE_STATIC);
		sqlite3_bind_text(add, 2, o->instance, -1, SQLITE_STATIC);
		sqlite3_bind_text(
		    add, 3, m->metrics[i]->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(add, 4, o->start_ns);
		sqlite3_bind_int64(add, 5, o->end_ns);
		sqlite3_bind_text(
		    add, 6, m->metrics[i]->unit, -1, SQLITE_STATIC);
		sqlite3_bind_double(add, 7, m->metrics[i]->value);
		if (store_step(add, NULL) < 0)
			goto out_rollback;
		(*nrows)++;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out_rollback;
	return store_retain(s, store_now_s(), &deleted, err, errlen);
out_rollback:
	store_fail(s, "metrics", err, errlen);
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
