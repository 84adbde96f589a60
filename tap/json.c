/*
 * json: a walk over ProtobufCMessageDescriptor fields. Each field is found
 * in the message struct by its offset (and, for repeated, optional and
 * oneof fields, its quantifier offset: an element count, a has_ flag or the
 * oneof's case), and printed by its type. Nothing is allocated but the
 * output buffer's growth.
 */
#include "tap/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pb_struct.h"

static int tap_json_object(
    struct buf *b, const ProtobufCMessage *m, unsigned flags, int depth);

/* NaN and infinities have no JSON number: print them as proto3 does. */
static int
tap_json_special(struct buf *b, double v)
{
	if (isnan(v))
		return buf_puts(b, "\"NaN\"") == 0;
	if (isinf(v))
		return buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"") ==
		    0;
	return 0;
}

/* The fewest digits that read back as the same value: 0.1, not
 * 0.10000000000000001. */
static void
tap_json_double(struct buf *b, double v)
{
	char s[64];
	int digits;

	if (tap_json_special(b, v))
		return;
	for (digits = 15; digits < 17; digits++) {
		snprintf(s, sizeof(s), "%.*g", digits, v);
		if (strtod(s, NULL) == v)
			break;
	}
	if (digits == 17)
		snprintf(s, sizeof(s), "%.17g", v);
	buf_puts(b, s);
}

static void
tap_json_float(struct buf *b, float v)
{
	char s[64];
	int digits;

	if (tap_json_special(b, v))
		return;
	for (digits = 6; digits < 9; digits++) {
		snprintf(s, sizeof(s), "%.*g", digits, (double)v);
		if (strtof(s, NULL) == v)
			break;
	}
	if (digits == 9)
		snprintf(s, sizeof(s), "%.9g", (double)v);
	buf_puts(b, s);
}

static void
tap_json_enum(struct buf *b, const ProtobufCFieldDescriptor *f, int v)
{
	const ProtobufCEnumValue *ev = NULL;

	if (f->descriptor != NULL)
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
	if (ev != NULL)
		buf_json_str(b, ev->name, strlen(ev->name));
	else
		buf_printf(b, "%d", v); /* a value newer than the descriptor */
}

/* bytes as a JSON string in base64 with padding, as proto3's mapping has
 * them. */
static int
tap_json_base64(struct buf *b, const uint8_t *p, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4 * 256];
	size_t k = 0;
	size_t i;
	uint32_t v;

	buf_putc(b, '"');
	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[k++] = abc[v >> 18];
		out[k++] = abc[(v >> 12) & 63];
		out[k++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
		out[k++] = i + 2 < n ? abc[v & 63] : '=';
		if (k == sizeof(out)) {
			buf_append(b, out, k);
			k = 0;
		}
	}
	buf_append(b, out, k);
	return buf_putc(b, '"');
}

/* One value of field f at p (an element of a repeated field, or the
 * field itself). */
static int
tap_json_value(struct buf *b, const ProtobufCFieldDescriptor *f, const void *p,
    unsigned flags, int depth)
{
	const ProtobufCBinaryData *bd;
	const char *s;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return buf_printf(b, "%" PRId32, *(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return buf_printf(b, "%" PRIu32, *(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return buf_printf(b, "\"%" PRId64 "\"", *(const int64_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return buf_printf(b, "\"%" PRIu64 "\"", *(const uint64_t *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		tap_json_float(b, *(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		tap_json_double(b, *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		return buf_puts(
		    b, *(const protobuf_c_boolean *)p ? "true" : "false");
	case PROTOBUF_C_TYPE_ENUM:
		tap_json_enum(b, f, *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		s = *(char *const *)p;
		if (s == NULL)
			return buf_puts(b, "null");
		return buf_json_str(b, s, strlen(s));
	case PROTOBUF_C_TYPE_BYTES:
		bd = p;
		if (flags & TAP_JSON_BYTES)
			return tap_json_base64(b, bd->data, bd->len);
		return buf_printf(b, "{\"bytes\":%zu}", bd->len);
	case PROTOBUF_C_TYPE_MESSAGE:
		return tap_json_object(
		    b, *(ProtobufCMessage *const *)p, flags, depth + 1);
	default:
		return buf_puts(b, "null");
	}
	return b->failed ? -1 : 0;
}

/* Is field f of m to be printed? Proto3 singular fields always are;
 * optional ones and oneof members only when set. */
static int
tap_json_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) ==
		    f->id;
	if (f->label != PROTOBUF_C_LABEL_OPTIONAL)
		return 1;
	if (f->type == PROTOBUF_C_TYPE_STRING ||
	    f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)(base + f->offset) != NULL;
	return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
}

static int
tap_json_repeated(struct buf *b, const ProtobufCMessage *m,
    const ProtobufCFieldDescriptor *f, unsigned flags, int depth)
{
	const char *base = (const char *)m;
	size_t n = *(const size_t *)(base + f->quantifier_offset);
	const char *a = *(char *const *)(base + f->offset);
	size_t size = pb_elem_size(f);
	size_t i;

	buf_putc(b, '[');
	for (i = 0; i < n && a != NULL; i++) {
		if (i > 0)
			buf_putc(b, ',');
		if (tap_json_value(b, f, a + i * size, flags, depth) < 0)
			return -1;
	}
	return buf_putc(b, ']');
}

static int
tap_json_object(
    struct buf *b, const ProtobufCMessage *m, unsigned flags, int depth)
{
	const ProtobufCMessageDescriptor *d;
	const ProtobufCFieldDescriptor *f;
	const char *base = (const char *)m;
	unsigned i;
	int first = 1;
	int rv;

	if (m == NULL)
		return buf_puts(b, "null");
	if (depth > TAP_JSON_DEPTH)
		return -1;
	d = m->descriptor;
	buf_putc(b, '{');
	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		if (f->label != PROTOBUF_C_LABEL_REPEATED &&
		    !tap_json_present(m, f))
			continue;
		if (!first)
			buf_putc(b, ',');
		first = 0;
		buf_json_str(b, f->name, strlen(f->name));
		buf_putc(b, ':');
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			rv = tap_json_repeated(b, m, f, flags, depth);
		else
			rv = tap_json_value(
			    b, f, base + f->offset, flags, depth);
		if (rv < 0)
			return -1;
	}
	return buf_putc(b, '}');
}

int
tap_json_message(struct buf *out, const ProtobufCMessage *m, unsigned flags)
{
	if (tap_json_object(out, m, flags, 0) < 0 || out->failed)
		return -1;
	return 0;
}
