/*
 * decoded_file: a pprof file decoded as profpipe-decoder decodes it, with
 * an origin as the fetcher gives one, for the programs that start from
 * the Decoded message of a real profile (tests/fuzz/seed_decoded,
 * tests/bench/bench_aggregate). Header-only.
 */
#ifndef PROFPIPE_TEST_DECODED_FILE_H
#define PROFPIPE_TEST_DECODED_FILE_H

#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/decode_util.h"

struct decoded_file {
	struct arena *a; /* what d points into */
	Profpipe__Decoded d;
	Profpipe__Origin o; /* d.origin */
};

/* The origin the programs give a profile of target: kind kind, service
 * "profpipe", one fixed profile id, a 10 s span ending 1700000010 s. */
static inline void
decoded_file_origin(
    Profpipe__Origin *o, const char *target, const char *kind, int is_delta)
{
	Profpipe__Origin init = PROFPIPE__ORIGIN__INIT;

	*o = init;
	o->profile_id = "00000000-0000-4000-8000-000000000001";
	o->source = "pull";
	o->kind = (char *)kind;
	o->service = "profpipe";
	o->instance = "localhost:6060";
	o->job = "profpipe";
	o->target = (char *)target;
	o->end_ns = 1700000010000000000LL;
	o->start_ns = o->end_ns - 10000000000LL;
	o->is_delta = is_delta;
}

/* path decoded into f, with decoded_file_origin's origin. 0, or -1 with
 * the reason in err. decoded_file_free(f) either way. */
static inline int
decoded_file_load(struct decoded_file *f, const char *path, const char *kind,
    int is_delta, char *err, size_t errlen)
{
	struct decode_limits lim;
	uint8_t *body;
	size_t len;
	int rv;

	decoded_file_origin(&f->o, path, kind, is_delta);
	decode_limits_default(&lim);
	f->a = arena_new(decode_arena_cap(&lim));
	body = du_slurp(path, &len);
	if (f->a == NULL || body == NULL) {
		snprintf(err, errlen, "%s: %s", path,
		    body == NULL ? "cannot read it" : "out of memory");
		free(body);
		return -1;
	}
	rv = decode_profile(body, len, &lim, f->a, &f->d, err, errlen);
	free(body);
	if (rv != 0)
		return -1;
	f->d.origin = &f->o;
	return 0;
}

static inline void
decoded_file_free(struct decoded_file *f)
{
	arena_free(f->a);
	f->a = NULL;
}

#endif
