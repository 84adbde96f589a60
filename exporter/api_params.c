/*
 * api_params: query strings and times, strictly. Every refusal names the
 * parameter so the 400 the API answers tells the caller what to fix.
 */
#include "exporter/api_params.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define API_NS 1000000000LL
/* The last whole second whose nanoseconds, fraction and all, fit an
 * int64: 2262-04-11T23:47:15Z. (9999-12-31, the bound before, is 2.5e20
 * ns: a time past 2262 overflowed into garbage.) */
#define API_MAX_SECONDS (INT64_MAX / API_NS - 1)

static int
api_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..n) into out; returns the end of the decoded text, or NULL
 * for a bad escape or an encoded NUL. */
static char *
api_unescape(const char *s, size_t n, char *out)
{
	size_t i;
	int hi;
	int lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			*out++ = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n)
				return NULL;
			hi = api_hex(s[i + 1]);
			lo = api_hex(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			*out++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*out++ = s[i];
		}
	}
	*out = '\0';
	return out;
}

int
api_params_parse(
    struct api_params *p, const char *query, char *err, size_t errlen)
{
	const char *s = query;
	const char *amp;
	const char *eq;
	char *w = p->text;
	char *key;
	size_t len;
	size_t klen;
	size_t i;

	p->n = 0;
	if (strlen(query) > API_MAX_QUERY) {
		snprintf(err, errlen, "query string longer than %d bytes",
		    API_MAX_QUERY);
		return -1;
	}
	while (*s != '\0') {
		amp = strchr(s, '&');
		len = amp ? (size_t)(amp - s) : strlen(s);
		if (len == 0) {
			s += amp ? 1 : 0;
			continue;
		}
		if (p->n == API_MAX_PARAMS) {
			snprintf(err, errlen, "more than %d parameters",
			    API_MAX_PARAMS);
			return -1;
		}
		eq = memchr(s, '=', len);
		klen = eq ? (size_t)(eq - s) : len;
		key = w;
		w = api_unescape(s, klen, w);
		if (w == NULL || key[0] == '\0') {
			snprintf(err, errlen, "parameter %.*s: bad name",
			    (int)(klen > 64 ? 64 : klen), s);
			return -1;
		}
		w++;
		p->key[p->n] = key;
		p->val[p->n] = w;
		w = api_unescape(
		    eq ? eq + 1 : s + len, eq ? len - klen - 1 : 0, w);
		if (w == NULL) {
			snprintf(
			    err, errlen, "parameter %s: bad %%-escape", key);
			return -1;
		}
		w++;
		for (i = 0; i < p->n; i++) {
			if (strcmp(p->key[i], key) == 0) {
				snprintf(err, errlen,
				    "parameter %s: given twice", key);
				return -1;
			}
		}
		p->n++;
		s += len + (amp ? 1 : 0);
	}
	return 0;
}

const char *
api_param(const struct api_params *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (strcmp(p->key[i], key) == 0)
			return p->val[i];
	}
	return NULL;
}

int
api_params_only(const struct api_params *p, const char *const *known,
    char *err, size_t errlen)
{
	size_t i;
	size_t k;

	for (i = 0; i < p->n; i++) {
		for (k = 0; known[k] != NULL; k++) {
			if (strcmp(p->key[i], known[k]) == 0)
				break;
		}
		if (known[k] == NULL) {
			snprintf(
			    err, errlen, "parameter %s: unknown", p->key[i]);
			return -1;
		}
	}
	return 0;
}

/* n digits at *s as a number; advances *s. -1 if not all digits. */
static int64_t
api_digits(const char **s, int n)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
api_days(int64_t y, int64_t m, int64_t d)
{
	int64_t era;
	int64_t yoe;
	int64_t doy;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int
api_month_days(int64_t y, int64_t m)
{
	static const int days[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* ".ddd" fraction into nanoseconds; at most 9 digits. */
static int
api_fraction(const char **s, int64_t *ns)
{
	int64_t scale = API_NS / 10;
	int n = 0;

	*ns = 0;
	if (**s != '.')
		return 0;
	(*s)++;
	while (**s >= '0' && **s <= '9') {
		if (++n > 9)
			return -1;
		*ns += (**s - '0') * scale;
		scale /= 10;
		(*s)++;
	}
	return n > 0 ? 0 : -1;
}

static int
api_parse_rfc3339(const char *s, int64_t *ns)
{
	int64_t y, mo, d, h, mi, sec, frac, oh, om, t;
	int sign;

	y = api_digits(&s, 4);
	if (y < 0 || *s++ != '-')
		return -1;
	mo = api_digits(&s, 2);
	if (mo < 1 || mo > 12 || *s++ != '-')
		return -1;
	d = api_digits(&s, 2);
	if (d < 1 || d > api_month_days(y, mo))
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	h = api_digits(&s, 2);
	if (h < 0 || h > 23 || *s++ != ':')
		return -1;
	mi = api_digits(&s, 2);
	if (mi < 0 || mi > 59 || *s++ != ':')
		return -1;
	sec = api_digits(&s, 2);
	if (sec < 0 || sec > 60 || api_fraction(&s, &frac) < 0)
		return -1;
	if (*s == 'Z' || *s == 'z') {
		s++;
		oh = om = 0;
		sign = 1;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		oh = api_digits(&s, 2);
		if (oh < 0 || oh > 23 || *s++ != ':')
			return -1;
		om = api_digits(&s, 2);
		if (om < 0 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*s != '\0')
		return -1;
	if (sec == 60)
		sec = 59; /* a leap second counts as the second before */
	t = api_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	if (t < 0 || t > API_MAX_SECONDS)
		return -1;
	*ns = t * API_NS + frac;
	return 0;
}

int
api_parse_time(const char *s, int64_t *ns)
{
	const char *p = s;
	int64_t sec = 0;
	int64_t frac;
	int n = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (strlen(s) >= 10 && s[4] == '-')
		return api_parse_rfc3339(s, ns);
	while (*p >= '0' && *p <= '9') {
		if (++n > 12)
			return -1;
		sec = sec * 10 + (*p++ - '0');
	}
	if (n == 0 || api_fraction(&p, &frac) < 0 || *p != '\0' ||
	    sec > API_MAX_SECONDS)
		return -1;
	*ns = sec * API_NS + frac;
	return 0;
}

int
api_params_range(const struct api_params *p, const char *from_key,
    const char *to_key, int64_t now_ns, int64_t *from_ns, int64_t *to_ns,
    char *err, size_t errlen)
{
	const char *from = api_param(p, from_key);
	const char *to = api_param(p, to_key);

	*to_ns = now_ns;
	if (to != NULL && api_parse_time(to, to_ns) < 0) {
		snprintf(err, errlen,
		    "parameter %s: not unix seconds or RFC 3339 "
		    "(1970 to 2262): %.64s",
		    to_key, to);
		return -1;
	}
	*from_ns = *to_ns - 3600 * API_NS;
	if (from != NULL && api_parse_time(from, from_ns) < 0) {
		snprintf(err, errlen,
		    "parameter %s: not unix seconds or RFC 3339 "
		    "(1970 to 2262): %.64s",
		    from_key, from);
		return -1;
	}
	if (*from_ns >= *to_ns) {
		snprintf(err, errlen, "parameter %s: not before %s", from_key,
		    to_key);
		return -1;
	}
	return 0;
}
