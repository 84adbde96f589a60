/*
 * raw_view_diff: raw_view's RawProfile against protobuf-c's unpack of the
 * same bytes. Both must refuse, or both read the same body bytes and an
 * Origin that packs to the same bytes (protobuf-c packs fields in one
 * canonical order, so equal packings mean equal messages). Shared by the
 * unit test and the fuzz target (tests/fuzz/fuzz_raw_view.c).
 */
#ifndef PROFPIPE_TEST_RAW_VIEW_DIFF_H
#define PROFPIPE_TEST_RAW_VIEW_DIFF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "decoder/raw_view.h"

static inline int
rvd_same_origin(const Profpipe__Origin *a, const Profpipe__Origin *b)
{
	size_t n;
	uint8_t *pa;
	uint8_t *pb;
	int same;

	if (a == NULL || b == NULL)
		return a == b;
	n = profpipe__origin__get_packed_size(a);
	if (n != profpipe__origin__get_packed_size(b))
		return 0;
	pa = malloc(n + 1);
	pb = malloc(n + 1);
	if (pa == NULL || pb == NULL)
		abort();
	profpipe__origin__pack(a, pa);
	profpipe__origin__pack(b, pb);
	same = memcmp(pa, pb, n) == 0;
	free(pa);
	free(pb);
	return same;
}

/* 0 if raw_view agrees with protobuf-c on msg; else -1, why says how. */
static inline int
raw_view_diff(
    struct arena *a, const uint8_t *msg, size_t len, char *why, size_t whylen)
{
	ProtobufCAllocator pa;
	Profpipe__RawProfile *v;
	Profpipe__RawProfile *u;
	int rv = 0;

	arena_reset(a);
	arena_pb_allocator(a, &pa);
	v = raw_view(msg, len, &pa);
	u = profpipe__raw_profile__unpack(NULL, len, msg);
	if ((v == NULL) != (u == NULL)) {
		snprintf(why, whylen, "raw_view %s, protobuf-c %s",
		    v ? "read it" : "refused it",
		    u ? "read it" : "refused it");
		rv = -1;
	} else if (v != NULL &&
	    (v->body.len != u->body.len ||
	        (v->body.len > 0 &&
	            memcmp(v->body.data, u->body.data, v->body.len) != 0))) {
		snprintf(why, whylen, "bodies differ (%zu and %zu bytes)",
		    v->body.len, u->body.len);
		rv = -1;
	} else if (v != NULL && !rvd_same_origin(v->origin, u->origin)) {
		snprintf(why, whylen, "origins differ");
		rv = -1;
	}
	if (u != NULL)
		profpipe__raw_profile__free_unpacked(u, NULL);
	return rv;
}

#endif
