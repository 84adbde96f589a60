/*
 * store-feed: windows made from a pprof file, for the store's end-to-end
 * test and its query benchmark (tests/bench/store-query).
 *
 *   store-feed send URL FILE KIND SERVICE INSTANCE START N STEP
 *       Send N Result{window}s to an exporter listening on URL (REQ, as
 *       the aggregator does) and wait for each ack. Window i covers
 *       [START + i*STEP, +STEP) seconds and holds FILE's stacks with every
 *       value times i + 1, so ranges sum differently. Prints one line per
 *       window: "window ID START TOTAL" (TOTAL: the kind's column).
 *   store-feed db PATH FILE KIND SERVICE START N STEP [STACKS]
 *       The same windows written straight into the store at PATH; with
 *       STACKS, only FILE's first STACKS stacks (a service of that many
 *       distinct stacks, for a size no corpus file has).
 *   store-feed query PATH SERVICE KIND VALUETYPE FROM TO REPEAT
 *       Time store_merge + flame_build + flame_json, REPEAT times: prints
 *       the fastest and the median in ms, the stacks and the elements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ack.h"
#include "common/arena.h"
#include "common/bus.h"
#include "common/uuid.h"
#include "decoder/decode.h"
#include "exporter/flame.h"
#include "exporter/profile.h"
#include "exporter/store.h"
#include "exporter/store_query.h"

struct feed {
	struct arena *arena;
	Profpipe__Decoded d;
	Profpipe__Origin o;
	Profpipe__Window w;
	int64_t *base; /* the file's values */
	char id[UUID_STRLEN + 1];
	char *inst[1];
};

static double
feed_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
feed_load(struct feed *f, const char *file, const char *kind,
    const char *service, const char *instance)
{
	struct decode_limits lim;
	char err[512];
	uint8_t *body;
	long len;
	FILE *fp = fopen(file, "rb");

	if (fp == NULL || fseek(fp, 0, SEEK_END) < 0 ||
	    (len = ftell(fp)) < 0) {
		perror(file);
		return -1;
	}
	rewind(fp);
	body = malloc((size_t)len + 1);
	if (body == NULL || fread(body, 1, (size_t)len, fp) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", file);
		return -1;
	}
	fclose(fp);
	decode_limits_default(&lim);
	f->arena = arena_new(decode_arena_cap(&lim));
	profpipe__decoded__init(&f->d);
	if (decode_profile(body, (size_t)len, &lim, f->arena, &f->d, err,
	        sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", file, err);
		return -1;
	}
	free(body);
	f->base = malloc((f->d.n_values + 1) * sizeof(int64_t));
	memcpy(f->base, f->d.values, f->d.n_values * sizeof(int64_t));
	profpipe__origin__init(&f->o);
	f->o.source = (char *)"pull";
	f->o.kind = (char *)kind;
	f->o.service = (char *)service;
	f->o.instance = (char *)instance;
	f->o.job = (char *)"store-feed";
	f->o.is_delta = 1;
	f->o.profile_id = f->id;
	profpipe__window__init(&f->w);
	f->w.origin = &f->o;
	f->w.merged = &f->d;
	f->w.n_profiles = 1;
	f->inst[0] = (char *)(instance[0] ? instance : "127.0.0.1:1");
	f->w.n_instances = 1;
	f->w.instances = f->inst;
	return 0;
}

/* Window i: times and values; returns the kind column's total. */
static int64_t
feed_window(struct feed *f, long start, long i, long step)
{
	struct export_col col;
	int64_t total = 0;
	size_t k;

	uuid_v4(f->id);
	f->o.start_ns = (int64_t)(start + i * step) * 1000000000LL;
	f->o.end_ns = f->o.start_ns + (int64_t)step * 1000000000LL;
	for (k = 0; k < f->d.n_values; k++)
		f->d.values[k] = f->base[k] * (i + 1);
	f->d.origin = &f->o;
	f->d.duration_ns = f->o.end_ns - f->o.start_ns;
	if (export_kind_column(&f->d, &col) == 0) {
		for (k = 0; k < export_n_stacks(&f->d); k++)
			total += export_value(&f->d, k, &col);
	}
	f->d.origin = NULL; /* a window's merged profile has none */
	return total;
}

static int
feed_send(char **av)
{
	struct bus_sock *sock;
	struct bus_ctx *ctx;
	Profpipe__Result r = PROFPIPE__RESULT__INIT;
	struct feed f;
	char err[512];
	uint8_t *msg;
	void *reply;
	size_t rlen;
	size_t len;
	long n = atol(av[6]), step = atol(av[7]), start = atol(av[5]);
	long i;
	int64_t total;

	if (feed_load(&f, av[1], av[2], av[3], av[4]) < 0)
		return 1;
	if (bus_open(&sock, BUS_REQ, av[0], 0, err, sizeof(err)) < 0 ||
	    bus_ctx_new(sock, &ctx) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	r.window = &f.w;
	for (i = 0; i < n; i++) {
		total = feed_window(&f, start, i, step);
		len = profpipe__result__get_packed_size(&r);
		msg = malloc(len + 1);
		profpipe__result__pack(&r, msg);
		if (bus_call(ctx, msg, len, &reply, &rlen, 30000) < 0 ||
		    ack_read(reply, rlen, err, sizeof(err)) != 0) {
			fprintf(stderr, "window %ld: not acked\n", i);
			return 1;
		}
		bus_free(reply, rlen);
		free(msg);
		printf("window %s %lld %lld\n", f.id,
		    (long long)(f.o.start_ns / 1000000000LL),
		    (long long)total);
		fflush(stdout);
	}
	bus_ctx_free(ctx);
	bus_close(sock);
	return 0;
}

/* Keep only the first n stacks: the stack arrays are cut short, and the
 * frames and strings only the dropped stacks used stay unreferenced. */
static void
feed_keep(struct feed *f, size_t n)
{
	Profpipe__Decoded *d = &f->d;

	if (n >= export_n_stacks(d))
		return;
	d->n_stack_offset = n + 1;
	d->n_stack_hash = n;
	d->n_stack_frames = d->stack_offset[n];
	d->n_values = n * d->n_sample_types;
}

static int
feed_db(char **av)
{
	struct store_limits lim = {0, 0};
	struct store *s;
	struct feed f;
	char err[512];
	size_t nrows;
	long n = atol(av[5]), step = atol(av[6]), start = atol(av[4]);
	long i;
	double t0 = feed_ms();

	if (feed_load(&f, av[1], av[2], av[3], "") < 0)
		return 1;
	if (av[7] != NULL)
		feed_keep(&f, strtoul(av[7], NULL, 10));
	if (store_open(&s, av[0], &lim, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	for (i = 0; i < n; i++) {
		feed_window(&f, start, i, step);
		if (store_put_window(s, &f.w, &nrows, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	}
	store_close(s);
	printf("wrote %ld windows of %zu stacks in %.0f ms\n", n,
	    export_n_stacks(&f.d), feed_ms() - t0);
	return 0;
}

static int
feed_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
feed_query(char **av)
{
	struct store *s;
	struct store_sel q;
	struct store_merged m;
	struct export_col col;
	struct arena *a = arena_new(0);
	struct flame fl;
	struct buf out;
	double ms[100], merge[100], tree[100];
	char err[512];
	long rep = atol(av[6]);
	long i;
	double t0;

	if (rep < 1 || rep > 100 ||
	    store_open_ro(&s, av[0], err, sizeof(err)) < 0)
		return 1;
	memset(&q, 0, sizeof(q));
	q.service = av[1];
	q.kind = av[2];
	q.value_type = av[3];
	q.range[0].from_ns = atoll(av[4]) * 1000000000LL;
	q.range[0].to_ns = atoll(av[5]) * 1000000000LL;
	q.n_ranges = 1;
	flame_init(&fl);
	buf_init(&out, (size_t)1 << 30);
	for (i = 0; i < rep; i++) {
		t0 = feed_ms();
		arena_reset(a);
		buf_clear(&out);
		if (store_merge(s, &q, a, &m, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		merge[i] = feed_ms() - t0;
		col.type = av[3];
		col.unit = m.unit;
		col.src = 0;
		col.mul = 1;
		if (flame_build(&fl, &m.d, &col, NULL) < 0)
			return 1;
		tree[i] = feed_ms() - t0 - merge[i];
		if (flame_json(&fl, "bench", &col, NULL, &out) < 0)
			return 1;
		ms[i] = feed_ms() - t0;
	}
	qsort(ms, (size_t)rep, sizeof(ms[0]), feed_cmp);
	qsort(merge, (size_t)rep, sizeof(ms[0]), feed_cmp);
	qsort(tree, (size_t)rep, sizeof(ms[0]), feed_cmp);
	printf("%zu windows, %zu stacks, %zu elements, %zu bytes of JSON"
	       " (every element)\n"
	       "  store_merge %.1f ms, flame_build %.1f ms, all with JSON"
	       " %.1f ms (medians of %ld)\n",
	    m.n_windows, export_n_stacks(&m.d), fl.n, out.len, merge[rep / 2],
	    tree[rep / 2], ms[rep / 2], rep);
	store_close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 10 && strcmp(argv[1], "send") == 0)
		return feed_send(argv + 2);
	if ((argc == 9 || argc == 10) && strcmp(argv[1], "db") == 0)
		return feed_db(argv + 2);
	if (argc == 9 && strcmp(argv[1], "query") == 0)
		return feed_query(argv + 2);
	fprintf(stderr, "usage: see the top of tests/bench/store_feed.c\n");
	return 100;
}
