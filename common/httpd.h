/*
 * httpd: a small HTTP/1.1 server on a libev loop, for profpipe's HTTP
 * endpoints (the fetcher's push intake, the exporter's /metrics and API).
 * Non-blocking sockets on a loop the caller owns; every callback runs on
 * that loop's thread. It listens on one host:port and answers by a route
 * table (method + exact path): an unknown path gets 404, a known path with
 * another method 405 (with Allow).
 *
 * Nothing grows without a cap (struct httpd_limits): the request head
 * (431 past it), the number of header fields (431), the body (413, refused
 * from Content-Length before a byte of it is read, and counted while a
 * chunked body arrives), the number of open connections (past it a new
 * connection is answered 503 and closed), and the time a client may take:
 * an idle timeout between reads and a deadline for a whole request, so a
 * client sending one byte a second holds one connection for a bounded time
 * and never the server. Keep-alive and pipelined requests are served one
 * after the other; "Expect: 100-continue" is answered before the body.
 *
 * A handler gets the request and a response handle. It may answer at once
 * or later, from the loop's thread, once (say) the pipeline has acked: the
 * connection reads nothing more until then. Every request handed to a
 * handler must be answered exactly once with httpd_respond, even if the
 * client has gone meanwhile (the answer is then dropped): that call is what
 * frees the connection.
 *
 * Ownership: struct httpd_req and everything it points to (method, path,
 * query, headers, body) belong to the server and stay valid until
 * httpd_respond is called on its handle. httpd_respond copies what it is
 * given. httpd_free closes the listener and every connection; handles of
 * requests not answered by then are dangling: answer (or forget) them first.
 *
 * For a process without a loop (the exporter), httpd_thread runs a loop of
 * its own on a thread: setup builds the servers on it, teardown frees them.
 */
#ifndef PROFPIPE_HTTPD_H
#define PROFPIPE_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "common/httpd_parse.h"

struct ev_loop;

struct httpd_limits {
	size_t max_head;    /* request line + headers, bytes (16 KiB) */
	size_t max_headers; /* header fields (64) */
	size_t max_body;    /* bytes, unless the route sets its own (1 MiB) */
	size_t max_conns;   /* open connections (256) */
	double idle_s;      /* no byte read or written for this long (10) */
	double request_s;   /* first byte to whole request, at most (60) */
	unsigned retry_after; /* seconds, in the 503 past max_conns (1) */
};

void httpd_limits_default(struct httpd_limits *l);

struct httpd_req {
	const char *method;
	const char *path;  /* up to '?', as sent (not percent-decoded) */
	const char *query; /* after '?', "" when none */
	const struct httpd_header *headers;
	size_t nheaders;
	const unsigned char *body; /* NUL-terminated (not counted in len) */
	size_t body_len;
	const char *peer; /* "ip:port" of the client */
};

/* Header name's value (case-insensitive), or NULL. */
const char *httpd_req_header(const struct httpd_req *r, const char *name);

struct httpd_resp;

/* Called on the loop's thread with a whole request. */
typedef void (*httpd_handler_fn)(
    void *arg, const struct httpd_req *req, struct httpd_resp *resp);

/* A route's guard: called with a request's head (body_len 0, no body
 * read yet). 0 to read the body and hand the request on; or an HTTP
 * status to answer at once, the connection then closed, with *extra
 * header lines (each ending "\r\n", or NULL) and *why as the text. */
typedef int (*httpd_guard_fn)(void *arg, const struct httpd_req *req,
    const char **extra, const char **why);

struct httpd;

/* Listen on host:port (port 0: any; see httpd_port) on loop. lim NULL:
 * the defaults; copied. 0, or -1 with "host:port: reason" in err. */
int httpd_new(struct httpd **out, struct ev_loop *loop, const char *host,
    int port, const struct httpd_limits *lim, char *err, size_t errlen);
/* Stops listening, closes every connection, frees everything. */
void httpd_free(struct httpd *h);
/* The port listened on. */
int httpd_port(const struct httpd *h);

/* Route method + path (exact match, no query) to fn(arg, ...).
 * max_body 0: the server's max_body. 0, or -1 (out of memory or the pair is
 * routed already). */
int httpd_route(struct httpd *h, const char *method, const char *path,
    size_t max_body, httpd_handler_fn fn, void *arg);
/* Give the route method + path a guard (called with its arg). 0, or -1
 * when it is not routed. */
int httpd_route_guard(
    struct httpd *h, const char *method, const char *path, httpd_guard_fn fn);

/* Answer: status, Content-Type (NULL: none), extra header lines (each
 * ending "\r\n", e.g. "Retry-After: 5\r\n"; NULL: none) and the body.
 * Content-Length, Date-less and Connection are added here. Call exactly
 * once per handle, on the loop's thread. 0, or -1 when the client had gone
 * or the answer could not be queued (the handle is finished either way). */
int httpd_respond(struct httpd_resp *r, int status, const char *ctype,
    const char *extra, const void *body, size_t len);
/* A text/plain answer: the formatted text and a newline. */
int httpd_respond_text(struct httpd_resp *r, int status, const char *extra,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The request the handle answers (valid until httpd_respond). */
const struct httpd_req *httpd_resp_req(const struct httpd_resp *r);

/* "Not Found" for 404, ... ("" for a status it does not know). */
const char *httpd_reason(int status);

struct httpd_stats {
	uint64_t accepted; /* connections */
	uint64_t refused;  /* connections over max_conns (503) */
	uint64_t requests; /* handed to handlers */
	uint64_t errors;   /* answered by the server: 4xx/5xx parse, caps */
	uint64_t timeouts; /* connections closed by the idle/request timer */
	uint64_t no_fds;   /* accepts that found the process out of fds */
	uint64_t open;     /* connections open now */
};
void httpd_stats(const struct httpd *h, struct httpd_stats *out);

/* A loop on a thread of its own. setup(loop, arg) runs on that thread
 * before the loop does (build httpd and routes there; nonzero return: the
 * start fails); teardown(loop, arg) runs on it after the loop stops (free
 * them there). 0, or -1 with the reason in err. */
struct httpd_thread;
int httpd_thread_start(struct httpd_thread **out,
    int (*setup)(struct ev_loop *loop, void *arg),
    void (*teardown)(struct ev_loop *loop, void *arg), void *arg, char *err,
    size_t errlen);
/* Stop the loop, run teardown, join and free. NULL: nothing. */
void httpd_thread_stop(struct httpd_thread *t);

#endif
