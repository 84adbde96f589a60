/*
 * httpd over real loopback sockets: the server runs on its own loop thread
 * (httpd_thread), the test speaks raw HTTP with blocking sockets, so every
 * byte on the wire is the test's choice. Routing (404, 405 with Allow),
 * Content-Length and chunked bodies, the caps (431 head, 431 header count,
 * 413 from Content-Length before the body and from a chunked body while it
 * streams), keep-alive with pipelining, 100-continue, answers given later
 * from the loop (a timer standing in for the pipeline's ack), the
 * connection cap (503), the idle timeout closing a silent client while
 * others are served, a client reset before its answer could be sent, and
 * the process out of file descriptors (503, then served again).
 */
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/httpd.h"

struct later {
	ev_timer t;
	struct httpd_resp *resp;
};

struct srv {
	struct httpd_thread *th;
	struct httpd *h;
	struct ev_loop *loop;
	struct httpd_limits lim;
	int port;
	struct later later;
	sem_t stalled; /* on_stall is holding the loop */
	sem_t go_on;   /* ... until the test posts this */
};

/* Echo: method, path, query, a header and the body length. */
static void
on_echo(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	const char *x = httpd_req_header(req, "x-test");

	(void)arg;
	httpd_respond_text(resp, 200, NULL, "%s %s ?%s x=%s len=%zu body=%.*s",
	    req->method, req->path, req->query, x ? x : "-", req->body_len,
	    (int)(req->body_len < 32 ? req->body_len : 32),
	    (const char *)req->body);
}

static void
on_later_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct later *l = (struct later *)w;

	(void)loop;
	(void)revents;
	httpd_respond(
	    l->resp, 202, "text/plain", "Retry-After: 7\r\n", "later\n", 6);
}

/* Answers from the loop a moment after the handler returned. */
static void
on_later(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct srv *s = arg;

	(void)req;
	s->later.resp = resp;
	ev_timer_init(&s->later.t, on_later_timer, 0.05, 0.0);
	ev_timer_start(s->loop, &s->later.t);
}

/* Holds the server's loop until the test says go on, so that what the
 * test sends meanwhile is all there before the server reads any of it. */
static void
on_stall(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct srv *s = arg;
	struct timespec guard;

	(void)req;
	sem_post(&s->stalled);
	clock_gettime(CLOCK_REALTIME, &guard);
	guard.tv_sec += 20; /* against hanging only */
	sem_timedwait(&s->go_on, &guard);
	httpd_respond_text(resp, 200, NULL, "stalled");
}

static int
srv_setup(struct ev_loop *loop, void *arg)
{
	struct srv *s = arg;
	char err[256];

	if (httpd_new(&s->h, loop, "127.0.0.1", 0, &s->lim, err, sizeof(err)) <
	    0)
		return -1;
	s->loop = loop;
	s->port = httpd_port(s->h);
	if (httpd_route(s->h, "GET", "/echo", 0, on_echo, s) < 0 ||
	    httpd_route(s->h, "POST", "/echo", 0, on_echo, s) < 0 ||
	    httpd_route(s->h, "POST", "/small", 10, on_echo, s) < 0 ||
	    httpd_route(s->h, "POST", "/later", 0, on_later, s) < 0 ||
	    httpd_route(s->h, "GET", "/stall", 0, on_stall, s) < 0)
		return -1;
	return 0;
}

static void
srv_teardown(struct ev_loop *loop, void *arg)
{
	struct srv *s = arg;

	(void)loop;
	httpd_free(s->h);
}

static struct srv *
srv_start(size_t max_conns, double idle_s)
{
	struct srv *s = calloc(1, sizeof(*s));
	char err[256];

	assert_non_null(s);
	httpd_limits_default(&s->lim);
	s->lim.max_head = 1024;
	s->lim.max_headers = 8;
	s->lim.max_body = 4096;
	s->lim.max_conns = max_conns;
	s->lim.idle_s = idle_s;
	sem_init(&s->stalled, 0, 0);
	sem_init(&s->go_on, 0, 0);
	if (httpd_thread_start(
	        &s->th, srv_setup, srv_teardown, s, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return s;
}

static void
srv_stop(struct srv *s)
{
	httpd_thread_stop(s->th);
	sem_destroy(&s->stalled);
	sem_destroy(&s->go_on);
	free(s);
}

static int
dial(int port)
{
	struct sockaddr_in sa;
	struct timeval tv = {20, 0}; /* a guard against hanging only */
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
send_all(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read one response (head + Content-Length body) into out. */
static size_t
read_resp(int fd, char *out, size_t outlen)
{
	size_t len = 0;
	ssize_t n;
	char *end;
	const char *cl;

	for (;;) {
		out[len] = '\0';
		end = strstr(out, "\r\n\r\n");
		if (end != NULL) {
			cl = strstr(out, "Content-Length: ");
			if (cl != NULL &&
			    len >= (size_t)(end + 4 - out) +
			            strtoul(cl + 16, NULL, 10))
				return len;
		}
		if (len + 1 >= outlen)
			return len;
		n = recv(fd, out + len, outlen - len - 1, 0);
		if (n <= 0)
			return len;
		len += (size_t)n;
	}
}

/* Read until needle has arrived (both answers of a pipelined pair may
 * come in one segment or two). */
static void
read_until(int fd, char *out, size_t outlen, const char *needle)
{
	size_t len = 0;
	ssize_t n;

	out[0] = '\0';
	while (strstr(out, needle) == NULL && len + 1 < outlen) {
		n = recv(fd, out + len, outlen - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		out[len] = '\0';
	}
}

static void
roundtrip(struct srv *s, const char *req, char *out, size_t outlen)
{
	int fd = dial(s->port);

	send_all(fd, req, strlen(req));
	read_resp(fd, out, outlen);
	close(fd);
}

static void
test_routes(void **state)
{
	struct srv *s = srv_start(16, 10);
	char out[4096];

	(void)state;
	roundtrip(s,
	    "GET /echo?a=1 HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\n\r\n", out,
	    sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "GET /echo ?a=1 x=yes len=0"));
	roundtrip(s, "GET /nope HTTP/1.1\r\n\r\n", out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 404 "));
	roundtrip(s, "DELETE /echo HTTP/1.1\r\n\r\n", out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 405 "));
	assert_non_null(strstr(out, "Allow: GET, POST\r\n"));
	roundtrip(s, "GET /echo HTTP/2.0\r\n\r\n", out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 505 "));
	roundtrip(s, "GET echo HTTP/1.1\r\n\r\n", out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 400 "));
	srv_stop(s);
}

static void
test_bodies(void **state)
{
	struct srv *s = srv_start(16, 10);
	char out[4096];

	(void)state;
	roundtrip(s, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
	    out, sizeof(out));
	assert_non_null(strstr(out, "len=5 body=hello"));
	roundtrip(s,
	    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n",
	    out, sizeof(out));
	assert_non_null(strstr(out, "len=5 body=abcde"));
	roundtrip(s,
	    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "zz\r\n",
	    out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 400 "));
	roundtrip(s,
	    "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: "
	    "6\r\n\r\nhello",
	    out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 400 "));
	roundtrip(s, "POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
	    out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 501 "));
	srv_stop(s);
}

static void
test_caps(void **state)
{
	struct srv *s = srv_start(16, 10);
	char big[2048];
	char out[4096];
	int fd;

	(void)state;
	/* Refused from Content-Length: the body is never sent. */
	roundtrip(s, "POST /small HTTP/1.1\r\nContent-Length: 11\r\n\r\n", out,
	    sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 413 "));
	assert_non_null(strstr(out, "over the limit of 10 bytes"));
	/* A chunked body, refused while it streams. */
	roundtrip(s,
	    "POST /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n",
	    out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 413 "));
	/* A head over max_head. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fd = dial(s->port);
	send_all(fd, "GET /echo HTTP/1.1\r\nX-Big: ", 27);
	send_all(fd, big, strlen(big));
	read_resp(fd, out, sizeof(out));
	close(fd);
	assert_non_null(strstr(out, "HTTP/1.1 431 "));
	/* More header fields than max_headers. */
	roundtrip(s,
	    "GET /echo HTTP/1.1\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n"
	    "f: 1\r\ng: 1\r\nh: 1\r\ni: 1\r\n\r\n",
	    out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 431 "));
	srv_stop(s);
}

static void
test_keepalive_pipelined_and_continue(void **state)
{
	struct srv *s = srv_start(16, 10);
	char out[4096];
	int fd;

	(void)state;
	fd = dial(s->port);
	send_all(fd,
	    "GET /echo?n=1 HTTP/1.1\r\n\r\n"
	    "POST /echo?n=2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
	    strlen("GET /echo?n=1 HTTP/1.1\r\n\r\n"
	           "POST /echo?n=2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"));
	read_until(fd, out, sizeof(out), "body=hi");
	assert_non_null(strstr(out, "?n=1"));
	assert_non_null(strstr(out, "Connection: keep-alive"));
	assert_non_null(strstr(out, "?n=2 x=- len=2 body=hi"));
	/* Expect: 100-continue gets its interim answer before the body. */
	send_all(fd,
	    "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
	    "Content-Length: 3\r\n\r\n",
	    strlen("POST /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
	           "Content-Length: 3\r\n\r\n"));
	assert_int_equal(recv(fd, out, 25, MSG_WAITALL), 25);
	assert_memory_equal(out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	send_all(fd, "abc", 3);
	read_resp(fd, out, sizeof(out));
	assert_non_null(strstr(out, "len=3 body=abc"));
	close(fd);
	srv_stop(s);
}

/* Many requests in one segment: each answered, in order, none lost. */
static void
test_many_pipelined(void **state)
{
	struct srv *s = srv_start(16, 10);
	static char out[1 << 20];
	char *reqs;
	char want[64];
	size_t n = 0;
	size_t got = 0;
	ssize_t r;
	int fd;
	int i;

	(void)state;
	reqs = malloc(600 * 32);
	for (i = 0; i < 600; i++)
		n += (size_t)sprintf(
		    reqs + n, "GET /echo?%d HTTP/1.1\r\n\r\n", i);
	fd = dial(s->port);
	send_all(fd, reqs, n);
	snprintf(want, sizeof(want), "?599 x=-");
	while (got + 1 < sizeof(out)) {
		out[got] = '\0';
		if (strstr(out, want) != NULL)
			break;
		r = recv(fd, out + got, sizeof(out) - got - 1, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = '\0';
	assert_non_null(strstr(out, "?0 x=-"));
	assert_non_null(strstr(out, "?599 x=-"));
	assert_true(strstr(out, "?300 x=-") < strstr(out, "?301 x=-"));
	close(fd);
	free(reqs);
	srv_stop(s);
}

static void
test_answer_later(void **state)
{
	struct srv *s = srv_start(16, 10);
	char out[4096];

	(void)state;
	roundtrip(s, "POST /later HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", out,
	    sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 202 Accepted\r\n"));
	assert_non_null(strstr(out, "Retry-After: 7\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nlater\n"));
	srv_stop(s);
}

static void
test_conn_cap_and_idle(void **state)
{
	struct srv *s = srv_start(2, 0.3);
	char out[4096];
	int a;
	int b;
	int c;

	(void)state;
	/* Two silent clients fill the cap: a third is refused at once. */
	a = dial(s->port);
	b = dial(s->port);
	send_all(a, "G", 1);
	send_all(b, "G", 1);
	c = dial(s->port);
	read_resp(c, out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 503 "));
	assert_non_null(strstr(out, "Retry-After: 1"));
	close(c);
	/* The idle timeout closes them (EOF), and the server serves again. */
	assert_int_equal(recv(a, out, sizeof(out), 0), 0);
	assert_int_equal(recv(b, out, sizeof(out), 0), 0);
	close(a);
	close(b);
	roundtrip(s, "GET /echo HTTP/1.1\r\n\r\n", out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 200 "));
	srv_stop(s);
}

/* A connection reset (SO_LINGER 0) right after its request: the server
 * reads the request, and its answer (404 here, 100 Continue after) cannot
 * be sent, which frees the connection in the middle of taking the head.
 * Nothing may touch it after that (ASan's build would say so); the server
 * goes on serving. */
static void
test_reset_before_the_answer(void **state)
{
	static const char *const reqs[] = {
	    "GET /nope HTTP/1.1\r\n\r\n",
	    "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
	    "Content-Length: 10\r\n\r\n",
	};
	struct linger rst = {1, 0};
	struct srv *s = srv_start(8, 5.0);
	char out[4096];
	size_t i;
	int a;
	int b;

	(void)state;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		a = dial(s->port);
		send_all(a, "GET /stall HTTP/1.1\r\n\r\n", 23);
		assert_int_equal(sem_wait(&s->stalled), 0);
		b = dial(s->port);
		send_all(b, reqs[i], strlen(reqs[i]));
		setsockopt(b, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(b);
		sem_post(&s->go_on);
		read_resp(a, out, sizeof(out));
		assert_non_null(strstr(out, "HTTP/1.1 200 "));
		close(a);
		roundtrip(s, "GET /echo HTTP/1.1\r\n\r\n", out, sizeof(out));
		assert_non_null(strstr(out, "HTTP/1.1 200 "));
	}
	srv_stop(s);
}

/* The RLIMIT_NOFILE that leaves exactly k descriptor numbers free: the
 * numbers in use below it are counted, not the descriptors (a shell may
 * have left one open at 251). */
static rlim_t
limit_leaving(int k)
{
	unsigned char used[4096] = {0};
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int fd;
	int n;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != dirfd(d) && fd < 4096)
			used[fd] = 1;
	}
	closedir(d);
	for (fd = 0, n = 0; fd < 4096; fd++) {
		n += !used[fd];
		if (n == k)
			return (rlim_t)fd + 1;
	}
	fail_msg("no %d free descriptors below 4096", k);
	return 0;
}

/* The process out of descriptors: a client that cannot be accepted is
 * answered 503 (the server keeps one descriptor spare for it), not left
 * waiting; once descriptors are free again the server accepts as
 * before. */
static void
test_out_of_fds(void **state)
{
	struct srv *s = srv_start(64, 30.0);
	struct rlimit old;
	struct rlimit lim;
	char out[4096];
	int idle[4];
	int c;
	int i;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	/* 4 idle clients take 8 (both ends), the next client's end the
	 * last one: the server cannot accept it. */
	lim.rlim_cur = limit_leaving(9);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	for (i = 0; i < 4; i++) {
		idle[i] = dial(s->port);
		send_all(idle[i], "GET /echo HTTP/1.1\r\n\r\n", 23);
		read_resp(idle[i], out, sizeof(out));
		assert_non_null(strstr(out, "HTTP/1.1 200 "));
	}
	c = dial(s->port);
	read_resp(c, out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 503 "));
	assert_non_null(strstr(out, "Retry-After: 1"));
	close(c);
	for (i = 0; i < 4; i++)
		close(idle[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* The idle ones' ends close as the server reads their EOF; until
	 * then a client may still be refused. */
	for (i = 0; i < 200; i++) {
		roundtrip(s, "GET /echo HTTP/1.1\r\n\r\n", out, sizeof(out));
		if (strstr(out, "HTTP/1.1 200 ") != NULL)
			break;
		assert_non_null(strstr(out, "HTTP/1.1 503 "));
	}
	assert_non_null(strstr(out, "HTTP/1.1 200 "));
	srv_stop(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_bodies),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_keepalive_pipelined_and_continue),
	    cmocka_unit_test(test_many_pipelined),
	    cmocka_unit_test(test_answer_later),
	    cmocka_unit_test(test_conn_cap_and_idle),
	    cmocka_unit_test(test_reset_before_the_answer),
	    cmocka_unit_test(test_out_of_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
