/*
 * store_query: summing windows back into one profile. The sum is not a
 * GROUP BY (which would sort an hour's million rows of a 20k-stack
 * service first): the value rows of the selected windows are read in
 * primary-key order, one range scan per window, and added by an aggregate
 * function of ours, inside SQLite's own loop, into an array indexed by
 * the slot store_ids gives each stack id met, so that it costs a few bytes
 * per stack the query answers, however many the store has held.
 *
 * Only then are the stacks with a value read (one scan over their id
 * range), their frames named, and the whole laid out as a Decoded in the
 * caller's arena.
 */
#include "exporter/store_query.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "exporter/store_ids.h"

/* Rowids past this are refused as the text of a stack's frames. */
#define SQ_MAX_ROWID ((int64_t)1 << 62)
/* Series merged by one query (instances of a service). */
#define SQ_MAX_SERIES 4096
/* Frame ids of all the stacks of one answer. */
#define SQ_MAX_FRAMES ((size_t)1 << 27)

static int
sq_fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
	return -1;
}

static int
sq_oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory (or the query's memory cap)");
	return -1;
}

static int
sq_prepare(
    sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
		return sq_fail(db, "query", err, errlen);
	return 0;
}

/* The selected series as a JSON array of ids ("[3,7]"), which SQL reads
 * with json_each. */
static int
sq_series(sqlite3 *db, const struct store_sel *q, struct buf *ids, char *err,
    size_t errlen)
{
	sqlite3_stmt *st;
	const char *inst;
	int64_t merged = -1;
	size_t n = 0;
	int rc;

	if (sq_prepare(db,
	        "SELECT id, instance FROM series WHERE service = ?1"
	        " AND kind = ?2 ORDER BY instance",
	        &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_text(st, 1, q->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, q->kind, -1, SQLITE_STATIC);
	buf_putc(ids, '[');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < SQ_MAX_SERIES) {
		inst = (const char *)sqlite3_column_text(st, 1);
		if (q->instance != NULL && strcmp(inst, q->instance) != 0)
			continue;
		if (q->instance == NULL && inst[0] == '\0')
			merged = sqlite3_column_int64(st, 0);
		buf_printf(ids, n ? ",%" PRId64 : "%" PRId64,
		    (int64_t)sqlite3_column_int64(st, 0));
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(db, "series", err, errlen);
	if (merged >= 0) {
		buf_clear(ids);
		buf_printf(ids, "[%" PRId64, merged);
	}
	buf_puts(ids, "]");
	if (buf_putc(ids, '\0') < 0)
		return sq_oom(err, errlen);
	if (n == 0) {
		snprintf(err, errlen, "no series service=%s kind=%s%s%s",
		    q->service, q->kind, q->instance ? " instance=" : "",
		    q->instance ? q->instance : "");
		return STORE_ENOTFOUND;
	}
	return 0;
}

static int
sq_value_type(sqlite3 *db, const char *type, struct arena *a, int64_t *id,
    const char **unit, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rv = STORE_ENOTFOUND;

	if (sq_prepare(db,
	        "SELECT id, unit FROM value_types WHERE type = ?1"
	        " ORDER BY id LIMIT 1",
	        &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*unit =
		    arena_strndup(a, (const char *)sqlite3_column_text(st, 1),
		        (size_t)sqlite3_column_bytes(st, 1));
		rv = *unit != NULL ? 0 : sq_oom(err, errlen);
	} else {
		snprintf(err, errlen, "no value type %s", type);
	}
	sqlite3_finalize(st);
	return rv;
}

/* The highest id in table, 0 when it is empty or cannot be read (the ids
 * met are then all looked up by hash). */
static int64_t
sq_max_id(sqlite3 *db, const char *table)
{
	char sql[128];
	sqlite3_stmt *st;
	int64_t max = 0;

	snprintf(
	    sql, sizeof(sql), "SELECT COALESCE(MAX(id), 0) FROM %s", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		max = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return max;
}

/* Where profpipe_acc adds: acc[slot * nr + r], slot the stack id's in
 * stacks; acc grows with the slots (malloc'd, size slots of room). */
struct sq_acc {
	struct store_ids *stacks;
	int64_t *acc;
	size_t size;
	size_t nr;
	size_t r;
};

/* Room in a->acc for slot. 0, or -1 out of memory. */
static int
sq_acc_room(struct sq_acc *a, size_t slot)
{
	size_t size = a->size ? a->size : 1024;
	int64_t *p;

	if (slot < a->size)
		return 0;
	while (size <= slot)
		size *= 2;
	p = xrealloc(a->acc, size * a->nr * sizeof(*p));
	if (p == NULL)
		return -1;
	memset(p + a->size * a->nr, 0, (size - a->size) * a->nr * sizeof(*p));
	a->acc = p;
	a->size = size;
	return 0;
}

/* profpipe_acc(stack_id, value), an aggregate: adds into the array in
 * its user data. Summing inside SQLite's own loop, rather than stepping
 * every row out to C, halves the cost of a million-row range. */
static void
sq_acc_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct sq_acc *a = sqlite3_user_data(ctx);
	int64_t id = sqlite3_value_int64(argv[0]);
	int64_t slot;

	(void)argc;
	if (id <= 0)
		return;
	slot = store_ids_direct(a->stacks, id);
	if (slot < 0)
		slot = store_ids_slot(a->stacks, id);
	if (slot < 0 ||
	    ((size_t)slot >= a->size && sq_acc_room(a, (size_t)slot) < 0)) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	a->acc[(size_t)slot * a->nr + a->r] += sqlite3_value_int64(argv[1]);
}

static void
sq_acc_final(sqlite3_context *ctx)
{
	sqlite3_result_null(ctx);
}

/* Add range r's values into a (column r); count windows and sum window
 * totals. */
static int
sq_sum(sqlite3 *db, const char *ids, int64_t vt, const struct store_sel *q,
    size_t r, struct sq_acc *a, struct store_merged *out, char *err,
    size_t errlen)
{
	sqlite3_stmt *st;
	int rc;

	a->r = r;
	if (sqlite3_create_function(db, "profpipe_acc", 2,
	        SQLITE_UTF8 | SQLITE_DIRECTONLY, a, NULL, sq_acc_step,
	        sq_acc_final) != SQLITE_OK)
		return sq_fail(db, "profpipe_acc", err, errlen);
	if (sq_prepare(db,
	        "SELECT profpipe_acc(v.stack_id, v.value) FROM windows w"
	        " JOIN window_values v ON v.window_id = w.id"
	        " AND v.value_type_id = ?1"
	        " WHERE w.series_id IN (SELECT value FROM json_each(?2))"
	        " AND w.start_ns >= ?3 AND w.start_ns < ?4",
	        &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, vt);
	sqlite3_bind_text(st, 2, ids, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, q->range[r].from_ns);
	sqlite3_bind_int64(st, 4, q->range[r].to_ns);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_finalize(st);
	/* a is the caller's: take the function away before it goes */
	sqlite3_create_function(
	    db, "profpipe_acc", 2, SQLITE_UTF8, NULL, NULL, NULL, NULL);
	if (rc != SQLITE_DONE)
		return sq_fail(db, "values", err, errlen);
	if (sq_prepare(db,
	        "SELECT COUNT(*), COALESCE(SUM(t.total), 0) FROM windows w"
	        " LEFT JOIN window_totals t ON t.window_id = w.id"
	        " AND t.value_type_id = ?1"
	        " WHERE w.series_id IN (SELECT value FROM json_each(?2))"
	        " AND w.start_ns >= ?3 AND w.start_ns < ?4",
	        &st, err, errlen) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, vt);
	sqlite3_bind_text(st, 2, ids, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, q->range[r].from_ns);
	sqlite3_bind_int64(st, 4, q->range[r].to_ns);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->n_windows += (size_t)sqlite3_column_int64(st, 0);
		out->total[r] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return 0;
}

struct sq_layout {
	struct store_ids frames; /* a frame's slot is its local frame id */
	struct buf ids;          /* ids to look up, as JSON */
	struct buf frames_of;    /* uint32 local frame ids of every stack */
};

/* A statement over the rows of table whose idcol is one of want (n ids,
 * ascending), with columns cols: a range scan when they are dense in
 * their span, else one lookup per id, so a query costs what it answers
 * and not what the whole database holds. */
static int
sq_rows(sqlite3 *db, const char *table, const char *idcol, const char *cols,
    const int64_t *want, size_t n, struct buf *ids, sqlite3_stmt **st,
    char *err, size_t errlen)
{
	char sql[512];
	int64_t lo = n > 0 ? want[0] : 0;
	int64_t hi = n > 0 ? want[n - 1] : 0;
	size_t i;

	buf_clear(ids);
	if ((int64_t)n * 4 >= hi - lo + 1) {
		snprintf(sql, sizeof(sql),
		    "SELECT %s FROM %s WHERE %s BETWEEN ?1 AND ?2", cols,
		    table, idcol);
		if (sq_prepare(db, sql, st, err, errlen) < 0)
			return -1;
		sqlite3_bind_int64(*st, 1, lo);
		sqlite3_bind_int64(*st, 2, hi);
		return 0;
	}
	buf_putc(ids, '[');
	for (i = 0; i < n; i++)
		buf_printf(ids, i > 0 ? ",%" PRId64 : "%" PRId64, want[i]);
	buf_puts(ids, "]");
	if (buf_putc(ids, '\0') < 0)
		return sq_oom(err, errlen);
	snprintf(sql, sizeof(sql),
	    "SELECT %s FROM %s WHERE %s IN (SELECT value FROM json_each(?1))",
	    cols, table, idcol);
	if (sq_prepare(db, sql, st, err, errlen) < 0)
		return -1;
	sqlite3_bind_text(*st, 1, (const char *)ids->data, -1, SQLITE_STATIC);
	return 0;
}

/* The frame id in decimal at p (at most max), and where it ends: the
 * stacks' text is ours, digits and commas, so no strtoul with its locale
 * and signs for the hundreds of thousands of ids of one answer. -1 when p
 * holds no digit or the id is past max. */
static int
sq_frame_id(const char *p, int64_t max, int64_t *out, const char **end)
{
	int64_t v = 0;
	const char *q = p;

	while (*q >= '0' && *q <= '9') {
		v = v * 10 + (*q - '0');
		if (v > max)
			return -1;
		q++;
	}
	if (q == p)
		return -1;
	*out = v;
	*end = q;
	return 0;
}

/* Read the stacks whose ids are want (n, ascending), each with a value in
 * acc, in id order, into d. */
static int
sq_stacks(sqlite3 *db, const struct sq_acc *acc, const int64_t *want, size_t n,
    struct sq_layout *l, Profpipe__Decoded *d, struct arena *a, char *err,
    size_t errlen)
{
	struct buf *fo = &l->frames_of;
	sqlite3_stmt *st;
	const int64_t *v;
	const char *p;
	const char *end;
	size_t nr = acc->nr;
	size_t i = 0;
	size_t r;
	int64_t slot;
	int64_t f;
	uint32_t local;
	int rc;

	if (sq_rows(db, "stacks", "id", "id, hash, frames", want, n, &l->ids,
	        &st, err, errlen) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		slot =
		    store_ids_find(acc->stacks, sqlite3_column_int64(st, 0));
		if (slot < 0 || i >= d->n_stack_hash)
			continue;
		v = acc->acc + (size_t)slot * nr;
		for (r = 0; r < nr && v[r] == 0; r++)
			;
		if (r == nr)
			continue;
		memcpy(d->values + i * nr, v, nr * sizeof(*v));
		d->stack_hash[i] = (uint64_t)sqlite3_column_int64(st, 1);
		d->stack_offset[i] = (uint32_t)(fo->len / sizeof(uint32_t));
		p = (const char *)sqlite3_column_text(st, 2);
		while (p != NULL && *p != '\0') {
			if (sq_frame_id(p, SQ_MAX_ROWID, &f, &end) < 0)
				break;
			slot = store_ids_slot(&l->frames, f);
			if (slot < 0) {
				sqlite3_finalize(st);
				return sq_oom(err, errlen);
			}
			local = (uint32_t)slot;
			if (buf_append(fo, &local, sizeof(local)) < 0)
				break;
			p = *end == ',' ? end + 1 : end;
		}
		i++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(db, "stacks", err, errlen);
	if (fo->failed)
		return sq_oom(err, errlen);
	d->n_stack_hash = i;
	d->n_stack_offset = i + 1;
	d->stack_offset[i] = (uint32_t)(fo->len / sizeof(uint32_t));
	d->n_values = i * nr;
	d->n_stack_frames = fo->len / sizeof(uint32_t);
	d->stack_frames = arena_alloc(a, fo->len + 1);
	if (d->stack_frames == NULL)
		return sq_oom(err, errlen);
	if (fo->len > 0)
		memcpy(d->stack_frames, fo->data, fo->len);
	return 0;
}

/* Name the frames the stacks use: strings 3.. are function, file pairs. */
static int
sq_frames(sqlite3 *db, struct sq_layout *l, Profpipe__Decoded *d,
    struct arena *a, char *err, size_t errlen)
{
	size_t nf = l->frames.n;
	int64_t *want = arena_alloc(a, (nf + 1) * sizeof(*want));
	sqlite3_stmt *st;
	int64_t slot;
	uint32_t k;
	int rc;
	int c;

	d->n_frame_function = d->n_frame_file = d->n_frame_line = nf;
	d->frame_function = arena_calloc(a, nf + 1, sizeof(uint32_t));
	d->frame_file = arena_calloc(a, nf + 1, sizeof(uint32_t));
	d->frame_line = arena_calloc(a, nf + 1, sizeof(int64_t));
	d->strings = arena_calloc(a, 3 + 2 * nf, sizeof(char *));
	if (want == NULL || d->frame_function == NULL ||
	    d->frame_file == NULL || d->frame_line == NULL ||
	    d->strings == NULL)
		return sq_oom(err, errlen);
	d->n_strings = 3 + 2 * nf;
	for (k = 3; k < d->n_strings; k++)
		d->strings[k] = (char *)"";
	store_ids_sorted(&l->frames, want);
	if (sq_rows(db,
	        "frames f JOIN strings a ON a.id = f.function_id"
	        " JOIN strings b ON b.id = f.file_id",
	        "f.id", "f.id, a.s, b.s, f.line", want, nf, &l->ids, &st, err,
	        errlen) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		slot = store_ids_find(&l->frames, sqlite3_column_int64(st, 0));
		if (slot < 0)
			continue;
		k = (uint32_t)slot;
		for (c = 0; c < 2; c++) {
			d->strings[3 + 2 * k + (uint32_t)c] = arena_strndup(a,
			    (const char *)sqlite3_column_text(st, 1 + c),
			    (size_t)sqlite3_column_bytes(st, 1 + c));
			if (d->strings[3 + 2 * k + (uint32_t)c] == NULL) {
				sqlite3_finalize(st);
				return sq_oom(err, errlen);
			}
		}
		d->frame_function[k] = 3 + 2 * k;
		d->frame_file[k] = 3 + 2 * k + 1;
		d->frame_line[k] = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(db, "frames", err, errlen);
	return 0;
}

static int
sq_shape(struct store_merged *out, const struct store_sel *q, size_t ns,
    struct arena *a, char *err, size_t errlen)
{
	Profpipe__Decoded *d = &out->d;
	size_t nr = q->n_ranges;
	size_t r;

	d->sample_types = arena_calloc(a, nr, sizeof(*d->sample_types));
	d->stack_offset = arena_calloc(a, ns + 1, sizeof(uint32_t));
	d->stack_hash = arena_calloc(a, ns + 1, sizeof(uint64_t));
	d->values = arena_calloc(a, ns * nr + 1, sizeof(int64_t));
	if (d->sample_types == NULL || d->stack_offset == NULL ||
	    d->stack_hash == NULL || d->values == NULL)
		return sq_oom(err, errlen);
	d->n_sample_types = nr;
	for (r = 0; r < nr; r++) {
		d->sample_types[r] =
		    arena_calloc(a, 1, sizeof(Profpipe__ValueType));
		if (d->sample_types[r] == NULL)
			return sq_oom(err, errlen);
		profpipe__value_type__init(d->sample_types[r]);
		d->sample_types[r]->type = 1;
		d->sample_types[r]->unit = 2;
	}
	d->n_stack_hash = ns; /* capacity until sq_stacks sets the count */
	return 0;
}

/* The ids of the stacks with a value in acc, ascending, into want (room
 * for every slot). Their count. */
static size_t
sq_wanted(const struct sq_acc *acc, int64_t *want)
{
	const struct store_ids *m = acc->stacks;
	size_t n = 0;
	size_t i;
	size_t r;

	store_ids_sorted(m, want);
	for (i = 0; i < m->n; i++) {
		const int64_t *v =
		    acc->acc + (size_t)store_ids_find(m, want[i]) * acc->nr;

		for (r = 0; r < acc->nr && v[r] == 0; r++)
			;
		if (r < acc->nr)
			want[n++] = want[i];
	}
	return n;
}

int
store_merge(struct store *s, const struct store_sel *q, struct arena *a,
    struct store_merged *out, char *err, size_t errlen)
{
	sqlite3 *db = store_db(s);
	struct store_ids stacks;
	struct sq_layout l;
	struct sq_acc acc;
	struct buf ids;
	int64_t *want = NULL;
	int64_t vt;
	size_t nr = q->n_ranges;
	size_t ns = 0;
	size_t r;
	int rv;

	memset(out, 0, sizeof(*out));
	memset(&l, 0, sizeof(l));
	memset(&acc, 0, sizeof(acc));
	profpipe__decoded__init(&out->d);
	profpipe__origin__init(&out->origin);
	buf_init(&ids, 1 << 16);
	buf_init(&l.frames_of, SQ_MAX_FRAMES * sizeof(uint32_t));
	buf_init(&l.ids, SQ_MAX_FRAMES);
	memset(&stacks, 0, sizeof(stacks));
	acc.stacks = &stacks;
	acc.nr = nr;
	rv = sq_series(db, q, &ids, err, errlen);
	if (rv < 0)
		goto out_release;
	rv = sq_value_type(db, q->value_type, a, &vt, &out->unit, err, errlen);
	if (rv < 0)
		goto out_release;
	rv = -1;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		sq_fail(db, "begin", err, errlen);
		goto out_release;
	}
	if (store_ids_init(&stacks, sq_max_id(db, "stacks")) < 0 ||
	    store_ids_init(&l.frames, sq_max_id(db, "frames")) < 0) {
		sq_oom(err, errlen);
		goto out_end;
	}
	for (r = 0; r < nr; r++) {
		if (sq_sum(db, (const char *)ids.data, vt, q, r, &acc, out,
		        err, errlen) < 0)
			goto out_end;
	}
	/* Room for the slots given after the last one summed: none. */
	if (sq_acc_room(&acc, stacks.n) < 0) {
		sq_oom(err, errlen);
		goto out_end;
	}
	want = xmalloc((stacks.n + 1) * sizeof(*want));
	if (want == NULL) {
		sq_oom(err, errlen);
		goto out_end;
	}
	ns = sq_wanted(&acc, want);
	if (sq_shape(out, q, ns, a, err, errlen) < 0 ||
	    sq_stacks(db, &acc, want, ns, &l, &out->d, a, err, errlen) < 0 ||
	    sq_frames(db, &l, &out->d, a, err, errlen) < 0)
		goto out_end;
	out->d.strings[0] = (char *)"";
	out->d.strings[1] =
	    arena_strndup(a, q->value_type, strlen(q->value_type));
	out->d.strings[2] = (char *)out->unit;
	if (out->d.strings[1] == NULL) {
		sq_oom(err, errlen);
		goto out_end;
	}
	out->origin.service = (char *)q->service;
	out->origin.instance = (char *)(q->instance ? q->instance : "");
	out->origin.kind = (char *)q->kind;
	out->origin.start_ns = q->range[0].from_ns;
	out->origin.end_ns = q->range[0].to_ns;
	out->d.duration_ns = q->range[0].to_ns - q->range[0].from_ns;
	out->d.origin = &out->origin;
	rv = 0;
out_end:
	sqlite3_exec(db, "END", NULL, NULL, NULL);
out_release:
	xfree(want);
	xfree(acc.acc);
	store_ids_release(&stacks);
	store_ids_release(&l.frames);
	buf_release(&ids);
	buf_release(&l.frames_of);
	buf_release(&l.ids);
	return rv;
}
