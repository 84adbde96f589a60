/*
 * libFuzzer target: the store API's query strings and times
 * (exporter/api_params.h), which come from whoever can reach the web UI.
 * The input is a query string. Beyond not crashing:
 *
 * - one that parses has at most API_MAX_PARAMS parameters, no key twice,
 *   and reads back the same when its keys and values are percent-encoded
 *   again and parsed once more;
 * - a time in unix seconds or in RFC 3339 with Z reads as an
 *   independent reading (glibc's timegm for dates) says, or is refused
 *   where that one says it is out of range or no real date;
 * - every value that reads as a time is in 1970..2262 (int64
 *   nanoseconds; a time past it overflowed before), and the same
 *   instant written in RFC 3339 with nanoseconds reads back as it;
 * - a range read from "from" and "to" runs forwards.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exporter/api_params.h"

#define NS 1000000000LL
#define MAX_NS (INT64_MAX / NS * NS - 1) /* 2262-04-11T23:47:15.9.. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_api_params: %s\n", what);
	abort();
}

/* s percent-encoded (everything but letters and digits) onto out. */
static char *
encode(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')) {
			*out++ = (char)c;
		} else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	return out;
}

static void
check_roundtrip(const struct api_params *p)
{
	static char q[3 * (API_MAX_QUERY + 1) + API_MAX_PARAMS * 2 + 1];
	struct api_params again;
	char err[256];
	char *o = q;
	size_t i;
	size_t j;

	for (i = 0; i < p->n; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(p->key[i], p->key[j]) == 0)
				fail("a key twice");
		}
		if (i > 0)
			*o++ = '&';
		o = encode(o, p->key[i]);
		*o++ = '=';
		o = encode(o, p->val[i]);
	}
	*o = '\0';
	/* Encoded, it may be longer than a query may be: then it is
	 * refused, and there is nothing to compare. */
	if (strlen(q) > API_MAX_QUERY)
		return;
	if (api_params_parse(&again, q, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		fail("re-encoded, it is refused");
	}
	if (again.n != p->n)
		fail("re-encoded, another number of parameters");
	for (i = 0; i < p->n; i++) {
		if (strcmp(again.key[i], p->key[i]) != 0 ||
		    strcmp(again.val[i], p->val[i]) != 0)
			fail("re-encoded, another parameter");
	}
}

/* The digits of s[0..n), all digits, as a number; -1 if not. */
static int64_t
digits(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return n > 0 ? v : -1;
}

/* Independently of api_params.c: s read as "SECONDS[.FRACTION]" (1 to 12
 * digits, then 1 to 9) or as "YYYY-MM-DDTHH:MM:SS[.FRACTION]Z" (glibc's
 * timegm for the date), into ns. 1 when s has one of these forms and
 * fits, 0 when it has neither, -1 when it has one but is out of range or
 * not a real date. */
static int
expect_time(const char *s, int64_t *ns)
{
	const char *dot = strchr(s, '.');
	size_t n = strlen(s);
	size_t whole = dot != NULL ? (size_t)(dot - s) : n;
	size_t fl = dot != NULL ? n - whole - 1 : 0;
	int64_t sec;
	int64_t frac = 0;
	struct tm tm;
	struct tm want;
	time_t t;
	size_t i;

	if (n > 0 && (s[n - 1] == 'Z') && whole >= 19 && s[4] == '-' &&
	    s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':') {
		if (dot != NULL)
			fl--; /* the Z */
		else
			whole = n - 1;
		if (whole != 19 || (dot != NULL && (fl < 1 || fl > 9)))
			return 0;
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = (int)digits(s, 4) - 1900;
		tm.tm_mon = (int)digits(s + 5, 2) - 1;
		tm.tm_mday = (int)digits(s + 8, 2);
		tm.tm_hour = (int)digits(s + 11, 2);
		tm.tm_min = (int)digits(s + 14, 2);
		tm.tm_sec = (int)digits(s + 17, 2);
		if (tm.tm_year < -1900 || tm.tm_mon < 0 || tm.tm_mday < 0 ||
		    tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
			return 0;
		if (tm.tm_sec == 60)
			tm.tm_sec = 59;
		want = tm;
		t = timegm(&tm);
		/* timegm normalizes an impossible date; the parser
		 * refuses it. */
		if (tm.tm_mday != want.tm_mday || tm.tm_mon != want.tm_mon ||
		    tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min)
			return -1;
		sec = (int64_t)t;
	} else {
		if (whole < 1 || whole > 12 ||
		    (dot != NULL && (fl < 1 || fl > 9)))
			return 0;
		sec = digits(s, whole);
		if (sec < 0)
			return 0;
	}
	if (dot != NULL) {
		frac = digits(dot + 1, fl);
		if (frac < 0)
			return 0;
		for (i = fl; i < 9; i++)
			frac *= 10;
	}
	if (sec < 0 || sec > INT64_MAX / NS - 1)
		return -1;
	*ns = sec * NS + frac;
	return 1;
}

static void
check_time(const char *s)
{
	char text[64];
	int64_t ns;
	int64_t back;
	time_t sec;
	struct tm tm;

	int want = expect_time(s, &back);

	if (api_parse_time(s, &ns) < 0) {
		if (want == 1) {
			fprintf(stderr, "%s: want %lld\n", s, (long long)back);
			fail("a time refused that reads");
		}
		return;
	}
	if (want == -1)
		fail("a time accepted out of range or not a real date");
	if (want == 1 && back != ns) {
		fprintf(stderr, "%s: %lld, want %lld\n", s, (long long)ns,
		    (long long)back);
		fail("a time read as another");
	}
	if (ns < 0 || ns > MAX_NS)
		fail("a time out of 1970..2262");
	sec = (time_t)(ns / NS);
	if (gmtime_r(&sec, &tm) == NULL)
		fail("gmtime");
	snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long long)(ns % NS));
	if (api_parse_time(text, &back) < 0 || back != ns) {
		fprintf(stderr, "%s: %lld; %s: %lld\n", s, (long long)ns, text,
		    (long long)back);
		fail("a time that does not read back in RFC 3339");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char query[API_MAX_QUERY * 2 + 1];
	struct api_params p;
	int64_t from;
	int64_t to;
	char err[256];
	size_t i;

	if (size > API_MAX_QUERY * 2)
		return 0;
	memcpy(query, data, size);
	query[size] = '\0';
	check_time(query);
	if (api_params_parse(&p, query, err, sizeof(err)) < 0)
		return 0;
	if (p.n > API_MAX_PARAMS)
		fail("too many parameters");
	check_roundtrip(&p);
	for (i = 0; i < p.n; i++)
		check_time(p.val[i]);
	if (api_params_range(&p, "from", "to", 1700000000LL * NS, &from, &to,
	        err, sizeof(err)) == 0 &&
	    from >= to)
		fail("a range that does not run forwards");
	return 0;
}
