/*
 * layout_writer: pprof messages written field by field for the layout
 * tests (test_pprof_layouts*), and the check that reads one both ways:
 * with pprof_read and with protobuf-c's generated unpack. Include it
 * after cmocka.h: it asserts.
 */
#ifndef PROFPIPE_TESTS_LAYOUT_WRITER_H
#define PROFPIPE_TESTS_LAYOUT_WRITER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/pb_wire.h"
#include "tests/unit/decode_util.h"
#include "tests/unit/pprof_diff.h"

/* A message or a whole profile being written. */
struct w {
	uint8_t b[8192];
	size_t n;
};

static inline void
w_varint(struct w *w, uint64_t v)
{
	assert_true(w->n + 10 <= sizeof(w->b));
	w->n += du_varint(w->b + w->n, v);
}

static inline void
w_field(struct w *w, uint32_t num, uint64_t v)
{
	w_varint(w, (uint64_t)num << 3 | PB_VARINT);
	w_varint(w, v);
}

static inline void
w_bytes(struct w *w, uint32_t num, const void *p, size_t n)
{
	w_varint(w, (uint64_t)num << 3 | PB_LEN);
	w_varint(w, n);
	assert_true(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static inline void
w_raw(struct w *w, uint32_t num, uint32_t wt, size_t n)
{
	w_varint(w, (uint64_t)num << 3 | wt);
	assert_true(w->n + n <= sizeof(w->b));
	memset(w->b + w->n, 0xee, n);
	w->n += n;
}

static inline void
w_msg(struct w *w, uint32_t num, const struct w *m)
{
	w_bytes(w, num, m->b, m->n);
}

/* Both readers on buf: 0 if both accept it and agree (a disagreement
 * on content fails), 1 if both refuse it, -1 if only protobuf-c accepts
 * it (which checks no references), -2 if only pprof_read does. */
static inline int
both(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct decode_limits lim;
	struct arena *a = arena_new(0);
	struct pprof_profile r;
	Perftools__Profiles__Profile *p;
	uint8_t *copy = malloc(len + 1);
	char why[512];
	int rv;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	decode_limits_default(&lim);
	p = perftools__profiles__profile__unpack(NULL, len, copy);
	rv = pprof_read(copy, len, &lim, a, &r, err, errlen);
	if (p != NULL && rv == 0) {
		if (pprof_diff(p, &r, why, sizeof(why)) != 0)
			fail_msg("readers differ: %s", why);
	} else {
		rv = p == NULL ? (rv != 0 ? 1 : -2) : -1;
	}
	if (p != NULL)
		perftools__profiles__profile__free_unpacked(p, NULL);
	arena_free(a);
	free(copy);
	return rv;
}

#endif
