/*
 * raw_view: see raw_view.h. The view handles the layout the fetcher
 * writes: each of RawProfile's two fields at most once, nothing else.
 * Anything else (a field repeated, which protobuf merges; an unknown
 * field, which protobuf-c keeps; a wrong wire type; a truncated field)
 * goes to protobuf-c's own unpack, so what is accepted, and what it means,
 * is exactly protobuf-c's; the differential test and fuzz target hold the
 * two to that.
 */
#include "decoder/raw_view.h"

#include "common/pb_wire.h"

enum { RAW_ORIGIN = 1, RAW_BODY = 2 };

/* Where the plain layout's two fields are; 0 if msg is not that layout. */
static int
raw_fields(const uint8_t *msg, size_t len, struct pb_field *origin,
    struct pb_field *body)
{
	const uint8_t *p = msg;
	const uint8_t *end = msg + len;
	struct pb_field f;
	struct pb_field *slot;

	origin->num = 0;
	body->num = 0;
	while (p < end) {
		/* Minimal encodings only (a one-byte tag, a length of at
		 * most 5 bytes), as protobuf-c writes them: the odd ones
		 * some readers refuse are left to protobuf-c's verdict. */
		if (pb_next(&p, end, &f) != 0 || f.wt != PB_LEN ||
		    f.at[0] >= 0x80 || f.d - f.at > 6)
			return 0;
		slot = f.num == RAW_ORIGIN ? origin
		    : f.num == RAW_BODY    ? body
		                           : NULL;
		if (slot == NULL || slot->num != 0)
			return 0;
		*slot = f;
	}
	return 1;
}

Profpipe__RawProfile *
raw_view(const uint8_t *msg, size_t len, ProtobufCAllocator *pa)
{
	Profpipe__RawProfile *raw;
	struct pb_field origin;
	struct pb_field body;

	if (!raw_fields(msg, len, &origin, &body))
		return profpipe__raw_profile__unpack(pa, len, msg);
	raw = pa->alloc(pa->allocator_data, sizeof(*raw));
	if (raw == NULL)
		return NULL;
	profpipe__raw_profile__init(raw);
	if (origin.num != 0) {
		raw->origin = profpipe__origin__unpack(pa, origin.n, origin.d);
		if (raw->origin == NULL)
			return NULL;
	}
	if (body.num != 0 && body.n > 0) {
		raw->body.data = (uint8_t *)body.d;
		raw->body.len = body.n;
	}
	return raw;
}
