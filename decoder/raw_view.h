/*
 * raw_view: a RawProfile read without copying its body. protobuf-c's
 * unpack copies every bytes field, and a raw profile is mostly body
 * (megabytes, only ever read once, by the inflate), so the view points the
 * body into the received message instead and unpacks only the Origin.
 */
#ifndef PROFPIPE_RAW_VIEW_H
#define PROFPIPE_RAW_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.pb-c.h"

/* The RawProfile in msg[0 .. len), allocated through pa, its body.data
 * pointing into msg (so valid while msg is). NULL where protobuf-c's
 * unpack gives NULL: the same messages are accepted, with the same
 * meaning. */
Profpipe__RawProfile *raw_view(
    const uint8_t *msg, size_t len, ProtobufCAllocator *pa);

#endif
