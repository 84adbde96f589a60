/*
 * httpd_int: what common/httpd.c (the listener, routes, accepting) and
 * common/httpd_conn.c (one connection's state machine) share. Not for use
 * outside common/httpd*.c: the API is common/httpd.h.
 */
#ifndef PROFPIPE_HTTPD_INT_H
#define PROFPIPE_HTTPD_INT_H

#include <ev.h>

#include "common/buf.h"
#include "common/httpd.h"

#define HTTPD_READ_CHUNK 65536
#define HTTPD_LINGER_S 2.0

enum httpd_state { ST_HEAD, ST_BODY, ST_HANDLING, ST_WRITING, ST_LINGER };

struct httpd_route {
	char *method;
	char *path;
	size_t max_body;
	httpd_handler_fn fn;
	httpd_guard_fn guard; /* NULL: none */
	void *arg;
};

struct httpd_resp {
	struct httpd_conn *c;
};

struct httpd_conn {
	struct httpd *h;
	struct httpd_conn *prev;
	struct httpd_conn *next;
	int fd;
	ev_io io;
	ev_timer timer;
	enum httpd_state state;
	int close_after;
	ev_tstamp started; /* first byte of the current request; 0: none */
	ev_tstamp last;    /* last byte read or written */
	struct buf in;     /* head, then bytes of the requests after it */
	size_t in_next;    /* in[in_next..) not yet consumed */
	size_t head_end;   /* in[0..head_end): the parsed head */
	const struct httpd_route *route;
	struct buf body;
	int64_t body_left; /* Content-Length bytes still to read */
	struct httpd_chunked ch;
	struct httpd_head head;
	struct httpd_header *hdrs;
	struct httpd_req req;
	struct httpd_resp resp;
	struct buf out;
	size_t out_off;
	char peer[64];
};

struct httpd {
	struct ev_loop *loop;
	struct httpd_limits lim;
	int fd;
	int port;
	int spare_fd; /* given up to accept a client out of descriptors */
	ev_io accept_io;
	ev_timer accept_pause; /* accepting resumes when it fires */
	ev_tstamp fds_warned;  /* when the last "out of descriptors" went */
	struct httpd_route *routes;
	size_t nroutes;
	struct httpd_conn *conns;
	struct httpd_stats st;
};

/* A new connection on fd (non-blocking), linked into h; 0 or -1. */
int httpd_conn_new(struct httpd *h, int fd, const char *peer);
void httpd_conn_free(struct httpd_conn *c);
const struct httpd_route *httpd_find_route(
    struct httpd *h, const char *method, const char *path, int *path_known);

#endif
