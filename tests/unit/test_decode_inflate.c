/*
 * test_decode_inflate: the front end. gzip (one member, several, padded,
 * with trailing garbage, with a trailer that lies), zstd (size in the
 * header or not, one frame or several, damaged), plain bodies, and the
 * cap: a claim over it refused before inflating, a stream that only turns
 * out too large stopped at the cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <libdeflate.h>
#include <zstd.h>

#include "tests/unit/decode_util.h"

static uint8_t *plain;
static size_t plain_len;

static int
setup(void **state)
{
	struct arena *a = arena_new(0);
	uint8_t *gz;
	uint8_t *p;
	size_t len;

	(void)state;
	gz = du_slurp(CORPUS "/real/goapp-cpu.pb.gz", &len);
	assert_non_null(gz);
	p = du_inflate(gz, len, a, &plain_len);
	assert_non_null(p);
	plain = malloc(plain_len);
	memcpy(plain, p, plain_len);
	free(gz);
	arena_free(a);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(plain);
	return 0;
}

/* Inflate body with cap max: the rv, and the output checked against
 * want (if rv is 0 and want is given). */
static int
inflate(const uint8_t *body, size_t len, size_t max, const uint8_t *want,
    size_t want_len, char *err, size_t errlen)
{
	struct decode_inflate *z;
	struct arena *a = arena_new(0);
	uint8_t *out;
	size_t n;
	int rv;

	assert_int_equal(decode_inflate_new(&z), 0);
	rv = decode_inflate(z, body, len, max, a, &out, &n, err, errlen);
	if (rv == 0 && want != NULL) {
		assert_int_equal(n, want_len);
		assert_memory_equal(out, want, n);
	}
	decode_inflate_free(z);
	arena_free(a);
	return rv;
}

static size_t
gzip(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
	size_t n = libdeflate_gzip_compress(c, in, len, out, cap);

	libdeflate_free_compressor(c);
	assert_true(n > 0);
	return n;
}

static void
test_sniff(void **state)
{
	(void)state;
	assert_int_equal(
	    decode_sniff((const uint8_t *)"\x1f\x8b", 2), DECODE_GZIP);
	assert_int_equal(
	    decode_sniff((const uint8_t *)"\x28\xb5\x2f\xfd", 4), DECODE_ZSTD);
	assert_int_equal(
	    decode_sniff((const uint8_t *)"\x1f", 1), DECODE_PLAIN);
	assert_int_equal(decode_sniff(plain, plain_len), DECODE_PLAIN);
	/* A skippable frame's magic, 0x184D2A50 to 0x184D2A5F. */
	assert_int_equal(
	    decode_sniff((const uint8_t *)"\x50\x2a\x4d\x18", 4), DECODE_ZSTD);
	assert_int_equal(
	    decode_sniff((const uint8_t *)"\x5f\x2a\x4d\x18", 4), DECODE_ZSTD);
	assert_int_equal(decode_sniff((const uint8_t *)"\x60\x2a\x4d\x18", 4),
	    DECODE_PLAIN);
	assert_int_equal(
	    decode_sniff((const uint8_t *)"\x50\x2a\x4d", 3), DECODE_PLAIN);
}

/* zstd streams with skippable frames (pzstd writes one first): read
 * whole, the skippable frames passed over, wherever they are. */
static void
test_zstd_skippable(void **state)
{
	static const uint8_t skip[] = {0x5e, 0x2a, 0x4d, 0x18, 0x05, 0x00,
	    0x00, 0x00, 'h', 'e', 'l', 'l', 'o'};
	size_t cap = ZSTD_compressBound(plain_len) * 2 + 3 * sizeof(skip);
	uint8_t *zs = malloc(cap);
	size_t half = plain_len / 2;
	size_t n = 0;
	size_t m;
	char err[256];

	(void)state;
	memcpy(zs, skip, sizeof(skip));
	n += sizeof(skip);
	m = ZSTD_compress(zs + n, cap - n, plain, half, 3);
	assert_false(ZSTD_isError(m));
	n += m;
	memcpy(zs + n, skip, sizeof(skip));
	n += sizeof(skip);
	m = ZSTD_compress(zs + n, cap - n, plain + half, plain_len - half, 3);
	assert_false(ZSTD_isError(m));
	n += m;
	assert_int_equal(inflate(zs, n, DECODE_MAX_INFLATED, plain, plain_len,
	                     err, sizeof(err)),
	    0);
	/* One frame after the skippable one, as pzstd writes a small file. */
	m = ZSTD_compress(
	    zs + sizeof(skip), cap - sizeof(skip), plain, plain_len, 3);
	assert_int_equal(inflate(zs, sizeof(skip) + m, DECODE_MAX_INFLATED,
	                     plain, plain_len, err, sizeof(err)),
	    0);
	/* A skippable frame alone holds no profile. */
	assert_int_equal(inflate(skip, sizeof(skip), DECODE_MAX_INFLATED, NULL,
	                     0, err, sizeof(err)),
	    0);
	free(zs);
}

static void
test_gzip_members(void **state)
{
	size_t cap = plain_len * 2 + 1024;
	uint8_t *gz = malloc(cap + 16);
	size_t half = plain_len / 2;
	size_t n;
	size_t m;
	char err[256];

	(void)state;
	n = gzip(plain, plain_len, gz, cap);
	assert_int_equal(inflate(gz, n, DECODE_MAX_INFLATED, plain, plain_len,
	                     err, sizeof(err)),
	    0);
	/* Two members (pigz, or a writer that flushes as it goes). */
	n = gzip(plain, half, gz, cap);
	m = gzip(plain + half, plain_len - half, gz + n, cap - n);
	assert_int_equal(inflate(gz, n + m, DECODE_MAX_INFLATED, plain,
	                     plain_len, err, sizeof(err)),
	    0);
	/* Zero padding after the last member is tolerated. */
	memset(gz + n + m, 0, 16);
	assert_int_equal(inflate(gz, n + m + 16, DECODE_MAX_INFLATED, plain,
	                     plain_len, err, sizeof(err)),
	    0);
	/* Anything else is not. */
	gz[n + m + 3] = 'x';
	assert_int_equal(inflate(gz, n + m + 16, DECODE_MAX_INFLATED, NULL, 0,
	                     err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "trailing garbage"));
	free(gz);
}

/* A gzip member with the given header flags (FEXTRA, FNAME, FCOMMENT
 * filled in; FHCRC with the header's CRC16, plus crc_delta) around
 * libdeflate's member at gz (n bytes): written at out, its size. */
static size_t
gzip_with_header(
    const uint8_t *gz, size_t n, uint8_t flg, uint32_t crc_delta, uint8_t *out)
{
	size_t h = 10;
	uint32_t crc;

	memcpy(out, gz, 10);
	out[3] = flg;
	if ((flg & 0x04) != 0) {
		/* XLEN 4: one subfield, "ab", of no bytes */
		memcpy(out + h,
		    "\x04\x00"
		    "ab"
		    "\x00\x00",
		    6);
		h += 6;
	}
	if ((flg & 0x08) != 0) {
		memcpy(out + h, "cpu.pb", 7);
		h += 7;
	}
	if ((flg & 0x10) != 0) {
		memcpy(out + h, "a comment", 10);
		h += 10;
	}
	if ((flg & 0x02) != 0) {
		crc = (libdeflate_crc32(0, out, h) + crc_delta) & 0xffff;
		out[h++] = (uint8_t)crc;
		out[h++] = (uint8_t)(crc >> 8);
	}
	memcpy(out + h, gz + 10, n - 10);
	return h + n - 10;
}

/* Header fields: taken, and the header CRC checked, as Go's reader does;
 * reserved flags refused, as RFC 1952 asks (Go's reader ignores them). */
static void
test_gzip_header(void **state)
{
	size_t cap = plain_len * 2 + 1024;
	uint8_t *gz = malloc(cap);
	uint8_t *body = malloc(2 * cap + 64);
	size_t n;
	size_t m;
	size_t k;
	char err[256];
	char want[64];

	(void)state;
	n = gzip(plain, plain_len, gz, cap);
	assert_int_equal(gz[3], 0); /* no flags: all of them are added here */
	m = gzip_with_header(gz, n, 0x1e, 0, body);
	assert_int_equal(inflate(body, m, DECODE_MAX_INFLATED, plain,
	                     plain_len, err, sizeof(err)),
	    0);
	m = gzip_with_header(gz, n, 0x02, 0, body);
	assert_int_equal(inflate(body, m, DECODE_MAX_INFLATED, plain,
	                     plain_len, err, sizeof(err)),
	    0);
	m = gzip_with_header(gz, n, 0x1e, 1, body);
	assert_int_equal(
	    inflate(body, m, DECODE_MAX_INFLATED, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_string_equal(err,
	    "gzip: the header CRC of the member at byte 0 "
	    "does not match its header");
	/* In a second member too. */
	k = gzip(plain, plain_len / 2, body, cap);
	n = gzip(plain + plain_len / 2, plain_len - plain_len / 2, gz, cap);
	m = gzip_with_header(gz, n, 0x02, 0, body + k);
	assert_int_equal(inflate(body, k + m, DECODE_MAX_INFLATED, plain,
	                     plain_len, err, sizeof(err)),
	    0);
	m = gzip_with_header(gz, n, 0x02, 7, body + k);
	assert_int_equal(inflate(body, k + m, DECODE_MAX_INFLATED, NULL, 0,
	                     err, sizeof(err)),
	    DECODE_EBAD);
	snprintf(want, sizeof(want), "member at byte %zu does not match", k);
	assert_non_null(strstr(err, want));
	/* Reserved flags. */
	n = gzip(plain, plain_len, gz, cap);
	gz[3] = 0x20;
	assert_int_equal(
	    inflate(gz, n, DECODE_MAX_INFLATED, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_string_equal(
	    err, "gzip: the member at byte 0 sets reserved flags 0x20");
	free(gz);
	free(body);
}

static void
test_gzip_caps(void **state)
{
	size_t cap = plain_len + 1024;
	uint8_t *gz = malloc(cap);
	uint8_t *zeros = calloc(1, 4 << 20);
	size_t n;
	char err[256];

	(void)state;
	n = gzip(plain, plain_len, gz, cap);
	/* The trailer says it is over the cap: refused before inflating. */
	assert_int_equal(
	    inflate(gz, n, plain_len - 1, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "(trailer ISIZE), over the cap of"));
	/* Exactly the cap is fine. */
	assert_int_equal(
	    inflate(gz, n, plain_len, plain, plain_len, err, sizeof(err)), 0);
	/* A trailer claiming more than deflate can do: corrupt. */
	gz[n - 1] = 0x7f;
	assert_int_equal(
	    inflate(gz, n, DECODE_MAX_INFLATED, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "truncated or corrupt"));
	free(gz);

	/* A trailer that understates (4 MiB of zeros claiming 100 bytes, as
	 * ISIZE wraps at 4 GiB): stopped at the cap while inflating. */
	gz = malloc(64 * 1024);
	n = gzip(zeros, 4 << 20, gz, 64 * 1024);
	gz[n - 4] = 100;
	gz[n - 3] = gz[n - 2] = gz[n - 1] = 0;
	assert_int_equal(
	    inflate(gz, n, 1 << 20, NULL, 0, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err, "inflates past the cap of 1048576"));
	/* With room, the lie is caught by the member's own check. */
	assert_int_equal(
	    inflate(gz, n, 8 << 20, NULL, 0, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err, "corrupt or truncated"));
	free(gz);
	free(zeros);
}

static void
test_gzip_truncated(void **state)
{
	size_t cap = plain_len + 1024;
	uint8_t *gz = malloc(cap);
	size_t n;
	size_t i;
	char err[256];

	(void)state;
	n = gzip(plain, plain_len, gz, cap);
	for (i = 0; i < n; i++) {
		err[0] = '\0';
		assert_int_equal(inflate(gz, i, DECODE_MAX_INFLATED, NULL, 0,
		                     err, sizeof(err)),
		    i < 2 ? 0 : DECODE_EBAD);
		if (i >= 2)
			assert_true(strlen(err) > 0);
	}
	free(gz);
}

static void
test_zstd(void **state)
{
	size_t cap = ZSTD_compressBound(plain_len) * 2;
	uint8_t *zs = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t half = plain_len / 2;
	size_t n;
	size_t m;
	char err[256];

	(void)state;
	/* Content size in the header. */
	n = ZSTD_compress(zs, cap, plain, plain_len, 3);
	assert_false(ZSTD_isError(n));
	assert_int_equal(inflate(zs, n, DECODE_MAX_INFLATED, plain, plain_len,
	                     err, sizeof(err)),
	    0);
	assert_int_equal(
	    inflate(zs, n, plain_len - 1, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "(frame header), over the cap"));
	/* Two frames. */
	n = ZSTD_compress(zs, cap, plain, half, 3);
	m = ZSTD_compress(zs + n, cap - n, plain + half, plain_len - half, 3);
	assert_int_equal(inflate(zs, n + m, DECODE_MAX_INFLATED, plain,
	                     plain_len, err, sizeof(err)),
	    0);
	/* No content size (a streaming writer): grows, within the cap. */
	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
	n = ZSTD_compress2(c, zs, cap, plain, plain_len);
	assert_false(ZSTD_isError(n));
	assert_int_equal(
	    ZSTD_getFrameContentSize(zs, n), ZSTD_CONTENTSIZE_UNKNOWN);
	assert_int_equal(inflate(zs, n, DECODE_MAX_INFLATED, plain, plain_len,
	                     err, sizeof(err)),
	    0);
	assert_int_equal(
	    inflate(zs, n, 1000, NULL, 0, err, sizeof(err)), DECODE_EBAD);
	assert_non_null(strstr(err, "cap of 1000"));
	assert_int_equal(
	    inflate(zs, n, plain_len - 1, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "inflates past the cap"));
	/* Truncated. */
	assert_int_equal(
	    inflate(zs, n - 5, DECODE_MAX_INFLATED, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "zstd"));
	ZSTD_freeCCtx(c);
	free(zs);
}

/* zstd bodies that are damaged: each refused with zstd's own reason, on
 * both of the front end's paths (content size known: one call; unknown:
 * streamed, where the reason names the 64 KB of input it was found in,
 * which must hold the damaged byte or come after it). */
static void
test_zstd_damaged(void **state)
{
	static const uint8_t bad_header[] = {0x28, 0xb5, 0x2f, 0xfd, 0x08};
	static const uint8_t magic_only[] = {0x28, 0xb5, 0x2f, 0xfd};
	struct arena *a = arena_new(0);
	uint8_t *gz;
	const uint8_t *big;
	size_t big_len;
	size_t len;
	size_t cap;
	uint8_t *zs;
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t n;
	size_t from;
	size_t to;
	int sized;
	char err[256];

	(void)state;
	/* A frame header descriptor with its reserved bit set. */
	assert_int_equal(inflate(bad_header, sizeof(bad_header),
	                     DECODE_MAX_INFLATED, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_string_equal(err, "zstd: corrupt or truncated frame header");
	assert_int_equal(inflate(magic_only, sizeof(magic_only),
	                     DECODE_MAX_INFLATED, NULL, 0, err, sizeof(err)),
	    DECODE_EBAD);
	assert_string_equal(err, "zstd: corrupt or truncated frame header");
	/* A byte in the middle of the compressed data changed; the frame's
	 * checksum, if not the data itself, gives it away. */
	gz = du_slurp(CORPUS "/synth/heap-large.pb.gz", &len);
	assert_non_null(gz);
	big = du_inflate(gz, len, a, &big_len);
	assert_non_null(big);
	cap = ZSTD_compressBound(big_len);
	zs = malloc(cap);
	for (sized = 1; sized >= 0; sized--) {
		ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
		ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
		ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, sized);
		n = ZSTD_compress2(c, zs, cap, big, big_len);
		assert_false(ZSTD_isError(n));
		assert_true(n > 4 * 65536);
		zs[n / 2] ^= 0x55;
		err[0] = '\0';
		assert_int_equal(inflate(zs, n, DECODE_MAX_INFLATED, NULL, 0,
		                     err, sizeof(err)),
		    DECODE_EBAD);
		if (sized) {
			assert_true(strncmp(err, "zstd: ", 6) == 0);
			assert_true(strlen(err) > 6);
			assert_null(strstr(err, "input bytes"));
			continue;
		}
		assert_int_equal(
		    sscanf(
		        err, "zstd: in input bytes %zu to %zu: ", &from, &to),
		    2);
		assert_true(from < to && to - from <= 65536 && to <= n);
		assert_true(to > n / 2);
	}
	ZSTD_freeCCtx(c);
	free(zs);
	free(gz);
	arena_free(a);
}

static void
test_plain_cap(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(inflate(plain, plain_len, plain_len, plain, plain_len,
	                     err, sizeof(err)),
	    0);
	assert_int_equal(inflate(plain, plain_len, plain_len - 1, NULL, 0, err,
	                     sizeof(err)),
	    DECODE_EBAD);
	assert_non_null(strstr(err, "over the cap"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sniff),
	    cmocka_unit_test(test_gzip_members),
	    cmocka_unit_test(test_gzip_header),
	    cmocka_unit_test(test_gzip_caps),
	    cmocka_unit_test(test_gzip_truncated),
	    cmocka_unit_test(test_zstd),
	    cmocka_unit_test(test_zstd_damaged),
	    cmocka_unit_test(test_zstd_skippable),
	    cmocka_unit_test(test_plain_cap),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
