/*
 * decoded_check: the range checks over the big arrays run four elements at
 * a time and then look again for the culprit, so every position counts:
 * a bad index first, in the middle, in the last full group of four and in
 * the tail must each be refused, naming that index, and the largest valid
 * index must pass. And the string table must start with "", and the
 * origin's span must fit an int64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/decoded.h"

#define NSTR 5
#define NFR 7
#define NST 10 /* stacks of 1 to 3 frames, and the tail of 4s */

struct fx {
	Profpipe__Decoded d;
	Profpipe__Origin o;
	char *str[NSTR];
	uint32_t func[NFR], file[NFR];
	int64_t line[NFR];
	uint32_t off[NST + 1];
	uint32_t sf[3 * NST];
	uint64_t hash[NST];
	Profpipe__LabelSet empty;
	Profpipe__LabelSet *sets[1];
};

/* A valid profile of NST stacks over NFR frames, no sample types. */
static void
fx_make(struct fx *f)
{
	Profpipe__Decoded init = PROFPIPE__DECODED__INIT;
	Profpipe__Origin oinit = PROFPIPE__ORIGIN__INIT;
	Profpipe__LabelSet linit = PROFPIPE__LABEL_SET__INIT;
	size_t i;
	uint32_t n = 0;

	memset(f, 0, sizeof(*f));
	f->d = init;
	f->o = oinit;
	f->empty = linit;
	f->sets[0] = &f->empty;
	f->str[0] = "";
	for (i = 1; i < NSTR; i++)
		f->str[i] = "s";
	for (i = 0; i < NFR; i++) {
		f->func[i] = (uint32_t)(i % NSTR);
		f->file[i] = NSTR - 1;
	}
	for (i = 0; i < NST; i++) {
		f->off[i] = n;
		f->sf[n++] = (uint32_t)(i % NFR);
		if (i % 3 != 0)
			f->sf[n++] = NFR - 1;
		f->hash[i] = i;
	}
	f->off[NST] = n;
	f->d.origin = &f->o;
	f->d.n_strings = NSTR;
	f->d.strings = f->str;
	f->d.n_frame_function = f->d.n_frame_file = f->d.n_frame_line = NFR;
	f->d.frame_function = f->func;
	f->d.frame_file = f->file;
	f->d.frame_line = f->line;
	f->d.n_stack_offset = NST + 1;
	f->d.stack_offset = f->off;
	f->d.n_stack_frames = n;
	f->d.stack_frames = f->sf;
	f->d.n_stack_hash = NST;
	f->d.stack_hash = f->hash;
	f->d.n_label_sets = 1;
	f->d.label_sets = f->sets;
}

static void
expect_err(const struct fx *f, const char *want)
{
	char err[256] = "";

	assert_int_equal(decoded_check(&f->d, err, sizeof(err)), -1);
	if (strcmp(err, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", err, want);
}

static void
test_valid(void **state)
{
	struct fx f;
	char err[256];

	(void)state;
	fx_make(&f);
	assert_int_equal(decoded_check(&f.d, err, sizeof(err)), 0);
}

/* pprof's table starts with "", and so must a Decoded's: the pprof
 * files the exporter writes take the table as it is (fuzz_export found a
 * Result without it written into a file Go refuses). */
static void
test_first_string(void **state)
{
	struct fx f;

	(void)state;
	fx_make(&f);
	f.str[0] = "s";
	expect_err(&f, "strings[0] is not \"\"");
	f.d.n_strings = 0;
	expect_err(&f, "strings[0] is not \"\"");
}

/* Stages take a profile's span as end minus start, and a push can set
 * each anywhere in int64 nanoseconds. */
static void
test_span_overflows(void **state)
{
	struct fx f;
	char err[256];

	(void)state;
	fx_make(&f);
	f.o.start_ns = INT64_MIN;
	f.o.end_ns = 1;
	expect_err(&f,
	    "origin: from -9223372036854775808 to 1 ns: its length "
	    "overflows");
	f.o.start_ns = -1;
	f.o.end_ns = INT64_MAX;
	expect_err(&f,
	    "origin: from -1 to 9223372036854775807 ns: its length "
	    "overflows");
	f.o.start_ns = 0;
	assert_int_equal(decoded_check(&f.d, err, sizeof(err)), 0);
}

/* protobuf-c reads a field numbered 0 from an overlong tag (0x82 0x00),
 * keeps it, and refuses it once packed again: a message holding one, at
 * the top or in a message inside, is refused (fuzz_aggregate found it). */
static void
test_field_zero(void **state)
{
	ProtobufCMessageUnknownField zero = {
	    0, PROTOBUF_C_WIRE_TYPE_VARINT, 1, (uint8_t *)"\0"};
	ProtobufCMessageUnknownField other = zero;
	struct fx f;
	char err[256];

	(void)state;
	other.tag = 99;
	fx_make(&f);
	f.d.base.n_unknown_fields = 1;
	f.d.base.unknown_fields = &other;
	assert_int_equal(decoded_check(&f.d, err, sizeof(err)), 0);
	f.d.base.unknown_fields = &zero;
	expect_err(&f, "a field numbered 0");
	f.d.base.n_unknown_fields = 0;
	f.empty.base.n_unknown_fields = 1; /* in label set 0 */
	f.empty.base.unknown_fields = &zero;
	expect_err(&f, "a field numbered 0");
}

static void
test_frame_string_each_position(void **state)
{
	char want[128];
	struct fx f;
	size_t i;

	(void)state;
	for (i = 0; i < NFR; i++) {
		fx_make(&f);
		f.func[i] = NSTR;
		snprintf(want, sizeof(want),
		    "frame %zu: string index out of range", i);
		expect_err(&f, want);
		fx_make(&f);
		f.file[i] = UINT32_MAX;
		expect_err(&f, want);
	}
}

static void
test_stack_frame_each_position(void **state)
{
	char want[128];
	struct fx f;
	size_t i;

	(void)state;
	fx_make(&f);
	for (i = 0; i < f.d.n_stack_frames; i++) {
		fx_make(&f);
		f.sf[i] = NFR;
		snprintf(want, sizeof(want),
		    "stack frame %zu: frame %d out of range (%d frames)", i,
		    NFR, NFR);
		expect_err(&f, want);
	}
}

static void
test_offsets_back_each_position(void **state)
{
	char want[128];
	struct fx f;
	size_t i;

	(void)state;
	/* Offset i + 1 below offset i, for every i but the last (which
	 * would fail the span check first). */
	for (i = 0; i + 1 < NST; i++) {
		fx_make(&f);
		if (f.off[i] == 0)
			continue;
		f.off[i + 1] = f.off[i] - 1;
		snprintf(
		    want, sizeof(want), "stack %zu: offsets go backwards", i);
		expect_err(&f, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_first_string),
	    cmocka_unit_test(test_span_overflows),
	    cmocka_unit_test(test_field_zero),
	    cmocka_unit_test(test_frame_string_each_position),
	    cmocka_unit_test(test_stack_frame_each_position),
	    cmocka_unit_test(test_offsets_back_each_position),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
