/*
 * bench_aggregate: where the aggregator's CPU per profile goes, step by
 * step, in one process with no pipeline around it: each file is decoded
 * once and packed as the Decoded a decoder sends (kind from its name, as
 * pipebench gives it: one series per file), then, for at least MIN
 * seconds, unpacked and checked (delta_unpack), turned into its result
 * against the previous one as baseline (delta_apply, delta_commit) and
 * merged into one window (window_add), each step timed apart.
 *
 *   bench_aggregate MIN FILE...
 *
 * One line per file, tab-separated:
 *
 *   file stacks frames iterations unpack_us delta_us window_us
 *
 * (CPU microseconds per profile). A steady service's next profile is
 * mostly the stacks of its last: feeding the same profile again is the
 * case the window's lookup by text is built for, and the deltas of a
 * cumulative profile against itself are 0, so its window step is short.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator/delta.h"
#include "aggregator/window.h"
#include "common/arena.h"
#include "decoder/decode.h"

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The kind pipebench gives a file of this name. */
static const char *
kind_of(const char *path)
{
	static const char *const map[][2] = {{"heap", "mem"},
	    {"allocs", "allocs"}, {"goroutine", "goroutines"},
	    {"mutex", "mutex"}, {"block", "block"},
	    {"threadcreate", "threadcreate"}};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strstr(path, map[i][0]) != NULL)
			return map[i][1];
	}
	return "cpu";
}

/* f decoded and packed as a decoder sends it (malloc'd). */
static uint8_t *
packed(const char *path, size_t *len, size_t *stacks, size_t *frames)
{
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	Profpipe__Decoded d;
	struct decode_limits lim;
	struct arena *a;
	char err[512];
	uint8_t *body;
	uint8_t *out;
	size_t n;

	body = slurp(path, &n);
	decode_limits_default(&lim);
	a = arena_new(decode_arena_cap(&lim));
	if (a == NULL ||
	    decode_profile(body, n, &lim, a, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_aggregate: %s: %s\n", path,
		    a == NULL ? "out of memory" : err);
		exit(1);
	}
	o.profile_id = "00000000-0000-4000-8000-000000000001";
	o.source = "pull";
	o.kind = (char *)kind_of(path);
	o.service = "bench";
	o.instance = "file:6060";
	o.job = "bench";
	o.target = (char *)path;
	o.end_ns = 1700000010000000000LL;
	o.start_ns = o.end_ns - 10000000000LL;
	o.is_delta = strstr(path, "delta") != NULL;
	d.origin = &o;
	*stacks = d.n_stack_hash;
	*frames = d.n_stack_frames;
	*len = profpipe__decoded__get_packed_size(&d);
	out = malloc(*len);
	if (out == NULL)
		exit(1);
	profpipe__decoded__pack(&d, out);
	arena_free(a);
	free(body);
	return out;
}

static void
bench_file(const char *path, double min)
{
	struct delta_state st;
	struct delta_state next;
	struct delta_report rep;
	Profpipe__Decoded *in;
	Profpipe__Decoded *res;
	struct window *w;
	struct arena *a = arena_new(0);
	struct arena *scratch = arena_new(0);
	double t[4];
	double sum[3] = {0, 0, 0};
	char err[512];
	uint8_t *msg;
	size_t len;
	size_t stacks;
	size_t frames;
	long iters = 0;

	msg = packed(path, &len, &stacks, &frames);
	memset(&st, 0, sizeof(st));
	if (a == NULL || scratch == NULL ||
	    window_new(&w, 0, INT64_MAX, 100000, 0) < 0)
		exit(1);
	do {
		arena_reset(a);
		arena_reset(scratch);
		memset(&next, 0, sizeof(next));
		t[0] = cpu_now();
		if (delta_unpack(a, msg, len, &in, err, sizeof(err)) < 0) {
			fprintf(
			    stderr, "bench_aggregate: %s: %s\n", path, err);
			exit(1);
		}
		t[1] = cpu_now();
		if (delta_apply(&st, in, 100000, a, &res, &next, &rep) < 0)
			exit(1);
		delta_commit(&st, &next);
		t[2] = cpu_now();
		if (window_add(w, res, scratch) < 0)
			exit(1);
		t[3] = cpu_now();
		sum[0] += t[1] - t[0];
		sum[1] += t[2] - t[1];
		sum[2] += t[3] - t[2];
		iters++;
	} while (sum[0] + sum[1] + sum[2] < min);
	printf("%s\t%zu\t%zu\t%ld\t%.1f\t%.1f\t%.1f\n", path, stacks, frames,
	    iters, sum[0] / (double)iters * 1e6, sum[1] / (double)iters * 1e6,
	    sum[2] / (double)iters * 1e6);
	delta_state_release(&st);
	window_free(w);
	arena_free(a);
	arena_free(scratch);
	free(msg);
}

int
main(int argc, char **argv)
{
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_aggregate MIN FILE...\n");
		return 100;
	}
	for (i = 2; i < argc; i++)
		bench_file(argv[i], atof(argv[1]));
	return 0;
}
