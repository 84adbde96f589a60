/*
 * splice: Result bytes from received bytes (splice.h). The received
 * Decoded is walked record by record (tag, then a varint, 8 bytes, 4
 * bytes, or a length and that many bytes); nothing inside a record is
 * read. protobuf-c read the same bytes without complaint just before, so
 * the walk only fails on bytes it was never meant for, and then the Result
 * is packed whole, as it always was.
 *
 * Packing a profile was the aggregator's third largest cost after the
 * delta itself and nng's copies: protobuf-c measures every string
 * (strlen) and writes every record one by one, where a copy of the
 * received runs moves the same bytes at memcpy's speed.
 */
#include "aggregator/splice.h"

#include <stdint.h>
#include <string.h>

#include "common/arena.h"
#include "common/pb_struct.h"
#include "common/pb_wire.h"

/* Fields are told apart by a bit each; Decoded's numbers are far below. */
#define SPLICE_MAX_ID 64

/* The fields where res differs from in, as bits of *mask, and part: a
 * Decoded holding just those fields of res. -1 when a field is of a kind
 * this does not handle (proto2 presence, oneofs): pack whole. */
static int
splice_changed(const Profpipe__Decoded *in, const Profpipe__Decoded *res,
    Profpipe__Decoded *part, uint64_t *mask)
{
	Profpipe__Decoded init = PROFPIPE__DECODED__INIT;
	const ProtobufCMessageDescriptor *desc =
	    &profpipe__decoded__descriptor;
	const ProtobufCFieldDescriptor *f;
	const char *a = (const char *)in;
	const char *b = (const char *)res;
	char *p = (char *)part;
	size_t na;
	size_t nb;
	size_t sz;
	unsigned i;

	*part = init;
	*mask = 0;
	if (in->base.descriptor != desc || res->base.descriptor != desc)
		return -1;
	for (i = 0; i < desc->n_fields; i++) {
		f = &desc->fields[i];
		/* A repeated field's member is its array's pointer. */
		sz = f->label == PROTOBUF_C_LABEL_REPEATED ? sizeof(void *)
		                                           : pb_elem_size(f);
		if (f->id >= SPLICE_MAX_ID ||
		    (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
		    (f->label != PROTOBUF_C_LABEL_NONE &&
		        f->label != PROTOBUF_C_LABEL_REPEATED))
			return -1;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy(&na, a + f->quantifier_offset, sizeof(na));
			memcpy(&nb, b + f->quantifier_offset, sizeof(nb));
			if (na == nb &&
			    (na == 0 ||
			        memcmp(a + f->offset, b + f->offset, sz) == 0))
				continue;
			memcpy(p + f->quantifier_offset, &nb, sizeof(nb));
		} else if (memcmp(a + f->offset, b + f->offset, sz) == 0) {
			continue;
		}
		memcpy(p + f->offset, b + f->offset, sz);
		*mask |= (uint64_t)1 << f->id;
	}
	return 0;
}

/* Copy the records of buf outside mask to out (NULL: only count them),
 * in runs. Their bytes, or SIZE_MAX when buf is not a run of records. */
static size_t
splice_copy(const uint8_t *buf, size_t len, uint64_t mask, uint8_t *out)
{
	const uint8_t *end = buf + len;
	const uint8_t *run = buf;
	const uint8_t *p = buf;
	struct pb_field f;
	size_t n = 0;

	if (mask == 0) {
		if (out != NULL)
			memcpy(out, buf, len);
		return len;
	}
	while (p < end) {
		if (pb_next(&p, end, &f) != 0)
			return SIZE_MAX;
		if (f.num < SPLICE_MAX_ID && (mask >> f.num & 1)) {
			if (out != NULL)
				memcpy(out + n, run, (size_t)(f.at - run));
			n += (size_t)(f.at - run);
			run = p;
		}
	}
	if (out != NULL)
		memcpy(out + n, run, (size_t)(end - run));
	return n + (size_t)(end - run);
}

/* Writes v as a varint at out (unless out is NULL); returns its size. */
static size_t
splice_put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		if (out != NULL)
			out[n] = (uint8_t)(v | 0x80);
		n++;
		v >>= 7;
	}
	if (out != NULL)
		out[n] = (uint8_t)v;
	return n + 1;
}

void
splice_plan(struct splice *sp, const void *buf, size_t len,
    const Profpipe__Decoded *in, const Profpipe__Decoded *res)
{
	Profpipe__Result r = PROFPIPE__RESULT__INIT;

	memset(sp, 0, sizeof(*sp));
	sp->buf = buf;
	sp->len = len;
	if (splice_changed(in, res, &sp->part, &sp->mask) < 0 ||
	    (sp->raw = splice_copy(buf, len, sp->mask, NULL)) == SIZE_MAX) {
		/* Bytes it cannot walk: packed whole. */
		sp->whole = res;
		r.profile = (Profpipe__Decoded *)res;
		sp->size = profpipe__result__get_packed_size(&r);
		return;
	}
	sp->packed =
	    sp->mask != 0 ? profpipe__decoded__get_packed_size(&sp->part) : 0;
	/* Result field 1 (profile), length-delimited: tag 0x0a. */
	sp->head = 1 + splice_put_varint(NULL, sp->raw + sp->packed);
	sp->size = sp->head + sp->raw + sp->packed;
}

void
splice_write(const struct splice *sp, void *out)
{
	Profpipe__Result r = PROFPIPE__RESULT__INIT;
	uint8_t *o = out;

	if (sp->whole != NULL) {
		r.profile = (Profpipe__Decoded *)sp->whole;
		profpipe__result__pack(&r, o);
		return;
	}
	o[0] = (1 << 3) | 2;
	splice_put_varint(o + 1, sp->raw + sp->packed);
	splice_copy(sp->buf, sp->len, sp->mask, o + sp->head);
	if (sp->packed > 0)
		profpipe__decoded__pack(&sp->part, o + sp->head + sp->raw);
}

int
splice_result(struct arena *a, const void *buf, size_t len,
    const Profpipe__Decoded *in, const Profpipe__Decoded *res, void **out,
    size_t *outlen)
{
	struct splice sp;

	splice_plan(&sp, buf, len, in, res);
	*out = arena_alloc(a, sp.size);
	if (*out == NULL)
		return -1;
	splice_write(&sp, *out);
	*outlen = sp.size;
	return 0;
}
