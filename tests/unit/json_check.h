/*
 * json_check: a strict JSON checker (RFC 8259 plus well-formed UTF-8), so
 * that a test or a fuzz target can say "this parses" without a JSON
 * library.
 */
#ifndef PROFPIPE_TEST_JSON_CHECK_H
#define PROFPIPE_TEST_JSON_CHECK_H

#include <stddef.h>
#include <string.h>

struct fx_json {
	const unsigned char *p;
	const unsigned char *end;
	int depth;
};

static inline int fx_json_value(struct fx_json *j);

static inline void
fx_json_ws(struct fx_json *j)
{
	while (j->p < j->end &&
	    (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static inline int
fx_json_utf8(struct fx_json *j)
{
	unsigned char c = *j->p;
	unsigned char lo = 0x80;
	unsigned char hi = 0xbf;
	int need;
	int i;

	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3;
	else
		return -1;
	if (c == 0xe0)
		lo = 0xa0;
	if (c == 0xed)
		hi = 0x9f;
	if (c == 0xf0)
		lo = 0x90;
	if (c == 0xf4)
		hi = 0x8f;
	j->p++;
	for (i = 0; i < need; i++, j->p++) {
		if (j->p >= j->end || *j->p < lo || *j->p > hi)
			return -1;
		lo = 0x80;
		hi = 0xbf;
	}
	return 0;
}

static inline int
fx_json_string(struct fx_json *j)
{
	int i;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p < 0x20)
			return -1;
		if (*j->p >= 0x80) {
			if (fx_json_utf8(j) < 0)
				return -1;
			continue;
		}
		if (*j->p++ != '\\')
			continue;
		if (j->p >= j->end)
			return -1;
		if (*j->p == 'u') {
			for (i = 1; i <= 4; i++) {
				if (j->p + i >= j->end ||
				    strchr("0123456789abcdefABCDEF",
				        j->p[i]) == NULL ||
				    j->p[i] == 0)
					return -1;
			}
			j->p += 5;
		} else if (strchr("\"\\/bfnrt", *j->p) != NULL && *j->p) {
			j->p++;
		} else {
			return -1;
		}
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	return 0;
}

static inline int
fx_json_number(struct fx_json *j)
{
	const unsigned char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (j->p < j->end && *j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	return j->p > s ? 0 : -1;
}

static inline int
fx_json_word(struct fx_json *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static inline int
fx_json_members(struct fx_json *j, char close, int keyed)
{
	j->p++;
	fx_json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		fx_json_ws(j);
		if (keyed) {
			if (fx_json_string(j) < 0)
				return -1;
			fx_json_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return -1;
		}
		if (fx_json_value(j) < 0)
			return -1;
		fx_json_ws(j);
		if (j->p >= j->end)
			return -1;
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
	}
}

static inline int
fx_json_value(struct fx_json *j)
{
	int rv;

	fx_json_ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return -1;
	switch (*j->p) {
	case '{':
		rv = fx_json_members(j, '}', 1);
		break;
	case '[':
		rv = fx_json_members(j, ']', 0);
		break;
	case '"':
		rv = fx_json_string(j);
		break;
	case 't':
		rv = fx_json_word(j, "true");
		break;
	case 'f':
		rv = fx_json_word(j, "false");
		break;
	case 'n':
		rv = fx_json_word(j, "null");
		break;
	default:
		rv = fx_json_number(j);
	}
	j->depth--;
	return rv;
}

/* 1 if s[0..n) is exactly one JSON value (surrounding blanks allowed). */
static inline int
fx_json_valid(const void *s, size_t n)
{
	struct fx_json j;

	j.p = s;
	j.end = j.p + n;
	j.depth = 0;
	if (fx_json_value(&j) < 0)
		return 0;
	fx_json_ws(&j);
	return j.p == j.end;
}

/* 1 if every '\n'-terminated line of s[0..n) is a JSON object. */
static inline int
fx_jsonl_valid(const char *s, size_t n)
{
	const char *nl;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		if (nl == NULL || *s != '{' ||
		    !fx_json_valid(s, (size_t)(nl - s)))
			return 0;
		n -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	return 1;
}

#endif
