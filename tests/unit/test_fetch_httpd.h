/*
 * A tiny HTTP/1.1 server for the fetcher's tests: a thread accepting on
 * 127.0.0.1:0, one thread per connection, canned answers by path, one
 * request per connection. It only ever listens on loopback.
 *
 *   /ok, /debug/pprof/...   200, a small gzip body
 *   /busy                   500, Go's "cpu profiling already in use"
 *   /notfound               404, text
 *   /html                   200, an HTML page
 *   /empty                  200, no body
 *   /big                    200, 64 MB with no Content-Length
 *   /big-declared           200, Content-Length: 64 MB
 *   /slow                   never answers; closes when the client does
 *
 * What the server saw is kept under a mutex; httpd_wait waits for a
 * condition (with a generous guard against hanging, not a timing).
 * /debug/pprof/profile is held open until release_cpu is set, so a test
 * can see whether a second CPU profile was asked for meanwhile.
 */
#ifndef PROFPIPE_TEST_FETCH_HTTPD_H
#define PROFPIPE_TEST_FETCH_HTTPD_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Each test uses the part of this it needs. */
#pragma GCC diagnostic ignored "-Wunused-function"

#define HTTPD_BIG ((size_t)64 * 1024 * 1024)

struct httpd {
	int lfd;
	int port;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* seen, under mu */
	int requests;
	int big_write_failed; /* the client hung up on /big* */
	int slow_waiting;     /* a /slow request is being held */
	int cpu_inflight;     /* /debug/pprof/profile being answered */
	int cpu_max;          /* most at once */
	int cpu_requests;
	int release_cpu; /* let held CPU profiles answer */
	char last_path[256];
	/* called on the server's thread once a /slow request is held */
	void (*on_slow)(void *arg);
	void *on_slow_arg;
};

/* The gzip magic and some bytes: enough for the sniffing. */
static const unsigned char httpd_gzip[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06};

struct httpd_conn {
	struct httpd *h;
	int fd;
};

static int
httpd_send(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t k;

	while (n > 0) {
		k = send(fd, c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
httpd_answer(int fd, int code, const char *ctype, const void *body, size_t len)
{
	char head[256];

	snprintf(head, sizeof(head),
	    "HTTP/1.1 %d X\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    code, ctype, len);
	if (httpd_send(fd, head, strlen(head)) < 0)
		return -1;
	return httpd_send(fd, body, len);
}

static void
httpd_big(struct httpd *h, int fd, int declared)
{
	static unsigned char chunk[64 * 1024];
	char head[256];
	size_t sent = 0;
	int failed = 0;

	memcpy(chunk, httpd_gzip, sizeof(httpd_gzip));
	if (declared)
		snprintf(head, sizeof(head),
		    "HTTP/1.1 200 OK\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		    HTTPD_BIG);
	else
		snprintf(head, sizeof(head),
		    "HTTP/1.1 200 OK\r\n"
		    "Connection: close\r\n\r\n");
	if (httpd_send(fd, head, strlen(head)) < 0)
		failed = 1;
	while (!failed && sent < HTTPD_BIG) {
		if (httpd_send(fd, chunk, sizeof(chunk)) < 0)
			failed = 1;
		sent += sizeof(chunk);
	}
	pthread_mutex_lock(&h->mu);
	h->big_write_failed = failed;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void
httpd_cpu(struct httpd *h, int fd)
{
	pthread_mutex_lock(&h->mu);
	h->cpu_requests++;
	h->cpu_inflight++;
	if (h->cpu_inflight > h->cpu_max)
		h->cpu_max = h->cpu_inflight;
	pthread_cond_broadcast(&h->cv);
	while (!h->release_cpu)
		pthread_cond_wait(&h->cv, &h->mu);
	h->cpu_inflight--;
	pthread_mutex_unlock(&h->mu);
	httpd_answer(fd, 200, "application/octet-stream", httpd_gzip,
	    sizeof(httpd_gzip));
}

static void *
httpd_serve(void *arg)
{
	struct httpd_conn *c = arg;
	struct httpd *h = c->h;
	char req[4096];
	char path[256] = "";
	size_t len = 0;
	ssize_t k;
	static const char busy[] = "Could not enable CPU profiling: "
	                           "cpu profiling already in use\n";
	static const char html[] = "<!DOCTYPE html>\n<html><body>"
	                           "nothing here</body></html>\n";
	static const char nf[] = "404 page not found\n";

	while (len < sizeof(req) - 1) {
		k = recv(c->fd, req + len, sizeof(req) - 1 - len, 0);
		if (k <= 0)
			goto out;
		len += (size_t)k;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	sscanf(req, "GET %255s", path);
	pthread_mutex_lock(&h->mu);
	h->requests++;
	snprintf(h->last_path, sizeof(h->last_path), "%s", path);
	pthread_mutex_unlock(&h->mu);
	if (strcmp(path, "/busy") == 0) {
		httpd_answer(c->fd, 500, "text/plain; charset=utf-8", busy,
		    strlen(busy));
	} else if (strcmp(path, "/notfound") == 0) {
		httpd_answer(c->fd, 404, "text/plain", nf, strlen(nf));
	} else if (strcmp(path, "/html") == 0) {
		httpd_answer(c->fd, 200, "text/html", html, strlen(html));
	} else if (strcmp(path, "/empty") == 0) {
		httpd_answer(c->fd, 200, "application/octet-stream", "", 0);
	} else if (strcmp(path, "/big") == 0) {
		httpd_big(h, c->fd, 0);
	} else if (strcmp(path, "/big-declared") == 0) {
		httpd_big(h, c->fd, 1);
	} else if (strcmp(path, "/slow") == 0) {
		pthread_mutex_lock(&h->mu);
		h->slow_waiting++;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		if (h->on_slow != NULL)
			h->on_slow(h->on_slow_arg);
		while (recv(c->fd, req, sizeof(req), 0) > 0)
			;
		pthread_mutex_lock(&h->mu);
		h->slow_waiting--;
		pthread_mutex_unlock(&h->mu);
	} else if (strncmp(path, "/debug/pprof/profile", 20) == 0) {
		httpd_cpu(h, c->fd);
	} else {
		httpd_answer(c->fd, 200, "application/octet-stream",
		    httpd_gzip, sizeof(httpd_gzip));
	}
out:
	close(c->fd);
	free(c);
	return NULL;
}

static void *
httpd_accept(void *arg)
{
	struct httpd *h = arg;
	struct httpd_conn *c;
	pthread_t th;
	int fd;

	for (;;) {
		fd = accept(h->lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* shut down */
		}
		c = malloc(sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->h = h;
		c->fd = fd;
		if (pthread_create(&th, NULL, httpd_serve, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(th);
	}
}

static int
httpd_start(struct httpd *h)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (h->lfd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(h->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(h->lfd, 64) < 0 ||
	    getsockname(h->lfd, (struct sockaddr *)&sa, &salen) < 0)
		return -1;
	h->port = ntohs(sa.sin_port);
	return pthread_create(&h->th, NULL, httpd_accept, h) == 0 ? 0 : -1;
}

/* Connections being served are left to finish on their own. */
static void
httpd_stop(struct httpd *h)
{
	pthread_mutex_lock(&h->mu);
	h->release_cpu = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	shutdown(h->lfd, SHUT_RDWR);
	pthread_join(h->th, NULL);
	close(h->lfd);
}

/* Wait until *flag (a field of h) is at least want. 0, or -1 if that took
 * longer than a minute: the test is stuck, not slow. */
static int
httpd_wait(struct httpd *h, const int *flag, int want)
{
	struct timespec until;
	int rv = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&h->mu);
	while (*flag < want && rv == 0)
		rv = pthread_cond_timedwait(&h->cv, &h->mu, &until);
	pthread_mutex_unlock(&h->mu);
	return *flag >= want ? 0 : -1;
}

/* A loopback port nothing listens on: bound, never listened, closed. */
static int
httpd_dead_port(void)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &salen) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

#endif
