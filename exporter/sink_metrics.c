/*
 * sink_metrics: the aggregator's runtime metrics (Result.metrics) for
 * Prometheus and for InfluxDB/DataKit:
 *
 *   - Type: metrics
 *     Listen: 127.0.0.1:9464      # GET /metrics: the text exposition
 *     LineProtocol: /var/lib/profpipe/metrics.lp   # optional; "-": stdout
 *     MaxSeries: 10000            # optional: (metric, labels) kept at most
 *
 * At least one of Listen and LineProtocol. /metrics shows the latest value
 * per series (exporter/prom.h); each Metrics message appends one line of
 * line protocol (exporter/lineproto.h). The HTTP server (common/httpd.h)
 * runs its own loop on a thread: the stage's thread updates the series
 * under a lock and the HTTP thread renders them under it. It listens from
 * open on, so a port in use is refused at start with the config's line;
 * Listen with port 0 takes any free port, which the sink's name shows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/httpd.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "exporter/lineproto.h"
#include "exporter/prom.h"
#include "exporter/sink.h"
#include "exporter/sink_file.h"

#define SINK_METRICS_BODY_CAP ((size_t)64 * 1024 * 1024)
#define SINK_METRICS_LINE_CAP ((size_t)1024 * 1024)

struct sink_metrics {
	struct sink base;
	pthread_mutex_t mu; /* guards prom */
	struct prom prom;
	char host[256];
	int port;
	struct httpd_thread *thread;
	struct httpd *http; /* the HTTP thread's */
	struct buf body;    /* the HTTP thread's */
	char why[512];      /* why the server did not start */
	char *lp_path;      /* NULL: no line protocol */
	struct buf line;
};

static int64_t
sink_metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sink_metrics_get(void *arg, const struct httpd_req *req, struct httpd_resp *r)
{
	struct sink_metrics *s = arg;
	int rv;

	(void)req;
	buf_clear(&s->body);
	pthread_mutex_lock(&s->mu);
	rv = prom_render(&s->prom, sink_metrics_now_ns(), &s->body);
	pthread_mutex_unlock(&s->mu);
	if (rv < 0) {
		httpd_respond_text(r, 500, NULL,
		    "metrics: out of memory or more than %zu bytes",
		    SINK_METRICS_BODY_CAP);
		return;
	}
	httpd_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
	    s->body.data, s->body.len);
}

static int
sink_metrics_setup(struct ev_loop *loop, void *arg)
{
	struct sink_metrics *s = arg;

	if (httpd_new(&s->http, loop, s->host, s->port, NULL, s->why,
	        sizeof(s->why)) < 0)
		return -1;
	if (httpd_route(s->http, "GET", "/metrics", 0, sink_metrics_get, s) <
	    0) {
		snprintf(s->why, sizeof(s->why), "out of memory");
		httpd_free(s->http);
		s->http = NULL;
		return -1;
	}
	s->port = httpd_port(s->http);
	return 0;
}

static void
sink_metrics_teardown(struct ev_loop *loop, void *arg)
{
	struct sink_metrics *s = arg;

	(void)loop;
	httpd_free(s->http);
	s->http = NULL;
}

/* host:port (host may be [v6]) into s->host, s->port. */
static int
sink_metrics_listen(struct sink_metrics *s, const char *listen)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hlen;
	char *end;
	long port;

	if (colon == NULL)
		return -1;
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(s->host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
		return -1;
	memcpy(s->host, h, hlen);
	s->host[hlen] = '\0';
	s->port = (int)port;
	return 0;
}

static void
sink_metrics_close(struct sink *base)
{
	struct sink_metrics *s = (struct sink_metrics *)base;

	if (s == NULL)
		return;
	httpd_thread_stop(s->thread);
	prom_release(&s->prom);
	pthread_mutex_destroy(&s->mu);
	buf_release(&s->body);
	buf_release(&s->line);
	xfree(s->lp_path);
	xfree(s);
}

static int
sink_metrics_lp_check(const char *path, char *why, size_t whylen)
{
	struct sink_file f;

	if (strcmp(path, "-") == 0)
		return 0;
	if (sink_file_open(&f, path, why, whylen) < 0)
		return -1;
	return sink_file_commit(&f, why, whylen);
}

static int
sink_metrics_open(struct sink **out, const struct cfg *c,
    const struct cfg_node *n, char *err, size_t errlen)
{
	static const char *const known[] = {
	    "Type", "Listen", "LineProtocol", "MaxSeries", "SeriesTTL", NULL};
	struct sink_metrics *s;
	const char *listen;
	const char *lp;
	char why[512];
	long max;
	long ttl;

	if (cfg_only(c, n, known, err, errlen) < 0 ||
	    cfg_str(c, n, "Listen", NULL, &listen, err, errlen) < 0 ||
	    cfg_str(c, n, "LineProtocol", NULL, &lp, err, errlen) < 0 ||
	    cfg_int(c, n, "MaxSeries", PROM_MAX_SERIES_DEFAULT, 1, 10000000,
	        &max, err, errlen) < 0 ||
	    cfg_int(c, n, "SeriesTTL", PROM_SERIES_TTL_DEFAULT_S, 0,
	        30L * 86400, &ttl, err, errlen) < 0)
		return -1;
	if (listen == NULL && lp == NULL)
		return cfg_error(c, n, err, errlen,
		    "metrics: Listen (host:port for /metrics) or "
		    "LineProtocol (a file or \"-\") required");
	if (lp != NULL &&
	    (lp[0] == '\0' || sink_metrics_lp_check(lp, why, sizeof(why)) < 0))
		return cfg_error(c, cfg_get(n, "LineProtocol"), err, errlen,
		    "LineProtocol: %s", lp[0] ? why : "empty");
	s = xcalloc(1, sizeof(*s));
	if (s == NULL)
		return cfg_error(c, n, err, errlen, "metrics: out of memory");
	pthread_mutex_init(&s->mu, NULL);
	prom_init(&s->prom, (size_t)max, (int64_t)ttl * 1000000000);
	buf_init(&s->body, SINK_METRICS_BODY_CAP);
	buf_init(&s->line, SINK_METRICS_LINE_CAP);
	s->base.ops = &sink_metrics_ops;
	s->base.takes = SINK_METRICS;
	if (lp != NULL) {
		s->lp_path = xstrdup(lp);
		if (s->lp_path == NULL) {
			cfg_error(c, n, err, errlen, "metrics: out of memory");
			goto out_close;
		}
	}
	if (listen != NULL) {
		if (sink_metrics_listen(s, listen) < 0) {
			cfg_error(c, cfg_get(n, "Listen"), err, errlen,
			    "Listen: \"%s\": want host:port", listen);
			goto out_close;
		}
		if (httpd_thread_start(&s->thread, sink_metrics_setup,
		        sink_metrics_teardown, s, why, sizeof(why)) < 0) {
			cfg_error(c, cfg_get(n, "Listen"), err, errlen,
			    "Listen: %s", s->why[0] ? s->why : why);
			goto out_close;
		}
		snprintf(s->base.name, sizeof(s->base.name),
		    "metrics http://%.200s:%d/metrics", s->host, s->port);
		log_info("%s: serving", s->base.name);
	} else {
		snprintf(s->base.name, sizeof(s->base.name), "metrics %s",
		    s->lp_path);
	}
	*out = &s->base;
	return 0;
out_close:
	sink_metrics_close(&s->base);
	return -1;
}

static int
sink_metrics_write_metrics(struct sink *base, const Profpipe__Metrics *m,
    size_t *nrec, char *err, size_t errlen)
{
	struct sink_metrics *s = (struct sink_metrics *)base;
	struct sink_file f;
	size_t nlines = 0;
	size_t dropped = 0;
	int rv;

	*nrec = 0;
	if (s->lp_path != NULL) {
		buf_clear(&s->line);
		if (lineproto_render(m, &s->line, &nlines) < 0) {
			snprintf(err, errlen, "%s: line longer than %zu bytes",
			    base->name, SINK_METRICS_LINE_CAP);
			return -1;
		}
		if (nlines > 0) {
			if (sink_file_open(&f, s->lp_path, err, errlen) < 0)
				return -1;
			if (sink_file_write(&f, s->line.data, s->line.len, err,
			        errlen) < 0) {
				sink_file_abort(&f);
				return -1;
			}
			if (sink_file_commit(&f, err, errlen) < 0)
				return -1;
		}
	}
	pthread_mutex_lock(&s->mu);
	rv = prom_update(&s->prom, m, sink_metrics_now_ns(), &dropped);
	pthread_mutex_unlock(&s->mu);
	if (rv < 0) {
		snprintf(err, errlen, "%s: out of memory", base->name);
		return -1;
	}
	if (dropped > 0)
		log_warn("%s: %s %s: %zu metrics dropped: already %zu series "
		         "(MaxSeries)",
		    base->name, m->origin->service, m->origin->instance,
		    dropped, s->prom.max_series);
	*nrec = m->n_metrics;
	return 0;
}

const struct sink_ops sink_metrics_ops = {
    .type = "metrics",
    .open = sink_metrics_open,
    .write_metrics = sink_metrics_write_metrics,
    .close = sink_metrics_close,
};
