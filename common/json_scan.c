/*
 * json_scan: RFC 8259 syntax, checked as it is read. Strings are unescaped
 * into the caller's buffer (so their size is the caller's cap); numbers
 * are checked against the grammar before strtod sees them (strtod alone
 * would take "inf", hex and leading '+'); skipping recurses at most
 * JSON_SCAN_MAX_DEPTH levels.
 */
#include "common/json_scan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int json_scan_fail(struct json_scan *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
json_scan_fail(struct json_scan *s, const char *fmt, ...)
{
	char what[120];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(s->err, sizeof(s->err), "%s at byte %zu", what,
	    (size_t)(s->p - s->start));
	return -1;
}

void
json_scan_init(struct json_scan *s, const void *data, size_t len)
{
	s->start = data;
	s->p = data;
	s->end = s->start + len;
	s->err[0] = '\0';
}

int
json_scan_peek(struct json_scan *s)
{
	while (s->p < s->end &&
	    (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
	return s->p < s->end ? (unsigned char)*s->p : -1;
}

int
json_scan_expect(struct json_scan *s, char c)
{
	int got = json_scan_peek(s);

	if (got == c) {
		s->p++;
		return 0;
	}
	if (got < 0)
		return json_scan_fail(s, "expected '%c', found the end", c);
	return json_scan_fail(s, "expected '%c', found '%c'", c, got);
}

int
json_scan_next(struct json_scan *s, char close)
{
	int got = json_scan_peek(s);

	if (got == ',' || got == close) {
		s->p++;
		return got == ',';
	}
	return json_scan_fail(s, "expected ',' or '%c'", close);
}

static int
json_scan_hex4(struct json_scan *s, unsigned *out)
{
	unsigned v = 0;
	int i;
	char c;

	if (s->end - s->p < 4)
		return json_scan_fail(s, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		c = *s->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return json_scan_fail(s, "bad \\u escape");
	}
	*out = v;
	return 0;
}

/* A \u escape (after the 'u') as UTF-8 into tmp; its length. */
static int
json_scan_unicode(struct json_scan *s, char *tmp)
{
	unsigned cp;
	unsigned lo;

	if (json_scan_hex4(s, &cp) < 0)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
			return json_scan_fail(s, "lone surrogate");
		s->p += 2;
		if (json_scan_hex4(s, &lo) < 0)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return json_scan_fail(s, "bad surrogate pair");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return json_scan_fail(s, "lone surrogate");
	}
	if (cp < 0x80) {
		tmp[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		tmp[0] = (char)(0xc0 | (cp >> 6));
		tmp[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		tmp[0] = (char)(0xe0 | (cp >> 12));
		tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	tmp[0] = (char)(0xf0 | (cp >> 18));
	tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	tmp[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int
json_scan_string(struct json_scan *s, char *out, size_t outlen, size_t *n)
{
	static const char esc_in[] = "\"\\/bfnrt";
	static const char esc_out[] = "\"\\/\b\f\n\r\t";
	const char *e;
	char tmp[4];
	size_t k = 0;
	int m;
	char c;

	if (json_scan_expect(s, '"') < 0)
		return -1;
	for (;;) {
		if (s->p >= s->end)
			return json_scan_fail(s, "unterminated string");
		c = *s->p++;
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20)
			return json_scan_fail(s, "control byte in a string");
		m = 1;
		tmp[0] = c;
		if (c == '\\') {
			if (s->p >= s->end)
				return json_scan_fail(
				    s, "unterminated string");
			c = *s->p++;
			e = c != '\0' ? strchr(esc_in, c) : NULL;
			if (c == 'u')
				m = json_scan_unicode(s, tmp);
			else if (e != NULL)
				tmp[0] = esc_out[e - esc_in];
			else
				return json_scan_fail(s, "bad escape \\%c", c);
			if (m < 0)
				return -1;
		}
		if (out == NULL) /* skipping: only the syntax matters */
			continue;
		if (k + (size_t)m >= outlen)
			return json_scan_fail(
			    s, "string longer than %zu bytes", outlen - 1);
		memcpy(out + k, tmp, (size_t)m);
		k += (size_t)m;
	}
	if (out != NULL)
		out[k] = '\0';
	if (n != NULL)
		*n = k;
	return 0;
}

static const char *
json_scan_digits(const char *p, const char *end)
{
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p;
}

int
json_scan_number(struct json_scan *s, double *out)
{
	char tmp[64];
	const char *p;
	const char *q;

	if (json_scan_peek(s) < 0)
		return json_scan_fail(s, "expected a number, found the end");
	p = s->p;
	if (p < s->end && *p == '-')
		p++;
	q = json_scan_digits(p, s->end);
	if (q == p || (*p == '0' && q - p > 1))
		return json_scan_fail(s, "expected a number");
	p = q;
	if (p < s->end && *p == '.') {
		q = json_scan_digits(p + 1, s->end);
		if (q == p + 1)
			return json_scan_fail(s, "bad number");
		p = q;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		q = json_scan_digits(p, s->end);
		if (q == p)
			return json_scan_fail(s, "bad number");
		p = q;
	}
	if ((size_t)(p - s->p) >= sizeof(tmp))
		return json_scan_fail(s, "number too long");
	memcpy(tmp, s->p, (size_t)(p - s->p));
	tmp[p - s->p] = '\0';
	*out = strtod(tmp, NULL);
	s->p = p;
	return 0;
}

static int
json_scan_word(struct json_scan *s, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return json_scan_fail(s, "unexpected character");
	s->p += n;
	return 0;
}

static int
json_scan_skip_depth(struct json_scan *s, int depth)
{
	double d;
	int c = json_scan_peek(s);
	int more;

	if (depth > JSON_SCAN_MAX_DEPTH)
		return json_scan_fail(s, "nested too deep");
	switch (c) {
	case '"':
		return json_scan_string(s, NULL, 0, NULL);
	case 't':
		return json_scan_word(s, "true");
	case 'f':
		return json_scan_word(s, "false");
	case 'n':
		return json_scan_word(s, "null");
	case '[':
	case '{':
		s->p++;
		if (json_scan_peek(s) == (c == '[' ? ']' : '}')) {
			s->p++;
			return 0;
		}
		do {
			if (c == '{' &&
			    (json_scan_string(s, NULL, 0, NULL) < 0 ||
			        json_scan_expect(s, ':') < 0))
				return -1;
			if (json_scan_skip_depth(s, depth + 1) < 0)
				return -1;
			more = json_scan_next(s, c == '[' ? ']' : '}');
			if (more < 0)
				return -1;
		} while (more);
		return 0;
	case -1:
		return json_scan_fail(s, "expected a value, found the end");
	default:
		return json_scan_number(s, &d);
	}
}

int
json_scan_skip(struct json_scan *s)
{
	return json_scan_skip_depth(s, 0);
}

int
json_scan_end(struct json_scan *s)
{
	if (json_scan_peek(s) >= 0)
		return json_scan_fail(s, "trailing bytes after the document");
	return 0;
}
