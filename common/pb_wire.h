/*
 * pb_wire: protobuf's wire format, read by hand where protobuf-c's unpack
 * would cost too much: varints, field headers, length-delimited payloads
 * (the decoder's pprof reader and RawProfile view, the aggregator's
 * splice). Inline, because the pprof reader spends its time here; every
 * read is bounds-checked against the end of the enclosing message, and a
 * failure comes back as NULL so the caller can say where it happened.
 */
#ifndef PROFPIPE_PB_WIRE_H
#define PROFPIPE_PB_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum pb_wt {
	PB_VARINT = 0,
	PB_I64 = 1,
	PB_LEN = 2,
	PB_SGROUP = 3,
	PB_EGROUP = 4,
	PB_I32 = 5,
};

/* One field: its number and wire type, then the value (u for varint and
 * fixed, d/n for length-delimited). at is where the field starts. */
struct pb_field {
	uint32_t num;
	uint32_t wt;
	uint64_t u;
	const uint8_t *d;
	size_t n;
	const uint8_t *at;
};

/* The field number pb_next gives a field numbered 0 or past 2^29 - 1. */
#define PB_NUM_NONE UINT32_MAX

/* Why pb_next failed. */
enum pb_fail {
	PB_FAIL_VARINT = 1, /* truncated, or longer than 10 bytes */
	PB_FAIL_WIRETYPE,   /* groups (3, 4) or the undefined 6, 7 */
	PB_FAIL_LENGTH,     /* a length or fixed value past the end */
};

static inline const uint8_t *
pb_varint_slow(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	uint64_t r = 0;
	uint64_t b;
	int i;

	for (i = 0; i < 10 && p + i < end; i++) {
		b = p[i];
		r |= (b & 0x7f) << (7 * i);
		if (b < 0x80) {
			*out = r;
			return p + i + 1;
		}
	}
	return NULL;
}

/* Decode a varint at p (before end). Bits past 64 are dropped, as Go and
 * protobuf-c drop them. NULL: truncated or over 10 bytes. */
static inline const uint8_t *
pb_varint(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
	uint64_t r;
	uint64_t b;
	int i;

	if (p < end && *p < 0x80) {
		*out = *p;
		return p + 1;
	}
	/* Two bytes, the next most common (ids, lengths, lines), without
	 * the careful loop even at the end of a message. */
	if (end - p >= 2 && p[1] < 0x80) {
		*out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		return p + 2;
	}
	if (end - p < 10)
		return pb_varint_slow(p, end, out);
	/* Ten bytes are there: no bounds checks inside. */
	r = p[0] & 0x7f;
	for (i = 1; i < 10; i++) {
		b = p[i];
		r |= (b & 0x7f) << (7 * i);
		if (b < 0x80) {
			*out = r;
			return p + i + 1;
		}
	}
	return NULL;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pb_wire assumes a little-endian host"
#endif

/* The value of a varint of at most 8 bytes held in the low bytes of x
 * (nothing above it): its 7-bit groups squeezed together. */
static inline uint64_t
pb_squeeze(uint64_t x)
{
	x &= 0x7f7f7f7f7f7f7f7fULL;
	x = ((x & 0x7f007f007f007f00ULL) >> 1) | (x & 0x007f007f007f007fULL);
	x = ((x & 0x3fff00003fff0000ULL) >> 2) | (x & 0x00003fff00003fffULL);
	x = ((x & 0x0fffffff00000000ULL) >> 4) | (x & 0x000000000fffffffULL);
	return x;
}

/* The bytes of a varint of at most 8 bytes at p, from one 8-byte load
 * (which the caller guarantees is readable), in the low bytes of *raw
 * with nothing above them, for a squeeze (pb_squeeze, or pext where the
 * CPU has it). Returns the length, or 0 for a longer varint. */
static inline size_t
pb_varint8_raw(const uint8_t *p, uint64_t *raw)
{
	uint64_t w;
	uint64_t stop;
	unsigned bits;

	memcpy(&w, p, 8);
	stop = ~w & 0x8080808080808080ULL;
	if (stop == 0)
		return 0;
	bits = (unsigned)__builtin_ctzll(stop) + 1; /* 8, 16, ... 64 */
	*raw = w & (~0ULL >> (64 - bits));
	return bits >> 3;
}

/* A varint of at most 8 bytes from one 8-byte load at p (which the caller
 * guarantees is readable, though it may run past the message): no branch
 * on the length, which is what makes packed ids fast, since their lengths
 * vary unpredictably. Returns the length, or 0 for a longer varint. */
static inline size_t
pb_varint8(const uint8_t *p, uint64_t *out)
{
	uint64_t x;
	size_t n = pb_varint8_raw(p, &x);

	if (n != 0)
		*out = pb_squeeze(x);
	return n;
}

/* pb_varint for packed payloads: the 8-byte path where 8 bytes are there
 * to load (limit is the end of the whole buffer), else the careful one. */
static inline const uint8_t *
pb_varint_packed(
    const uint8_t *p, const uint8_t *end, const uint8_t *limit, uint64_t *out)
{
	size_t n = limit - p >= 8 ? pb_varint8(p, out) : 0;

	if (n != 0 && n <= (size_t)(end - p))
		return p + n;
	return pb_varint(p, end, out);
}

/* pb_varint where the bytes up to limit (the whole buffer's end, at or
 * past end) may be loaded: one or two bytes as usual, a longer varint
 * from one 8-byte load where 8 bytes are there. A Go address is 3 to 5 bytes,
 * past pb_varint's two-byte shortcut and into its loop. */
static inline __attribute__((always_inline)) const uint8_t *
pb_varint_in(
    const uint8_t *p, const uint8_t *end, const uint8_t *limit, uint64_t *out)
{
	size_t n;

	if (p < end && *p < 0x80) {
		*out = *p;
		return p + 1;
	}
	if (end - p >= 2 && p[1] < 0x80) {
		*out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		return p + 2;
	}
	if (limit - p >= 8) {
		n = pb_varint8(p, out);
		if (n != 0 && n <= (size_t)(end - p))
			return p + n;
	}
	return pb_varint(p, end, out);
}

static inline uint64_t
pb_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, p, n); /* the hosts profpipe runs on are little-endian */
	return v;
}

/* Read the field at *pp (< end) into f and advance *pp. Returns 0, or a
 * pb_fail (with *pp left at the field's start). */
static inline __attribute__((always_inline)) int
pb_next(const uint8_t **pp, const uint8_t *end, struct pb_field *f)
{
	const uint8_t *p = *pp;
	uint64_t tag;
	uint64_t len;

	f->at = p;
	f->num = 0;
	f->wt = 0;
	if (*p < 0x80) {
		tag = *p++;
	} else {
		p = pb_varint(p, end, &tag);
		if (p == NULL)
			return PB_FAIL_VARINT;
	}
	f->num = (uint32_t)(tag >> 3);
	f->wt = (uint32_t)(tag & 7);
	/* 0, or past protobuf's 2^29 - 1: numbers no message uses. Go's
	 * pprof parser skips such a field as unknown; so do the callers,
	 * given a number past all of theirs. */
	if (f->num == 0 || tag >> 32 != 0)
		f->num = PB_NUM_NONE;
	switch (f->wt) {
	case PB_VARINT:
		p = pb_varint(p, end, &f->u);
		if (p == NULL)
			return PB_FAIL_VARINT;
		break;
	case PB_LEN:
		p = pb_varint(p, end, &len);
		if (p == NULL)
			return PB_FAIL_VARINT;
		if (len > (uint64_t)(end - p))
			return PB_FAIL_LENGTH;
		f->d = p;
		f->n = (size_t)len;
		p += len;
		break;
	case PB_I64:
	case PB_I32:
		len = f->wt == PB_I64 ? 8 : 4;
		if (len > (uint64_t)(end - p))
			return PB_FAIL_LENGTH;
		f->u = pb_le(p, (size_t)len);
		p += len;
		break;
	default:
		return PB_FAIL_WIRETYPE;
	}
	*pp = p;
	return 0;
}

/* Varints in a packed payload: one per byte below 0x80 (exact when the
 * payload is well formed, and an upper bound otherwise). */
static inline size_t
pb_count_varints(const uint8_t *p, size_t n)
{
	size_t c = 0;
	size_t i;

	for (i = 0; i < n; i++)
		c += p[i] < 0x80;
	return c;
}

#endif
