/*
 * scrape: libcurl multi driven by libev. curl says which sockets it wants
 * watched (scrape_on_socket) and when it next wants to be called
 * (scrape_on_timer); libev watches and calls back, and after each call we
 * collect the transfers curl has finished (scrape_collect). A finished
 * transfer is turned into one result and one done call.
 */
#include "fetcher/scrape.h"

#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/xalloc.h"
#include "fetcher/sniff.h"

/* An error response is read only as far as its first line. */
#define SCRAPE_ERR_KEEP 1024
#define SCRAPE_LINE_MAX 200

struct scrape_xfer {
	struct scrape *s;
	CURL *easy;
	struct buf body;
	size_t limit;
	long timeout_ms;
	int over_limit;
	int stopped; /* an error body: stopped after its first line */
	int text_ok; /* scrape_start_text */
	int64_t t0_ns;
	scrape_done_fn done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	struct scrape_xfer *prev;
	struct scrape_xfer *next;
};

struct scrape_sock {
	ev_io io;
	struct scrape *s;
	struct scrape_sock *prev;
	struct scrape_sock *next;
};

struct scrape {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	struct scrape_xfer *xfers;
	size_t nxfers;
	struct scrape_sock *socks;
};

static int64_t
scrape_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *
scrape_status_name(enum scrape_status st)
{
	static const char *const names[SCRAPE_NSTATUS] = {
	    [SCRAPE_OK] = "ok",
	    [SCRAPE_ECONNECT] = "connect",
	    [SCRAPE_ETIMEDOUT] = "timeout",
	    [SCRAPE_EHTTP] = "http",
	    [SCRAPE_ETOOLARGE] = "too_large",
	    [SCRAPE_ENOTPROFILE] = "not_profile",
	    [SCRAPE_EFAIL] = "other",
	    [SCRAPE_EABORTED] = "aborted",
	};

	return (unsigned)st < SCRAPE_NSTATUS ? names[st] : "?";
}

static void
scrape_unlink(struct scrape_xfer *x)
{
	struct scrape *s = x->s;

	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		s->xfers = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
	s->nxfers--;
}

static void
scrape_xfer_free(struct scrape_xfer *x)
{
	curl_easy_cleanup(x->easy);
	buf_release(&x->body);
	xfree(x);
}

/* Copy the first line of p into out, printable ASCII only. */
static void
scrape_first_line(char *out, size_t outlen, const unsigned char *p, size_t len)
{
	size_t i;
	size_t k = 0;

	while (
	    len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		len--;
	}
	for (i = 0; i < len && p[i] != '\n' && p[i] != '\r' &&
	     k + 1 < outlen && k < SCRAPE_LINE_MAX;
	     i++)
		out[k++] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	while (k > 0 && out[k - 1] == ' ')
		k--;
	if (outlen > 0)
		out[k] = '\0';
}

static void
scrape_limit_text(char *out, size_t outlen, size_t limit)
{
	if (limit % 1024 == 0)
		snprintf(out, outlen, "%zu KB", limit / 1024);
	else
		snprintf(out, outlen, "%zu bytes", limit);
}

/* What a finished transfer amounts to. */
static enum scrape_status
scrape_judge(
    struct scrape_xfer *x, CURLcode rc, long code, char *reason, size_t rlen)
{
	char line[SCRAPE_LINE_MAX + 1];
	char lim[32];
	enum sniff_kind kind;
	long oserr = 0;

	reason[0] = '\0';
	if (code != 0 && code != 200) {
		scrape_first_line(
		    line, sizeof(line), x->body.data, x->body.len);
		snprintf(reason, rlen, line[0] ? "HTTP %ld: %s" : "HTTP %ld%s",
		    code, line);
		return SCRAPE_EHTTP;
	}
	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR:
		if (rc == CURLE_WRITE_ERROR && !x->over_limit) {
			snprintf(reason, rlen, "out of memory for the body");
			return SCRAPE_EFAIL;
		}
		scrape_limit_text(lim, sizeof(lim), x->limit);
		snprintf(
		    reason, rlen, "body larger than %s (BodyLimitSize)", lim);
		return SCRAPE_ETOOLARGE;
	case CURLE_OPERATION_TIMEDOUT:
		if (x->timeout_ms % 1000 == 0)
			snprintf(reason, rlen, "timed out after %ld s",
			    x->timeout_ms / 1000);
		else
			snprintf(reason, rlen, "timed out after %ld ms",
			    x->timeout_ms);
		return SCRAPE_ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
		if (rc == CURLE_COULDNT_CONNECT && oserr != 0)
			snprintf(
			    reason, rlen, "connect: %s", strerror((int)oserr));
		else
			snprintf(reason, rlen, "%s",
			    x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		return SCRAPE_ECONNECT;
	default:
		snprintf(reason, rlen, "%s",
		    x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
		return SCRAPE_EFAIL;
	}
	kind = sniff_body(x->body.data, x->body.len);
	if (x->text_ok ? kind == SNIFF_TEXT : sniff_is_profile(kind))
		return SCRAPE_OK;
	scrape_first_line(line, sizeof(line), x->body.data, x->body.len);
	if (kind == SNIFF_HTML || kind == SNIFF_TEXT)
		snprintf(reason, rlen, "not a profile: %s body: %s",
		    sniff_name(kind), line);
	else if (kind == SNIFF_EMPTY)
		snprintf(reason, rlen, "not a profile: empty body");
	else
		snprintf(reason, rlen, "not a profile: the body is %s",
		    sniff_name(kind));
	return SCRAPE_ENOTPROFILE;
}

/* The transfer is out of the multi handle: report it and free it. */
static void
scrape_finish(struct scrape_xfer *x, CURLcode rc, int aborted)
{
	struct scrape_result r;
	char reason[512];
	curl_off_t pre_us = 0;
	long code = 0;

	memset(&r, 0, sizeof(r));
	r.end_ns = scrape_now_ns();
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &pre_us);
	if (aborted) {
		r.status = SCRAPE_EABORTED;
		snprintf(reason, sizeof(reason), "aborted");
	} else {
		r.status = scrape_judge(x, rc, code, reason, sizeof(reason));
	}
	r.reason = reason;
	r.http_code = code;
	r.start_ns = x->t0_ns + (int64_t)pre_us * 1000;
	r.received = x->body.len;
	if (r.status == SCRAPE_OK) {
		r.body = x->body.data;
		r.len = x->body.len;
	}
	x->done(x->arg, &r);
	scrape_xfer_free(x);
}

/* Collect what curl has finished. A done callback may start new scrapes:
 * they are added to the multi handle, which is allowed here, outside any
 * curl callback. */
static void
scrape_collect(struct scrape *s)
{
	struct scrape_xfer *x;
	CURLMsg *m;
	CURL *easy;
	CURLcode rc;
	int left;

	for (;;) {
		m = curl_multi_info_read(s->multi, &left);
		if (m == NULL)
			break;
		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		rc = m->data.result;
		x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(s->multi, easy);
		scrape_unlink(x);
		scrape_finish(x, rc, 0);
	}
}

static void
scrape_on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct scrape_sock *k = w->data;
	struct scrape *s = k->s; /* curl may free k (and w) in the call */
	int action = 0;
	int running;

	(void)loop;
	if (revents & EV_READ)
		action |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(s->multi, w->fd, action, &running);
	scrape_collect(s);
}

static void
scrape_on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct scrape *s = w->data;
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	scrape_collect(s);
}

static void
scrape_sock_free(struct scrape *s, struct scrape_sock *k)
{
	ev_io_stop(s->loop, &k->io);
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		s->socks = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	xfree(k);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl asks. */
static int
scrape_on_socket(
    CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct scrape *s = userp;
	struct scrape_sock *k = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (k != NULL)
			scrape_sock_free(s, k);
		curl_multi_assign(s->multi, fd, NULL);
		return 0;
	}
	if (k == NULL) {
		k = xcalloc(1, sizeof(*k));
		if (k == NULL)
			return -1; /* curl fails the transfer */
		k->s = s;
		k->io.data = k;
		k->next = s->socks;
		if (s->socks != NULL)
			s->socks->prev = k;
		s->socks = k;
		curl_multi_assign(s->multi, fd, k);
		ev_init(&k->io, scrape_on_io);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= EV_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= EV_WRITE;
	ev_io_stop(s->loop, &k->io);
	ev_io_set(&k->io, fd, events);
	ev_io_start(s->loop, &k->io);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer; curl must not be called from here,
 * so even "now" (0) goes through the loop. */
static int
scrape_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct scrape *s = userp;

	(void)multi;
	ev_timer_stop(s->loop, &s->timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&s->timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(s->loop, &s->timer);
	}
	return 0;
}

int
scrape_new(struct scrape **out, struct ev_loop *loop)
{
	struct scrape *s = xcalloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	s->loop = loop;
	s->multi = curl_multi_init();
	if (s->multi == NULL) {
		xfree(s);
		return -1;
	}
	ev_init(&s->timer, scrape_on_timeout);
	s->timer.data = s;
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, scrape_on_socket);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, scrape_on_timer);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
	*out = s;
	return 0;
}

void
scrape_free(struct scrape *s)
{
	if (s == NULL)
		return;
	scrape_abort_all(s);
	curl_multi_cleanup(s->multi);
	/* Sockets of cached connections curl closed without telling. */
	while (s->socks != NULL)
		scrape_sock_free(s, s->socks);
	ev_timer_stop(s->loop, &s->timer);
	xfree(s);
}

/* CURLOPT_WRITEFUNCTION: the body, capped. Returning less than given makes
 * curl abort the transfer with CURLE_WRITE_ERROR. */
static size_t
scrape_on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct scrape_xfer *x = arg;
	size_t n = size * nmemb;
	size_t keep;
	long code = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		/* Only the first line is reported: stop once we have it. */
		keep = SCRAPE_ERR_KEEP - x->body.len;
		if (keep > n)
			keep = n;
		if (buf_append(&x->body, p, keep) < 0 ||
		    x->body.len >= SCRAPE_ERR_KEEP ||
		    memchr(x->body.data, '\n', x->body.len) != NULL) {
			x->stopped = 1;
			return 0;
		}
		return n;
	}
	if (n > x->limit - x->body.len) {
		x->over_limit = 1;
		return 0;
	}
	if (buf_append(&x->body, p, n) < 0)
		return 0;
	return n;
}

static int
scrape_setup(struct scrape_xfer *x, const char *url)
{
	CURL *e = x->easy;
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, scrape_on_body) !=
	    CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |=
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, x->timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	           (curl_off_t)x->limit) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "profpipe-fetcher") !=
	    CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK;
#endif
	/* No CURLOPT_ACCEPT_ENCODING: the body is kept as the target sent
	 * it, and the decoder undoes what compression there is. */
	return bad ? -1 : 0;
}

static int
scrape_begin(struct scrape *s, const char *url, long timeout_ms, size_t limit,
    scrape_done_fn done, void *arg, int text_ok)
{
	struct scrape_xfer *x = xcalloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	x->s = s;
	x->text_ok = text_ok;
	x->limit = limit;
	x->timeout_ms = timeout_ms;
	x->done = done;
	x->arg = arg;
	buf_init(&x->body, limit > SCRAPE_ERR_KEEP ? limit : SCRAPE_ERR_KEEP);
	x->easy = curl_easy_init();
	if (x->easy == NULL)
		goto out_free_xfer;
	if (scrape_setup(x, url) < 0)
		goto out_free_xfer;
	x->t0_ns = scrape_now_ns();
	if (curl_multi_add_handle(s->multi, x->easy) != CURLM_OK)
		goto out_free_xfer;
	x->next = s->xfers;
	if (s->xfers != NULL)
		s->xfers->prev = x;
	s->xfers = x;
	s->nxfers++;
	return 0;
out_free_xfer:
	scrape_xfer_free(x);
	return -1;
}

int
scrape_start(struct scrape *s, const char *url, long timeout_ms, size_t limit,
    scrape_done_fn done, void *arg)
{
	return scrape_begin(s, url, timeout_ms, limit, done, arg, 0);
}

int
scrape_start_text(struct scrape *s, const char *url, long timeout_ms,
    size_t limit, scrape_done_fn done, void *arg)
{
	return scrape_begin(s, url, timeout_ms, limit, done, arg, 1);
}

void
scrape_abort_all(struct scrape *s)
{
	struct scrape_xfer *list = s->xfers;
	struct scrape_xfer *x;

	/* Detached first: a scrape a done callback starts meanwhile is not
	 * aborted by this call. */
	s->xfers = NULL;
	while (list != NULL) {
		x = list;
		list = x->next;
		x->prev = x->next = NULL;
		s->nxfers--;
		curl_multi_remove_handle(s->multi, x->easy);
		scrape_finish(x, CURLE_OK, 1);
	}
}

size_t
scrape_running(const struct scrape *s)
{
	return s->nxfers;
}
