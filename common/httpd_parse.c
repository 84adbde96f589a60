/*
 * httpd_parse: request heads and chunked bodies. The head is parsed in
 * place (pieces NUL-terminated inside the caller's buffer), so parsing
 * allocates nothing; the chunked decoder is a small state machine that
 * never looks back, so a body fed one byte at a time decodes the same as
 * one fed at once. Only what a server must check is checked: token
 * characters in methods and header names, one Content-Length, no
 * Content-Length with chunked (request smuggling), sizes that fit.
 */
#include "common/httpd_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTPD_CHUNK_LINE_MAX                                                  \
	1024 /* a size line with extensions, a trailer                        \
	      */

enum {
	CH_SIZE,       /* hex digits of a chunk size */
	CH_EXT,        /* ";ext" after the size, up to CRLF */
	CH_SIZE_LF,    /* CR seen after the size line */
	CH_DATA,       /* left bytes of data */
	CH_DATA_CR,    /* CRLF after data */
	CH_DATA_LF,    /* LF after data */
	CH_TRAILER,    /* a trailer line, or the final empty line */
	CH_TRAILER_LF, /* CR seen on a trailer line */
	CH_DONE
};

static int
httpd_parse_fail(char *err, size_t errlen, int status, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return status;
}

size_t
httpd_head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* RFC 9110 tchar */
static int
httpd_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The next line of buf[*pos..end), CR and LF cut off and NUL-terminated;
 * NULL at the end. */
static char *
httpd_next_line(char *buf, size_t *pos, size_t end)
{
	char *line = buf + *pos;
	char *nl;

	if (*pos >= end)
		return NULL;
	nl = memchr(line, '\n', end - *pos);
	if (nl == NULL)
		return NULL;
	*pos = (size_t)(nl - buf) + 1;
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	return line;
}

static char *
httpd_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static int
httpd_parse_request_line(
    char *line, struct httpd_head *out, char *err, size_t errlen)
{
	char *sp1 = strchr(line, ' ');
	char *sp2;
	char *q;
	char *p;

	if (sp1 == NULL || sp1 == line)
		return httpd_parse_fail(err, errlen, 400, "bad request line");
	*sp1 = '\0';
	for (p = line; *p != '\0'; p++) {
		if (!httpd_tchar((unsigned char)*p))
			return httpd_parse_fail(
			    err, errlen, 400, "bad method");
	}
	sp2 = strchr(sp1 + 1, ' ');
	if (sp2 == NULL || sp2 == sp1 + 1)
		return httpd_parse_fail(err, errlen, 400, "bad request line");
	*sp2 = '\0';
	if (sp1[1] != '/')
		return httpd_parse_fail(err, errlen, 400,
		    "request target is not an absolute path");
	for (p = sp1 + 1; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return httpd_parse_fail(
			    err, errlen, 400, "bad request target");
	}
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp2[8] < '0' ||
	    sp2[8] > '9' || sp2[9] != '\0')
		return httpd_parse_fail(
		    err, errlen, 505, "HTTP version not supported");
	out->method = line;
	out->path = sp1 + 1;
	q = strchr(sp1 + 1, '?');
	out->query = "";
	if (q != NULL) {
		*q = '\0';
		out->query = q + 1;
	}
	out->minor = sp2[8] - '0';
	return 0;
}

/* A decimal Content-Length, nothing else. */
static int
httpd_parse_length(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* Framing and connection headers: what the server itself acts on. */
static int
httpd_parse_framing(struct httpd_head *out, char *err, size_t errlen)
{
	const char *v;
	size_t i;
	int64_t n;

	out->content_length = -1;
	out->keep_alive = out->minor >= 1;
	for (i = 0; i < out->nheaders; i++) {
		if (strcasecmp(out->headers[i].name, "Content-Length") != 0)
			continue;
		if (httpd_parse_length(out->headers[i].value, &n) < 0 ||
		    (out->content_length >= 0 && out->content_length != n))
			return httpd_parse_fail(
			    err, errlen, 400, "bad Content-Length");
		out->content_length = n;
	}
	v = httpd_head_get(out, "Transfer-Encoding");
	if (v != NULL) {
		if (strcasecmp(v, "chunked") != 0)
			return httpd_parse_fail(err, errlen, 501,
			    "only the chunked transfer coding is supported");
		if (out->content_length >= 0)
			return httpd_parse_fail(err, errlen, 400,
			    "both Content-Length and Transfer-Encoding");
		out->chunked = 1;
	}
	v = httpd_head_get(out, "Connection");
	if (v != NULL && strcasecmp(v, "close") == 0)
		out->keep_alive = 0;
	if (v != NULL && strcasecmp(v, "keep-alive") == 0)
		out->keep_alive = 1;
	v = httpd_head_get(out, "Expect");
	if (v != NULL && strcasecmp(v, "100-continue") == 0)
		out->expect_continue = 1;
	return 0;
}

int
httpd_parse_head(char *buf, size_t len, struct httpd_header *hdrs,
    size_t maxhdrs, struct httpd_head *out, char *err, size_t errlen)
{
	size_t pos = 0;
	char *line;
	char *colon;
	char *p;
	int rv;

	memset(out, 0, sizeof(*out));
	out->headers = hdrs;
	/* RFC 9112: a server ignores empty lines before the request line. */
	while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
		pos++;
	line = httpd_next_line(buf, &pos, len);
	if (line == NULL)
		return httpd_parse_fail(err, errlen, 400, "no request line");
	rv = httpd_parse_request_line(line, out, err, errlen);
	if (rv != 0)
		return rv;
	for (;;) {
		line = httpd_next_line(buf, &pos, len);
		if (line == NULL)
			return httpd_parse_fail(
			    err, errlen, 400, "unterminated header section");
		if (line[0] == '\0')
			break;
		if (line[0] == ' ' || line[0] == '\t')
			return httpd_parse_fail(
			    err, errlen, 400, "obsolete header line folding");
		colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			return httpd_parse_fail(
			    err, errlen, 400, "header line without a name");
		*colon = '\0';
		for (p = line; *p != '\0'; p++) {
			if (!httpd_tchar((unsigned char)*p))
				return httpd_parse_fail(
				    err, errlen, 400, "bad header name");
		}
		if (out->nheaders == maxhdrs)
			return httpd_parse_fail(
			    err, errlen, 431, "too many header fields");
		hdrs[out->nheaders].name = line;
		hdrs[out->nheaders].value = httpd_trim(colon + 1);
		out->nheaders++;
	}
	return httpd_parse_framing(out, err, errlen);
}

const char *
httpd_head_get(const struct httpd_head *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nheaders; i++) {
		if (strcasecmp(h->headers[i].name, name) == 0)
			return h->headers[i].value;
	}
	return NULL;
}

void
httpd_chunked_init(struct httpd_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

static int
httpd_hex(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* One byte of everything but chunk data. 0 to go on, or a status. */
static int
httpd_chunked_byte(
    struct httpd_chunked *c, unsigned char ch, char *err, size_t errlen)
{
	int h;

	if (++c->linelen > HTTPD_CHUNK_LINE_MAX)
		return httpd_parse_fail(
		    err, errlen, 400, "chunk size or trailer line too long");
	switch (c->state) {
	case CH_SIZE:
		h = httpd_hex(ch);
		if (h >= 0 && c->left < (UINT64_C(1) << 56)) {
			c->left = c->left * 16 + (uint64_t)h;
			return 0;
		}
		if (h >= 0)
			return httpd_parse_fail(
			    err, errlen, 413, "chunk size too large");
		if (c->linelen == 1)
			return httpd_parse_fail(
			    err, errlen, 400, "bad chunk size");
		if (ch == ';' || ch == ' ' || ch == '\t') {
			c->state = CH_EXT;
			return 0;
		}
		/* the end of the size line */
		/* fall through */
	case CH_EXT:
		if (ch == '\r')
			c->state = CH_SIZE_LF;
		else if (ch == '\n')
			goto size_done;
		else if (c->state == CH_SIZE)
			return httpd_parse_fail(
			    err, errlen, 400, "bad chunk size");
		return 0;
	case CH_SIZE_LF:
		if (ch != '\n')
			return httpd_parse_fail(
			    err, errlen, 400, "bad chunk size line");
		goto size_done;
	case CH_DATA_CR:
		if (ch == '\r') {
			c->state = CH_DATA_LF;
			return 0;
		}
		/* a bare LF after data */
		/* fall through */
	case CH_DATA_LF:
		if (ch != '\n')
			return httpd_parse_fail(err, errlen, 400,
			    "chunk data longer than its size");
		c->state = CH_SIZE;
		c->linelen = 0;
		return 0;
	case CH_TRAILER:
		if (ch == '\r') {
			c->state = CH_TRAILER_LF;
			return 0;
		}
		if (ch != '\n')
			return 0;
		/* An empty line ends the body; any other ends a trailer. */
		c->state = c->linelen == 1 ? CH_DONE : CH_TRAILER;
		c->linelen = 0;
		return 0;
	case CH_TRAILER_LF:
		if (ch != '\n')
			return httpd_parse_fail(
			    err, errlen, 400, "bad trailer line");
		c->state = c->linelen == 2 ? CH_DONE : CH_TRAILER;
		c->linelen = 0;
		return 0;
	default:
		return 0;
	}
size_done:
	c->linelen = 0;
	c->state = c->left > 0 ? CH_DATA : CH_TRAILER;
	return 0;
}

int
httpd_chunked_feed(struct httpd_chunked *c, const uint8_t *in, size_t len,
    size_t *used, struct buf *body, char *err, size_t errlen)
{
	size_t i = 0;
	size_t n;
	int rv;

	while (i < len && c->state != CH_DONE) {
		if (c->state == CH_DATA) {
			n = len - i;
			if ((uint64_t)n > c->left)
				n = (size_t)c->left;
			if (buf_append(body, in + i, n) < 0) {
				*used = i;
				return httpd_parse_fail(err, errlen, 413,
				    "body larger than the limit");
			}
			c->left -= n;
			i += n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		rv = httpd_chunked_byte(c, in[i], err, errlen);
		if (rv != 0) {
			*used = i;
			return rv;
		}
		i++;
	}
	*used = i;
	return c->state == CH_DONE ? 1 : 0;
}
