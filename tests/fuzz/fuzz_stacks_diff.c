/*
 * libFuzzer target: the decoder's one-pass sample reader against the plain
 * one, on any input. decode_profile reads each sample straight into a
 * stack through its fast paths (ids 8 bytes at a time, location lists and
 * label tails taken whole when seen before); pprof_read keeps the samples
 * as read (and is itself checked against protobuf-c by fuzz_pprof_diff).
 * Both are expanded into the text of each stack's frames and labels and
 * summed by it (tests/unit/stacks_agree.h, the unit tests' check): any
 * difference aborts, and so do two decoded stacks with the same text. So does
 * an input one of them refuses and the other reads, except for what only the
 * decoder checks: totals that overflow int64 when summed, its memory cap, and
 * sample types in a profile with no samples.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SA_CHECK(c)                                                           \
	do {                                                                  \
		if (!(c))                                                     \
			abort();                                              \
	} while (0)
#define SA_FAIL(...)                                                          \
	do {                                                                  \
		fprintf(stderr, __VA_ARGS__);                                 \
		fputc('\n', stderr);                                          \
		abort();                                                      \
	} while (0)

#include "common/zstd_magic.h"
#include "tests/unit/stacks_agree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal only the decoder makes: totals past int64, its memory cap,
 * and a profile without sample types, which pprof_read reads as empty
 * when it has no samples either (with samples it refuses it too) and the
 * decoder refuses: there is nothing to hand on. */
static int
decoder_only(const char *err)
{
	return strstr(err, "overflows int64") != NULL ||
	    strstr(err, "out of memory") != NULL ||
	    strstr(err, ": no sample types") != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[640];
	int rv;

	/* Raw protobuf only: the front end has fuzz_pprof, and a gzip
	 * header would make most inputs a refused inflate. */
	if (size < 2 || (data[0] == 0x1f && data[1] == 0x8b) ||
	    zstd_magic(data, size))
		return 0;
	rv = stacks_compare(data, size, "input", err, sizeof(err));
	if (rv == 2)
		SA_FAIL("not collapsed: %s", err);
	if (rv != 1)
		return 0;
	if (strncmp(err, "decode: ", 8) == 0) {
		/* pprof_read took it: the decoder must too */
		if (!decoder_only(err))
			SA_FAIL("only the decoder refused it: %s", err);
		return 0;
	}
	if (strncmp(err, "pprof_read: ", 12) == 0) {
		/* the decoder must refuse it too */
		Profpipe__Decoded d;
		struct decode_limits lim;
		struct arena *a = arena_new(0);
		char why[512];

		SA_CHECK(a != NULL);
		decode_limits_default(&lim);
		if (decode_profile(
		        data, size, &lim, a, &d, why, sizeof(why)) == 0)
			SA_FAIL("only pprof_read refused it: %s", err);
		arena_free(a);
	}
	return 0;
}
