/*
 * httpd: the listening socket, the route table and accepting: each
 * accepted socket becomes a connection (common/httpd_conn.c) unless
 * max_conns are open, in which case it gets a short 503 and is closed, so
 * the listen queue keeps moving whatever the open connections do. Out of
 * file descriptors, a spare one kept for it is given up to accept the
 * client and answer it 503 the same way, and accepting pauses for
 * HTTPD_FD_PAUSE: the listening socket stays readable, and calling accept
 * again at once would spin.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/httpd_int.h"
#include "common/log.h"
#include "common/xalloc.h"

#define HTTPD_FD_PAUSE 0.1 /* s without accepting, out of descriptors */
#define HTTPD_FD_WARN 10.0 /* s between two warnings of it */

void
httpd_limits_default(struct httpd_limits *l)
{
	l->max_head = 16384;
	l->max_headers = 64;
	l->max_body = 1 << 20;
	l->max_conns = 256;
	l->idle_s = 10.0;
	l->request_s = 60.0;
	l->retry_after = 1;
}

const char *
httpd_reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "";
	}
}

static int
httpd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void
httpd_peer_name(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(out, outlen, "%s:%d", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, outlen, "[%s]:%d", host, port);
	} else {
		snprintf(out, outlen, "?");
	}
}

/* Over max_conns: a short 503 written best effort, then close. */
static void
httpd_refuse(struct httpd *h, int fd)
{
	char msg[160];
	int n;

	n = snprintf(msg, sizeof(msg),
	    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %u\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n",
	    h->lim.retry_after);
	if (n > 0 && (size_t)n < sizeof(msg) &&
	    send(fd, msg, (size_t)n, MSG_NOSIGNAL) < 0)
		(void)0; /* best effort: the client retries anyway */
	h->st.refused++;
	close(fd);
}

static void
httpd_accept_resume(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct httpd *h = w->data;

	(void)revents;
	ev_io_start(loop, &h->accept_io);
}

/* accept said EMFILE or ENFILE: answer the first waiting client 503
 * with the spare descriptor, and pause accepting. */
static void
httpd_out_of_fds(struct httpd *h, int err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	h->st.no_fds++;
	if (ev_now(h->loop) - h->fds_warned >= HTTPD_FD_WARN ||
	    h->fds_warned == 0) {
		h->fds_warned = ev_now(h->loop);
		log_warn("http :%d: out of file descriptors (%s) with %llu "
		         "connections open: answering 503, pausing accepts",
		    h->port, strerror(err), (unsigned long long)h->st.open);
	}
	if (h->spare_fd >= 0) {
		close(h->spare_fd);
		h->spare_fd = -1;
		fd = accept(h->fd, (struct sockaddr *)&ss, &sl);
		if (fd >= 0)
			httpd_refuse(h, fd);
		h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	ev_io_stop(h->loop, &h->accept_io);
	ev_timer_set(&h->accept_pause, HTTPD_FD_PAUSE, 0.0);
	ev_timer_start(h->loop, &h->accept_pause);
}

static void
httpd_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct httpd *h = w->data;
	struct sockaddr_storage ss;
	char peer[64];
	socklen_t sl;
	int fd;
	int i;

	(void)loop;
	(void)revents;
	for (i = 0; i < 64; i++) {
		sl = sizeof(ss);
		fd = accept(h->fd, (struct sockaddr *)&ss, &sl);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			httpd_out_of_fds(h, errno);
			return;
		}
		if (fd < 0)
			return; /* EAGAIN: at the next wakeup */
		httpd_peer_name(&ss, peer, sizeof(peer));
		if (h->st.open >= h->lim.max_conns || httpd_nonblock(fd) < 0 ||
		    httpd_conn_new(h, fd, peer) < 0) {
			httpd_refuse(h, fd);
			continue;
		}
		h->st.accepted++;
	}
}

static int
httpd_listen(
    struct httpd *h, const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints;
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[16];
	int one = 1;
	int rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rv = getaddrinfo(host, portstr, &hints, &ai);
	if (rv != 0) {
		snprintf(
		    err, errlen, "%s:%d: %s", host, port, gai_strerror(rv));
		return -1;
	}
	h->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (h->fd < 0 ||
	    setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) <
	        0 ||
	    bind(h->fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(h->fd, 512) < 0 || httpd_nonblock(h->fd) < 0 ||
	    getsockname(h->fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(
		    err, errlen, "%s:%d: %s", host, port, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	h->port = ntohs(ss.ss_family == AF_INET6
	        ? ((struct sockaddr_in6 *)&ss)->sin6_port
	        : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int
httpd_new(struct httpd **out, struct ev_loop *loop, const char *host, int port,
    const struct httpd_limits *lim, char *err, size_t errlen)
{
	struct httpd *h = xcalloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->loop = loop;
	h->fd = -1;
	h->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (lim != NULL)
		h->lim = *lim;
	else
		httpd_limits_default(&h->lim);
	if (httpd_listen(h, host, port, err, errlen) < 0) {
		httpd_free(h);
		return -1;
	}
	ev_io_init(&h->accept_io, httpd_accept, h->fd, EV_READ);
	h->accept_io.data = h;
	ev_io_start(loop, &h->accept_io);
	ev_timer_init(&h->accept_pause, httpd_accept_resume, 0.0, 0.0);
	h->accept_pause.data = h;
	*out = h;
	return 0;
}

void
httpd_free(struct httpd *h)
{
	size_t i;

	if (h == NULL)
		return;
	while (h->conns != NULL)
		httpd_conn_free(h->conns);
	if (h->fd >= 0) {
		ev_io_stop(h->loop, &h->accept_io);
		ev_timer_stop(h->loop, &h->accept_pause);
		close(h->fd);
	}
	if (h->spare_fd >= 0)
		close(h->spare_fd);
	for (i = 0; i < h->nroutes; i++) {
		xfree(h->routes[i].method);
		xfree(h->routes[i].path);
	}
	xfree(h->routes);
	xfree(h);
}

int
httpd_port(const struct httpd *h)
{
	return h->port;
}

int
httpd_route(struct httpd *h, const char *method, const char *path,
    size_t max_body, httpd_handler_fn fn, void *arg)
{
	struct httpd_route *r;
	int known;

	if (httpd_find_route(h, method, path, &known) != NULL)
		return -1;
	r = xrealloc(h->routes, (h->nroutes + 1) * sizeof(*r));
	if (r == NULL)
		return -1;
	h->routes = r;
	r = &h->routes[h->nroutes];
	r->method = xstrdup(method);
	r->path = xstrdup(path);
	if (r->method == NULL || r->path == NULL) {
		xfree(r->method);
		xfree(r->path);
		return -1;
	}
	r->max_body = max_body;
	r->fn = fn;
	r->guard = NULL;
	r->arg = arg;
	h->nroutes++;
	return 0;
}

int
httpd_route_guard(
    struct httpd *h, const char *method, const char *path, httpd_guard_fn fn)
{
	size_t i;

	for (i = 0; i < h->nroutes; i++) {
		if (strcmp(h->routes[i].method, method) == 0 &&
		    strcmp(h->routes[i].path, path) == 0) {
			h->routes[i].guard = fn;
			return 0;
		}
	}
	return -1;
}

void
httpd_stats(const struct httpd *h, struct httpd_stats *out)
{
	*out = h->st;
}
