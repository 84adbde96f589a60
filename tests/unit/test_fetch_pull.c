/*
 * pull: the fetcher's parts together in one process: a config naming a real
 * HTTP server on loopback, the schedule, the scrapes, and the sender handing
 * profiles to a decoder stand-in over ipc. Checks what reaches the decoder,
 * that a CPU profile is never asked for twice at once, that a full pipeline
 * skips rather than queues, and that failures and reloads are counted.
 *
 * Waiting is on events: the loop runs until a condition on the counters
 * holds (checked after each loop iteration), with a guard against hanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <ev.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/config.h"
#include "common/log.h"
#include "common/wire.pb-c.h"
#include "fetcher/pull.h"
#include "test_fetch_httpd.h"

static struct httpd srv;
static char dir[] = "/tmp/profpipe-test-pull-XXXXXX";

/* A decoder stand-in acking everything, keeping what it got. */
struct peer {
	char url[256];
	pthread_mutex_t mu;
	int got;
	int stop;
	char kinds[64][16];
	Profpipe__RawProfile *first;
	pthread_t th;
};

static void *
peer_run(void *arg)
{
	struct peer *p = arg;
	struct bus_sock *sock;
	struct bus_ctx *ctx;
	const void *req;
	size_t len;
	uint8_t ack[ACK_MAX];
	Profpipe__RawProfile *rp;
	char err[256];
	int rv;

	if (bus_open(&sock, BUS_REP, p->url, 0, err, sizeof(err)) != 0 ||
	    bus_ctx_new(sock, &ctx) != 0)
		return NULL;
	for (;;) {
		rv = bus_recv(ctx, &req, &len, 100);
		pthread_mutex_lock(&p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		pthread_mutex_unlock(&p->mu);
		if (rv != BUS_OK)
			continue;
		rp = profpipe__raw_profile__unpack(NULL, len, req);
		pthread_mutex_lock(&p->mu);
		if (rp != NULL && p->got < 64)
			snprintf(p->kinds[p->got], sizeof(p->kinds[0]), "%s",
			    rp->origin->kind);
		p->got++;
		if (p->first == NULL)
			p->first = rp;
		else
			profpipe__raw_profile__free_unpacked(rp, NULL);
		pthread_mutex_unlock(&p->mu);
		bus_reply(ctx, ack, ack_pack(ack, NULL));
	}
	bus_ctx_free(ctx);
	bus_close(sock);
	return NULL;
}

static void
peer_start(struct peer *p, const char *url)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->url, sizeof(p->url), "%s", url);
	pthread_mutex_init(&p->mu, NULL);
	assert_int_equal(pthread_create(&p->th, NULL, peer_run, p), 0);
}

static void
peer_stop(struct peer *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
}

static void
peer_free(struct peer *p)
{
	if (p->first != NULL)
		profpipe__raw_profile__free_unpacked(p->first, NULL);
	pthread_mutex_destroy(&p->mu);
}

/* The fetcher's pieces on one loop. */
struct rig {
	struct ev_loop *loop;
	struct sender *snd;
	struct pull *pull;
	struct inputs *in;
	char url[256];
	int (*until)(struct rig *r);
	struct peer *peer;
};

static struct inputs *
inputs_for(const char *body)
{
	struct inputs *in;
	struct cfg *c;
	char err[512];

	if (cfg_parse(&c, "cfg.yaml", body, strlen(body), err, sizeof(err)) <
	    0)
		fail_msg("%s", err);
	if (inputs_from_cfg(&in, c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	cfg_free(c);
	return in;
}

static void
rig_start_reserve(struct rig *r, const char *name, const char *yaml,
    int inflight, size_t reserve)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->loop = ev_loop_new(EVFLAG_AUTO);
	snprintf(r->url, sizeof(r->url), "ipc://%s/%s.ipc", dir, name);
	assert_int_equal(sender_new(&r->snd, r->loop, r->url, NULL, inflight,
	                     err, sizeof(err)),
	    0);
	r->in = inputs_for(yaml);
	assert_int_equal(pull_new(&r->pull, r->loop, r->snd, r->in, reserve,
	                     err, sizeof(err)),
	    0);
}

static void
rig_start(struct rig *r, const char *name, const char *yaml, int inflight)
{
	rig_start_reserve(r, name, yaml, inflight, 0);
}

static void
rig_stop(struct rig *r)
{
	pull_free(r->pull);
	sender_free(r->snd);
	inputs_unref(r->in);
	ev_loop_destroy(r->loop);
}

static void
on_check(struct ev_loop *loop, ev_check *w, int revents)
{
	struct rig *r = w->data;

	(void)revents;
	if (r->until(r))
		ev_break(loop, EVBREAK_ALL);
}

static void
on_stuck(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Run r's loop until until(r) holds. */
static void
rig_run(struct rig *r, int (*until)(struct rig *r))
{
	ev_check check;
	ev_timer guard;

	r->until = until;
	ev_check_init(&check, on_check);
	check.data = r;
	ev_check_start(r->loop, &check);
	ev_timer_init(&guard, on_stuck, 60.0, 0.0);
	ev_timer_start(r->loop, &guard);
	if (!until(r))
		ev_run(r->loop, 0);
	ev_timer_stop(r->loop, &guard);
	ev_check_stop(r->loop, &check);
	assert_true(until(r));
}

static char yaml[1024];

static const char *
config(int port, const char *kinds)
{
	snprintf(yaml, sizeof(yaml),
	    "inputs:\n"
	    "  - Type: service_go_profile\n"
	    "    Name: checkout-pprof\n"
	    "    Interval: 1\n"
	    "    EnabledProfiles: [%s]\n"
	    "    Labels: {service: checkout, env: prod}\n"
	    "    Config:\n"
	    "      Addresses:\n"
	    "        - {Host: 127.0.0.1, Port: %d, "
	    "InstanceLabels: {zone: a}}\n",
	    kinds, port);
	return yaml;
}

static int
sent_two(struct rig *r)
{
	struct sender_stats st;

	sender_stats(r->snd, &st);
	return st.sent >= 2;
}

static void
test_profiles_reach_the_decoder(void **state)
{
	struct rig r;
	struct peer p;
	struct pull_stats ps;
	Profpipe__Origin *o;
	char want[128];
	int mem = 0;
	int gor = 0;
	int i;

	(void)state;
	rig_start(&r, "raw1", config(srv.port, "mem, goroutines"), 4);
	assert_int_equal(pull_jobs(r.pull), 2);
	peer_start(&p, r.url);
	rig_run(&r, sent_two);
	pull_stats(r.pull, &ps);
	assert_true(ps.fetched >= 2);
	peer_stop(&p);

	for (i = 0; i < p.got && i < 64; i++) {
		mem += strcmp(p.kinds[i], "mem") == 0;
		gor += strcmp(p.kinds[i], "goroutines") == 0;
	}
	assert_int_equal(mem + gor, p.got);
	assert_non_null(p.first);
	o = p.first->origin;
	assert_int_equal(strlen(o->profile_id), 36);
	assert_string_equal(o->source, "pull");
	assert_string_equal(o->service, "checkout");
	assert_string_equal(o->job, "checkout-pprof");
	snprintf(want, sizeof(want), "127.0.0.1:%d", srv.port);
	assert_string_equal(o->instance, want);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/debug/pprof/%s",
	    srv.port, strcmp(o->kind, "mem") == 0 ? "heap" : "goroutine");
	assert_string_equal(o->target, want);
	assert_false(o->is_delta);
	assert_true(o->start_ns > 0 && o->end_ns >= o->start_ns);
	assert_int_equal(o->n_labels, 3);
	assert_string_equal(o->labels[0]->key, "env");
	assert_string_equal(o->labels[1]->key, "service");
	assert_string_equal(o->labels[2]->key, "zone");
	assert_int_equal(p.first->body.len, sizeof(httpd_gzip));
	assert_memory_equal(
	    p.first->body.data, httpd_gzip, sizeof(httpd_gzip));
	peer_free(&p);
	rig_stop(&r);
}

static int
cpu_skipped_twice(struct rig *r)
{
	struct pull_stats ps;

	pull_stats(r->pull, &ps);
	return ps.skipped_running >= 2;
}

static int
sent_one(struct rig *r)
{
	struct sender_stats st;

	sender_stats(r->snd, &st);
	return st.sent >= 1;
}

static void
test_one_cpu_profile_at_a_time(void **state)
{
	struct rig r;
	struct peer p;
	struct pull_stats ps;

	(void)state;
	pthread_mutex_lock(&srv.mu);
	srv.release_cpu = 0;
	srv.cpu_requests = srv.cpu_max = 0;
	pthread_mutex_unlock(&srv.mu);
	/* the server holds the CPU profile past two more due times */
	rig_start(&r, "raw2", config(srv.port, "cpu"), 4);
	peer_start(&p, r.url);
	rig_run(&r, cpu_skipped_twice);
	pthread_mutex_lock(&srv.mu);
	assert_int_equal(srv.cpu_requests, 1);
	assert_int_equal(srv.cpu_max, 1);
	assert_string_equal(srv.last_path, "/debug/pprof/profile?seconds=1");
	srv.release_cpu = 1;
	pthread_cond_broadcast(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
	rig_run(&r, sent_one);
	pull_stats(r.pull, &ps);
	assert_int_equal(ps.failed[SCRAPE_EHTTP], 0);
	pthread_mutex_lock(&srv.mu);
	assert_int_equal(srv.cpu_max, 1);
	pthread_mutex_unlock(&srv.mu);
	peer_stop(&p);
	pthread_mutex_lock(&p.mu);
	assert_true(p.first->origin->is_delta);
	assert_string_equal(p.first->origin->kind, "cpu");
	pthread_mutex_unlock(&p.mu);
	peer_free(&p);
	rig_stop(&r);
}

static int
skipped_full(struct rig *r)
{
	struct pull_stats ps;

	pull_stats(r->pull, &ps);
	return ps.skipped_full >= 1;
}

static void
test_full_pipeline_skips(void **state)
{
	struct rig r;
	struct pull_stats ps;

	(void)state;
	/* one context and no decoder: the first profile waits in it */
	rig_start(&r, "raw3", config(srv.port, "mem"), 1);
	rig_run(&r, skipped_full);
	pull_stats(r.pull, &ps);
	assert_int_equal(ps.fetched, 1);
	assert_int_equal(sender_inflight(r.snd), 1);
	assert_int_equal(ps.fetched + ps.dropped_full, ps.scrapes);
	rig_stop(&r);
}

/* Slots reserved for the push intake: pull skips while only they are
 * free, so an upload still finds room. */
static void
test_full_pipeline_leaves_reserve(void **state)
{
	struct rig r;
	struct pull_stats ps;

	(void)state;
	rig_start_reserve(&r, "raw3r", config(srv.port, "mem"), 3, 2);
	rig_run(&r, skipped_full);
	pull_stats(r.pull, &ps);
	assert_int_equal(ps.fetched, 1);
	assert_int_equal(sender_inflight(r.snd), 1);
	assert_int_equal(sender_free_slots(r.snd), 2);
	rig_stop(&r);
}

static int
failed_connect(struct rig *r)
{
	struct pull_stats ps;

	pull_stats(r->pull, &ps);
	return ps.failed[SCRAPE_ECONNECT] >= 2;
}

static int
fetched_one(struct rig *r)
{
	struct pull_stats ps;

	pull_stats(r->pull, &ps);
	return ps.fetched >= 1;
}

static void
test_failures_counted_and_reload(void **state)
{
	struct rig r;
	struct inputs *in;
	char err[256];
	char line[1024];

	(void)state;
	rig_start(&r, "raw4", config(httpd_dead_port(), "mem"), 4);
	rig_run(&r, failed_connect);
	pull_format_counters(r.pull, r.snd, 0, line, sizeof(line));
	assert_non_null(strstr(line, "failed_connect="));
	assert_non_null(strstr(line, "scrapes="));

	/* reload onto the live server, two kinds */
	in = inputs_for(config(srv.port, "mem, allocs"));
	assert_int_equal(pull_reload(r.pull, in, err, sizeof(err)), 0);
	inputs_unref(in);
	assert_int_equal(pull_jobs(r.pull), 2);
	rig_run(&r, fetched_one);

	/* stopping aborts what runs and schedules nothing more */
	pull_stop(r.pull);
	assert_int_equal(pull_running(r.pull), 0);
	rig_stop(&r);
}

static int
setup(void **state)
{
	(void)state;
	log_init("profpipe-fetcher", LOG_ERROR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mkdtemp(dir) == NULL)
		return -1;
	return httpd_start(&srv);
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	httpd_stop(&srv);
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profiles_reach_the_decoder),
	    cmocka_unit_test(test_one_cpu_profile_at_a_time),
	    cmocka_unit_test(test_full_pipeline_skips),
	    cmocka_unit_test(test_full_pipeline_leaves_reserve),
	    cmocka_unit_test(test_failures_counted_and_reload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
