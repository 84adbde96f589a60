/*
 * api_int: what api.c (server, static files) and api_data.c (the data
 * endpoints) share. Everything here lives on the API's loop thread.
 */
#ifndef PROFPIPE_EXPORT_API_INT_H
#define PROFPIPE_EXPORT_API_INT_H

#include "common/arena.h"
#include "common/buf.h"
#include "common/httpd.h"
#include "exporter/api.h"
#include "exporter/flame.h"
#include "exporter/store.h"

/* Scratch memory of one query, and the largest answer. */
#define API_ARENA_CAP ((size_t)1 << 30)
#define API_OUT_CAP ((size_t)512 << 20)

struct api {
	struct httpd_thread *thread;
	struct httpd *httpd;
	struct store *store;
	struct arena *arena;
	struct buf out;
	struct flame flame;
	char db_path[4096];
	char ui_dir[4096];
	char host[256];
	int port;
	char err[512]; /* setup's failure, for api_start */
};

/* Answer {"error": msg} with status. */
void api_error(struct httpd_resp *r, int status, const char *msg);
/* Answer a->out as JSON (200). */
void api_json(struct api *a, struct httpd_resp *r);

void api_series(void *arg, const struct httpd_req *req, struct httpd_resp *r);
void api_flamegraph(
    void *arg, const struct httpd_req *req, struct httpd_resp *r);
void api_diff(void *arg, const struct httpd_req *req, struct httpd_resp *r);
void api_profile(void *arg, const struct httpd_req *req, struct httpd_resp *r);
void api_totals(void *arg, const struct httpd_req *req, struct httpd_resp *r);
void api_metrics(void *arg, const struct httpd_req *req, struct httpd_resp *r);

#endif
