/*
 * sink_store: the `store` output. Windows and runtime metrics go into the
 * embedded SQLite store (exporter/store.h), and the store's HTTP API and
 * web UI (exporter/api.h) are served from the same process:
 *
 *   outputs:
 *     - Type: store
 *       Path: /var/lib/profpipe/profpipe.db  # default
 * $PROFPIPE_RUN/profpipe.db Listen: 127.0.0.1:8080               # "" or
 * "off": no API Retention: 7d                        # 0: keep every window
 *       MaxSize: 2GB                         # 0: no cap (default)
 *       UI: /usr/share/profpipe/ui           # default: exporter/ui beside
 * bin/
 *
 * Each write is its own transaction, committed before write returns, so
 * flush has nothing left to do and an ack always follows a commit.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/proc.h"
#include "common/xalloc.h"
#include "exporter/api.h"
#include "exporter/sink.h"
#include "exporter/store.h"

struct sink_store {
	struct sink base;
	struct store *store;
	struct api *api;
};

static int
sink_store_window(struct sink *s, const Profpipe__Window *w, size_t *nrec,
    char *err, size_t errlen)
{
	return store_put_window(
	    ((struct sink_store *)s)->store, w, nrec, err, errlen);
}

static int
sink_store_metrics(struct sink *s, const Profpipe__Metrics *m, size_t *nrec,
    char *err, size_t errlen)
{
	return store_put_metrics(
	    ((struct sink_store *)s)->store, m, nrec, err, errlen);
}

static int
sink_store_profile(struct sink *s, const Profpipe__Decoded *p, size_t *nrec,
    char *err, size_t errlen)
{
	return store_put_profile(
	    ((struct sink_store *)s)->store, p, nrec, err, errlen);
}

static void
sink_store_close(struct sink *s)
{
	struct sink_store *ss = (struct sink_store *)s;

	if (ss == NULL)
		return;
	api_stop(ss->api);
	store_close(ss->store);
	xfree(ss);
}

/* The UI directory shipped beside the binary: bin/../exporter/ui. */
static void
sink_store_ui_dir(char *out, size_t outlen)
{
	char exe[3072];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	snprintf(out, outlen, "exporter/ui");
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	snprintf(out, outlen, "%s/../exporter/ui", exe);
}

/* The node of key for a message's line, or the entry when it is absent. */
static const struct cfg_node *
sink_store_at(const struct cfg_node *n, const char *key)
{
	const struct cfg_node *k = cfg_get(n, key);

	return k != NULL ? k : n;
}

/* "host:port" into host and port; -1 when malformed. */
static int
sink_store_listen(const char *s, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(s, ':');
	long p;

	if (colon == NULL || (size_t)(colon - s) >= hostlen ||
	    proc_parse_long(colon + 1, 0, 65535, &p) < 0)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '[' && colon - s >= 2 && host[colon - s - 1] == ']') {
		memmove(host, host + 1, (size_t)(colon - s - 2));
		host[colon - s - 2] = '\0';
	}
	*port = (int)p;
	return 0;
}

static int
sink_store_open(struct sink **out, const struct cfg *c,
    const struct cfg_node *n, char *err, size_t errlen)
{
	static const char *const known[] = {"Type", "Path", "Listen",
	    "Retention", "MaxSize", "UI", "Per", NULL};
	struct sink_store *ss;
	struct store_limits lim;
	struct api_opts ao;
	const char *path;
	const char *listen;
	const char *retention;
	const char *max_size;
	const char *ui;
	const char *per;
	char def_path[4096];
	char def_ui[4096];
	char host[256];
	char why[1024];
	int port;

	if (proc_default_url(def_path, sizeof(def_path), "profpipe.db") < 0)
		snprintf(def_path, sizeof(def_path), "ipc://profpipe.db");
	sink_store_ui_dir(def_ui, sizeof(def_ui));
	/* proc_default_url names an ipc:// URL in the run directory */
	if (cfg_only(c, n, known, err, errlen) < 0 ||
	    cfg_str(c, n, "Path", def_path + strlen("ipc://"), &path, err,
	        errlen) < 0 ||
	    cfg_str(c, n, "Listen", "127.0.0.1:8080", &listen, err, errlen) <
	        0 ||
	    cfg_str(c, n, "Retention", "7d", &retention, err, errlen) < 0 ||
	    cfg_str(c, n, "MaxSize", "0", &max_size, err, errlen) < 0 ||
	    cfg_str(c, n, "UI", def_ui, &ui, err, errlen) < 0 ||
	    cfg_str(c, n, "Per", "window", &per, err, errlen) < 0)
		return -1;
	if (path[0] == '\0')
		return cfg_error(
		    c, sink_store_at(n, "Path"), err, errlen, "Path: empty");
	if (store_parse_duration(retention, &lim.retention_s) < 0)
		return cfg_error(c, sink_store_at(n, "Retention"), err, errlen,
		    "Retention: not a duration (7d, 12h, 30m, 90s): %s",
		    retention);
	if (lim.retention_s > STORE_MAX_RETENTION_S)
		return cfg_error(c, sink_store_at(n, "Retention"), err, errlen,
		    "Retention: at most 36500d (0 keeps everything): %s",
		    retention);
	if (store_parse_size(max_size, &lim.max_bytes) < 0)
		return cfg_error(c, sink_store_at(n, "MaxSize"), err, errlen,
		    "MaxSize: not a size (2GB, 512MB, 100KB): %s", max_size);
	if (strcmp(per, "window") != 0 && strcmp(per, "profile") != 0)
		return cfg_error(c, sink_store_at(n, "Per"), err, errlen,
		    "Per: window or profile, not %s", per);
	port = -1;
	if (listen[0] != '\0' && strcmp(listen, "off") != 0 &&
	    sink_store_listen(listen, host, sizeof(host), &port) < 0)
		return cfg_error(c, sink_store_at(n, "Listen"), err, errlen,
		    "Listen: not host:port: %s", listen);
	ss = xcalloc(1, sizeof(*ss));
	if (ss == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ss->base.ops = &sink_store_ops;
	ss->base.takes =
	    strcmp(per, "profile") == 0 ? SINK_PROFILES : SINK_WINDOWS;
	ss->base.takes |= SINK_METRICS;
	snprintf(ss->base.name, sizeof(ss->base.name), "store %s", path);
	if (store_open(&ss->store, path, &lim, why, sizeof(why)) < 0) {
		cfg_error(
		    c, sink_store_at(n, "Path"), err, errlen, "Path: %s", why);
		goto out_close;
	}
	if (port >= 0) {
		ao.db_path = path;
		ao.ui_dir = ui;
		ao.host = host;
		ao.port = port;
		if (api_start(&ss->api, &ao, why, sizeof(why)) < 0) {
			cfg_error(c, sink_store_at(n, "Listen"), err, errlen,
			    "Listen: %s", why);
			goto out_close;
		}
	}
	*out = &ss->base;
	return 0;
out_close:
	sink_store_close(&ss->base);
	return -1;
}

const struct sink_ops sink_store_ops = {
    .type = "store",
    .open = sink_store_open,
    .write = sink_store_profile,
    .write_window = sink_store_window,
    .write_metrics = sink_store_metrics,
    .close = sink_store_close,
};
