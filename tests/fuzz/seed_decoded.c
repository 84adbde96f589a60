/*
 * seed_decoded FILE KIND [IS_DELTA [SHAPE]]: decode the pprof profile FILE
 * as profpipe-decoder does and write to stdout the Decoded message it
 * would hand to the aggregator (origin kind KIND, is_delta if IS_DELTA is
 * 1), or with SHAPE a Result as the aggregator hands the exporter one:
 * "profile" (the profile as it is), "window" (the profile as a window's
 * merged stacks) or "metrics" (a few runtime metrics, FILE unread).
 * tests/fuzz/run makes fuzz_aggregate's and fuzz_export's seeds with it:
 * a libFuzzer target cannot add inputs of its own, and mutating real
 * messages reaches far more of a stage than random bytes do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "decoder/decode.h"

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

static void
put(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *out = malloc(n + 1);

	if (out == NULL) {
		fprintf(stderr, "seed_decoded: out of memory\n");
		exit(1);
	}
	protobuf_c_message_pack(m, out);
	if (fwrite(out, 1, n, stdout) != n) {
		perror("seed_decoded: stdout");
		exit(1);
	}
	free(out);
}

/* Result{metrics}: what the aggregator derives for a Go instance. */
static void
put_metrics(Profpipe__Origin *o)
{
	static const char *const names[][2] = {
	    {"prof_go_cpu_cores", "cores"},
	    {"prof_go_alloc_bytes_per_sec", "bytes/s"},
	    {"prof_go_num_goroutine", "count"},
	    {"prof_go_gc_pause_time", "ns"},
	};
	Profpipe__Result r = PROFPIPE__RESULT__INIT;
	Profpipe__Metrics m = PROFPIPE__METRICS__INIT;
	Profpipe__Metric e[4];
	Profpipe__Metric *ep[4];
	size_t i;

	for (i = 0; i < 4; i++) {
		profpipe__metric__init(&e[i]);
		e[i].name = (char *)names[i][0];
		e[i].unit = (char *)names[i][1];
		e[i].value = 0.25 * (double)(i + 1) * 1e3;
		ep[i] = &e[i];
	}
	m.origin = o;
	m.n_metrics = 4;
	m.metrics = ep;
	r.metrics = &m;
	put(&r.base);
}

int
main(int argc, char **argv)
{
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	Profpipe__Decoded d;
	struct decode_limits lim;
	struct arena *a;
	char err[512];
	uint8_t *body;
	size_t len;

	const char *shape = argc > 4 ? argv[4] : "decoded";
	Profpipe__Result r = PROFPIPE__RESULT__INIT;
	Profpipe__Window w = PROFPIPE__WINDOW__INIT;

	if (argc < 3) {
		fprintf(stderr,
		    "usage: seed_decoded FILE KIND [IS_DELTA [SHAPE]]\n");
		return 100;
	}
	o.profile_id = "00000000-0000-4000-8000-000000000001";
	o.source = "pull";
	o.kind = argv[2];
	o.service = "seed";
	o.instance = "localhost:6060";
	o.job = "fuzz";
	o.target = argv[1];
	o.start_ns = 1700000000000000000LL;
	o.end_ns = o.start_ns + 10000000000LL;
	o.is_delta = argc > 3 && strcmp(argv[3], "1") == 0;
	if (strcmp(shape, "metrics") == 0) {
		put_metrics(&o);
		return 0;
	}
	body = slurp(argv[1], &len);
	decode_limits_default(&lim);
	a = arena_new(decode_arena_cap(&lim));
	if (a == NULL ||
	    decode_profile(body, len, &lim, a, &d, err, sizeof(err)) != 0) {
		fprintf(stderr, "seed_decoded: %s: %s\n", argv[1],
		    a == NULL ? "out of memory" : err);
		return 1;
	}
	d.origin = &o;
	if (strcmp(shape, "decoded") == 0) {
		put(&d.base);
	} else if (strcmp(shape, "profile") == 0) {
		r.profile = &d;
		put(&r.base);
	} else if (strcmp(shape, "window") == 0) {
		d.origin = NULL; /* wire.proto: a merged profile's is unset */
		w.origin = &o;
		w.merged = &d;
		w.n_profiles = 1;
		r.window = &w;
		put(&r.base);
	} else {
		fprintf(stderr, "seed_decoded: unknown shape %s\n", shape);
		return 100;
	}
	free(body);
	arena_free(a);
	return 0;
}
