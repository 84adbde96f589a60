/*
 * libFuzzer target: what the aggregator does with each Decoded message a
 * decoder hands it (aggregator/stage.c, agg_handle and agg_commit). The
 * input is the message's bytes. delta_unpack must refuse it or accept it;
 * for one it accepts, as the stage would:
 *
 * - delta_apply against a series with no baseline yet, then again with
 *   that profile as the baseline, so the delta modes the origin's kind
 *   allows are met;
 * - each result spliced into a Result from the bytes received, which
 *   must read back as exactly the Result protobuf-c packs from the same
 *   result (compared canonically, packed again by protobuf-c), and whose
 *   profile must pass decoded_check, as the exporter requires;
 * - both results merged into one window small enough to fold, whose
 *   message's merged profile must pass decoded_check and hold, summed
 *   over every stack and value type, what the two results held (when no
 *   value is large enough for a sum to saturate);
 * - both results fed to the runtime metrics, and their window built.
 *
 * Seeds are Decoded messages of real profiles (tests/fuzz/seed_decoded.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/delta.h"
#include "aggregator/metrics.h"
#include "aggregator/splice.h"
#include "aggregator/window.h"
#include "common/arena.h"
#include "common/decoded.h"

#define ARENA_CAP ((size_t)256 << 20)
#define MAX_STACKS 64   /* a delta baseline's: small, to refuse some */
#define WINDOW_STACKS 8 /* small, to fold */
#define SMALL ((int64_t)1 << 40)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_aggregate: %s: %s\n", what, err);
	abort();
}

static void
check(const Profpipe__Decoded *d, const char *what)
{
	char err[512];

	if (decoded_check(d, err, sizeof(err)) < 0)
		fail(what, err);
}

/* A Result's bytes read back and packed again by protobuf-c. */
static uint8_t *
canonical(const void *buf, size_t len, size_t *outlen)
{
	Profpipe__Result *r = profpipe__result__unpack(NULL, len, buf);
	uint8_t *out;

	if (r == NULL || r->profile == NULL)
		fail("splice", "the Result does not read back");
	check(r->profile, "the spliced Result's profile");
	*outlen = profpipe__result__get_packed_size(r);
	out = malloc(*outlen + 1);
	if (out == NULL)
		abort();
	profpipe__result__pack(r, out);
	profpipe__result__free_unpacked(r, NULL);
	return out;
}

/* The spliced Result for res is the one protobuf-c packs. */
static void
check_splice(struct arena *a, const uint8_t *buf, size_t len,
    const Profpipe__Decoded *in, const Profpipe__Decoded *res)
{
	Profpipe__Result want = PROFPIPE__RESULT__INIT;
	uint8_t *w;
	uint8_t *cw;
	uint8_t *cg;
	void *got;
	size_t wlen;
	size_t glen;
	size_t cwlen;
	size_t cglen;

	if (splice_result(a, buf, len, in, res, &got, &glen) < 0)
		return; /* the arena's cap */
	want.profile = (Profpipe__Decoded *)res;
	wlen = profpipe__result__get_packed_size(&want);
	w = malloc(wlen + 1);
	if (w == NULL)
		abort();
	profpipe__result__pack(&want, w);
	cw = canonical(w, wlen, &cwlen);
	cg = canonical(got, glen, &cglen);
	if (cglen != cwlen || memcmp(cg, cw, cwlen) != 0)
		fail("splice", "the spliced Result is not the packed one");
	free(cg);
	free(cw);
	free(w);
}

/* The sum of d's values in the types not marked absent; 0 with *small
 * cleared when one is too large to sum without saturating. */
static int64_t
total(const Profpipe__Decoded *d, int *small)
{
	size_t nty = d->n_sample_types;
	int64_t sum = 0;
	int64_t v;
	size_t i;

	for (i = 0; nty > 0 && i < d->n_values; i++) {
		if (d->sample_types[i % nty]->absent)
			continue;
		v = d->values[i];
		if (v >= SMALL || v <= -SMALL)
			*small = 0;
		else
			sum += v;
	}
	return sum;
}

static void
check_window(
    struct arena *a, const Profpipe__Decoded *r1, const Profpipe__Decoded *r2)
{
	Profpipe__Window *m;
	struct window *w;
	int small = 1;
	int64_t want = total(r1, &small) + total(r2, &small);
	int64_t got = 0;
	size_t i;
	int rv;

	if (window_new(&w, 0, INT64_MAX, WINDOW_STACKS, 0) < 0)
		abort();
	rv = window_add(w, r1, arena_scratch(a));
	if (rv == 0)
		rv = window_add(w, r2, arena_scratch(a));
	if (rv == 0 && window_message(w, a, &m) == 0) {
		/* The merged profile's origin is the Window's own. */
		m->merged->origin = m->origin;
		check(m->merged, "the window's merged profile");
		for (i = 0; small && i < m->merged->n_values; i++)
			got += m->merged->values[i];
		if (small && got != want) {
			fprintf(stderr, "window total %lld, profiles %lld\n",
			    (long long)got, (long long)want);
			fail("window", "totals differ");
		}
	}
	window_free(w);
}

static void
check_metrics(struct arena *a, const Profpipe__Decoded *r1,
    const struct delta_report *rep1, const Profpipe__Decoded *r2,
    const struct delta_report *rep2)
{
	struct metrics_state ms;
	struct metrics_acc *acc;
	Profpipe__Metrics *out;

	memset(&ms, 0, sizeof(ms));
	(void)metrics_feed(&ms, r1, rep1, 10000000000LL);
	(void)metrics_feed(&ms, r2, rep2, 10000000000LL);
	while ((acc = metrics_due(&ms, INT64_MAX)) != NULL) {
		(void)metrics_message(&ms, acc, a, &out);
		metrics_drop(&ms, acc);
	}
	metrics_state_release(&ms);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	struct delta_state st;
	struct delta_state next;
	struct delta_report rep1;
	struct delta_report rep2;
	Profpipe__Decoded *d;
	Profpipe__Decoded *r1;
	Profpipe__Decoded *r2;
	char err[512];

	if (a == NULL && (a = arena_new(ARENA_CAP)) == NULL)
		abort();
	arena_reset(a);
	if (delta_unpack(a, data, size, &d, err, sizeof(err)) < 0)
		return 0;
	memset(&st, 0, sizeof(st));
	memset(&next, 0, sizeof(next));
	if (delta_apply(&st, d, MAX_STACKS, a, &r1, &next, &rep1) < 0)
		return 0;
	check(r1, "the first result");
	check_splice(a, data, size, d, r1);
	delta_commit(&st, &next);
	if (delta_apply(&st, d, MAX_STACKS, a, &r2, &next, &rep2) == 0) {
		check(r2, "the second result");
		check_splice(a, data, size, d, r2);
		check_window(a, r1, r2);
		check_metrics(a, r1, &rep1, r2, &rep2);
	}
	delta_state_release(&next);
	delta_state_release(&st);
	return 0;
}
