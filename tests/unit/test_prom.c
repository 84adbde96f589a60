/*
 * prom: the metrics sink's text exposition and line protocol, byte for
 * byte on hand-built Metrics (escaping, HELP and TYPE, latest value per
 * series, the series cap, series gone after the TTL, names Prometheus
 * refuses, bytes that are not UTF-8), then the sink opened
 * from a config serving /metrics over real HTTP on a free port, read and
 * parsed by a real parser (python3-prometheus-client's
 * text_string_to_metric_families), and its config mistakes refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/config.h"
#include "exporter/lineproto.h"
#include "exporter/outputs.h"
#include "exporter/prom.h"

#define SEC 1000000000LL
#define NOW (1700000000 * SEC) /* the clock the updates and renders see */

struct xmetrics {
	Profpipe__Metrics m;
	Profpipe__Origin o;
	Profpipe__Label l[3];
	Profpipe__Label *lp[3];
	Profpipe__Metric metric[4];
	Profpipe__Metric *mp[4];
};

static void
xmetrics(struct xmetrics *x, double cores, double heap)
{
	size_t i;

	memset(x, 0, sizeof(*x));
	profpipe__metrics__init(&x->m);
	profpipe__origin__init(&x->o);
	x->o.profile_id = (char *)"7a2b0c1d-0000-4000-8000-0000000000e1";
	x->o.service = (char *)"shop";
	x->o.instance = (char *)"10.0.0.1:6060";
	x->o.job = (char *)"go";
	x->o.start_ns = 1700000000000000000LL;
	x->o.end_ns = 1700000010000000000LL;
	for (i = 0; i < 3; i++) {
		profpipe__label__init(&x->l[i]);
		x->lp[i] = &x->l[i];
	}
	x->l[0].key = (char *)"env";
	x->l[0].value = (char *)"pr\"od\\\n";
	x->l[1].key = (char *)"service"; /* seen already: skipped */
	x->l[1].value = (char *)"other";
	x->l[2].key = (char *)"k8s.zone";
	x->l[2].value = (char *)"a b,c=d";
	x->o.n_labels = 3;
	x->o.labels = x->lp;
	for (i = 0; i < 4; i++) {
		profpipe__metric__init(&x->metric[i]);
		x->mp[i] = &x->metric[i];
	}
	x->metric[0].name = (char *)"prof_go_cpu_cores";
	x->metric[0].value = cores;
	x->metric[0].unit = (char *)"cores";
	x->metric[1].name = (char *)"prof_go_heap_bytes";
	x->metric[1].value = heap;
	x->metric[1].unit = (char *)"bytes";
	x->metric[2].name = (char *)"9bad-name";
	x->metric[2].value = 1;
	x->metric[3].name = (char *)"prof_go_nan";
	x->metric[3].value = NAN;
	x->m.n_metrics = 4;
	x->m.metrics = x->mp;
	x->m.origin = &x->o;
}

static const char want_exposition[] =
    "# HELP _9bad_name Go runtime metric from profpipe.\n"
    "# TYPE _9bad_name gauge\n"
    "_9bad_name{service=\"shop\",instance=\"10.0.0.1:6060\",job=\"go\","
    "env=\"pr\\\"od\\\\\\n\",k8s_zone=\"a b,c=d\"} 1\n"
    "# HELP prof_go_cpu_cores Go runtime metric from profpipe (cores).\n"
    "# TYPE prof_go_cpu_cores gauge\n"
    "prof_go_cpu_cores{service=\"shop\",instance=\"10.0.0.1:6060\","
    "job=\"go\",env=\"pr\\\"od\\\\\\n\",k8s_zone=\"a b,c=d\"} 0.5\n"
    "# HELP prof_go_heap_bytes Go runtime metric from profpipe (bytes).\n"
    "# TYPE prof_go_heap_bytes gauge\n"
    "prof_go_heap_bytes{service=\"shop\",instance=\"10.0.0.1:6060\","
    "job=\"go\",env=\"pr\\\"od\\\\\\n\",k8s_zone=\"a b,c=d\"} 2048\n"
    "# HELP prof_go_nan Go runtime metric from profpipe.\n"
    "# TYPE prof_go_nan gauge\n"
    "prof_go_nan{service=\"shop\",instance=\"10.0.0.1:6060\",job=\"go\","
    "env=\"pr\\\"od\\\\\\n\",k8s_zone=\"a b,c=d\"} NaN\n";

static void
test_exposition(void **state)
{
	struct xmetrics x;
	struct prom p;
	struct buf b;
	size_t dropped;

	(void)state;
	prom_init(&p, 0, 0);
	xmetrics(&x, 0.25, 1024);
	assert_int_equal(prom_update(&p, &x.m, NOW, &dropped), 0);
	xmetrics(&x, 0.5, 2048); /* the latest value wins */
	assert_int_equal(prom_update(&p, &x.m, NOW, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(p.n, 4);
	buf_init(&b, 1 << 20);
	assert_int_equal(prom_render(&p, NOW, &b), 0);
	buf_putc(&b, '\0');
	assert_string_equal((char *)b.data, want_exposition);
	buf_release(&b);
	prom_release(&p);
}

static void
test_series_cap(void **state)
{
	struct xmetrics x;
	struct prom p;
	struct buf b;
	size_t dropped;

	(void)state;
	prom_init(&p, 3, 0);
	xmetrics(&x, 0.5, 2048);
	assert_int_equal(prom_update(&p, &x.m, NOW, &dropped), 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(p.n, 3);
	/* an update of a kept series still lands */
	xmetrics(&x, 0.75, 4096);
	assert_int_equal(prom_update(&p, &x.m, NOW, &dropped), 0);
	assert_int_equal(p.dropped, 2);
	buf_init(&b, 1 << 20);
	assert_int_equal(prom_render(&p, NOW, &b), 0);
	buf_putc(&b, '\0');
	assert_non_null(strstr((char *)b.data, "} 0.75\n"));
	buf_release(&b);
	prom_release(&p);
}

/* An instance that stops reporting leaves the exposition after the TTL,
 * and its room: at the cap, a new instance's series take it. */
static void
test_series_expire(void **state)
{
	struct xmetrics x;
	struct prom p;
	struct buf b;
	size_t dropped;

	(void)state;
	prom_init(&p, 4, 600 * SEC);
	xmetrics(&x, 0.5, 2048);
	assert_int_equal(prom_update(&p, &x.m, NOW, &dropped), 0);
	assert_int_equal(p.n, 4);
	x.o.instance = (char *)"10.0.0.2:6060";
	assert_int_equal(prom_update(&p, &x.m, NOW + 300 * SEC, &dropped), 0);
	assert_int_equal(dropped, 4); /* the first instance's are current */
	assert_int_equal(prom_update(&p, &x.m, NOW + 601 * SEC, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(p.expired, 4);
	buf_init(&b, 1 << 20);
	assert_int_equal(prom_render(&p, NOW + 601 * SEC, &b), 0);
	buf_putc(&b, '\0');
	assert_null(strstr((char *)b.data, "10.0.0.1:6060"));
	assert_non_null(strstr((char *)b.data, "10.0.0.2:6060"));
	/* Quiet past the TTL: nothing left to show. */
	buf_clear(&b);
	assert_int_equal(prom_render(&p, NOW + 1202 * SEC, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(p.n, 0);
	buf_release(&b);
	prom_release(&p);
}

static void
test_lineproto(void **state)
{
	struct xmetrics x;
	struct buf b;
	size_t n;

	(void)state;
	xmetrics(&x, 0.93, 1048576);
	x.l[0].value = (char *)"prod";
	buf_init(&b, 1 << 20);
	assert_int_equal(lineproto_render(&x.m, &b, &n), 0);
	assert_int_equal(n, 1);
	buf_putc(&b, '\0');
	assert_string_equal((char *)b.data,
	    "profiling_metrics,service=shop,host=10.0.0.1:6060,job=go,"
	    "env=prod,k8s.zone=a\\ b\\,c\\=d "
	    "prof_go_cpu_cores=0.93000000000000005,prof_go_heap_bytes=1048576,"
	    "9bad-name=1 1700000010000000000\n");
	/* no finite value: no line */
	buf_clear(&b);
	x.m.n_metrics = 0;
	assert_int_equal(lineproto_render(&x.m, &b, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

/* Bytes that are not UTF-8 in a label value or a unit: each becomes
 * U+FFFD, whole sequences pass, so both texts are UTF-8, as both
 * formats require. */
static void
test_not_utf8(void **state)
{
	struct xmetrics x;
	struct prom p;
	struct buf b;
	size_t dropped;
	size_t n;

	(void)state;
	xmetrics(&x, 0.5, 2048);
	x.l[0].value = (char *)"a\xff\xc3\xa9\xed\xa0\x80z\xe2\x82";
	x.metric[0].unit = (char *)"c\xc0res";
	x.m.n_metrics = 1;
	prom_init(&p, 0, 0);
	assert_int_equal(prom_update(&p, &x.m, NOW, &dropped), 0);
	buf_init(&b, 1 << 20);
	assert_int_equal(prom_render(&p, NOW, &b), 0);
	buf_putc(&b, '\0');
	assert_string_equal((char *)b.data,
	    "# HELP prof_go_cpu_cores Go runtime metric from profpipe "
	    "(c\xef\xbf\xbdres).\n"
	    "# TYPE prof_go_cpu_cores gauge\n"
	    "prof_go_cpu_cores{service=\"shop\",instance=\"10.0.0.1:6060\","
	    "job=\"go\",env=\"a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\",k8s_zone=\"a b,c=d\"} "
	    "0.5\n");
	buf_clear(&b);
	assert_int_equal(lineproto_render(&x.m, &b, &n), 0);
	buf_putc(&b, '\0');
	assert_string_equal((char *)b.data,
	    "profiling_metrics,service=shop,host=10.0.0.1:6060,job=go,"
	    "env=a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz"
	    "\xef\xbf\xbd\xef\xbf\xbd,k8s.zone=a\\ b\\,c\\=d "
	    "prof_go_cpu_cores=0.5 1700000010000000000\n");
	buf_release(&b);
	prom_release(&p);
}

static struct cfg *
parse(const char *text)
{
	struct cfg *c;
	char err[512];

	if (cfg_parse(&c, "m.yaml", text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return c;
}

/* The sink from a config, over real HTTP, through a real parser. */
static void
test_http_parsed(void **state)
{
	char lp[] = "/tmp/test_prom.lp.XXXXXX";
	char text[512];
	char cmd[2048];
	char got[8192];
	char err[512];
	const char *url;
	struct outputs o;
	struct xmetrics x;
	struct cfg *c;
	struct sink *s;
	size_t nrec;
	size_t n;
	FILE *fp;
	int fd;

	(void)state;
	fd = mkstemp(lp);
	assert_true(fd >= 0);
	close(fd);
	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: metrics\n    Listen: 127.0.0.1:0\n"
	    "    LineProtocol: %s\n",
	    lp);
	c = parse(text);
	if (outputs_open(&o, c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	s = o.sinks[0];
	assert_int_equal(s->takes, SINK_METRICS);
	xmetrics(&x, 0.5, 2048);
	if (s->ops->write_metrics(s, &x.m, &nrec, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_null(s->ops->flush); /* written in full before write returns */

	url = strstr(s->name, "http://");
	assert_non_null(url);
	snprintf(cmd, sizeof(cmd),
	    "/usr/bin/python3 -c '\n"
	    "import sys, urllib.request\n"
	    "from prometheus_client.parser import "
	    "text_string_to_metric_families\n"
	    "r = urllib.request.urlopen(sys.argv[1], timeout=10)\n"
	    "assert r.headers[\"Content-Type\"].startswith(\"text/plain\")\n"
	    "for f in text_string_to_metric_families(r.read().decode()):\n"
	    "    for m in f.samples:\n"
	    "        print(f.type, f.documentation, m.name, "
	    "sorted(m.labels.items()), m.value)\n"
	    "' %s 2>&1",
	    url);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	n = fread(got, 1, sizeof(got) - 1, fp);
	got[n] = '\0';
	if (pclose(fp) != 0)
		fail_msg("the parser failed: %s", got);
	assert_non_null(strstr(got,
	    "gauge Go runtime metric from profpipe (cores). prof_go_cpu_cores "
	    "[('env', 'pr\"od\\\\\\n'), ('instance', '10.0.0.1:6060'), "
	    "('job', 'go'), ('k8s_zone', 'a b,c=d'), ('service', 'shop')] "
	    "0.5\n"));
	assert_non_null(strstr(got, "prof_go_heap_bytes"));
	assert_non_null(strstr(got, " nan\n"));

	/* the line protocol file got the line */
	fp = fopen(lp, "r");
	assert_non_null(fp);
	n = fread(got, 1, sizeof(got) - 1, fp);
	fclose(fp);
	got[n] = '\0';
	assert_non_null(strstr(got, "profiling_metrics,service=shop,"));
	assert_non_null(strstr(got, " 1700000010000000000\n"));
	outputs_close(&o);
	cfg_free(c);
	unlink(lp);
}

static void
refused(const char *text, const char *want)
{
	struct outputs o;
	struct cfg *c = parse(text);
	char err[512];

	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", err, want);
	cfg_free(c);
}

static void
test_config_errors(void **state)
{
	struct outputs o;
	struct cfg *c;
	char text[256];
	char err[512];
	int port;

	(void)state;
	refused("outputs:\n  - Type: metrics\n", "m.yaml:2: metrics: Listen");
	refused("outputs:\n  - Type: metrics\n    Listen: nope\n",
	    "m.yaml:3: Listen: \"nope\": want host:port");
	refused("outputs:\n  - Type: metrics\n    Listen: 127.0.0.1:99999\n",
	    "m.yaml:3: Listen:");
	refused(
	    "outputs:\n  - Type: metrics\n    LineProtocol: /nonexistent/x\n",
	    "m.yaml:3: LineProtocol: /nonexistent/x");
	refused("outputs:\n  - Type: metrics\n    Listen: 127.0.0.1:0\n"
	        "    MaxSeries: 0\n",
	    "m.yaml:4:");
	refused("outputs:\n  - Type: metrics\n    Listen: 127.0.0.1:0\n"
	        "    SeriesTTL: -1\n",
	    "m.yaml:4: SeriesTTL");
	/* a port in use is refused at start */
	c = parse("outputs:\n  - Type: metrics\n    Listen: 127.0.0.1:0\n");
	assert_int_equal(outputs_open(&o, c, err, sizeof(err)), 0);
	port = atoi(strrchr(o.sinks[0]->name, ':') + 1);
	assert_true(port > 0);
	snprintf(text, sizeof(text),
	    "outputs:\n  - Type: metrics\n    Listen: 127.0.0.1:%d\n", port);
	refused(text, "m.yaml:3: Listen:");
	outputs_close(&o);
	cfg_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exposition),
	    cmocka_unit_test(test_series_cap),
	    cmocka_unit_test(test_series_expire),
	    cmocka_unit_test(test_lineproto),
	    cmocka_unit_test(test_not_utf8),
	    cmocka_unit_test(test_http_parsed),
	    cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
