/*
 * multipart: the body is scanned for "--boundary" delimiters with memmem;
 * each part's header block (up to a blank line, capped) is read line by
 * line for Content-Disposition and Content-Type, whose parameters are
 * split with quoted strings honoured ("a;b" stays one value, \" escapes).
 */
#include "fetcher/multipart.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int multipart_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
multipart_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copy a parameter value at *p (quoted-string or token) into out; *p is
 * left after it. 0, or -1 (too long, unterminated quote). */
static int
multipart_value(const char **p, const char *end, char *out, size_t outlen)
{
	const char *s = *p;
	size_t k = 0;

	if (s < end && *s == '"') {
		for (s++; s < end && *s != '"'; s++) {
			if (*s == '\\' && s + 1 < end)
				s++;
			if (k + 1 >= outlen)
				return -1;
			out[k++] = *s;
		}
		if (s >= end)
			return -1;
		s++;
	} else {
		for (; s < end && *s != ';' && *s != ' ' && *s != '\t'; s++) {
			if (k + 1 >= outlen)
				return -1;
			out[k++] = *s;
		}
	}
	out[k] = '\0';
	*p = s;
	return 0;
}

/* Find parameter name (case-insensitive) in the "; a=b; c=\"d\"" list at
 * params[0..end): 1 found (copied into out), 0 absent, -1 malformed. */
static int
multipart_param(const char *params, const char *end, const char *name,
    char *out, size_t outlen)
{
	const char *p = params;
	const char *k;
	size_t klen;
	int found = 0;
	char tmp[256];

	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if (p >= end)
			break;
		k = p;
		while (p < end && *p != '=' && *p != ';')
			p++;
		klen = (size_t)(p - k);
		while (klen > 0 && (k[klen - 1] == ' ' || k[klen - 1] == '\t'))
			klen--;
		if (p >= end || *p == ';')
			continue; /* a bare word, e.g. "form-data" */
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (klen == strlen(name) && strncasecmp(k, name, klen) == 0) {
			if (multipart_value(&p, end, out, outlen) < 0)
				return -1;
			found = 1;
		} else if (multipart_value(&p, end, tmp, sizeof(tmp)) < 0) {
			return -1;
		}
		while (p < end && *p != ';')
			p++;
	}
	return found;
}

int
multipart_boundary(const char *content_type, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char *semi;
	const char *end;
	size_t n;
	int rv;

	if (content_type == NULL)
		return multipart_fail(err, errlen, "no Content-Type");
	while (*content_type == ' ')
		content_type++;
	semi = strchr(content_type, ';');
	n = semi ? (size_t)(semi - content_type) : strlen(content_type);
	while (n > 0 && content_type[n - 1] == ' ')
		n--;
	if (n != strlen("multipart/form-data") ||
	    strncasecmp(content_type, "multipart/form-data", n) != 0)
		return multipart_fail(
		    err, errlen, "Content-Type is not multipart/form-data");
	if (semi == NULL)
		return multipart_fail(
		    err, errlen, "Content-Type has no boundary");
	end = semi + strlen(semi);
	rv = multipart_param(semi, end, "boundary", out, outlen);
	if (rv < 0)
		return multipart_fail(err, errlen,
		    "Content-Type: malformed parameters (bad quoting, or a "
		    "boundary over %d bytes)",
		    MULTIPART_BOUNDARY_MAX);
	if (rv == 0 || out[0] == '\0')
		return multipart_fail(
		    err, errlen, "Content-Type has no boundary");
	if (strlen(out) > MULTIPART_BOUNDARY_MAX)
		return multipart_fail(err, errlen,
		    "boundary longer than %d bytes", MULTIPART_BOUNDARY_MAX);
	return 0;
}

/* One header line of a part, hdr[0..n), into p. */
static int
multipart_header(struct multipart_part *p, const char *hdr, size_t n)
{
	const char *colon = memchr(hdr, ':', n);
	const char *end = hdr + n;
	const char *v;
	size_t klen;
	size_t vlen;

	if (colon == NULL)
		return -1;
	klen = (size_t)(colon - hdr);
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	if (klen == 19 && strncasecmp(hdr, "Content-Disposition", 19) == 0) {
		if (multipart_param(v, end, "name", p->name, sizeof(p->name)) <
		        0 ||
		    multipart_param(v, end, "filename", p->filename,
		        sizeof(p->filename)) < 0)
			return -1;
	} else if (klen == 12 && strncasecmp(hdr, "Content-Type", 12) == 0) {
		vlen = (size_t)(end - v);
		if (vlen >= sizeof(p->ctype))
			return -1;
		memcpy(p->ctype, v, vlen);
		p->ctype[vlen] = '\0';
	}
	return 0;
}

/* The headers of part k in body[at..hend), hend the blank line's start. */
static int
multipart_headers(struct multipart_part *p, const char *s, const char *e,
    size_t k, size_t at, char *err, size_t errlen)
{
	const char *nl;
	size_t n;

	while (s < e) {
		nl = memchr(s, '\n', (size_t)(e - s));
		n = nl ? (size_t)(nl - s) : (size_t)(e - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (n > 0 && multipart_header(p, s, n) < 0)
			return multipart_fail(err, errlen,
			    "part %zu (byte %zu): malformed header \"%.*s\"",
			    k + 1, at, (int)(n < 60 ? n : 60), s);
		s = nl ? nl + 1 : e;
	}
	if (p->name[0] == '\0')
		return multipart_fail(err, errlen,
		    "part %zu (byte %zu): no Content-Disposition name", k + 1,
		    at);
	return 0;
}

int
multipart_parse(const uint8_t *body, size_t len, const char *boundary,
    struct multipart_part *parts, size_t maxparts, size_t *nparts, char *err,
    size_t errlen)
{
	char delim[MULTIPART_BOUNDARY_MAX + 5];
	const char *b = (const char *)body;
	const char *end = b + len;
	const char *p;
	const char *h;
	const char *next;
	size_t dlen;
	size_t k = 0;

	*nparts = 0;
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	if (boundary[0] == '\0' || dlen >= sizeof(delim))
		return multipart_fail(err, errlen, "bad boundary");
	/* The first delimiter may open the body (no CRLF before it). */
	if (len >= dlen - 2 && memcmp(b, delim + 2, dlen - 2) == 0)
		p = b + dlen - 2;
	else if ((p = memmem(b, len, delim, dlen)) != NULL)
		p += dlen;
	else
		return multipart_fail(err, errlen,
		    "no boundary \"%s\" in the body (truncated, or the "
		    "Content-Type names another)",
		    boundary);
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break; /* the close delimiter */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (p < end && *p == '\n')
			p++;
		else
			return multipart_fail(err, errlen,
			    "truncated or malformed body at byte %zu "
			    "(after a boundary)",
			    (size_t)(p - b));
		if (k == maxparts)
			return multipart_fail(
			    err, errlen, "more than %zu parts", maxparts);
		memset(&parts[k], 0, sizeof(parts[k]));
		h = memmem(p,
		    (size_t)(end - p) < MULTIPART_MAX_HEAD
		        ? (size_t)(end - p)
		        : MULTIPART_MAX_HEAD,
		    "\r\n\r\n", 4);
		if (h == NULL && (size_t)(end - p) >= MULTIPART_MAX_HEAD)
			return multipart_fail(err, errlen,
			    "part %zu (byte %zu): headers over %d bytes",
			    k + 1, (size_t)(p - b), MULTIPART_MAX_HEAD);
		if (h == NULL)
			return multipart_fail(err, errlen,
			    "part %zu (byte %zu): truncated in its headers",
			    k + 1, (size_t)(p - b));
		if (multipart_headers(
		        &parts[k], p, h, k, (size_t)(p - b), err, errlen) < 0)
			return -1;
		parts[k].data = (const uint8_t *)h + 4;
		next = memmem(h + 4, (size_t)(end - (h + 4)), delim, dlen);
		if (next == NULL)
			return multipart_fail(err, errlen,
			    "part %zu (%s): truncated (no boundary after its "
			    "data)",
			    k + 1, parts[k].name);
		parts[k].len = (size_t)(next - (h + 4));
		k++;
		p = next + dlen;
	}
	*nparts = k;
	return 0;
}

const struct multipart_part *
multipart_find(
    const struct multipart_part *parts, size_t nparts, const char *name)
{
	size_t i;

	for (i = 0; i < nparts; i++) {
		if (strcmp(parts[i].name, name) == 0)
			return &parts[i];
	}
	return NULL;
}
