/*
 * test_decode_corpus: every profile in the corpus decodes to what Go's
 * parser reads from it, as ../shared/corpus/EXPECTED.tsv records: sample
 * types, samples, distinct stacks by function names, totals per type,
 * period type, period, duration, functions and locations. Also what the
 * other stages rely on: decoded_check passes, and stack hashes are the
 * documented function of the frames' text, so they agree across profiles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/decoded.h"
#include "common/hash.h"
#include "decoder/decode_print.h"
#include "decoder/pprof.h"
#include "tests/unit/decode_util.h"

struct row {
	char *col[10];
};

enum {
	C_FILE,
	C_TYPES,
	C_SAMPLES,
	C_DISTINCT,
	C_TOTALS,
	C_PERIOD_TYPE,
	C_PERIOD,
	C_DURATION,
	C_FUNCTIONS,
	C_LOCATIONS
};

static char *
corpus_path(const char *file, char *out, size_t outlen)
{
	FILE *f;

	snprintf(out, outlen, CORPUS "/real/%s", file);
	f = fopen(out, "rb");
	if (f == NULL)
		snprintf(out, outlen, CORPUS "/synth/%s", file);
	else
		fclose(f);
	return out;
}

static Profpipe__Origin origin = PROFPIPE__ORIGIN__INIT;

/* Decode path into d (in a); fails the test on error. */
static void
decode_file(const char *path, struct arena *a, Profpipe__Decoded *d)
{
	struct decode_limits lim;
	uint8_t *body;
	size_t len;
	char err[512];

	decode_limits_default(&lim);
	body = du_slurp(path, &len);
	if (body == NULL)
		fail_msg("%s: cannot read", path);
	if (decode_profile(body, len, &lim, a, d, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	free(body);
	d->origin = &origin;
	if (decoded_check(d, err, sizeof(err)) != 0)
		fail_msg("%s: decoded_check: %s", path, err);
}

static void
check_col(
    const char *file, const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("%s: %s: got %s, want %s", file, what, got, want);
}

static void
check_row(const struct row *r)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	struct pprof_profile pr;
	struct decode_limits lim;
	struct decode_fold g;
	struct buf b;
	char path[512];
	char err[256];
	uint8_t *body;
	uint8_t *raw;
	size_t len;
	size_t n;
	size_t i;
	size_t t;
	int64_t sum;

	decode_limits_default(&lim);
	corpus_path(r->col[C_FILE], path, sizeof(path));
	decode_file(path, a, &d);
	buf_init(&b, 0);
	for (t = 0; t < d.n_sample_types; t++)
		buf_printf(&b, "%s%s/%s", t ? "," : "",
		    d.strings[d.sample_types[t]->type],
		    d.strings[d.sample_types[t]->unit]);
	check_col(
	    r->col[C_FILE], "sample types", (char *)b.data, r->col[C_TYPES]);
	buf_clear(&b);
	buf_printf(&b, "%llu", (unsigned long long)d.n_samples);
	check_col(
	    r->col[C_FILE], "samples", (char *)b.data, r->col[C_SAMPLES]);
	assert_int_equal(decode_fold(&d, a, &g), 0);
	buf_clear(&b);
	buf_printf(&b, "%zu", g.n);
	check_col(r->col[C_FILE], "distinct stacks", (char *)b.data,
	    r->col[C_DISTINCT]);
	buf_clear(&b);
	for (t = 0; t < d.n_sample_types; t++) {
		sum = 0;
		for (i = 0; i < d.n_stack_hash; i++)
			sum += d.values[i * d.n_sample_types + t];
		buf_printf(&b, "%s%lld", t ? "," : "", (long long)sum);
	}
	check_col(r->col[C_FILE], "totals", (char *)b.data, r->col[C_TOTALS]);
	buf_clear(&b);
	buf_printf(&b, "%s/%s", d.strings[d.period_type->type],
	    d.strings[d.period_type->unit]);
	check_col(r->col[C_FILE], "period type", (char *)b.data,
	    r->col[C_PERIOD_TYPE]);
	buf_clear(&b);
	buf_printf(&b, "%lld", (long long)d.period);
	check_col(r->col[C_FILE], "period", (char *)b.data, r->col[C_PERIOD]);
	buf_clear(&b);
	buf_printf(&b, "%lld", (long long)d.duration_ns);
	check_col(
	    r->col[C_FILE], "duration", (char *)b.data, r->col[C_DURATION]);

	/* Functions and locations: the reader's tables. */
	body = du_slurp(path, &len);
	assert_non_null(body);
	raw = du_inflate(body, len, a, &n);
	assert_non_null(raw);
	assert_int_equal(
	    pprof_read(raw, n, &lim, a, &pr, err, sizeof(err)), 0);
	buf_clear(&b);
	buf_printf(&b, "%zu", pr.n_functions);
	check_col(
	    r->col[C_FILE], "functions", (char *)b.data, r->col[C_FUNCTIONS]);
	buf_clear(&b);
	buf_printf(&b, "%zu", pr.n_locations);
	check_col(
	    r->col[C_FILE], "locations", (char *)b.data, r->col[C_LOCATIONS]);
	free(body);
	buf_release(&b);
	arena_free(a);
}

static void
test_expected(void **state)
{
	char *tsv;
	char *line;
	char *next;
	struct row r;
	size_t len;
	int rows = 0;
	int c;

	(void)state;
	tsv = (char *)du_slurp(CORPUS "/EXPECTED.tsv", &len);
	assert_non_null(tsv);
	tsv[len] = '\0';
	line = strchr(tsv, '\n'); /* the header */
	assert_non_null(line);
	for (line++; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next == NULL)
			next = line + strlen(line);
		else
			*next++ = '\0';
		if (*line == '\0')
			continue;
		for (c = 0; c < 10; c++) {
			r.col[c] = line;
			line = strchr(line, '\t');
			if (c < 9) {
				assert_non_null(line);
				*line++ = '\0';
			}
		}
		check_row(&r);
		rows++;
	}
	assert_true(rows >= 21);
	free(tsv);
}

/* The hash of every stack is the documented sum over frame text, spelled
 * out here, and decode_stack_hash agrees. */
static void
hash_formula_on(const char *path)
{
	struct arena *a = arena_new(0);
	uint64_t fh[DECODE_MAX_DEPTH];
	Profpipe__Decoded d;
	const char *name;
	const char *file;
	uint64_t sum;
	uint64_t pow;
	uint64_t h;
	uint32_t f;
	uint32_t k;
	uint32_t n;
	size_t i;

	decode_file(path, a, &d);
	for (i = 0; i < d.n_stack_hash; i++) {
		sum = 0;
		pow = 1;
		n = 0;
		for (k = d.stack_offset[i]; k < d.stack_offset[i + 1]; k++) {
			f = d.stack_frames[k];
			name = d.strings[d.frame_function[f]];
			file = d.strings[d.frame_file[f]];
			fh[n] = hash_u64(hash_bytes(hash_bytes(HASH_SEED, name,
			                                strlen(name)),
			                     file, strlen(file)),
			    (uint64_t)d.frame_line[f]);
			assert_true(fh[n] ==
			    decode_frame_hash(name, strlen(name), file,
			        strlen(file), d.frame_line[f]));
			sum += fh[n] * pow;
			pow *= 0xc4ceb9fe1a85ec53ULL;
			n++;
		}
		h = hash_u64(hash_u64(HASH_SEED, sum), n);
		assert_true(h == d.stack_hash[i]);
		assert_true(h == decode_stack_hash(fh, n));
	}
	arena_free(a);
}

static void
test_stack_hash_formula(void **state)
{
	(void)state;
	hash_formula_on(CORPUS "/real/goapp-cpu.pb.gz");
	hash_formula_on(CORPUS "/real/biggo-cpu-30s.pb.gz");
	hash_formula_on(CORPUS "/synth/cpu-large.pb.gz");
}

/* The same profile gzipped and plain: the same stacks, hashes, values. */
static void
test_same_profile_same_hashes(void **state)
{
	struct arena *a = arena_new(0);
	struct arena *b = arena_new(0);
	Profpipe__Decoded x;
	Profpipe__Decoded y;

	(void)state;
	decode_file(CORPUS "/real/goapp-heap.pb.gz", a, &x);
	decode_file(CORPUS "/real/heap-uncompressed.pb", b, &y);
	assert_int_equal(x.n_stack_hash, y.n_stack_hash);
	assert_memory_equal(x.stack_hash, y.stack_hash,
	    x.n_stack_hash * sizeof(*x.stack_hash));
	assert_memory_equal(x.values, y.values, x.n_values * sizeof(int64_t));
	arena_free(a);
	arena_free(b);
}

/* default_sample_type: named (goapp-allocs: alloc_space), else the last. */
static void
test_default_sample_type(void **state)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;

	(void)state;
	decode_file(CORPUS "/real/goapp-allocs.pb.gz", a, &d);
	assert_string_equal(
	    d.strings[d.sample_types[d.default_sample_type]->type],
	    "alloc_space");
	arena_reset(a);
	decode_file(CORPUS "/real/goapp-heap.pb.gz", a, &d);
	assert_int_equal(d.default_sample_type, 3);
	arena_free(a);
}

/* Decoded round-trips through protobuf-c, as it crosses the socket. */
static void
test_pack_unpack(void **state)
{
	struct arena *a = arena_new(0);
	Profpipe__Decoded d;
	Profpipe__Decoded *u;
	uint8_t *buf;
	size_t n;

	(void)state;
	decode_file(CORPUS "/synth/cpu-small.pb.gz", a, &d);
	n = protobuf_c_message_get_packed_size(&d.base);
	buf = malloc(n);
	assert_non_null(buf);
	protobuf_c_message_pack(&d.base, buf);
	u = profpipe__decoded__unpack(NULL, n, buf);
	assert_non_null(u);
	assert_int_equal(u->n_strings, d.n_strings);
	assert_string_equal(u->strings[0], "");
	assert_int_equal(u->n_stack_frames, d.n_stack_frames);
	assert_memory_equal(u->stack_frames, d.stack_frames,
	    d.n_stack_frames * sizeof(uint32_t));
	assert_memory_equal(
	    u->stack_hash, d.stack_hash, d.n_stack_hash * sizeof(uint64_t));
	assert_int_equal(u->n_label_sets, d.n_label_sets);
	assert_int_equal(u->label_sets[0]->n_labels, 0);
	profpipe__decoded__free_unpacked(u, NULL);
	free(buf);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expected),
	    cmocka_unit_test(test_stack_hash_formula),
	    cmocka_unit_test(test_same_profile_same_hashes),
	    cmocka_unit_test(test_default_sample_type),
	    cmocka_unit_test(test_pack_unpack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
