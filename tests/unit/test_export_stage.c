/*
 * export_stage: the exporter's hop over real nng ipc sockets in a scratch
 * directory. A REQ peer plays the aggregator; test sinks record what they
 * are given, can fail (a full disk) and can hold a write open, so the tests
 * see that a redelivered profile is written once, that the ack comes only
 * after every sink has written, that a failed write is not acked and is
 * written to the failed sink only on the retry, and that a malformed
 * result is rejected.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/config.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "exporter/outputs.h"
#include "exporter/profile.h"
#include "exporter/stage.h"
#include "tests/unit/export_fixture.h"

/* ---- a sink that records, fails or waits on request ---- */

static pthread_mutex_t t_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t t_cv = PTHREAD_COND_INITIALIZER;
static int t_seq; /* orders writes and acks; under t_mu */

struct tsink {
	struct sink base;
	int gate_closed; /* writes wait while set */
	int entered;     /* a write is waiting at the gate */
	int fail;        /* writes fail while set */
	int skip;        /* writes say SINK_SKIP while set */
	int attempts;
	int writes;
	int done_seq; /* t_seq when the last write finished */
	char last_id[64];
	int windows; /* write_window calls */
	int metrics; /* write_metrics calls */
	int64_t window_duration;
	size_t n_metrics;
};

static int
tsink_write(struct sink *s, const Profpipe__Decoded *p, size_t *nrec,
    char *err, size_t errlen)
{
	struct tsink *t = (struct tsink *)s;
	int rv = 0;

	pthread_mutex_lock(&t_mu);
	t->attempts++;
	t->entered = 1;
	pthread_cond_broadcast(&t_cv);
	while (t->gate_closed)
		pthread_cond_wait(&t_cv, &t_mu);
	t->entered = 0;
	if (t->fail) {
		snprintf(err, errlen, "No space left on device");
		rv = -1;
	} else if (t->skip) {
		snprintf(err, errlen, "past its cap");
		rv = SINK_SKIP;
	} else {
		t->writes++;
		t->done_seq = ++t_seq;
		snprintf(t->last_id, sizeof(t->last_id), "%s",
		    p->origin->profile_id);
		*nrec = export_n_stacks(p);
	}
	pthread_mutex_unlock(&t_mu);
	return rv;
}

static int
tsink_write_window(struct sink *s, const Profpipe__Window *w, size_t *nrec,
    char *err, size_t errlen)
{
	struct tsink *t = (struct tsink *)s;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&t_mu);
	t->windows++;
	t->window_duration = w->merged->duration_ns;
	snprintf(t->last_id, sizeof(t->last_id), "%s",
	    w->merged->origin->profile_id);
	*nrec = 1;
	pthread_mutex_unlock(&t_mu);
	return 0;
}

static int
tsink_write_metrics(struct sink *s, const Profpipe__Metrics *m, size_t *nrec,
    char *err, size_t errlen)
{
	struct tsink *t = (struct tsink *)s;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&t_mu);
	t->metrics++;
	t->n_metrics = m->n_metrics;
	*nrec = m->n_metrics;
	pthread_mutex_unlock(&t_mu);
	return 0;
}

static int
tsink_flush(struct sink *s, char *err, size_t errlen)
{
	(void)s;
	(void)err;
	(void)errlen;
	return 0;
}

static void
tsink_close(struct sink *s)
{
	(void)s;
}

static const struct sink_ops tsink_ops = {
    .type = "test",
    .write = tsink_write,
    .write_window = tsink_write_window,
    .write_metrics = tsink_write_metrics,
    .flush = tsink_flush,
    .close = tsink_close,
};

static void
tsink_init(struct tsink *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->base.ops = &tsink_ops;
	t->base.takes = SINK_PROFILES;
	snprintf(t->base.name, sizeof(t->base.name), "%s", name);
}

/* ---- the stage on a thread, and a REQ peer ---- */

struct rig {
	char dir[64];
	char url[128];
	struct export_stage *st;
	pthread_t thread;
	volatile int stop;
	struct bus_sock *req;
	struct bus_ctx *ctx;
};

static void *
rig_run(void *arg)
{
	struct rig *r = arg;

	while (!r->stop) {
		if (export_stage_step(r->st, 50) < 0)
			break;
	}
	return NULL;
}

static void
rig_start(struct rig *r, struct sink *const *sinks, size_t n)
{
	char err[512];

	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/test_export_stage.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->url, sizeof(r->url), "ipc://%s/results.ipc", r->dir);
	if (export_stage_new(&r->st, r->url, sinks, n, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(pthread_create(&r->thread, NULL, rig_run, r), 0);
	if (bus_open(&r->req, BUS_REQ, r->url, 0, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(bus_ctx_new(r->req, &r->ctx), 0);
}

static void
rig_stop(struct rig *r, struct export_stats *stats)
{
	char cmd[128];

	r->stop = 1;
	pthread_join(r->thread, NULL);
	if (stats != NULL)
		export_stage_stats(r->st, stats);
	bus_ctx_free(r->ctx);
	bus_close(r->req);
	export_stage_free(r->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
	assert_int_equal(system(cmd), 0);
}

static uint8_t *
pack(const struct fixture *f, size_t *len)
{
	uint8_t *p;

	*len = profpipe__result__get_packed_size(&f->r);
	p = malloc(*len ? *len : 1);
	assert_non_null(p);
	profpipe__result__pack(&f->r, p);
	return p;
}

/* Send and wait for the ack: 0 OK, 1 REJECTED (reason filled), or the
 * bus error (BUS_ETIMEDOUT when no ack came). */
static int
call(struct rig *r, const void *msg, size_t len, int timeout_ms, char *reason,
    size_t reasonlen)
{
	void *reply;
	size_t rlen;
	int rv;

	rv = bus_call(r->ctx, msg, len, &reply, &rlen, timeout_ms);
	if (rv < 0)
		return rv;
	rv = ack_read(reply, rlen, reason, reasonlen);
	bus_free(reply, rlen);
	return rv;
}

static void
test_redelivery_written_once(void **state)
{
	char path[] = "/tmp/test_export_stage.jsonl.XXXXXX";
	char text[256];
	char got[16384];
	char err[512];
	struct export_stats stats;
	struct outputs o;
	struct fixture f;
	struct tsink t;
	struct sink *sinks[2];
	struct cfg *c;
	struct rig r;
	uint8_t *msg;
	char *line;
	size_t len;
	size_t n;
	FILE *fp;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: jsonl\n"
	    "    Path: %s\n",
	    path);
	assert_int_equal(
	    cfg_parse(&c, "t.yaml", text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), 0);
	tsink_init(&t, "test");
	sinks[0] = o.sinks[0];
	sinks[1] = &t.base;
	rig_start(&r, sinks, 2);

	fixture_cpu(&f);
	msg = pack(&f, &len);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	free(msg);
	/* another profile is written */
	f.o.profile_id = (char *)"6f1c0e2a-0000-4000-8000-000000000002";
	msg = pack(&f, &len);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	free(msg);
	rig_stop(&r, &stats);

	assert_int_equal(t.writes, 2);
	assert_int_equal(stats.written, 2);
	assert_int_equal(stats.duplicates, 2);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(got, 1, sizeof(got) - 1, fp);
	fclose(fp);
	got[n] = '\0';
	assert_true(fx_jsonl_valid(got, n));
	/* 3 records per profile, each profile once */
	assert_non_null(strstr(got, "000000000001"));
	n = 0;
	for (line = strchr(got, '\n'); line != NULL;
	     line = strchr(line + 1, '\n'))
		n++;
	assert_int_equal(n, 6);
	outputs_close(&o);
	cfg_free(c);
	unlink(path);
}

struct pending {
	int done;
	int rv;
	int seq;
};

static void
on_ack(void *arg, int err, const void *reply, size_t rlen)
{
	struct pending *p = arg;

	pthread_mutex_lock(&t_mu);
	p->rv = err < 0 ? err : ack_read(reply, rlen, NULL, 0);
	p->seq = ++t_seq;
	p->done = 1;
	pthread_cond_broadcast(&t_cv);
	pthread_mutex_unlock(&t_mu);
}

/* The ack waits for the slowest sink. */
static void
test_ack_after_write(void **state)
{
	struct pending p = {0, 0, 0};
	struct fixture f;
	struct tsink fast;
	struct tsink slow;
	struct sink *sinks[2];
	struct rig r;
	uint8_t *msg;
	size_t len;

	(void)state;
	tsink_init(&fast, "fast");
	tsink_init(&slow, "slow");
	slow.gate_closed = 1;
	sinks[0] = &fast.base;
	sinks[1] = &slow.base;
	rig_start(&r, sinks, 2);
	fixture_cpu(&f);
	msg = pack(&f, &len);
	assert_int_equal(
	    bus_call_async(r.ctx, msg, len, 10000, on_ack, &p), 0);

	pthread_mutex_lock(&t_mu);
	while (!slow.entered)
		pthread_cond_wait(&t_cv, &t_mu);
	pthread_mutex_unlock(&t_mu);
	usleep(300 * 1000); /* an ack sent too early would be here by now */
	pthread_mutex_lock(&t_mu);
	assert_int_equal(p.done, 0);
	assert_int_equal(fast.writes, 1);
	slow.gate_closed = 0;
	pthread_cond_broadcast(&t_cv);
	while (!p.done)
		pthread_cond_wait(&t_cv, &t_mu);
	pthread_mutex_unlock(&t_mu);

	assert_int_equal(p.rv, 0);
	assert_int_equal(slow.writes, 1);
	assert_true(p.seq > slow.done_seq);
	assert_true(p.seq > fast.done_seq);
	free(msg);
	rig_stop(&r, NULL);
}

/* The stage running with a good sink and other (set up by the caller),
 * and the fixture's CPU profile packed into *msg. */
static void
two_sinks(struct rig *r, struct tsink *good, struct tsink *other,
    struct sink **sinks, struct fixture *f, uint8_t **msg, size_t *len)
{
	tsink_init(good, "good");
	sinks[0] = &good->base;
	sinks[1] = &other->base;
	rig_start(r, sinks, 2);
	fixture_cpu(f);
	*msg = pack(f, len);
}

/* A failed sink: no ack; the retry reaches only the sink that failed. */
static void
test_failed_write_not_acked(void **state)
{
	struct export_stats stats;
	struct fixture f;
	struct tsink good;
	struct tsink full;
	struct sink *sinks[2];
	struct rig r;
	char err[256];
	uint8_t *msg;
	size_t len;

	(void)state;
	tsink_init(&full, "full");
	full.fail = 1;
	two_sinks(&r, &good, &full, sinks, &f, &msg, &len);
	assert_int_equal(
	    call(&r, msg, len, 500, err, sizeof(err)), BUS_ETIMEDOUT);
	pthread_mutex_lock(&t_mu);
	assert_int_equal(full.attempts, 1);
	assert_int_equal(good.writes, 1);
	full.fail = 0;
	pthread_mutex_unlock(&t_mu);

	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	assert_int_equal(full.attempts, 2);
	assert_int_equal(full.writes, 1);
	assert_int_equal(good.attempts, 1);
	assert_string_equal(full.last_id, f.o.profile_id);
	free(msg);
	rig_stop(&r, &stats);
	assert_int_equal(stats.failed, 1);
	assert_int_equal(stats.written, 1);
}

/* A sink that can never take a result (SINK_SKIP) does not hold it up:
 * acked at once, counted, and not tried again on a redelivery. */
static void
test_skipped_write_acked(void **state)
{
	struct export_stats stats;
	struct fixture f;
	struct tsink good;
	struct tsink capped;
	struct sink *sinks[2];
	struct rig r;
	char err[256];
	uint8_t *msg;
	size_t len;

	(void)state;
	tsink_init(&capped, "capped");
	capped.skip = 1;
	two_sinks(&r, &good, &capped, sinks, &f, &msg, &len);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	pthread_mutex_lock(&t_mu);
	assert_int_equal(capped.attempts, 1);
	assert_int_equal(capped.writes, 0);
	assert_int_equal(good.writes, 1);
	pthread_mutex_unlock(&t_mu);
	free(msg);
	rig_stop(&r, &stats);
	assert_int_equal(stats.skipped, 1);
	assert_int_equal(stats.written, 1);
	assert_int_equal(stats.duplicates, 1);
	assert_int_equal(stats.failed, 0);
}

static void
test_malformed_rejected(void **state)
{
	static const uint8_t garbage[] = {0x0a, 0xff, 0xff, 0xff, 0x0f};
	struct export_stats stats;
	struct fixture f;
	struct tsink t;
	struct sink *sinks[1];
	struct rig r;
	char reason[256];
	uint8_t *msg;
	size_t len;

	(void)state;
	tsink_init(&t, "test");
	sinks[0] = &t.base;
	rig_start(&r, sinks, 1);
	assert_int_equal(
	    call(&r, garbage, sizeof(garbage), 5000, reason, sizeof(reason)),
	    1);
	assert_non_null(strstr(reason, "do not unpack"));

	fixture_cpu(&f);
	f.frames[0] = 77;
	msg = pack(&f, &len);
	assert_int_equal(call(&r, msg, len, 5000, reason, sizeof(reason)), 1);
	assert_non_null(strstr(reason, "frame 77 out of range"));
	assert_non_null(strstr(reason, f.o.profile_id));
	free(msg);

	/* no profile at all */
	f.r.profile = NULL;
	msg = pack(&f, &len);
	assert_int_equal(call(&r, msg, len, 5000, reason, sizeof(reason)), 1);
	free(msg);
	rig_stop(&r, &stats);
	assert_int_equal(stats.rejected, 3);
	assert_int_equal(t.attempts, 0);
}

/* Without an id a redelivery cannot be recognised: written each time. */
static void
test_no_id_written_each_time(void **state)
{
	struct fixture f;
	struct tsink t;
	struct sink *sinks[1];
	struct rig r;
	char reason[256];
	uint8_t *msg;
	size_t len;

	(void)state;
	tsink_init(&t, "test");
	sinks[0] = &t.base;
	rig_start(&r, sinks, 1);
	fixture_cpu(&f);
	f.o.profile_id = (char *)"";
	msg = pack(&f, &len);
	assert_int_equal(call(&r, msg, len, 5000, reason, sizeof(reason)), 0);
	assert_int_equal(call(&r, msg, len, 5000, reason, sizeof(reason)), 0);
	free(msg);
	rig_stop(&r, NULL);
	assert_int_equal(t.writes, 2);
}

static int
quiet(void **state)
{
	(void)state;
	log_init("test_export_stage", getenv("V") ? LOG_DEBUG : LOG_ERROR);
	return 0;
}

/* Each shape reaches the sinks that take it, once; a result no sink takes
 * is acked; a window without its merged profile is rejected. */
static void
test_routes_by_shape(void **state)
{
	struct export_stats stats;
	Profpipe__Result res;
	Profpipe__Metrics m;
	Profpipe__Metric metric;
	Profpipe__Metric *mp = &metric;
	Profpipe__Origin mo;
	struct fixture f;
	struct tsink prof;
	struct tsink win;
	struct sink *sinks[2];
	struct rig r;
	char err[256];
	uint8_t *msg;
	size_t len;

	(void)state;
	tsink_init(&prof, "profiles");
	tsink_init(&win, "windows+metrics");
	win.base.takes = SINK_WINDOWS | SINK_METRICS;
	sinks[0] = &prof.base;
	sinks[1] = &win.base;
	rig_start(&r, sinks, 2);

	/* a window: the merged profile gets the window's origin, length */
	fixture_cpu(&f);
	profpipe__result__init(&res);
	f.r.profile = NULL;
	f.r.window = &(Profpipe__Window)PROFPIPE__WINDOW__INIT;
	f.r.window->origin = &f.o;
	f.r.window->merged = &f.d;
	f.d.origin = NULL;
	f.o.profile_id = (char *)"7a2b0c1d-0000-4000-8000-0000000000aa";
	msg = pack(&f, &len);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	free(msg);
	assert_int_equal(win.windows, 1);
	assert_int_equal(win.window_duration, f.o.end_ns - f.o.start_ns);
	assert_string_equal(win.last_id, f.o.profile_id);
	assert_int_equal(prof.writes, 0);

	/* metrics with the window's id: not taken for a duplicate */
	profpipe__metrics__init(&m);
	profpipe__metric__init(&metric);
	profpipe__origin__init(&mo);
	mo.profile_id = f.o.profile_id;
	mo.service = (char *)"shop";
	metric.name = (char *)"prof_go_cpu_cores";
	metric.value = 0.5;
	m.origin = &mo;
	m.n_metrics = 1;
	m.metrics = &mp;
	res.metrics = &m;
	len = profpipe__result__get_packed_size(&res);
	msg = malloc(len);
	profpipe__result__pack(&res, msg);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	free(msg);
	assert_int_equal(win.metrics, 1);
	assert_int_equal(win.n_metrics, 1);

	/* a profile: only the profile sink */
	fixture_cpu(&f);
	msg = pack(&f, &len);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	free(msg);
	assert_int_equal(prof.writes, 1);
	assert_int_equal(win.windows, 1);

	/* a window without its profile can never be written */
	f.r.profile = NULL;
	f.r.window = &(Profpipe__Window)PROFPIPE__WINDOW__INIT;
	f.r.window->origin = &f.o;
	msg = pack(&f, &len);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "window without merged profile"));
	free(msg);
	rig_stop(&r, &stats);
	assert_int_equal(stats.written, 3);
	assert_int_equal(stats.duplicates, 1);
	assert_int_equal(stats.rejected, 1);

	/* nobody takes metrics: acked, counted apart */
	tsink_init(&prof, "profiles");
	sinks[0] = &prof.base;
	rig_start(&r, sinks, 1);
	msg = malloc(profpipe__result__get_packed_size(&res));
	len = profpipe__result__pack(&res, msg);
	assert_int_equal(call(&r, msg, len, 5000, err, sizeof(err)), 0);
	free(msg);
	rig_stop(&r, &stats);
	assert_int_equal(stats.unwanted, 1);
	assert_int_equal(prof.writes, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redelivery_written_once),
	    cmocka_unit_test(test_ack_after_write),
	    cmocka_unit_test(test_failed_write_not_acked),
	    cmocka_unit_test(test_skipped_write_acked),
	    cmocka_unit_test(test_malformed_rejected),
	    cmocka_unit_test(test_no_id_written_each_time),
	    cmocka_unit_test(test_routes_by_shape),
	};

	return cmocka_run_group_tests(tests, quiet, NULL);
}
