/*
 * httpd_conn: one connection, one state machine, driven by one ev_io (read,
 * and write while output is pending) and one ev_timer (idle and request
 * deadlines). A connection reads a head into `in` (capped at max_head),
 * parses it in place, then reads the body into `body` (capped by the
 * route), hands the request over and stops reading until it is answered;
 * then it writes the answer and either starts on the next request (keep-
 * alive: leftover bytes first) or lingers: half-closes and discards what
 * the client still sends, so an early answer such as 413 reaches it rather
 * than being lost to a reset.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/httpd_int.h"
#include "common/xalloc.h"

static void httpd_conn_process(struct httpd_conn *c);

const char *
httpd_req_header(const struct httpd_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

const struct httpd_req *
httpd_resp_req(const struct httpd_resp *r)
{
	return &r->c->req;
}

void
httpd_conn_free(struct httpd_conn *c)
{
	struct httpd *h = c->h;

	ev_io_stop(h->loop, &c->io);
	ev_timer_stop(h->loop, &c->timer);
	if (c->fd >= 0)
		close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->st.open--;
	buf_release(&c->in);
	buf_release(&c->body);
	buf_release(&c->out);
	xfree(c->hdrs);
	xfree(c);
}

/* Watch for reading, and for writing while output is pending. */
static void
httpd_conn_watch(struct httpd_conn *c, int reading)
{
	int ev = reading ? EV_READ : 0;

	if (c->out_off < c->out.len)
		ev |= EV_WRITE;
	ev_io_stop(c->h->loop, &c->io);
	if (ev != 0) {
		ev_io_set(&c->io, c->fd, ev);
		ev_io_start(c->h->loop, &c->io);
	}
}

static void
httpd_conn_timer_arm(struct httpd_conn *c)
{
	ev_tstamp now = ev_now(c->h->loop);
	ev_tstamp due = c->last + c->h->lim.idle_s;

	if (c->state == ST_LINGER && c->last + HTTPD_LINGER_S < due)
		due = c->last + HTTPD_LINGER_S;
	if (c->started > 0 && (c->state == ST_HEAD || c->state == ST_BODY) &&
	    c->started + c->h->lim.request_s < due)
		due = c->started + c->h->lim.request_s;
	ev_timer_stop(c->h->loop, &c->timer);
	ev_timer_set(&c->timer, due > now ? due - now : 0.001, 0.0);
	ev_timer_start(c->h->loop, &c->timer);
}

static void
httpd_conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct httpd_conn *c = w->data;
	ev_tstamp now = ev_now(loop);
	int late;

	(void)revents;
	if (c->state == ST_HANDLING)
		return;
	late = now - c->last >= c->h->lim.idle_s - 1e-3 ||
	    (c->state == ST_LINGER &&
	        now - c->last >= HTTPD_LINGER_S - 1e-3) ||
	    (c->started > 0 && (c->state == ST_HEAD || c->state == ST_BODY) &&
	        now - c->started >= c->h->lim.request_s - 1e-3);
	if (!late) {
		httpd_conn_timer_arm(c);
		return;
	}
	if (c->state != ST_LINGER && (c->started > 0 || c->state != ST_HEAD))
		c->h->st.timeouts++;
	httpd_conn_free(c);
}

/* Queue status line, headers and body on c->out. */
static int
httpd_conn_queue(struct httpd_conn *c, int status, const char *ctype,
    const char *extra, const void *body, size_t len)
{
	buf_printf(
	    &c->out, "HTTP/1.1 %d %s\r\n", status, httpd_reason(status));
	if (ctype != NULL)
		buf_printf(&c->out, "Content-Type: %s\r\n", ctype);
	buf_printf(&c->out, "Content-Length: %zu\r\nConnection: %s\r\n%s\r\n",
	    len, c->close_after ? "close" : "keep-alive",
	    extra != NULL ? extra : "");
	buf_append(&c->out, body, len);
	return c->out.failed ? -1 : 0;
}

/* Try to write what is pending; 0 when all of it is, 1 for later, -1. */
static int
httpd_conn_flush(struct httpd_conn *c)
{
	ssize_t n;

	while (c->out_off < c->out.len) {
		n = send(c->fd, c->out.data + c->out_off,
		    c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
		c->last = ev_now(c->h->loop);
	}
	buf_clear(&c->out);
	c->out_off = 0;
	return 0;
}

/* The answer is queued: write it, then keep alive or linger. */
static void
httpd_conn_sent(struct httpd_conn *c)
{
	int rv = httpd_conn_flush(c);

	if (rv < 0) {
		httpd_conn_free(c);
		return;
	}
	if (rv > 0) {
		c->state = ST_WRITING;
		httpd_conn_watch(c, 0);
		httpd_conn_timer_arm(c);
		return;
	}
	if (c->close_after) {
		shutdown(c->fd, SHUT_WR);
		c->state = ST_LINGER;
		httpd_conn_watch(c, 1);
		httpd_conn_timer_arm(c);
		return;
	}
	/* Keep-alive: the next request starts with what is left over. */
	memmove(c->in.data, c->in.data + c->in_next, c->in.len - c->in_next);
	c->in.len -= c->in_next;
	c->in_next = 0;
	buf_clear(&c->body);
	c->state = ST_HEAD;
	c->started = c->in.len > 0 ? ev_now(c->h->loop) : 0;
	httpd_conn_watch(c, 1);
	httpd_conn_timer_arm(c);
	/* Pipelined bytes are taken up on the next loop turn, not here: a
	 * handler answering at once would otherwise recurse once per
	 * request the client packed into one read. */
	if (c->in.len > 0)
		ev_feed_event(c->h->loop, &c->io, EV_READ);
}

/* An answer of the server's own (errors): always closes. */
static void
httpd_conn_fail(
    struct httpd_conn *c, int status, const char *extra, const char *why)
{
	char text[512];
	int n;

	c->h->st.errors++;
	c->close_after = 1;
	n = snprintf(text, sizeof(text), "%s\n", why);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = 0;
	if (httpd_conn_queue(c, status, "text/plain", extra, text, (size_t)n) <
	    0) {
		httpd_conn_free(c);
		return;
	}
	httpd_conn_sent(c);
}

int
httpd_respond(struct httpd_resp *r, int status, const char *ctype,
    const char *extra, const void *body, size_t len)
{
	struct httpd_conn *c = r->c;

	if (c->state != ST_HANDLING)
		return -1;
	if (!c->head.keep_alive)
		c->close_after = 1;
	if (httpd_conn_queue(c, status, ctype, extra, body, len) < 0) {
		httpd_conn_free(c);
		return -1;
	}
	httpd_conn_sent(c);
	return 0;
}

int
httpd_respond_text(
    struct httpd_resp *r, int status, const char *extra, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(text) - 2)
		n = (int)sizeof(text) - 2;
	text[n++] = '\n';
	return httpd_respond(
	    r, status, "text/plain; charset=utf-8", extra, text, (size_t)n);
}

const struct httpd_route *
httpd_find_route(
    struct httpd *h, const char *method, const char *path, int *path_known)
{
	size_t i;

	*path_known = 0;
	for (i = 0; i < h->nroutes; i++) {
		if (strcmp(h->routes[i].path, path) != 0)
			continue;
		*path_known = 1;
		if (strcmp(h->routes[i].method, method) == 0)
			return &h->routes[i];
	}
	return NULL;
}

/* "Allow: GET, POST\r\n" for path. */
static void
httpd_allow(struct httpd *h, const char *path, char *out, size_t outlen)
{
	size_t i;
	size_t n;

	n = (size_t)snprintf(out, outlen, "Allow:");
	for (i = 0; i < h->nroutes && n < outlen; i++) {
		if (strcmp(h->routes[i].path, path) == 0)
			n += (size_t)snprintf(out + n, outlen - n, "%s %s",
			    n > 6 ? "," : "", h->routes[i].method);
	}
	if (n < outlen)
		snprintf(out + n, outlen - n, "\r\n");
}

/* The whole request is in: hand it over. */
static void
httpd_conn_dispatch(struct httpd_conn *c, const struct httpd_route *r)
{
	c->state = ST_HANDLING;
	ev_timer_stop(c->h->loop, &c->timer);
	httpd_conn_watch(c, 0);
	/* buf keeps a byte past len, so a body is always NUL-terminated. */
	if (c->body.data != NULL)
		c->body.data[c->body.len] = '\0';
	c->req.method = c->head.method;
	c->req.path = c->head.path;
	c->req.query = c->head.query;
	c->req.headers = c->head.headers;
	c->req.nheaders = c->head.nheaders;
	c->req.body = c->body.data ? c->body.data : (const unsigned char *)"";
	c->req.body_len = c->body.len;
	c->req.peer = c->peer;
	c->resp.c = c;
	c->h->st.requests++;
	r->fn(r->arg, &c->req, &c->resp);
}

/* Bytes of the body from in[in_next..): 1 when the body is complete. */
static int
httpd_conn_body(struct httpd_conn *c)
{
	size_t avail = c->in.len - c->in_next;
	size_t used;
	char err[256];
	int rv;

	if (c->head.chunked) {
		rv = httpd_chunked_feed(&c->ch, c->in.data + c->in_next, avail,
		    &used, &c->body, err, sizeof(err));
		c->in_next += used;
		if (rv > 1) {
			httpd_conn_fail(c, rv, NULL, err);
			return -1;
		}
		return rv;
	}
	used = (int64_t)avail < c->body_left ? avail : (size_t)c->body_left;
	if (buf_append(&c->body, c->in.data + c->in_next, used) < 0) {
		httpd_conn_fail(c, 500, NULL, "out of memory");
		return -1;
	}
	c->in_next += used;
	c->body_left -= (int64_t)used;
	return c->body_left == 0;
}

/* The route's guard on the head alone: 1 when it answered instead (which
 * may have freed c), 0 to go on. */
static int
httpd_conn_guard(struct httpd_conn *c, const struct httpd_route *r)
{
	const char *extra = NULL;
	const char *why = "refused";
	int status;

	c->req.method = c->head.method;
	c->req.path = c->head.path;
	c->req.query = c->head.query;
	c->req.headers = c->head.headers;
	c->req.nheaders = c->head.nheaders;
	c->req.body = (const unsigned char *)"";
	c->req.body_len = 0;
	c->req.peer = c->peer;
	status = r->guard(r->arg, &c->req, &extra, &why);
	if (status == 0)
		return 0;
	httpd_conn_fail(c, status, extra, why);
	return 1;
}

/* A head is complete in in[0..end): route it and size up the body. NULL
 * when it was answered instead, which may have freed c. */
static const struct httpd_route *
httpd_conn_head(struct httpd_conn *c, size_t end)
{
	struct httpd *h = c->h;
	const struct httpd_route *r;
	char err[256];
	char allow[256];
	size_t max;
	int known;
	int rv;

	rv = httpd_parse_head((char *)c->in.data, end, c->hdrs,
	    h->lim.max_headers, &c->head, err, sizeof(err));
	if (rv != 0) {
		httpd_conn_fail(c, rv, NULL, err);
		return NULL;
	}
	c->in_next = end;
	r = httpd_find_route(h, c->head.method, c->head.path, &known);
	if (r == NULL && !known) {
		httpd_conn_fail(c, 404, NULL, "no such path");
		return NULL;
	}
	if (r == NULL) {
		httpd_allow(h, c->head.path, allow, sizeof(allow));
		httpd_conn_fail(c, 405, allow, "method not allowed here");
		return NULL;
	}
	if (r->guard != NULL && httpd_conn_guard(c, r))
		return NULL;
	max = r->max_body ? r->max_body : h->lim.max_body;
	if (c->head.content_length > (int64_t)max) {
		snprintf(err, sizeof(err),
		    "body of %lld bytes is over the limit of %zu bytes",
		    (long long)c->head.content_length, max);
		httpd_conn_fail(c, 413, NULL, err);
		return NULL;
	}
	buf_release(&c->body);
	buf_init(&c->body, max);
	c->body_left = c->head.content_length > 0 ? c->head.content_length : 0;
	httpd_chunked_init(&c->ch);
	if (c->head.expect_continue &&
	    (c->head.chunked || c->head.content_length > 0)) {
		buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		if (httpd_conn_flush(c) < 0) {
			httpd_conn_free(c);
			return NULL;
		}
		httpd_conn_watch(c, 1);
	}
	return r;
}

/* Make what progress the bytes in hand allow. */
static void
httpd_conn_process(struct httpd_conn *c)
{
	const struct httpd_route *r;
	size_t end;
	int rv;

	if (c->state == ST_HEAD) {
		end = httpd_head_end((const char *)c->in.data, c->in.len);
		if (end == 0) {
			if (c->in.len >= c->h->lim.max_head)
				httpd_conn_fail(c, 431, NULL,
				    "request head larger than the limit");
			return;
		}
		/* NULL: answered, or gone (a failed answer frees c). */
		r = httpd_conn_head(c, end);
		if (r == NULL)
			return;
		c->route = r;
		c->head_end = end;
		c->state = ST_BODY;
	}
	if (c->state != ST_BODY)
		return;
	rv = httpd_conn_body(c);
	if (rv == 1)
		httpd_conn_dispatch(c, c->route);
}

/* Read what there is. 0 to go on, -1 when the connection is done. */
static int
httpd_conn_read(struct httpd_conn *c)
{
	unsigned char scratch[4096];
	size_t room;
	ssize_t n;

	for (;;) {
		if (c->state == ST_LINGER) {
			n = recv(c->fd, scratch, sizeof(scratch), 0);
		} else {
			/* In the body, consumed bytes make room again; the
			 * head before them stays (the request points in). */
			if (c->state == ST_BODY && c->in_next == c->in.len) {
				c->in.len = c->head_end;
				c->in_next = c->head_end;
			}
			room = c->in.cap - c->in.len;
			if (room > HTTPD_READ_CHUNK)
				room = HTTPD_READ_CHUNK;
			if (room == 0)
				return 0; /* full: the head cap says so */
			if (buf_reserve(&c->in, room) < 0)
				return -1;
			n = recv(c->fd, c->in.data + c->in.len, room, 0);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->last = ev_now(c->h->loop);
		if (c->state == ST_LINGER)
			continue;
		if (c->started == 0)
			c->started = c->last;
		c->in.len += (size_t)n;
		return 0;
	}
}

static void
httpd_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct httpd_conn *c = w->data;
	int rv;

	(void)loop;
	if (revents & EV_WRITE) {
		rv = httpd_conn_flush(c);
		if (rv < 0) {
			httpd_conn_free(c);
			return;
		}
		if (rv == 0 && c->state == ST_WRITING) {
			httpd_conn_sent(c);
			return;
		}
		if (rv == 0)
			httpd_conn_watch(c, 1);
	}
	if (!(revents & EV_READ) || c->state == ST_HANDLING ||
	    c->state == ST_WRITING)
		return;
	if (httpd_conn_read(c) < 0) {
		/* EOF: between requests a normal end, mid-request the
		 * client gave up; either way nothing is left to answer. */
		httpd_conn_free(c);
		return;
	}
	if (c->state == ST_LINGER)
		return;
	httpd_conn_timer_arm(c);
	httpd_conn_process(c);
}

int
httpd_conn_new(struct httpd *h, int fd, const char *peer)
{
	struct httpd_conn *c = xcalloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	c->hdrs = xcalloc(h->lim.max_headers + 1, sizeof(*c->hdrs));
	if (c->hdrs == NULL) {
		xfree(c);
		return -1;
	}
	c->h = h;
	c->fd = fd;
	c->state = ST_HEAD;
	c->last = ev_now(h->loop);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	buf_init(&c->in, h->lim.max_head + HTTPD_READ_CHUNK);
	buf_init(&c->body, 1);
	buf_init(&c->out, 0); /* what the server writes, not the peer */
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->st.open++;
	ev_io_init(&c->io, httpd_conn_io, fd, EV_READ);
	c->io.data = c;
	ev_io_start(h->loop, &c->io);
	ev_init(&c->timer, httpd_conn_timeout);
	c->timer.data = c;
	httpd_conn_timer_arm(c);
	return 0;
}
