/*
 * export_window: windows for the exporter's window sinks' tests, without
 * an aggregator: the hand-built fixture's profile (export_fixture.h)
 * wrapped as a Window, and corpus profiles decoded with the decoder's own
 * decode_profile and wrapped the same way, as the aggregator does (a
 * window's merged profile is a Decoded with the window's origin).
 */
#ifndef PROFPIPE_TEST_EXPORT_WINDOW_H
#define PROFPIPE_TEST_EXPORT_WINDOW_H

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "decoder/decode.h"
#include "tests/unit/decode_util.h"
#include "tests/unit/export_fixture.h"

struct xwindow {
	Profpipe__Window w;
	Profpipe__Origin o;
	char *instances[1];
	struct arena *arena; /* corpus windows */
	Profpipe__Decoded d;
};

/* The fixture's CPU profile as a window of service shop over
 * [1700000000, 1700000010) s, instances merged ("" instance). */
static inline void
xwindow_fixture(struct xwindow *x, struct fixture *f)
{
	memset(x, 0, sizeof(*x));
	fixture_cpu(f);
	profpipe__window__init(&x->w);
	x->o = f->o;
	x->o.profile_id = (char *)"7a2b0c1d-0000-4000-8000-00000000000w";
	x->o.instance = (char *)"";
	x->o.start_ns = 1700000000000000000LL;
	x->o.end_ns = 1700000010000000000LL;
	x->o.is_delta = 1;
	x->w.origin = &x->o;
	x->w.merged = &f->d;
	f->d.origin = &x->o; /* as the stage sets it */
	f->d.duration_ns = x->o.end_ns - x->o.start_ns;
	x->w.n_profiles = 1;
	x->instances[0] = (char *)"127.0.0.1:6060";
	x->w.n_instances = 1;
	x->w.instances = x->instances;
}

/* Corpus file name (under real/) decoded into a window of kind kind. 0 or
 * -1 (the corpus or the decode failed). xwindow_free after. */
static inline int
xwindow_corpus(struct xwindow *x, const char *name, const char *kind)
{
	struct decode_limits lim;
	char path[512];
	char err[256];
	uint8_t *body;
	size_t len;
	int rv;

	memset(x, 0, sizeof(*x));
	snprintf(path, sizeof(path), "%s/real/%s", CORPUS, name);
	body = du_slurp(path, &len);
	if (body == NULL)
		return -1;
	decode_limits_default(&lim);
	x->arena = arena_new(decode_arena_cap(&lim));
	profpipe__decoded__init(&x->d);
	rv =
	    decode_profile(body, len, &lim, x->arena, &x->d, err, sizeof(err));
	free(body);
	if (rv < 0)
		return -1;
	profpipe__window__init(&x->w);
	profpipe__origin__init(&x->o);
	x->o.profile_id = (char *)"7a2b0c1d-0000-4000-8000-0000000000c0";
	x->o.source = (char *)"pull";
	x->o.kind = (char *)kind;
	x->o.service = (char *)"corpus svc";
	x->o.instance = (char *)"10.0.0.1:6060";
	x->o.job = (char *)"go";
	x->o.start_ns = 1700000000000000000LL;
	x->o.end_ns = 1700000060000000000LL;
	x->o.is_delta = 1;
	x->d.origin = &x->o;
	x->d.duration_ns = x->o.end_ns - x->o.start_ns;
	x->w.origin = &x->o;
	x->w.merged = &x->d;
	x->w.n_profiles = 1;
	return 0;
}

static inline void
xwindow_free(struct xwindow *x)
{
	arena_free(x->arena);
	x->arena = NULL;
}

#endif
