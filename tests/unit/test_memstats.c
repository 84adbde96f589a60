/*
 * memstats: the MemStats tail of a real heap?debug=1 text, checked against
 * numbers read from the same text here with sscanf; and texts that are
 * not one (a goroutine debug=1 text, cut, repeated, overlong, overflowing
 * or missing lines), each refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/arena.h"
#include "decode_util.h"
#include "decoder/memstats.h"

static uint64_t
scan(const char *text, const char *key)
{
	char pat[64];
	const char *p;
	unsigned long long v = 0;

	snprintf(pat, sizeof(pat), "\n# %s = ", key);
	p = strstr(text, pat);
	assert_non_null(p);
	assert_int_equal(sscanf(p + strlen(pat), "%llu", &v), 1);
	return v;
}

static void
test_real_heap_debug1(void **state)
{
	struct arena *a = arena_new(0);
	Profpipe__MemStats *ms;
	Profpipe__Decoded d;
	char err[256];
	const char *p;
	char *text;
	size_t len;
	size_t i;
	unsigned long long v;
	int n;

	(void)state;
	text = (char *)du_slurp(CORPUS "/real/goapp-heap-debug1.txt", &len);
	assert_non_null(text);
	text[len] = '\0';
	assert_int_equal(
	    memstats_parse(text, len, a, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms->total_alloc, scan(text, "TotalAlloc"));
	assert_int_equal(ms->mallocs, scan(text, "Mallocs"));
	assert_int_equal(ms->frees, scan(text, "Frees"));
	assert_int_equal(ms->heap_alloc, scan(text, "HeapAlloc"));
	assert_int_equal(ms->heap_objects, scan(text, "HeapObjects"));
	assert_int_equal(ms->heap_sys, scan(text, "HeapSys"));
	assert_int_equal(ms->num_gc, scan(text, "NumGC"));
	assert_int_equal(ms->next_gc, scan(text, "NextGC"));
	assert_int_equal(ms->last_gc, scan(text, "LastGC"));
	assert_int_equal(ms->pause_total_ns, 0); /* Go does not print it */
	assert_int_equal(ms->n_pause_ns, 256);
	assert_int_equal(ms->n_pause_end, 256);
	p = strstr(text, "# PauseNs = [") + strlen("# PauseNs = [");
	for (i = 0; i < 256; i++) {
		assert_int_equal(sscanf(p, "%llu%n", &v, &n), 1);
		assert_int_equal(ms->pause_ns[i], v);
		p += n;
	}
	/* The newest pause ends at LastGC. */
	assert_int_equal(ms->pause_end[(ms->num_gc + 255) % 256], ms->last_gc);
	assert_int_equal(memstats_decode((const uint8_t *)text, len, a, &d,
	                     err, sizeof(err)),
	    0);
	assert_non_null(d.memstats);
	assert_int_equal(d.n_stack_offset, 1);
	free(text);
	arena_free(a);
}

static void
refused(const char *text, const char *why)
{
	struct arena *a = arena_new(0);
	Profpipe__MemStats *ms;
	char err[256];

	err[0] = '\0';
	assert_int_equal(
	    memstats_parse(text, strlen(text), a, &ms, err, sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("want \"%s\" in \"%s\"", why, err);
	arena_free(a);
}

#define OK_TAIL                                                               \
	"# runtime.MemStats\n# TotalAlloc = 10\n# Mallocs = 5\n"              \
	"# Frees = 3\n# HeapAlloc = 7\n# HeapObjects = 2\n"                   \
	"# PauseNs = [1 2 3]\n# PauseEnd = [4 5 6]\n"

static void
test_malformed(void **state)
{
	struct arena *a = arena_new(0);
	Profpipe__MemStats *ms;
	char err[256];
	char *text;
	char *big;
	size_t len;
	size_t i;

	(void)state;
	/* The good one first, so each refusal below is one change. */
	assert_int_equal(
	    memstats_parse(OK_TAIL "# NumGC = 3\n",
	        strlen(OK_TAIL "# NumGC = 3\n"), a, &ms, err, sizeof(err)),
	    0);
	assert_int_equal(ms->num_gc, 3);
	refused(OK_TAIL, "NumGC: missing");
	refused(OK_TAIL "# NumGC = 3\n# NumGC = 4\n", "NumGC: appears twice");
	refused(OK_TAIL "# NumGC = -3\n", "NumGC: not an unsigned");
	refused(OK_TAIL "# NumGC = 3x\n", "NumGC: not an unsigned");
	refused(OK_TAIL "# NumGC = 18446744073709551616\n", "not an unsigned");
	refused("# runtime.MemStats\n# PauseNs = [1 2\n", "expected ]");
	refused("# runtime.MemStats\n# PauseNs = [1 x]\n", "not a number");
	refused("# runtime.MemStats\n# PauseNs = 1 2]\n", "expected [");
	refused("", "no \"# runtime.MemStats\"");
	refused("# TotalAlloc = 1\n", "no \"# runtime.MemStats\"");
	refused("# runtime.MemStats\n# TotalAlloc = 10\n# Mallocs = 5\n"
	        "# Frees = 3\n# HeapAlloc = 7\n# HeapObjects = 2\n"
	        "# PauseNs = [1 2 3]\n# PauseEnd = [4 5]\n# NumGC = 3\n",
	    "differ in length");
	/* 257 entries */
	big = malloc(8192);
	strcpy(big, "# runtime.MemStats\n# PauseNs = [");
	for (i = 0; i < 257; i++)
		strcat(big, "1 ");
	strcat(big, "]\n");
	refused(big, "more than 256");
	/* one overlong line */
	big = realloc(big, MEMSTATS_MAX_LINE + 64);
	strcpy(big, "# runtime.MemStats\n# X = ");
	memset(big + strlen(big), '1', MEMSTATS_MAX_LINE);
	big[strlen("# runtime.MemStats\n# X = ") + MEMSTATS_MAX_LINE] = '\0';
	refused(big, "line too long");
	free(big);
	/* A goroutine debug=1 text has no MemStats. */
	text =
	    (char *)du_slurp(CORPUS "/real/biggo-goroutine-debug1.txt", &len);
	assert_non_null(text);
	assert_int_equal(
	    memstats_parse(text, len, a, &ms, err, sizeof(err)), -1);
	free(text);
	/* The real text cut in the middle of PauseNs. */
	text = (char *)du_slurp(CORPUS "/real/goapp-heap-debug1.txt", &len);
	assert_non_null(text);
	len = (size_t)(strstr(text, "# PauseNs = [") - text) + 40;
	assert_int_equal(
	    memstats_parse(text, len, a, &ms, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PauseNs"));
	free(text);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_heap_debug1),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
