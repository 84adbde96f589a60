/*
 * api: the HTTP side of the store: a common/httpd server on its own loop
 * thread, its routes, the UI's static files and the JSON error shape. The
 * data endpoints are api_data.c.
 *
 * The store connection, the query arena and the answer buffer are made on
 * the loop thread in setup and freed there in teardown: SQLite connections
 * here are opened without a mutex and must stay on one thread.
 */
#include "exporter/api.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "exporter/api_int.h"

/* UI files are small; a larger one is refused rather than read. */
#define API_MAX_FILE ((size_t)4 << 20)

static const struct {
	const char *path;
	const char *file;
	const char *ctype;
} api_files[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/flame.js", "flame.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
};

#define API_N_FILES (sizeof(api_files) / sizeof(api_files[0]))

void
api_error(struct httpd_resp *r, int status, const char *msg)
{
	struct buf b;

	buf_init(&b, 4096);
	buf_puts(&b, "{\"error\":");
	buf_json_str(&b, msg, strlen(msg));
	buf_puts(&b, "}\n");
	if (b.failed)
		httpd_respond_text(r, status, NULL, "%s", msg);
	else
		httpd_respond(
		    r, status, "application/json", NULL, b.data, b.len);
	buf_release(&b);
}

void
api_json(struct api *a, struct httpd_resp *r)
{
	if (a->out.failed) {
		api_error(r, 500, "answer larger than the API's cap");
		return;
	}
	httpd_respond(r, 200, "application/json",
	    "Cache-Control: no-store\r\n", a->out.data, a->out.len);
}

static void
api_static(void *arg, const struct httpd_req *req, struct httpd_resp *r)
{
	struct api *a = arg;
	char path[4200];
	struct stat st;
	size_t i;
	ssize_t n;
	size_t got = 0;
	int fd;

	for (i = 0; i < API_N_FILES; i++) {
		if (strcmp(req->path, api_files[i].path) == 0)
			break;
	}
	if (i == API_N_FILES) {
		api_error(r, 404, "no such file");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", a->ui_dir, api_files[i].file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 ||
	    (size_t)st.st_size > API_MAX_FILE) {
		if (fd >= 0)
			close(fd);
		log_warn("api: %s: cannot serve it", path);
		api_error(r, 404, "UI file missing");
		return;
	}
	buf_clear(&a->out);
	if (buf_reserve(&a->out, (size_t)st.st_size + 1) == 0) {
		while (got < (size_t)st.st_size) {
			n = read(
			    fd, a->out.data + got, (size_t)st.st_size - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	close(fd);
	a->out.len = got;
	httpd_respond(r, 200, api_files[i].ctype,
	    "Cache-Control: no-cache\r\n", a->out.data, a->out.len);
}

static const struct {
	const char *path;
	httpd_handler_fn fn;
} api_routes[] = {
    {"/api/v1/series", api_series},
    {"/api/v1/flamegraph", api_flamegraph},
    {"/api/v1/diff", api_diff},
    {"/api/v1/profile", api_profile},
    {"/api/v1/totals", api_totals},
    {"/api/v1/metrics", api_metrics},
};

static int
api_setup(struct ev_loop *loop, void *arg)
{
	struct api *a = arg;
	size_t i;

	if (store_open_ro(&a->store, a->db_path, a->err, sizeof(a->err)) < 0)
		return -1;
	a->arena = arena_new(API_ARENA_CAP);
	if (a->arena == NULL) {
		snprintf(a->err, sizeof(a->err), "out of memory");
		return -1;
	}
	if (httpd_new(&a->httpd, loop, a->host, a->port, NULL, a->err,
	        sizeof(a->err)) < 0)
		return -1;
	for (i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
		if (httpd_route(a->httpd, "GET", api_routes[i].path, 0,
		        api_routes[i].fn, a) < 0)
			goto out_oom;
	}
	for (i = 0; i < API_N_FILES; i++) {
		if (httpd_route(a->httpd, "GET", api_files[i].path, 0,
		        api_static, a) < 0)
			goto out_oom;
	}
	a->port = httpd_port(a->httpd);
	return 0;
out_oom:
	snprintf(a->err, sizeof(a->err), "out of memory");
	return -1;
}

static void
api_teardown(struct ev_loop *loop, void *arg)
{
	struct api *a = arg;

	(void)loop;
	httpd_free(a->httpd);
	a->httpd = NULL;
	store_close(a->store);
	a->store = NULL;
	arena_free(a->arena);
	a->arena = NULL;
}

int
api_start(struct api **out, const struct api_opts *o, char *err, size_t errlen)
{
	struct api *a;
	char why[512];

	a = xcalloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(a->db_path, sizeof(a->db_path), "%s", o->db_path);
	snprintf(a->ui_dir, sizeof(a->ui_dir), "%s", o->ui_dir);
	snprintf(a->host, sizeof(a->host), "%s", o->host);
	a->port = o->port;
	buf_init(&a->out, API_OUT_CAP);
	flame_init(&a->flame);
	if (httpd_thread_start(&a->thread, api_setup, api_teardown, a, why,
	        sizeof(why)) < 0) {
		/* setup failed: it left its reason in a->err */
		snprintf(err, errlen, "%s:%d: %s", o->host, o->port,
		    a->err[0] ? a->err : why);
		api_teardown(NULL, a);
		flame_release(&a->flame);
		buf_release(&a->out);
		xfree(a);
		return -1;
	}
	*out = a;
	return 0;
}

int
api_port(const struct api *a)
{
	return a->port;
}

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	httpd_thread_stop(a->thread);
	flame_release(&a->flame);
	buf_release(&a->out);
	xfree(a);
}
