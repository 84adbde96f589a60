/*
 * scrape: the libcurl + libev engine against a real HTTP server on
 * loopback. A profile comes back with its bytes; each failure comes back
 * once, classified, with the reason the log line will carry; an oversize
 * body is cut at the limit; several scrapes run at once on one loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <ev.h>

#include "fetcher/scrape.h"
#include "test_fetch_httpd.h"

static struct httpd srv;

struct got {
	int n;
	int want;
	enum scrape_status status;
	char reason[512];
	long code;
	size_t len;
	size_t received;
	unsigned char head[2];
	int64_t start_ns;
	int64_t end_ns;
	struct ev_loop *loop;
};

static void
on_done(void *arg, const struct scrape_result *r)
{
	struct got *g = arg;

	g->n++;
	g->status = r->status;
	snprintf(g->reason, sizeof(g->reason), "%s", r->reason);
	g->code = r->http_code;
	g->len = r->len;
	g->received = r->received;
	if (r->len >= 2)
		memcpy(g->head, r->body, 2);
	g->start_ns = r->start_ns;
	g->end_ns = r->end_ns;
	if (g->n >= g->want)
		ev_break(g->loop, EVBREAK_ALL);
}

static void
on_stuck(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until got has what it waits for (a guard timer stops a
 * stuck test; nothing here depends on how long things take). */
static void
run(struct ev_loop *loop, struct got *g)
{
	ev_timer guard;

	ev_timer_init(&guard, on_stuck, 60.0, 0.0);
	ev_timer_start(loop, &guard);
	if (g->n < g->want)
		ev_run(loop, 0);
	ev_timer_stop(loop, &guard);
	assert_int_equal(g->n, g->want);
}

static void
fetch(const char *path, int port, long timeout_ms, size_t limit, struct got *g)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct scrape *s;
	char url[256];

	memset(g, 0, sizeof(*g));
	g->want = 1;
	g->loop = loop;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	assert_int_equal(scrape_new(&s, loop), 0);
	assert_int_equal(
	    scrape_start(s, url, timeout_ms, limit, on_done, g), 0);
	assert_int_equal(g->n, 0); /* never from inside scrape_start */
	assert_int_equal(scrape_running(s), 1);
	run(loop, g);
	assert_int_equal(scrape_running(s), 0);
	scrape_free(s);
	ev_loop_destroy(loop);
}

static void
test_profile(void **state)
{
	struct got g;

	(void)state;
	fetch("/ok", srv.port, 10000, 1024, &g);
	assert_int_equal(g.status, SCRAPE_OK);
	assert_string_equal(g.reason, "");
	assert_int_equal(g.code, 200);
	assert_int_equal(g.len, sizeof(httpd_gzip));
	assert_int_equal(g.head[0], 0x1f);
	assert_int_equal(g.head[1], 0x8b);
	assert_true(g.start_ns > 0);
	assert_true(g.end_ns >= g.start_ns);
}

static void
test_http_500_first_line(void **state)
{
	struct got g;

	(void)state;
	fetch("/busy", srv.port, 10000, 1024, &g);
	assert_int_equal(g.status, SCRAPE_EHTTP);
	assert_int_equal(g.code, 500);
	assert_string_equal(g.reason,
	    "HTTP 500: Could not enable CPU "
	    "profiling: cpu profiling already in use");
	fetch("/notfound", srv.port, 10000, 1024, &g);
	assert_int_equal(g.status, SCRAPE_EHTTP);
	assert_string_equal(g.reason, "HTTP 404: 404 page not found");
}

static void
test_not_a_profile(void **state)
{
	struct got g;

	(void)state;
	fetch("/html", srv.port, 10000, 1024, &g);
	assert_int_equal(g.status, SCRAPE_ENOTPROFILE);
	assert_string_equal(
	    g.reason, "not a profile: HTML body: <!DOCTYPE html>");
	fetch("/empty", srv.port, 10000, 1024, &g);
	assert_int_equal(g.status, SCRAPE_ENOTPROFILE);
	assert_string_equal(g.reason, "not a profile: empty body");
}

static void
test_oversize_aborts_at_limit(void **state)
{
	struct got g;

	(void)state;
	pthread_mutex_lock(&srv.mu);
	srv.big_write_failed = 0;
	pthread_mutex_unlock(&srv.mu);
	fetch("/big", srv.port, 60000, 100 * 1024, &g);
	assert_int_equal(g.status, SCRAPE_ETOOLARGE);
	assert_string_equal(
	    g.reason, "body larger than 100 KB (BodyLimitSize)");
	assert_true(g.received <= 100 * 1024);
	assert_int_equal(g.len, 0);
	/* the server was cut off: the rest of 64 MB was never read */
	assert_int_equal(httpd_wait(&srv, &srv.big_write_failed, 1), 0);

	pthread_mutex_lock(&srv.mu);
	srv.big_write_failed = 0;
	pthread_mutex_unlock(&srv.mu);
	fetch("/big-declared", srv.port, 60000, 100 * 1024 + 1, &g);
	assert_int_equal(g.status, SCRAPE_ETOOLARGE);
	assert_string_equal(
	    g.reason, "body larger than 102401 bytes (BodyLimitSize)");
	assert_int_equal(g.received, 0); /* refused on Content-Length */
	assert_int_equal(httpd_wait(&srv, &srv.big_write_failed, 1), 0);
}

static void
test_timeout(void **state)
{
	struct got g;

	(void)state;
	fetch("/slow", srv.port, 300, 1024, &g);
	assert_int_equal(g.status, SCRAPE_ETIMEDOUT);
	assert_string_equal(g.reason, "timed out after 300 ms");
	assert_int_equal(g.code, 0);
}

static void
test_connection_refused(void **state)
{
	struct got g;
	int port = httpd_dead_port();

	(void)state;
	assert_true(port > 0);
	fetch("/ok", port, 10000, 1024, &g);
	assert_int_equal(g.status, SCRAPE_ECONNECT);
	assert_string_equal(g.reason, "connect: Connection refused");
	assert_string_equal(scrape_status_name(g.status), "connect");
}

static void
test_bad_url(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct scrape *s;
	struct got g;

	(void)state;
	memset(&g, 0, sizeof(g));
	g.want = 1;
	g.loop = loop;
	assert_int_equal(scrape_new(&s, loop), 0);
	assert_int_equal(
	    scrape_start(s, "gopher://127.0.0.1:1/x", 1000, 10, on_done, &g),
	    0);
	run(loop, &g);
	assert_int_equal(g.status, SCRAPE_EFAIL);
	scrape_free(s);
	ev_loop_destroy(loop);
}

/* Several scrapes on one loop, and aborting what runs. */
struct many {
	struct got fast;
	struct got slow;
	struct scrape *s;
	ev_async held;
};

static void
wake_loop(void *arg)
{
	struct many *m = arg;

	ev_async_send(m->fast.loop, &m->held);
}

/* The server holds the slow request: abort it. */
static void
on_slow_held(struct ev_loop *loop, ev_async *w, int revents)
{
	struct many *m = w->data;

	(void)revents;
	scrape_abort_all(m->s);
	ev_break(loop, EVBREAK_ALL);
}

static void
test_concurrent_and_abort(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct many m;
	char url[256];

	(void)state;
	memset(&m, 0, sizeof(m));
	m.fast.want = m.slow.want = 1;
	m.fast.loop = m.slow.loop = loop;
	ev_async_init(&m.held, on_slow_held);
	m.held.data = &m;
	ev_async_start(loop, &m.held);
	assert_int_equal(scrape_new(&m.s, loop), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", srv.port);
	assert_int_equal(
	    scrape_start(m.s, url, 60000, 1024, on_done, &m.fast), 0);
	run(loop, &m.fast);
	assert_int_equal(m.fast.status, SCRAPE_OK);

	/* a slow one and a fast one, ended by abort once the slow one is
	 * held: each is reported exactly once */
	memset(&m.fast, 0, sizeof(m.fast));
	m.fast.want = 2; /* no break on it */
	m.fast.loop = loop;
	pthread_mutex_lock(&srv.mu);
	srv.on_slow = wake_loop;
	srv.on_slow_arg = &m;
	pthread_mutex_unlock(&srv.mu);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", srv.port);
	assert_int_equal(
	    scrape_start(m.s, url, 60000, 1024, on_done, &m.slow), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", srv.port);
	assert_int_equal(
	    scrape_start(m.s, url, 60000, 1024, on_done, &m.fast), 0);
	assert_int_equal(scrape_running(m.s), 2);
	ev_run(loop, 0); /* until the slow one is held and aborted */
	assert_int_equal(m.slow.n, 1);
	assert_int_equal(m.slow.status, SCRAPE_EABORTED);
	assert_int_equal(scrape_running(m.s), 0);
	assert_int_equal(m.fast.n, 1);
	pthread_mutex_lock(&srv.mu);
	srv.on_slow = NULL;
	pthread_mutex_unlock(&srv.mu);
	scrape_free(m.s);
	ev_async_stop(loop, &m.held);
	ev_loop_destroy(loop);
}

static int
setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return httpd_start(&srv);
}

static int
teardown(void **state)
{
	(void)state;
	httpd_stop(&srv);
	curl_global_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profile),
	    cmocka_unit_test(test_http_500_first_line),
	    cmocka_unit_test(test_not_a_profile),
	    cmocka_unit_test(test_oversize_aborts_at_limit),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_connection_refused),
	    cmocka_unit_test(test_bad_url),
	    cmocka_unit_test(test_concurrent_and_abort),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
