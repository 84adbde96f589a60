/*
 * store_int: struct store and the statements it keeps prepared, shared by
 * store.c (writing) and store_retain.c (retention and config values).
 * Nothing else reads them.
 */
#ifndef PROFPIPE_EXPORT_STORE_INT_H
#define PROFPIPE_EXPORT_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "exporter/store.h"

enum store_stmt {
	ST_STRING_GET,
	ST_STRING_ADD,
	ST_FRAME_GET,
	ST_FRAME_ADD,
	ST_STACK_GET,
	ST_STACK_ADD,
	ST_SERIES_GET,
	ST_SERIES_ADD,
	ST_VT_GET,
	ST_VT_ADD,
	ST_WINDOW_HAS,
	ST_WINDOW_ADD,
	ST_VALUE_ADD,
	ST_TOTAL_ADD,
	ST_METRIC_ADD,
	ST_N
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	struct store_limits lim;
	int64_t last_sweep_ns;
	int swept_needed;    /* windows were deleted since the last sweep */
	uint32_t *frame_ids; /* per frame of the window being written */
	size_t n_frame_ids;
	struct buf text; /* a stack's frame list */
};

/* "PATH: what: sqlite's message" into err; returns -1. */
int store_fail(struct store *s, const char *what, char *err, size_t errlen);

#endif
