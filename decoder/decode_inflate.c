/*
 * decode_inflate: gzip through libdeflate (whole-buffer, the fastest inflate
 * there is), zstd through libzstd, plain bodies copied. The output buffer
 * lives in the arena, sized from what the stream claims (gzip's ISIZE,
 * zstd's frame content size) so the common case is one allocation and one
 * pass; when the claim is missing or wrong the buffer doubles, never past
 * the cap. What libdeflate does not check in a gzip header, Go's reader
 * does or RFC 1952 asks for, is checked here.
 */
#include "decoder/decode_inflate.h"

#include <libdeflate.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "common/xalloc.h"
#include "common/zstd_magic.h"
#include "decoder/decode.h"

/* Deflate cannot beat ~1032:1 (a 258-byte match in under two bits); a
 * gzip trailer claiming more than that was not written by a deflater. */
#define DEFLATE_MAX_RATIO 1032
#define GZIP_MIN_MEMBER 18
#define GROW_MIN ((size_t)64 * 1024)
#define ZSTD_CHUNK ((size_t)64 * 1024)

/* A gzip member header's flags (RFC 1952). */
#define GZIP_FHCRC 0x02
#define GZIP_FEXTRA 0x04
#define GZIP_FNAME 0x08
#define GZIP_FCOMMENT 0x10
#define GZIP_FRESERVED 0xe0

struct decode_inflate {
	struct libdeflate_decompressor *gz;
	ZSTD_DCtx *zs;
};

enum decode_codec
decode_sniff(const uint8_t *body, size_t len)
{
	if (len >= 2 && body[0] == 0x1f && body[1] == 0x8b)
		return DECODE_GZIP;
	if (zstd_magic(body, len))
		return DECODE_ZSTD;
	return DECODE_PLAIN;
}

const char *
decode_codec_name(enum decode_codec c)
{
	switch (c) {
	case DECODE_GZIP:
		return "gzip";
	case DECODE_ZSTD:
		return "zstd";
	default:
		return "plain";
	}
}

int
decode_inflate_new(struct decode_inflate **out)
{
	struct decode_inflate *z = xcalloc(1, sizeof(*z));

	if (z == NULL)
		return DECODE_ENOMEM;
	*out = z;
	return 0;
}

void
decode_inflate_free(struct decode_inflate *z)
{
	if (z == NULL)
		return;
	if (z->gz != NULL)
		libdeflate_free_decompressor(z->gz);
	ZSTD_freeDCtx(z->zs);
	xfree(z);
}

static uint32_t
gzip_isize(const uint8_t *body, size_t len)
{
	const uint8_t *t = body + len - 4;

	return (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
	    (uint32_t)t[3] << 24;
}

/* A new buffer of want (<= max) bytes plus the spare one, holding the
 * first keep bytes of old. The old one stays in the arena: growing is the
 * rare path (a lying or missing size claim), and it at most doubles. */
static uint8_t *
inflate_grow(struct arena *a, const uint8_t *old, size_t keep, size_t want)
{
	uint8_t *p = arena_alloc(a, want + 1);

	if (p != NULL && keep > 0)
		memcpy(p, old, keep);
	return p;
}

static size_t
inflate_next_size(size_t size, size_t max)
{
	if (size < GROW_MIN)
		size = GROW_MIN;
	else if (size > max / 2)
		size = max;
	else
		size *= 2;
	return size < max ? size : max;
}

size_t
decode_inflate_claim(const uint8_t *body, size_t len, size_t max)
{
	unsigned long long claim;
	uint32_t isize;

	switch (decode_sniff(body, len)) {
	case DECODE_GZIP:
		if (len < GZIP_MIN_MEMBER)
			return 0;
		isize = gzip_isize(body, len);
		if ((uint64_t)isize > (uint64_t)len * DEFLATE_MAX_RATIO ||
		    isize > max)
			return 0;
		return isize;
	case DECODE_ZSTD:
		claim = ZSTD_getFrameContentSize(body, len);
		if (claim == ZSTD_CONTENTSIZE_UNKNOWN ||
		    claim == ZSTD_CONTENTSIZE_ERROR || claim > max)
			return 0;
		return (size_t)claim;
	default:
		return len <= max ? len : 0;
	}
}

/* What libdeflate leaves to its caller in the header of the member at
 * byte pos (p, n bytes to the end of the body): reserved flags, refused
 * as RFC 1952 asks and gzip(1) does (Go's reader ignores them), and the
 * header's CRC16, checked as Go's reader checks it (libdeflate skips it).
 * A header cut short is left to libdeflate to report. 0, or DECODE_EBAD
 * with err set. */
static int
gzip_header_check(
    const uint8_t *p, size_t n, size_t pos, char *err, size_t errlen)
{
	const uint8_t *q;
	size_t h = 10;
	size_t xlen;
	uint8_t flg;
	int f;

	if (n < h)
		return 0;
	flg = p[3];
	if ((flg & GZIP_FRESERVED) != 0) {
		snprintf(err, errlen,
		    "gzip: the member at byte %zu sets reserved flags 0x%02x",
		    pos, flg & GZIP_FRESERVED);
		return DECODE_EBAD;
	}
	if ((flg & GZIP_FHCRC) == 0)
		return 0;
	if ((flg & GZIP_FEXTRA) != 0) {
		if (n - h < 2)
			return 0;
		xlen = (size_t)p[h] | (size_t)p[h + 1] << 8;
		h += 2;
		if (xlen > n - h)
			return 0;
		h += xlen;
	}
	for (f = GZIP_FNAME; f <= GZIP_FCOMMENT; f <<= 1) {
		if ((flg & f) == 0)
			continue;
		q = memchr(p + h, 0, n - h);
		if (q == NULL)
			return 0;
		h = (size_t)(q - p) + 1;
	}
	if (n - h < 2)
		return 0;
	if ((libdeflate_crc32(0, p, h) & 0xffff) !=
	    ((uint32_t)p[h] | (uint32_t)p[h + 1] << 8)) {
		snprintf(err, errlen,
		    "gzip: the header CRC of the member at byte %zu does not "
		    "match its header",
		    pos);
		return DECODE_EBAD;
	}
	return 0;
}

static int
inflate_gzip(struct decode_inflate *z, const uint8_t *body, size_t len,
    size_t max, struct arena *a, uint8_t **out, size_t *outlen, char *err,
    size_t errlen)
{
	enum libdeflate_result r;
	uint32_t isize;
	uint8_t *buf;
	size_t size;
	size_t pos = 0;
	size_t olen = 0;
	size_t in_used;
	size_t out_used;
	size_t i;

	if (len < GZIP_MIN_MEMBER) {
		snprintf(err, errlen,
		    "gzip: truncated: %zu bytes, a member "
		    "takes at least %d",
		    len, GZIP_MIN_MEMBER);
		return DECODE_EBAD;
	}
	isize = gzip_isize(body, len);
	if ((uint64_t)isize > (uint64_t)len * DEFLATE_MAX_RATIO) {
		snprintf(err, errlen,
		    "gzip: truncated or corrupt: the trailer "
		    "at byte %zu claims %u bytes from %zu compressed",
		    len - 4, isize, len);
		return DECODE_EBAD;
	}
	if (isize > max) {
		snprintf(err, errlen,
		    "gzip: inflates to %u bytes (trailer "
		    "ISIZE), over the cap of %zu (max_inflated)",
		    isize, max);
		return DECODE_EBAD;
	}
	if (z->gz == NULL) {
		z->gz = libdeflate_alloc_decompressor();
		if (z->gz == NULL) {
			snprintf(err, errlen, "gzip: out of memory");
			return DECODE_ENOMEM;
		}
	}
	/* ISIZE is exact for a single member under 4 GiB, the usual case. */
	size = isize;
	if (size == 0)
		size = inflate_next_size(len * 4, max);
	if (gzip_header_check(body, len, 0, err, errlen) != 0)
		return DECODE_EBAD;
	buf = inflate_grow(a, NULL, 0, size);
	if (buf == NULL)
		goto nomem;
	for (;;) {
		r = libdeflate_gzip_decompress_ex(z->gz, body + pos, len - pos,
		    buf + olen, size - olen, &in_used, &out_used);
		if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
			if (size >= max) {
				snprintf(err, errlen,
				    "gzip: inflates past the "
				    "cap of %zu bytes (max_inflated)",
				    max);
				return DECODE_EBAD;
			}
			size = inflate_next_size(size, max);
			buf = inflate_grow(a, buf, olen, size);
			if (buf == NULL)
				goto nomem;
			continue;
		}
		if (r != LIBDEFLATE_SUCCESS) {
			snprintf(err, errlen,
			    "gzip: corrupt or truncated data "
			    "in the member at byte %zu",
			    pos);
			return DECODE_EBAD;
		}
		pos += in_used;
		olen += out_used;
		if (pos == len)
			break;
		if (len - pos >= 2 && body[pos] == 0x1f &&
		    body[pos + 1] == 0x8b) {
			/* another member: concatenated gzip */
			if (gzip_header_check(
			        body + pos, len - pos, pos, err, errlen) != 0)
				return DECODE_EBAD;
			continue;
		}
		for (i = pos; i < len && body[i] == 0; i++)
			;
		if (i < len) {
			snprintf(err, errlen,
			    "gzip: %zu bytes of trailing "
			    "garbage at byte %zu",
			    len - pos, pos);
			return DECODE_EBAD;
		}
		break; /* zero padding after the last member */
	}
	*out = buf;
	*outlen = olen;
	return 0;
nomem:
	snprintf(
	    err, errlen, "gzip: out of memory for %zu inflated bytes", size);
	return DECODE_ENOMEM;
}

static unsigned
ceil_log2(size_t n)
{
	unsigned l = 0;

	while (l < 63 && ((size_t)1 << l) < n)
		l++;
	return l;
}

/* Several frames, or frames that do not say their size: stream, with the
 * first frame's size (if any) as the first guess. The input goes in
 * ZSTD_CHUNK bytes at a time so that an error can name the input it was
 * found in (a damaged byte there or before it; a bad checksum, at the
 * frame's end): zstd leaves the input's position where the failing call
 * began, which with the whole body in one call was always 0. */
static int
inflate_zstd_stream(ZSTD_DCtx *zs, const uint8_t *body, size_t len,
    size_t hint, size_t max, struct arena *a, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	ZSTD_inBuffer in = {body, len < ZSTD_CHUNK ? len : ZSTD_CHUNK, 0};
	ZSTD_outBuffer ob;
	unsigned wlog = ceil_log2(max);
	size_t size = hint != 0 ? hint : inflate_next_size(len * 4, max);
	size_t r = 1;
	uint8_t *buf;

	if (wlog < 10)
		wlog = 10; /* zstd's smallest window */
	if (wlog > 31)
		wlog = 31;
	ZSTD_DCtx_reset(zs, ZSTD_reset_session_and_parameters);
	ZSTD_DCtx_setParameter(zs, ZSTD_d_windowLogMax, (int)wlog);
	buf = inflate_grow(a, NULL, 0, size);
	if (buf == NULL)
		goto nomem;
	ob.dst = buf;
	ob.size = size;
	ob.pos = 0;
	while (in.pos < len || r != 0) {
		if (in.pos == in.size && in.size < len)
			in.size += len - in.size < ZSTD_CHUNK ? len - in.size
			                                      : ZSTD_CHUNK;
		if (ob.pos == ob.size) {
			if (size >= max) {
				snprintf(err, errlen,
				    "zstd: inflates past the "
				    "cap of %zu bytes (max_inflated)",
				    max);
				return DECODE_EBAD;
			}
			size = inflate_next_size(size, max);
			buf = inflate_grow(a, buf, ob.pos, size);
			if (buf == NULL)
				goto nomem;
			ob.dst = buf;
			ob.size = size;
		}
		r = ZSTD_decompressStream(zs, &ob, &in);
		if (ZSTD_getErrorCode(r) ==
		    ZSTD_error_frameParameter_windowTooLarge) {
			snprintf(err, errlen,
			    "zstd: the frame's window is larger than the cap "
			    "of %zu bytes (max_inflated)",
			    max);
			return DECODE_EBAD;
		}
		if (ZSTD_isError(r)) {
			snprintf(err, errlen,
			    "zstd: in input bytes %zu to %zu: %s", in.pos,
			    in.size, ZSTD_getErrorName(r));
			return DECODE_EBAD;
		}
		if (r != 0 && in.pos == len && ob.pos < ob.size) {
			snprintf(err, errlen,
			    "zstd: truncated: the frame "
			    "ends early at byte %zu",
			    len);
			return DECODE_EBAD;
		}
	}
	*out = buf;
	*outlen = ob.pos;
	return 0;
nomem:
	snprintf(
	    err, errlen, "zstd: out of memory for %zu inflated bytes", size);
	return DECODE_ENOMEM;
}

static int
inflate_zstd(struct decode_inflate *z, const uint8_t *body, size_t len,
    size_t max, struct arena *a, uint8_t **out, size_t *outlen, char *err,
    size_t errlen)
{
	unsigned long long claim;
	size_t r;
	uint8_t *buf;

	if (z->zs == NULL) {
		z->zs = ZSTD_createDCtx();
		if (z->zs == NULL) {
			snprintf(err, errlen, "zstd: out of memory");
			return DECODE_ENOMEM;
		}
	}
	claim = ZSTD_getFrameContentSize(body, len);
	if (claim == ZSTD_CONTENTSIZE_ERROR) {
		snprintf(err, errlen,
		    "zstd: corrupt or truncated frame "
		    "header");
		return DECODE_EBAD;
	}
	if (claim != ZSTD_CONTENTSIZE_UNKNOWN && claim > max) {
		snprintf(err, errlen,
		    "zstd: inflates to %llu bytes (frame "
		    "header), over the cap of %zu (max_inflated)",
		    claim, max);
		return DECODE_EBAD;
	}
	if (claim == ZSTD_CONTENTSIZE_UNKNOWN ||
	    ZSTD_findFrameCompressedSize(body, len) != len)
		return inflate_zstd_stream(z->zs, body, len,
		    claim == ZSTD_CONTENTSIZE_UNKNOWN ? 0 : (size_t)claim, max,
		    a, out, outlen, err, errlen);
	buf = arena_alloc(a, (size_t)claim + 1);
	if (buf == NULL) {
		snprintf(err, errlen,
		    "zstd: out of memory for %llu inflated "
		    "bytes",
		    claim);
		return DECODE_ENOMEM;
	}
	r = ZSTD_decompressDCtx(z->zs, buf, (size_t)claim, body, len);
	if (ZSTD_isError(r)) {
		snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(r));
		return DECODE_EBAD;
	}
	*out = buf;
	*outlen = r;
	return 0;
}

int
decode_inflate(struct decode_inflate *z, const uint8_t *body, size_t len,
    size_t max, struct arena *a, uint8_t **out, size_t *outlen, char *err,
    size_t errlen)
{
	uint8_t *buf;

	switch (decode_sniff(body, len)) {
	case DECODE_GZIP:
		return inflate_gzip(
		    z, body, len, max, a, out, outlen, err, errlen);
	case DECODE_ZSTD:
		return inflate_zstd(
		    z, body, len, max, a, out, outlen, err, errlen);
	default:
		break;
	}
	if (len > max) {
		snprintf(err, errlen,
		    "body of %zu bytes is over the cap of "
		    "%zu (max_inflated)",
		    len, max);
		return DECODE_EBAD;
	}
	buf = arena_alloc(a, len + 1);
	if (buf == NULL) {
		snprintf(
		    err, errlen, "out of memory for a %zu-byte body", len);
		return DECODE_ENOMEM;
	}
	if (len > 0)
		memcpy(buf, body, len);
	*out = buf;
	*outlen = len;
	return 0;
}
