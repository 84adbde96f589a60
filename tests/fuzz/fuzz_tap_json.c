/*
 * libFuzzer target: profpipe-tap's printing (tap/json.h) of whatever a
 * stage publishes, or anything that dials a tap's socket sends. The
 * first byte picks the message type (RawProfile, Decoded, Result, Ack)
 * and whether bytes print as base64; the rest is the message. One that
 * protobuf-c unpacks must print as one valid JSON object in well-formed
 * UTF-8, whatever its strings hold, or be refused (too deep, too large).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/wire.pb-c.h"
#include "tap/json.h"
#include "tests/unit/json_check.h"

#define OUT_CAP ((size_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const types[] = {
    &profpipe__raw_profile__descriptor,
    &profpipe__decoded__descriptor,
    &profpipe__result__descriptor,
    &profpipe__ack__descriptor,
};

#define N_TYPES (sizeof(types) / sizeof(types[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ProtobufCMessage *m;
	struct buf out;
	unsigned flags;

	if (size < 1)
		return 0;
	flags = data[0] & 0x80 ? TAP_JSON_BYTES : 0;
	m = protobuf_c_message_unpack(
	    types[(data[0] & 0x7f) % N_TYPES], NULL, size - 1, data + 1);
	if (m == NULL)
		return 0;
	buf_init(&out, OUT_CAP);
	if (tap_json_message(&out, m, flags) == 0 &&
	    (out.len == 0 || out.data[0] != '{' ||
	        !fx_json_valid(out.data, out.len))) {
		fprintf(stderr, "fuzz_tap_json: not one JSON object: %.*s\n",
		    (int)(out.len < 200 ? out.len : 200), (char *)out.data);
		abort();
	}
	buf_release(&out);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
