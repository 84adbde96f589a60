/*
 * tap_json: the descriptor-driven printer over a message with every field
 * kind protobuf-c has (described by hand below, as protoc-c would), and
 * over the real wire messages the stages publish.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/buf.h"
#include "common/wire.pb-c.h"
#include "tap/json.h"
#include "tests/unit/export_fixture.h"

struct every {
	ProtobufCMessage base;
	int32_t i32;
	int32_t s32;
	int32_t sf32;
	uint32_t u32;
	uint32_t f32;
	int64_t i64;
	int64_t s64;
	int64_t sf64;
	uint64_t u64;
	uint64_t f64;
	float fl;
	double db;
	protobuf_c_boolean b;
	int en;
	char *str;
	ProtobufCBinaryData by;
	Profpipe__Label *msg;
	Profpipe__Label *null_msg;
	protobuf_c_boolean has_opt_unset;
	int32_t opt_unset;
	protobuf_c_boolean has_opt_set;
	int64_t opt_set;
	char *opt_str;  /* optional string: NULL is unset */
	uint32_t which; /* oneof case */
	int32_t one_a;
	char *one_b;
	size_t n_r_i32;
	int32_t *r_i32;
	size_t n_r_u64;
	uint64_t *r_u64;
	size_t n_r_d;
	double *r_d;
	size_t n_r_b;
	protobuf_c_boolean *r_b;
	size_t n_r_en;
	int *r_en;
	size_t n_r_str;
	char **r_str;
	size_t n_r_by;
	ProtobufCBinaryData *r_by;
	size_t n_r_msg;
	Profpipe__Label **r_msg;
	size_t n_r_empty;
	float *r_empty;
};

#define F(name_, id_, label_, type_, q_, field_, desc_, flags_)               \
	{                                                                     \
		.name = name_, .id = id_, .label = PROTOBUF_C_LABEL_##label_, \
		.type = PROTOBUF_C_TYPE_##type_, .quantifier_offset = q_,     \
		.offset = offsetof(struct every, field_),                     \
		.descriptor = desc_, .flags = flags_                          \
	}
#define S(name_, id_, type_, field_)                                          \
	F(name_, id_, NONE, type_, 0, field_, NULL, 0)
#define R(name_, id_, type_, field_, desc_)                                   \
	F(name_, id_, REPEATED, type_, offsetof(struct every, n_##field_),    \
	    field_, desc_, 0)

static const ProtobufCFieldDescriptor every_fields[] = {
    S("i32", 1, INT32, i32),
    S("s32", 2, SINT32, s32),
    S("sf32", 3, SFIXED32, sf32),
    S("u32", 4, UINT32, u32),
    S("f32", 5, FIXED32, f32),
    S("i64", 6, INT64, i64),
    S("s64", 7, SINT64, s64),
    S("sf64", 8, SFIXED64, sf64),
    S("u64", 9, UINT64, u64),
    S("f64", 10, FIXED64, f64),
    S("fl", 11, FLOAT, fl),
    S("db", 12, DOUBLE, db),
    S("b", 13, BOOL, b),
    F("en", 14, NONE, ENUM, 0, en, &profpipe__ack__status__descriptor, 0),
    S("str", 15, STRING, str),
    S("by", 16, BYTES, by),
    F("msg", 17, NONE, MESSAGE, 0, msg, &profpipe__label__descriptor, 0),
    F("null_msg", 18, NONE, MESSAGE, 0, null_msg, &profpipe__label__descriptor,
        0),
    F("opt_unset", 19, OPTIONAL, INT32, offsetof(struct every, has_opt_unset),
        opt_unset, NULL, 0),
    F("opt_set", 20, OPTIONAL, INT64, offsetof(struct every, has_opt_set),
        opt_set, NULL, 0),
    F("opt_str", 21, OPTIONAL, STRING, 0, opt_str, NULL, 0),
    F("one_a", 22, OPTIONAL, INT32, offsetof(struct every, which), one_a, NULL,
        PROTOBUF_C_FIELD_FLAG_ONEOF),
    F("one_b", 23, OPTIONAL, STRING, offsetof(struct every, which), one_b,
        NULL, PROTOBUF_C_FIELD_FLAG_ONEOF),
    R("r_i32", 24, INT32, r_i32, NULL),
    R("r_u64", 25, UINT64, r_u64, NULL),
    R("r_d", 26, DOUBLE, r_d, NULL),
    R("r_b", 27, BOOL, r_b, NULL),
    R("r_en", 28, ENUM, r_en, &profpipe__ack__status__descriptor),
    R("r_str", 29, STRING, r_str, NULL),
    R("r_by", 30, BYTES, r_by, NULL),
    R("r_msg", 31, MESSAGE, r_msg, &profpipe__label__descriptor),
    R("r_empty", 32, FLOAT, r_empty, NULL),
};

static const ProtobufCMessageDescriptor every_descriptor = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "test.Every",
    .short_name = "Every",
    .c_name = "Every",
    .package_name = "test",
    .sizeof_message = sizeof(struct every),
    .n_fields = sizeof(every_fields) / sizeof(every_fields[0]),
    .fields = every_fields,
};

static void
test_every_field_kind(void **state)
{
	static int32_t r_i32[] = {-1, 2};
	static uint64_t r_u64[] = {UINT64_MAX};
	static double r_d[] = {0.1, 1e300, -0.0};
	static protobuf_c_boolean r_b[] = {1, 0};
	static int r_en[] = {1, 0, 7};
	static char *r_str[] = {(char *)"a", (char *)"\"q\"\n"};
	static uint8_t bytes[] = {1, 2, 3};
	static const char want[] =
	    "{\"i32\":-5,\"s32\":-2147483648,\"sf32\":7,\"u32\":4294967295,"
	    "\"f32\":9,\"i64\":\"-9223372036854775808\",\"s64\":\"-1\","
	    "\"sf64\":\"42\",\"u64\":\"18446744073709551615\","
	    "\"f64\":\"81985529216486895\",\"fl\":0.1,\"db\":2.5,"
	    "\"b\":true,\"en\":\"REJECTED\",\"str\":\"tab\\there \xc3\xa9\","
	    "\"by\":{\"bytes\":3},\"msg\":{\"key\":\"k\",\"value\":\"v\"},"
	    "\"null_msg\":null,\"opt_set\":\"0\",\"one_b\":\"b\","
	    "\"r_i32\":[-1,2],\"r_u64\":[\"18446744073709551615\"],"
	    "\"r_d\":[0.1,1e+300,-0],\"r_b\":[true,false],"
	    "\"r_en\":[\"REJECTED\",\"OK\",7],"
	    "\"r_str\":[\"a\",\"\\\"q\\\"\\n\"],"
	    "\"r_by\":[{\"bytes\":3},{\"bytes\":0}],"
	    "\"r_msg\":[{\"key\":\"k\",\"value\":\"v\"},"
	    "{\"key\":\"\",\"value\":\"\"}],\"r_empty\":[]}";
	Profpipe__Label l = PROFPIPE__LABEL__INIT;
	Profpipe__Label empty = PROFPIPE__LABEL__INIT;
	Profpipe__Label *r_msg[2];
	ProtobufCBinaryData r_by[2];
	struct every e;
	struct buf b;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.base.descriptor = &every_descriptor;
	e.i32 = -5;
	e.s32 = INT32_MIN;
	e.sf32 = 7;
	e.u32 = UINT32_MAX;
	e.f32 = 9;
	e.i64 = INT64_MIN;
	e.s64 = -1;
	e.sf64 = 42;
	e.u64 = UINT64_MAX;
	e.f64 = 0x0123456789abcdefULL;
	e.fl = 0.1f;
	e.db = 2.5;
	e.b = 1;
	e.en = PROFPIPE__ACK__STATUS__REJECTED;
	e.str = (char *)"tab\there \xc3\xa9";
	e.by.len = sizeof(bytes);
	e.by.data = bytes;
	l.key = (char *)"k";
	l.value = (char *)"v";
	e.msg = &l;
	e.has_opt_set = 1;
	e.which = 23;
	e.one_a = 99; /* not the set member: not printed */
	e.one_b = (char *)"b";
	e.n_r_i32 = 2;
	e.r_i32 = r_i32;
	e.n_r_u64 = 1;
	e.r_u64 = r_u64;
	e.n_r_d = 3;
	e.r_d = r_d;
	e.n_r_b = 2;
	e.r_b = r_b;
	e.n_r_en = 3;
	e.r_en = r_en;
	e.n_r_str = 2;
	e.r_str = r_str;
	r_by[0].len = 3;
	r_by[0].data = bytes;
	r_by[1].len = 0;
	r_by[1].data = NULL;
	e.n_r_by = 2;
	e.r_by = r_by;
	r_msg[0] = &l;
	r_msg[1] = &empty;
	e.n_r_msg = 2;
	e.r_msg = r_msg;

	buf_init(&b, 0);
	assert_int_equal(tap_json_message(&b, &e.base, 0), 0);
	assert_true(fx_json_valid(b.data, b.len));
	assert_string_equal((char *)b.data, want);
	buf_release(&b);
}

static void
test_special_floats(void **state)
{
	static double r_d[] = {0, 0, 0};
	struct every e;
	struct buf b;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.base.descriptor = &every_descriptor;
	r_d[0] = NAN;
	r_d[1] = INFINITY;
	r_d[2] = -INFINITY;
	e.n_r_d = 3;
	e.r_d = r_d;
	e.fl = 3.0e38f;
	buf_init(&b, 0);
	assert_int_equal(tap_json_message(&b, &e.base, 0), 0);
	assert_non_null(strstr(
	    (char *)b.data, "\"r_d\":[\"NaN\",\"Infinity\",\"-Infinity\"]"));
	assert_non_null(strstr((char *)b.data, "\"fl\":3e+38,"));
	assert_non_null(strstr((char *)b.data, "\"str\":null,"));
	assert_true(fx_json_valid(b.data, b.len));
	buf_release(&b);
}

/* The messages the stages publish print as valid JSON, unpacked from
 * their wire form as profpipe-tap does. */
static void
test_wire_messages(void **state)
{
	static uint8_t body[] = {0x1f, 0x8b, 0, 0};
	Profpipe__RawProfile raw = PROFPIPE__RAW_PROFILE__INIT;
	ProtobufCMessage *m;
	struct fixture f;
	struct buf b;
	uint8_t *packed;
	size_t len;

	(void)state;
	fixture_cpu(&f);
	raw.origin = &f.o;
	raw.body.len = sizeof(body);
	raw.body.data = body;
	len = profpipe__raw_profile__get_packed_size(&raw);
	packed = malloc(len);
	profpipe__raw_profile__pack(&raw, packed);
	m = protobuf_c_message_unpack(
	    &profpipe__raw_profile__descriptor, NULL, len, packed);
	assert_non_null(m);
	buf_init(&b, 0);
	assert_int_equal(tap_json_message(&b, m, 0), 0);
	assert_string_equal((char *)b.data,
	    "{\"origin\":{\"profile_id\":\"6f1c0e2a-0000-4000-8000-"
	    "000000000001\",\"source\":\"pull\",\"kind\":\"cpu\","
	    "\"service\":\"shop\",\"instance\":\"127.0.0.1:6060\","
	    "\"job\":\"go\",\"labels\":[{\"key\":\"env\",\"value\":\"prod\"},"
	    "{\"key\":\"zone\",\"value\":\"a\"}],"
	    "\"start_ns\":\"1700000000123456789\","
	    "\"end_ns\":\"1700000010123456789\",\"is_delta\":false,"
	    "\"target\":\"http://127.0.0.1:6060/debug/pprof/profile\"},"
	    "\"body\":{\"bytes\":4},\"by_ref\":null}");
	protobuf_c_message_free_unpacked(m, NULL);
	free(packed);

	len = profpipe__result__get_packed_size(&f.r);
	packed = malloc(len);
	profpipe__result__pack(&f.r, packed);
	m = protobuf_c_message_unpack(
	    &profpipe__result__descriptor, NULL, len, packed);
	assert_non_null(m);
	buf_clear(&b);
	assert_int_equal(tap_json_message(&b, m, 0), 0);
	assert_true(fx_json_valid(b.data, b.len));
	assert_non_null(strstr((char *)b.data,
	    "\"stack_hash\":["
	    "\"81985529216486895\",\"1\",\"18364758544493064720\",\"2\"]"));
	assert_non_null(strstr((char *)b.data,
	    "\"sample_types\":[{\"type\":1,"
	    "\"unit\":2,\"absent\":false},"));
	assert_non_null(strstr((char *)b.data,
	    "\"label_sets\":[{\"labels\":"
	    "[]},{\"labels\":[{\"key\":11,\"str\":12,\"num\":\"0\","
	    "\"unit\":0},"));
	protobuf_c_message_free_unpacked(m, NULL);
	free(packed);

	/* a cap too small for the line: -1, not a truncated line */
	buf_release(&b);
	buf_init(&b, 64);
	m = &f.r.base;
	assert_int_equal(tap_json_message(&b, m, 0), -1);
	buf_release(&b);
}

/* The body as TAP_JSON_BYTES prints it: "body":"<base64>" */
static char *
body_base64(struct buf *b, const uint8_t *p, size_t n)
{
	Profpipe__RawProfile raw = PROFPIPE__RAW_PROFILE__INIT;
	char *s;
	char *e;

	raw.body.len = n;
	raw.body.data = (uint8_t *)p;
	buf_clear(b);
	assert_int_equal(tap_json_message(b, &raw.base, TAP_JSON_BYTES), 0);
	assert_true(fx_json_valid(b->data, b->len));
	s = strstr((char *)b->data, "\"body\":\"");
	assert_non_null(s);
	s += strlen("\"body\":\"");
	e = strchr(s, '"');
	assert_non_null(e);
	*e = '\0';
	return s;
}

/* What a base64 digit stands for, -1 for '=' */
static int
b64_digit(char c)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *at = strchr(abc, c);

	if (c == '=')
		return -1;
	assert_non_null(at);
	return (int)(at - abc);
}

/* --bytes: RFC 4648's test vectors, then every length up to past the
 * encoder's chunk, decoded again here and compared byte for byte. */
static void
test_bytes_base64(void **state)
{
	static const char *const vec[][2] = {{"", ""}, {"f", "Zg=="},
	    {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
	uint8_t in[1100];
	uint8_t back[1100];
	struct buf b;
	size_t i;
	size_t n;
	size_t k;
	size_t len;
	const char *s;
	uint32_t v;
	int d;
	int j;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++)
		assert_string_equal(body_base64(&b, (const uint8_t *)vec[i][0],
		                        strlen(vec[i][0])),
		    vec[i][1]);
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 131 + 7); /* every byte value */
	for (n = 0; n <= sizeof(in); n += n < 20 ? 1 : 37) {
		s = body_base64(&b, in, n);
		len = strlen(s);
		assert_int_equal(len, (n + 2) / 3 * 4);
		for (i = k = 0; i < len; i += 4) {
			for (v = 0, j = 0; j < 4; j++) {
				d = b64_digit(s[i + j]);
				v = v << 6 | (uint32_t)(d < 0 ? 0 : d);
			}
			for (j = 0; j < 3 && k < n; j++)
				back[k++] = (uint8_t)(v >> (16 - 8 * j));
		}
		assert_int_equal(k, n);
		assert_memory_equal(back, in, n);
	}
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_field_kind),
	    cmocka_unit_test(test_special_floats),
	    cmocka_unit_test(test_wire_messages),
	    cmocka_unit_test(test_bytes_base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
