/*
 * seed_decoded FILE KIND [IS_DELTA]: decode the pprof profile FILE as
 * profpipe-decoder does and write the Decoded message it would hand to
 * the aggregator (origin kind KIND, is_delta if IS_DELTA is 1) to stdout.
 * tests/fuzz/run makes fuzz_aggregate's seeds with it: a libFuzzer
 * target cannot add inputs of its own, and mutating real Decoded
 * messages reaches far more of the aggregator than random bytes do.
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

int
main(int argc, char **argv)
{
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	Profpipe__Decoded d;
	struct decode_limits lim;
	struct arena *a;
	char err[512];
	uint8_t *body;
	uint8_t *out;
	size_t len;
	size_t n;

	if (argc < 3) {
		fprintf(stderr, "usage: seed_decoded FILE KIND [IS_DELTA]\n");
		return 100;
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
	d.origin = &o;
	n = profpipe__decoded__get_packed_size(&d);
	out = malloc(n);
	if (out == NULL) {
		fprintf(stderr, "seed_decoded: out of memory\n");
		return 1;
	}
	profpipe__decoded__pack(&d, out);
	if (fwrite(out, 1, n, stdout) != n) {
		perror("seed_decoded: stdout");
		return 1;
	}
	free(out);
	free(body);
	arena_free(a);
	return 0;
}
