/*
 * store_params: the API's query-string and time parsers
 * (exporter/api_params.h), with every kind of malformed input they must
 * refuse: bad escapes, encoded NULs, empty names, repeated and unknown
 * parameters, too many or too long, and times that are not unix seconds
 * or RFC 3339 (impossible dates, missing zones, out-of-range years).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exporter/api_params.h"

#define NS 1000000000LL

static void
test_parse_and_decode(void **state)
{
	struct api_params p;
	char err[256];

	(void)state;
	assert_int_equal(
	    api_params_parse(&p,
	        "service=check%20out&kind=cpu&instance=10.0.0.1%3A6060"
	        "&q=a+b&empty=&flag",
	        err, sizeof(err)),
	    0);
	assert_int_equal(p.n, 6);
	assert_string_equal(api_param(&p, "service"), "check out");
	assert_string_equal(api_param(&p, "instance"), "10.0.0.1:6060");
	assert_string_equal(api_param(&p, "q"), "a b");
	assert_string_equal(api_param(&p, "empty"), "");
	assert_string_equal(api_param(&p, "flag"), "");
	assert_null(api_param(&p, "from"));
	/* empty pieces between '&' are skipped */
	assert_int_equal(api_params_parse(&p, "&&a=1&&", err, sizeof(err)), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(api_params_parse(&p, "", err, sizeof(err)), 0);
	assert_int_equal(p.n, 0);
	/* UTF-8 passes through */
	assert_int_equal(
	    api_params_parse(&p, "s=%E2%9C%93", err, sizeof(err)), 0);
	assert_string_equal(api_param(&p, "s"), "\xe2\x9c\x93");
}

static void
test_malformed_queries(void **state)
{
	static const struct {
		const char *q;
		const char *why;
	} bad[] = {
	    {"a=%", "parameter a: bad"},
	    {"a=%4", "parameter a: bad"},
	    {"a=%zz", "parameter a: bad"},
	    {"a=%00", "parameter a: bad"},
	    {"a%00=1", "bad name"},
	    {"=1", "bad name"},
	    {"%=1", "bad name"},
	    {"a=1&a=2", "parameter a: given twice"},
	    {"a=1&%61=2", "parameter a: given twice"},
	};
	struct api_params p;
	char q[API_MAX_QUERY + 64];
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (api_params_parse(&p, bad[i].q, err, sizeof(err)) == 0)
			fail_msg("accepted %s", bad[i].q);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("%s: %s", bad[i].q, err);
	}
	/* too many */
	q[0] = '\0';
	for (i = 0; i <= API_MAX_PARAMS; i++)
		snprintf(q + strlen(q), sizeof(q) - strlen(q), "p%zu=1&", i);
	assert_int_equal(api_params_parse(&p, q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	/* too long */
	memset(q, 'a', API_MAX_QUERY + 1);
	q[0] = 'k';
	q[1] = '=';
	q[API_MAX_QUERY + 1] = '\0';
	assert_int_equal(api_params_parse(&p, q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than"));
	/* exactly the cap is fine */
	q[API_MAX_QUERY] = '\0';
	assert_int_equal(api_params_parse(&p, q, err, sizeof(err)), 0);
}

/* The most the decoded text can take: as many pieces as are allowed,
 * none with '=', the query at its cap. Nothing past the struct is
 * written (the canary), and every piece reads back. */
static void
test_longest_decoded(void **state)
{
	struct {
		struct api_params p;
		char canary[64];
	} s;
	char q[API_MAX_QUERY + 1];
	char err[256];
	size_t piece = (API_MAX_QUERY + 1) / API_MAX_PARAMS - 1;
	size_t i;
	size_t k;

	(void)state;
	for (i = 0, k = 0; i < API_MAX_PARAMS; i++) {
		memset(q + k, 'a' + (int)i, piece);
		k += piece;
		q[k++] = '&';
	}
	memset(q + k - 1, 'z', API_MAX_QUERY - (k - 1));
	q[API_MAX_QUERY] = '\0';
	memset(s.canary, 0x5a, sizeof(s.canary));
	assert_int_equal(api_params_parse(&s.p, q, err, sizeof(err)), 0);
	assert_int_equal(s.p.n, API_MAX_PARAMS);
	assert_int_equal(strlen(s.p.key[API_MAX_PARAMS - 1]),
	    API_MAX_QUERY - (API_MAX_PARAMS - 1) * (piece + 1));
	assert_string_equal(s.p.val[API_MAX_PARAMS - 1], "");
	for (i = 0; i < sizeof(s.canary); i++)
		assert_int_equal((unsigned char)s.canary[i], 0x5a);
}

static void
test_only_known(void **state)
{
	static const char *const known[] = {"service", "kind", NULL};
	struct api_params p;
	char err[256];

	(void)state;
	assert_int_equal(
	    api_params_parse(&p, "service=a&kind=cpu", err, sizeof(err)), 0);
	assert_int_equal(api_params_only(&p, known, err, sizeof(err)), 0);
	assert_int_equal(
	    api_params_parse(&p, "service=a&Kind=cpu", err, sizeof(err)), 0);
	assert_int_equal(api_params_only(&p, known, err, sizeof(err)), -1);
	assert_string_equal(err, "parameter Kind: unknown");
}

static void
test_times(void **state)
{
	static const struct {
		const char *s;
		long long ns;
	} good[] = {
	    {"0", 0},
	    {"1700000000", 1700000000LL * NS},
	    {"1700000000.25", 1700000000LL * NS + 250000000},
	    {"1700000000.123456789", 1700000000LL * NS + 123456789},
	    {"1970-01-01T00:00:00Z", 0},
	    {"2023-11-14T22:13:20Z", 1700000000LL * NS},
	    {"2023-11-14t22:13:20z", 1700000000LL * NS},
	    {"2023-11-14 22:13:20Z", 1700000000LL * NS},
	    {"2023-11-15T00:13:20+02:00", 1700000000LL * NS},
	    {"2023-11-14T21:13:20.5-01:00", 1700000000LL * NS + 500000000},
	    {"2024-02-29T00:00:00Z", 1709164800LL * NS},
	    {"2016-12-31T23:59:60Z", 1483228799LL * NS},
	    /* the last second int64 nanoseconds hold, both ways */
	    {"9223372035.999999999", 9223372035999999999LL},
	    {"2262-04-11T23:47:15.999999999Z", 9223372035999999999LL},
	    {"2262-04-12T01:47:15+02:00", 9223372035LL * NS},
	};
	static const char *const bad[] = {"", "x", "-1", "+1", "1e9", "0x10",
	    "1700000000.", "1.1234567890", "17000000000000", " 1", "1 ",
	    "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13Z",
	    "2023-13-01T00:00:00Z", "2023-00-01T00:00:00Z",
	    "2023-02-29T00:00:00Z", "2023-04-31T00:00:00Z",
	    "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z",
	    "2023-11-14T22:13:61Z", "2023-11-14T22:13:20+2:00",
	    "2023-11-14T22:13:20+02", "2023-11-14T22:13:20+24:00",
	    "2023-11-14T22:13:20Zjunk", "2023-11-14T22:13:20.Z",
	    "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01",
	    "20231114T221320Z", "2023/11/14T22:13:20Z",
	    /* past it (these overflowed into garbage before) */
	    "9223372036", "2262-04-11T23:47:16Z", "3000-01-01T00:00:00Z",
	    "9999-12-31T23:59:59Z", "253402300799", NULL};
	int64_t ns;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (api_parse_time(good[i].s, &ns) < 0)
			fail_msg("refused %s", good[i].s);
		if (ns != good[i].ns)
			fail_msg("%s: %lld, not %lld", good[i].s,
			    (long long)ns, good[i].ns);
	}
	for (i = 0; bad[i] != NULL; i++) {
		if (api_parse_time(bad[i], &ns) == 0)
			fail_msg(
			    "accepted \"%s\" as %lld", bad[i], (long long)ns);
	}
	assert_int_equal(api_parse_time(NULL, &ns), -1);
}

static void
test_range(void **state)
{
	struct api_params p;
	int64_t from;
	int64_t to;
	char err[256];

	(void)state;
	assert_int_equal(api_params_parse(&p, "", err, sizeof(err)), 0);
	assert_int_equal(api_params_range(&p, "from", "to", 7200 * NS, &from,
	                     &to, err, sizeof(err)),
	    0);
	assert_int_equal(to, 7200 * NS);
	assert_int_equal(from, 3600 * NS);
	assert_int_equal(
	    api_params_parse(
	        &p, "from=1970-01-01T00:00:10Z&to=20", err, sizeof(err)),
	    0);
	assert_int_equal(api_params_range(&p, "from", "to", 0, &from, &to, err,
	                     sizeof(err)),
	    0);
	assert_int_equal(from, 10 * NS);
	assert_int_equal(to, 20 * NS);
	/* A time past what int64 nanoseconds hold is refused, by name. */
	assert_int_equal(
	    api_params_parse(
	        &p, "from=20&to=3000-01-01T00:00:00Z", err, sizeof(err)),
	    0);
	assert_int_equal(api_params_range(&p, "from", "to", 0, &from, &to, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "parameter to: not unix seconds or RFC 3339 "
	    "(1970 to 2262): 3000-01-01T00:00:00Z");
	assert_int_equal(
	    api_params_parse(&p, "from=20&to=20", err, sizeof(err)), 0);
	assert_int_equal(api_params_range(&p, "from", "to", 0, &from, &to, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "parameter from: not before to");
	assert_int_equal(
	    api_params_parse(&p, "baseFrom=1&baseTo=soon", err, sizeof(err)),
	    0);
	assert_int_equal(api_params_range(&p, "baseFrom", "baseTo", 0, &from,
	                     &to, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "parameter baseTo:"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_and_decode),
	    cmocka_unit_test(test_malformed_queries),
	    cmocka_unit_test(test_longest_decoded),
	    cmocka_unit_test(test_only_known),
	    cmocka_unit_test(test_times),
	    cmocka_unit_test(test_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
