/*
 * json: any protobuf-c message as one JSON object, driven by its
 * descriptor alone, so a field added to wire.proto shows up in
 * profpipe-tap without a line of code changing here.
 *
 * The mapping is proto3's JSON mapping with the .proto field names kept:
 * 32-bit integers, floats and doubles are numbers, 64-bit integers are
 * decimal strings (a JSON number loses precision past 2^53, and stack
 * hashes live up there), enums are their value's name, repeated fields are
 * arrays, messages are objects (null when unset). Proto3 scalars are
 * always printed, defaults included; an explicitly optional field or a
 * oneof member is printed only when set. Two departures for reading by
 * eye: bytes print as {"bytes": N}, their length, unless TAP_JSON_BYTES
 * asks for their content (base64, as proto3 prints them), and NaN and
 * infinities as the strings "NaN", "Infinity", "-Infinity".
 */
#ifndef PROFPIPE_TAP_JSON_H
#define PROFPIPE_TAP_JSON_H

#include <protobuf-c/protobuf-c.h>

#include "common/buf.h"

/* Messages nested deeper than this are refused (-1). */
#define TAP_JSON_DEPTH 32

/* Flags: bytes fields as a base64 string rather than their length. */
#define TAP_JSON_BYTES 1u

/* Append m as a JSON object to out, without a newline. 0, or -1 when out
 * hit its cap, memory ran out or nesting was too deep. */
int tap_json_message(
    struct buf *out, const ProtobufCMessage *m, unsigned flags);

#endif
