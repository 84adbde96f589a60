/*
 * httpd_parse: the HTTP/1.1 request parser behind common/httpd, kept apart
 * from the sockets so that unit tests and a libFuzzer target reach it
 * directly. Two pieces, both bounded and both working on bytes the caller
 * owns:
 *
 *   httpd_parse_head     the request line and headers, once the caller has
 *                        seen the blank line that ends them (the caller
 *                        caps how many bytes it waits for: the header cap)
 *   httpd_chunked_feed   a chunked body, fed as it arrives, appended to a
 *                        struct buf whose cap is the body cap
 *
 * Errors come back as the HTTP status to answer (400, 413, 431, 501, 505)
 * with a reason for people in err.
 */
#ifndef PROFPIPE_HTTPD_PARSE_H
#define PROFPIPE_HTTPD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct httpd_header {
	const char *name; /* as sent; compare case-insensitively */
	const char *value;
};

struct httpd_head {
	const char *method;
	const char *path;  /* the target up to '?', not percent-decoded */
	const char *query; /* after '?', "" when none */
	int minor;         /* HTTP/1.minor */
	struct httpd_header *headers;
	size_t nheaders;
	int64_t content_length; /* -1: none */
	int chunked;            /* Transfer-Encoding: chunked */
	int keep_alive;         /* 1.1 unless "close"; 1.0 if "keep-alive" */
	int expect_continue;    /* Expect: 100-continue */
};

/* The end of the head in buf[0..len): the offset just past the blank line
 * ("\r\n\r\n", or "\n\n" from lax clients), or 0 when not there yet. */
size_t httpd_head_end(const char *buf, size_t len);

/* Parse the head in buf[0..len) (len as httpd_head_end returned), NUL-
 * terminating its pieces in place: out's strings point into buf. Headers go
 * into hdrs[0..maxhdrs). Returns 0, or the status to answer (400 malformed,
 * 431 more than maxhdrs headers, 501 a transfer coding other than chunked,
 * 505 not HTTP/1.x) with the reason in err. */
int httpd_parse_head(char *buf, size_t len, struct httpd_header *hdrs,
    size_t maxhdrs, struct httpd_head *out, char *err, size_t errlen);

/* The value of header name (case-insensitive), or NULL. */
const char *httpd_head_get(const struct httpd_head *h, const char *name);

/* Chunked transfer coding, decoded incrementally. */
struct httpd_chunked {
	int state;
	uint64_t left;  /* bytes left in the current chunk */
	size_t linelen; /* bytes of the current size or trailer line */
};

void httpd_chunked_init(struct httpd_chunked *c);

/* Consume in[0..len): data goes to body (whose cap is the body cap).
 * *used says how many bytes were consumed (less than len only once the
 * body is complete: the rest belongs to the next request). Returns 0 (more
 * needed), 1 (complete), or a status: 400 malformed, 413 over body's cap.
 */
int httpd_chunked_feed(struct httpd_chunked *c, const uint8_t *in, size_t len,
    size_t *used, struct buf *body, char *err, size_t errlen);

#endif
