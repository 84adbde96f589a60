/*
 * decode_narrow: the way out of a decode whose frames are 16-bit ids
 * (decode.h, struct decode_narrow). The Decoded on the wire has them
 * 32-bit (fixed32, which the aggregator reads with a copy and nothing
 * else), so they are widened on the way out, never held wide beside the
 * profile's own bytes:
 *
 *  - decode_pack, the decoder stage's way: the Decoded packed without its
 *    frames, then field 13 appended, each id widened as it is written,
 *    where the stage used to copy the 32-bit array. A parser takes the
 *    fields of a message in any order, and a packed field once.
 *  - decode_widen, decoder_run's: in place, for callers that read the
 *    Decoded in memory (one-shot printing, tests).
 */
#include "decoder/decode_narrow.h"

#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "decode_pack writes fixed32 as this CPU stores a uint32_t"
#endif

#define STACK_FRAMES_TAG ((13 << 3) | 2) /* field 13, length-delimited */

static size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static int
has_narrow(const struct decode_narrow *nw)
{
	return nw != NULL && nw->ids != NULL && nw->n > 0;
}

size_t
decode_packed_size(const Profpipe__Decoded *d, const struct decode_narrow *nw)
{
	size_t n = protobuf_c_message_get_packed_size(&d->base);
	uint64_t bytes;

	if (!has_narrow(nw))
		return n;
	bytes = (uint64_t)nw->n * 4;
	return n + 1 + varint_len(bytes) + (size_t)bytes;
}

void
decode_pack(
    const Profpipe__Decoded *d, const struct decode_narrow *nw, uint8_t *buf)
{
	uint8_t *p = buf + protobuf_c_message_pack(&d->base, buf);
	const uint16_t *ids;
	uint64_t bytes;
	uint32_t v;
	size_t i;

	if (!has_narrow(nw))
		return;
	*p++ = STACK_FRAMES_TAG;
	for (bytes = (uint64_t)nw->n * 4; bytes >= 0x80; bytes >>= 7)
		*p++ = (uint8_t)(bytes | 0x80);
	*p++ = (uint8_t)bytes;
	ids = nw->ids;
	i = 0;
#ifdef __SSE2__
	/* 8 ids a time, where the stage once copied 32-bit ids: one load,
	 * two unpacks against zero, two stores (a plain loop stays scalar
	 * at -O2). */
	for (; i + 8 <= nw->n; i += 8) {
		__m128i x = _mm_loadu_si128((const __m128i *)(ids + i));
		__m128i z = _mm_setzero_si128();

		_mm_storeu_si128(
		    (__m128i *)(p + 4 * i), _mm_unpacklo_epi16(x, z));
		_mm_storeu_si128(
		    (__m128i *)(p + 4 * i + 16), _mm_unpackhi_epi16(x, z));
	}
#endif
	for (; i < nw->n; i++) {
		v = ids[i];
		memcpy(p + 4 * i, &v, 4);
	}
}

int
decode_widen(struct arena *a, const struct decode_narrow *nw,
    Profpipe__Decoded *out, char *err, size_t errlen)
{
	struct arena *tmp = arena_scratch(a);
	unsigned char *p = (unsigned char *)nw->ids;
	const unsigned char *from = p;
	size_t n = nw->n;
	uint16_t v;
	uint32_t w;
	size_t i;

	if (nw->cap * sizeof(uint16_t) < n * sizeof(uint32_t) &&
	    arena_extend(tmp, p, nw->cap * sizeof(uint16_t),
	        n * sizeof(uint32_t)) != 0) {
		p = arena_alloc(tmp, n * sizeof(uint32_t) + 1);
		if (p == NULL) {
			snprintf(err, errlen,
			    "out of memory for stacks (past --max-memory, or "
			    "malloc failed)");
			return DECODE_ENOMEM;
		}
	}
	/* From the last id down: id i's 4 bytes land at 4i, where ids 2i
	 * and 2i + 1 were, both done by then, and never on an id still to
	 * do (at 2j, j < i). Through memcpy: the two widths alias. */
	for (i = n; i-- > 0;) {
		memcpy(&v, from + 2 * i, 2);
		w = v;
		memcpy(p + 4 * i, &w, 4);
	}
	out->stack_frames = (uint32_t *)p;
	out->n_stack_frames = n;
	return 0;
}
