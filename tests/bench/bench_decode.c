/*
 * bench_decode: one way of decoding one pprof file, repeated for at least
 * MIN seconds, so tests/bench/run can put the ways side by side measured in
 * the same run on the same machine. One process per (mode, file), so the
 * peak RSS it prints belongs to that mode alone.
 *
 *   bench_decode MODE FILE [MIN_SECONDS]
 *   MODE: zlib       zlib inflate alone
 *         libdeflate libdeflate inflate alone (the floor for any decoder)
 *         pbc        libdeflate + protobuf-c's generated unpack, malloc
 *         pbc-arena  libdeflate + protobuf-c unpack into an arena
 *         profpipe   profpipe's decoder: inflate, parse, resolve, collapse
 *         profpipe-portable  the same, read as CPUs without a fast pext
 *                    read (decoder --portable)
 *         idle       read the file and stop: the RSS every mode starts from
 *
 * Output, tab-separated:
 *   file bytes samples iterations seconds peak_rss_kb cpu_seconds
 * seconds is wall-clock time, cpu_seconds user + system time, both over the
 * loop alone; on a shared machine the CPU time moves less with the load.
 *
 * Peak RSS is VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss
 * across execve, so a process forked from a big parent (the Python runner)
 * would report the parent's size. VmHWM belongs to the new image alone.
 */
#include <libdeflate.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include "common/arena.h"
#include "common/profile.pb-c.h"
#include "tests/bench/bench_profpipe.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		perror(path);
		exit(111);
	}
	p = malloc((size_t)n + 1);
	if (p == NULL || fread(p, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(111);
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static double
cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long
peak_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static size_t
gz_isize(const uint8_t *in, size_t len)
{
	return (size_t)in[len - 4] | (size_t)in[len - 3] << 8 |
	    (size_t)in[len - 2] << 16 | (size_t)in[len - 1] << 24;
}

static size_t
inflate_zlib(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream z;
	size_t n;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		exit(111);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (inflate(&z, Z_FINISH) != Z_STREAM_END) {
		fprintf(stderr, "zlib: inflate failed\n");
		exit(1);
	}
	n = z.total_out;
	inflateEnd(&z);
	return n;
}

static size_t
inflate_libdeflate(struct libdeflate_decompressor *d, const uint8_t *in,
    size_t len, uint8_t *out, size_t cap)
{
	size_t n;

	if (libdeflate_gzip_decompress(d, in, len, out, cap, &n) !=
	    LIBDEFLATE_SUCCESS) {
		fprintf(stderr, "libdeflate: inflate failed\n");
		exit(1);
	}
	return n;
}

/* What one mode keeps between iterations. */
struct bench {
	const char *mode;
	const uint8_t *in;
	size_t len;
	uint8_t *out;
	size_t cap;
	struct libdeflate_decompressor *d;
	struct arena *a;
	struct bench_profpipe *bp;
};

/* One iteration of b->mode. 0 with *samples set (0 for inflate alone), -1
 * on a failed decode, -2 for an unknown mode. */
static int
bench_once(struct bench *b, size_t *samples)
{
	ProtobufCAllocator pa;
	Perftools__Profiles__Profile *p;
	size_t n;

	if (strcmp(b->mode, "idle") == 0)
		return 0;
	if (strcmp(b->mode, "zlib") == 0) {
		inflate_zlib(b->in, b->len, b->out, b->cap);
		return 0;
	}
	if (strcmp(b->mode, "libdeflate") == 0) {
		inflate_libdeflate(b->d, b->in, b->len, b->out, b->cap);
		return 0;
	}
	if (strcmp(b->mode, "pbc") == 0) {
		n = inflate_libdeflate(b->d, b->in, b->len, b->out, b->cap);
		p = perftools__profiles__profile__unpack(NULL, n, b->out);
		if (p == NULL)
			return -1;
		*samples = p->n_sample;
		perftools__profiles__profile__free_unpacked(p, NULL);
		return 0;
	}
	if (strcmp(b->mode, "pbc-arena") == 0) {
		arena_reset(b->a);
		arena_pb_allocator(b->a, &pa);
		n = inflate_libdeflate(b->d, b->in, b->len, b->out, b->cap);
		p = perftools__profiles__profile__unpack(&pa, n, b->out);
		if (p == NULL)
			return -1;
		*samples = p->n_sample;
		return 0;
	}
	if (b->bp != NULL)
		return bench_profpipe_decode(b->bp, b->in, b->len, samples);
	return -2;
}

int
main(int argc, char **argv)
{
	struct bench b;
	uint8_t *in;
	size_t samples = 0;
	long iters = 0;
	double min = 1.0;
	double t0;
	double c0;
	double secs;
	int profpipe;
	int portable;
	int rv;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_decode MODE FILE [MIN]\n");
		return 100;
	}
	memset(&b, 0, sizeof(b));
	b.mode = argv[1];
	if (argc > 3)
		min = atof(argv[3]);
	in = slurp(argv[2], &b.len);
	b.in = in;
	if (b.len < 18 || in[0] != 0x1f || in[1] != 0x8b) {
		fprintf(stderr, "%s: not gzip\n", argv[2]);
		return 100;
	}
	/* Only the modes that use them allocate these, so the idle and
	 * profpipe modes' RSS holds no buffer they never touch. */
	profpipe = strcmp(b.mode, "profpipe") == 0;
	portable = strcmp(b.mode, "profpipe-portable") == 0;
	if (strcmp(b.mode, "idle") != 0 && !profpipe && !portable) {
		b.cap = gz_isize(in, b.len);
		b.out = malloc(b.cap + 1);
		b.d = libdeflate_alloc_decompressor();
		b.a = arena_new(0);
		if (b.out == NULL || b.d == NULL || b.a == NULL)
			return 111;
	}
	if ((profpipe || portable) && bench_profpipe_new(&b.bp, portable) < 0)
		return 111;
	c0 = cpu_now();
	t0 = now();
	do {
		rv = bench_once(&b, &samples);
		if (rv == -2) {
			fprintf(
			    stderr, "bench_decode: unknown mode %s\n", b.mode);
			return 100;
		}
		if (rv < 0) {
			fprintf(stderr, "%s: %s: decode failed\n", argv[2],
			    b.mode);
			return 1;
		}
		iters++;
		secs = now() - t0;
	} while (secs < min && strcmp(b.mode, "idle") != 0);
	c0 = cpu_now() - c0;
	printf("%s\t%zu\t%zu\t%ld\t%.6f\t%ld\t%.6f\n", argv[2], b.len, samples,
	    iters, secs, peak_rss_kb(), c0);
	bench_profpipe_free(b.bp);
	arena_free(b.a);
	libdeflate_free_decompressor(b.d);
	free(b.out);
	free(in);
	return 0;
}
