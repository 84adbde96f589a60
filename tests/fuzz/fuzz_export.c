/*
 * libFuzzer target: what the exporter does with each Result the
 * aggregator hands it, up to the bytes its sinks write. The input is the
 * Result's bytes: unpacked as the stage does, its shape checked
 * (export_item), then every format a sink writes, built in memory:
 *
 * - records (jsonl): every line one valid JSON value, well-formed UTF-8;
 * - folded stacks: as many lines as it says, each its frames, a space and
 *   a positive number, whatever the names hold;
 * - the flame graph's JSON (store and UI): valid JSON, and the root's
 *   total the sum of the column's values (when no value is large enough
 *   for a sum to saturate);
 * - the pprof file: it must read back through profpipe's own decoder
 *   with, per sample type written, the total the profile holds in that
 *   type (when the sums are small and a type is written);
 * - runtime metrics: Prometheus text and line protocol, both well-formed
 *   UTF-8 whatever bytes the origin's names hold (either reader refuses
 *   anything else).
 *
 * Seeds are Results of real profiles (tests/fuzz/seed_decoded.c, -r).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "decoder/decode.h"
#include "exporter/flame.h"
#include "exporter/folded.h"
#include "exporter/item.h"
#include "exporter/lineproto.h"
#include "exporter/pprof_pack.h"
#include "exporter/profile.h"
#include "exporter/prom.h"
#include "exporter/records.h"
#include "tests/unit/json_check.h"

#define ARENA_CAP ((size_t)256 << 20)
#define OUT_CAP ((size_t)64 << 20)
#define SMALL ((int64_t)1 << 40)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_export: %s: %s\n", what, err);
	abort();
}

/* Whether s[0..n) is well-formed UTF-8. */
static int
utf8_ok(const void *s, size_t n)
{
	struct fx_json j;

	j.p = s;
	j.end = j.p + n;
	j.depth = 0;
	while (j.p < j.end) {
		if (*j.p < 0x80)
			j.p++;
		else if (fx_json_utf8(&j) < 0)
			return 0;
	}
	return 1;
}

static void
check_records(const Profpipe__Decoded *p)
{
	struct buf out;
	size_t n = 0;

	buf_init(&out, OUT_CAP);
	if (records_all(p, &out, &n) == 0 &&
	    !fx_jsonl_valid((const char *)out.data, out.len))
		fail("records", "a line that is not a JSON object");
	buf_release(&out);
}

/* n lines, each "frames VALUE\n": no carriage return, and after the last
 * space a positive decimal number (lines that do not sum above 0 are
 * left out), whatever the names hold. */
static void
check_folded_lines(const struct buf *out, size_t n)
{
	const char *p = (const char *)out->data;
	const char *end;
	const char *nl;
	const char *sp;
	const char *q;
	size_t lines = 0;

	if (out->len == 0) {
		if (n != 0)
			fail("folded", "lines said, none written");
		return;
	}
	for (end = p + out->len; p < end; p = nl + 1, lines++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			fail("folded", "a line without its newline");
		sp = nl;
		while (sp > p && sp[-1] != ' ')
			sp--;
		if (sp == p || sp == nl || *sp == '0')
			fail("folded", "a line without a positive value");
		for (q = sp; q < nl; q++) {
			if (*q < '0' || *q > '9')
				fail("folded", "a value that is not a number");
		}
		if (memchr(p, '\r', (size_t)(nl - p)) != NULL)
			fail("folded", "a carriage return in a line");
	}
	if (lines != n)
		fail("folded", "another number of lines than it said");
}

static void
check_folded(const Profpipe__Decoded *p)
{
	struct folded f;
	struct buf out;
	size_t n = 0;

	folded_init(&f);
	buf_init(&out, OUT_CAP);
	if (folded_render(&f, p, &out, &n) == 0)
		check_folded_lines(&out, n);
	buf_release(&out);
	folded_release(&f);
}

static void
check_flame(const Profpipe__Decoded *p)
{
	struct export_col value;
	struct export_col count;
	struct flame f;
	struct buf out;
	int has_count;
	int64_t want = 0;
	int64_t v;
	int small = 1;
	size_t i;

	if (export_kind_column(p, &value) < 0)
		return;
	has_count = flame_count_column(p, &value, &count) == 0;
	flame_init(&f);
	buf_init(&out, OUT_CAP);
	if (flame_build(&f, p, &value, has_count ? &count : NULL) == 0) {
		for (i = 0; i < export_n_stacks(p); i++) {
			v = export_value(p, i, &value);
			if (v >= SMALL || v <= -SMALL)
				small = 0;
			else
				want += v;
		}
		if (small && f.n > 0 && f.elems[0].total != want) {
			fprintf(stderr, "root %lld, stacks %lld\n",
			    (long long)f.elems[0].total, (long long)want);
			fail("flame", "the root's total is not the stacks'");
		}
		if (flame_json(&f, "fuzz", &value, has_count ? &count : NULL,
		        &out) == 0 &&
		    !fx_json_valid((const char *)out.data, out.len))
			fail("flame", "not valid JSON");
	}
	buf_release(&out);
	flame_release(&f);
}

/* p's total in each type written (not absent); 0 when one is too large
 * to sum, or none is written. */
static size_t
written_totals(const Profpipe__Decoded *p, int64_t *tot, size_t max)
{
	size_t nty = p->n_sample_types;
	size_t n = 0;
	size_t i;
	size_t t;
	int64_t v;

	for (t = 0; t < nty; t++) {
		if (p->sample_types[t]->absent)
			continue;
		if (n == max)
			return 0;
		tot[n] = 0;
		for (i = 0; i < export_n_stacks(p); i++) {
			v = p->values[i * nty + t];
			if (v >= SMALL || v <= -SMALL)
				return 0;
			tot[n] += v;
		}
		n++;
	}
	return n;
}

static void
check_pprof(const Profpipe__Decoded *p, struct arena *a)
{
	struct decode_limits lim;
	Profpipe__Decoded back;
	int64_t want[16];
	int64_t got;
	struct buf out;
	char err[512];
	size_t nty;
	size_t ns;
	size_t i;
	size_t t;

	buf_init(&out, OUT_CAP);
	if (pprof_pack(p, &out, &ns) < 0) {
		buf_release(&out);
		return;
	}
	nty = written_totals(p, want, sizeof(want) / sizeof(want[0]));
	decode_limits_default(&lim);
	if (nty > 0) {
		if (decode_profile(out.data, out.len, &lim, a, &back, err,
		        sizeof(err)) != 0)
			fail("pprof file does not read back", err);
		if (back.n_sample_types != nty)
			fail("pprof", "another number of sample types");
		for (t = 0; t < nty; t++) {
			got = 0;
			for (i = 0; i < back.n_values / nty; i++)
				got += back.values[i * nty + t];
			if (got != want[t]) {
				fprintf(stderr, "type %zu: %lld, want %lld\n",
				    t, (long long)got, (long long)want[t]);
				fail("pprof", "a total differs");
			}
		}
	}
	buf_release(&out);
}

static void
check_metrics(const Profpipe__Metrics *m)
{
	struct prom pr;
	struct buf out;
	size_t dropped = 0;
	size_t n = 0;

	buf_init(&out, OUT_CAP);
	if (lineproto_render(m, &out, &n) == 0 && !utf8_ok(out.data, out.len))
		fail("line protocol", "text that is not UTF-8");
	buf_clear(&out);
	/* Rendered at the update's time, and once every series is past the
	 * TTL: then nothing is left to show. */
	prom_init(&pr, 64, 600);
	if (prom_update(&pr, m, 1000, &dropped) == 0 &&
	    prom_render(&pr, 1000, &out) == 0 && !utf8_ok(out.data, out.len))
		fail("prometheus", "text that is not UTF-8");
	buf_clear(&out);
	if (prom_render(&pr, 1601, &out) != 0 || out.len != 0 || pr.n != 0)
		fail("prometheus", "series left past their TTL");
	prom_release(&pr);
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *a;
	ProtobufCAllocator alloc;
	struct export_item it;
	Profpipe__Result *res;
	const char *who;
	char why[512];

	if (a == NULL && (a = arena_new(ARENA_CAP)) == NULL)
		abort();
	arena_reset(a);
	arena_pb_allocator(a, &alloc);
	res = profpipe__result__unpack(&alloc, size, data);
	if (res == NULL || export_item(&it, res, &who, why, sizeof(why)) < 0)
		return 0;
	if (it.m != NULL) {
		check_metrics(it.m);
		return 0;
	}
	check_records(it.p);
	check_folded(it.p);
	check_flame(it.p);
	check_pprof(it.p, a);
	return 0;
}
