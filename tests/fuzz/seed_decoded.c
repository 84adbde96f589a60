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

#include "tests/unit/decoded_file.h"

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
	const char *shape = argc > 4 ? argv[4] : "decoded";
	int is_delta = argc > 3 && strcmp(argv[3], "1") == 0;
	Profpipe__Result r = PROFPIPE__RESULT__INIT;
	Profpipe__Window w = PROFPIPE__WINDOW__INIT;
	struct decoded_file f;
	Profpipe__Origin o;
	char err[512];
	int rv = 0;

	if (argc < 3) {
		fprintf(stderr,
		    "usage: seed_decoded FILE KIND [IS_DELTA [SHAPE]]\n");
		return 100;
	}
	if (strcmp(shape, "metrics") == 0) {
		decoded_file_origin(&o, argv[1], argv[2], is_delta);
		put_metrics(&o);
		return 0;
	}
	if (decoded_file_load(
	        &f, argv[1], argv[2], is_delta, err, sizeof(err)) < 0) {
		fprintf(stderr, "seed_decoded: %s: %s\n", argv[1], err);
		decoded_file_free(&f);
		return 1;
	}
	if (strcmp(shape, "decoded") == 0) {
		put(&f.d.base);
	} else if (strcmp(shape, "profile") == 0) {
		r.profile = &f.d;
		put(&r.base);
	} else if (strcmp(shape, "window") == 0) {
		f.d.origin =
		    NULL; /* wire.proto: a merged profile's is unset */
		w.origin = &f.o;
		w.merged = &f.d;
		w.n_profiles = 1;
		r.window = &w;
		put(&r.base);
	} else {
		fprintf(stderr, "seed_decoded: unknown shape %s\n", shape);
		rv = 100;
	}
	decoded_file_free(&f);
	return rv;
}
