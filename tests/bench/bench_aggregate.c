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
#include "tests/bench/pipebench_raw.h"
#include "tests/unit/decoded_file.h"

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* path decoded and packed as a decoder sends it (malloc'd). */
static uint8_t *
packed(const char *path, size_t *len, size_t *stacks, size_t *frames)
{
	struct decoded_file f;
	char err[512];
	uint8_t *out;

	if (decoded_file_load(&f, path, raw_kind(path),
	        strstr(path, "delta") != NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_aggregate: %s: %s\n", path, err);
		exit(1);
	}
	*stacks = f.d.n_stack_hash;
	*frames = f.d.n_stack_frames;
	*len = profpipe__decoded__get_packed_size(&f.d);
	out = malloc(*len);
	if (out == NULL)
		exit(1);
	profpipe__decoded__pack(&f.d, out);
	decoded_file_free(&f);
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
