/*
 * bus: the only file that includes <nng/nng.h>. Sockets, contexts, and the
 * options profpipe sets on them: a large receive cap (profiles are big),
 * quick redial (a restarted stage is found again within a second), a REQ
 * resend time long enough not to duplicate slow but healthy work, and for
 * tls+tcp:// URLs mutual TLS from the environment (bus.h).
 */
#include "common/bus.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/proc.h"
#include "common/xalloc.h"

#define BUS_RESEND_MS 30000

struct bus_sock {
	nng_socket sock;
	enum bus_role role;
	atomic_int pipes; /* PUB: connected subscribers (nng's threads) */
};

struct bus_ctx {
	struct bus_sock *s;
	nng_ctx ctx;
	nng_msg *held;    /* REP: the request being worked on */
	nng_aio *aio;     /* async REQ */
	nng_msg *pending; /* async REQ: request to send */
	int timeout_ms;
	int sending;
	bus_done_fn done;
	void *arg;
};

static int
bus_map(int rv)
{
	switch (rv) {
	case 0:
		return BUS_OK;
	case NNG_ETIMEDOUT:
		return BUS_ETIMEDOUT;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return BUS_ECLOSED;
	case NNG_EAGAIN:
		return BUS_EAGAIN;
	default:
		return BUS_EFAIL;
	}
}

const char *
bus_strerror(int err)
{
	switch (err) {
	case BUS_OK:
		return "ok";
	case BUS_ETIMEDOUT:
		return "timed out";
	case BUS_ECLOSED:
		return "socket closed";
	case BUS_EAGAIN:
		return "would block";
	case BUS_EINVAL:
		return "not a usable address";
	default:
		return "transport failure";
	}
}

/* A PUB socket counts its pipes, so that publishing with no tap
 * connected, the usual case, costs nothing: nng would copy the message
 * (megabytes for a large Decoded: an allocation, its page faults and a
 * memcpy per profile) only to drop it. */
static void
bus_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct bus_sock *s = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&s->pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&s->pipes, 1);
}

/* The environment's TLS files, checked: 0, or -1 naming what is wrong. */
static int
bus_tls_files(const char *url, const char **cert, const char **ca, char *err,
    size_t errlen)
{
	const char *const names[2] = {"PROFPIPE_TLS_CERT", "PROFPIPE_TLS_CA"};
	const char *v[2];
	int i;

	for (i = 0; i < 2; i++) {
		v[i] = getenv(names[i]);
		if (v[i] == NULL || v[i][0] == '\0') {
			snprintf(err, errlen,
			    "%s: %s is not set (tls+tcp:// needs "
			    "PROFPIPE_TLS_CERT, this stage's certificate and "
			    "key in one PEM file, and PROFPIPE_TLS_CA, the "
			    "certificate of the CA that signed every stage's)",
			    url, names[i]);
			return -1;
		}
		if (access(v[i], R_OK) != 0) {
			snprintf(err, errlen, "%s: %s=%s: %s", url, names[i],
			    v[i], strerror(errno));
			return -1;
		}
	}
	*cert = v[0];
	*ca = v[1];
	return 0;
}

/* The host of a tls+tcp://HOST:PORT URL into out (brackets of an IPv6
 * address left off), which the dialer checks the listener's certificate
 * against. */
static void
bus_tls_host(const char *url, char *out, size_t outlen)
{
	const char *h = strstr(url, "://");
	const char *end;
	size_t n;

	h = h != NULL ? h + 3 : url;
	if (*h == '[') {
		h++;
		end = strchr(h, ']');
	} else {
		end = strrchr(h, ':');
	}
	n = end != NULL ? (size_t)(end - h) : strlen(h);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

/* The TLS configuration of one end of url: its certificate and key, the
 * CA a peer's certificate must come from (required of both sides), and
 * for a dialer the name the listener's certificate must hold. */
static int
bus_tls_config(const char *url, int server, nng_tls_config **out, char *err,
    size_t errlen)
{
	nng_tls_config *cfg;
	const char *cert;
	const char *ca;
	const char *step = "PROFPIPE_TLS_CA";
	char host[256];
	int rv;

	if (bus_tls_files(url, &cert, &ca, err, errlen) < 0)
		return -1;
	rv = nng_tls_config_alloc(
	    &cfg, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
	if (rv != 0) {
		snprintf(err, errlen, "%s: TLS: %s", url, nng_strerror(rv));
		return -1;
	}
	rv = nng_tls_config_ca_file(cfg, ca);
	if (rv == 0) {
		step = "PROFPIPE_TLS_CERT";
		rv = nng_tls_config_cert_key_file(cfg, cert, NULL);
	}
	if (rv == 0) {
		step = "TLS";
		rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	}
	if (rv == 0 && !server) {
		bus_tls_host(url, host, sizeof(host));
		rv = nng_tls_config_server_name(cfg, host);
	}
	if (rv != 0) {
		snprintf(
		    err, errlen, "%s: %s: %s", url, step, nng_strerror(rv));
		nng_tls_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

/* What a failed listen or dial means: an address that cannot work as
 * written (a typo, a scheme nng does not know) is the configuration's
 * fault, and restarting the stage would fail the same way; anything else
 * (the address in use, no memory) may pass. */
static int
bus_open_err(int rv)
{
	return rv == NNG_EINVAL || rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP
	    ? BUS_EINVAL
	    : BUS_EFAIL;
}

/* Listen on or dial url with mutual TLS (bus_tls_config): 0 or a
 * bus_err. */
static int
bus_tls_open(
    struct bus_sock *s, const char *url, int listen, char *err, size_t errlen)
{
	nng_tls_config *cfg;
	nng_listener l;
	nng_dialer d;
	int rv;

	if (bus_tls_config(url, listen, &cfg, err, errlen) < 0)
		return BUS_EINVAL; /* the files: unset, unreadable, not PEM */
	/* The endpoint takes a hold of its own on cfg. */
	if (listen) {
		rv = nng_listener_create(&l, s->sock, url);
		if (rv == 0)
			rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
		if (rv == 0)
			rv = nng_listener_start(l, 0);
	} else {
		rv = nng_dialer_create(&d, s->sock, url);
		if (rv == 0)
			rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
		if (rv == 0)
			rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
	}
	nng_tls_config_free(cfg);
	if (rv != 0) {
		snprintf(err, errlen, "%s: %s: %s", url,
		    listen ? "listen" : "dial", nng_strerror(rv));
		return bus_open_err(rv);
	}
	return 0;
}

int
bus_open(struct bus_sock **out, enum bus_role role, const char *url,
    int listen, char *err, size_t errlen)
{
	struct bus_sock *s;
	int rv;

	s = xcalloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "%s: out of memory", url);
		return BUS_EFAIL;
	}
	s->role = role;
	switch (role) {
	case BUS_REQ:
		rv = nng_req0_open(&s->sock);
		break;
	case BUS_REP:
		rv = nng_rep0_open(&s->sock);
		break;
	case BUS_PUB:
		rv = nng_pub0_open(&s->sock);
		break;
	default:
		rv = nng_sub0_open(&s->sock);
		break;
	}
	if (rv != 0) {
		snprintf(err, errlen, "%s: socket: %s", url, nng_strerror(rv));
		xfree(s);
		return BUS_EFAIL;
	}
	nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, BUS_MAX_MSG);
	nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 1000);
	if (role == BUS_REQ)
		nng_socket_set_ms(
		    s->sock, NNG_OPT_REQ_RESENDTIME, BUS_RESEND_MS);
	if (role == BUS_SUB)
		nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	if (role == BUS_PUB) {
		/* A tap's queue is counted in messages, and a message may be
		 * a 64 MB profile: a stopped subscriber (a tap piped into a
		 * pager) made a decoder hold 64 Decodeds, 550 MB of them. Two
		 * are enough for a tap that keeps up; one that does not
		 * loses copies, which a tap may. */
		nng_socket_set_int(s->sock, NNG_OPT_SENDBUF, BUS_PUB_QUEUE);
		atomic_init(&s->pipes, 0);
		nng_pipe_notify(
		    s->sock, NNG_PIPE_EV_ADD_POST, bus_pipe_event, s);
		nng_pipe_notify(
		    s->sock, NNG_PIPE_EV_REM_POST, bus_pipe_event, s);
	}
	if (strncmp(url, "tls+", 4) == 0) {
		rv = bus_tls_open(s, url, listen, err, errlen);
		if (rv != 0) {
			nng_close(s->sock);
			xfree(s);
			return rv;
		}
	} else if (listen) {
		rv = nng_listen(s->sock, url, NULL, 0);
	} else {
		rv = nng_dial(s->sock, url, NULL, NNG_FLAG_NONBLOCK);
	}
	if (rv != 0) {
		snprintf(err, errlen, "%s: %s: %s", url,
		    listen ? "listen" : "dial", nng_strerror(rv));
		nng_close(s->sock);
		xfree(s);
		return bus_open_err(rv);
	}
	*out = s;
	return BUS_OK;
}

void
bus_close(struct bus_sock *s)
{
	if (s == NULL)
		return;
	nng_close(s->sock);
	xfree(s);
}

static void bus_async_cb(void *arg);

int
bus_ctx_new(struct bus_sock *s, struct bus_ctx **out)
{
	struct bus_ctx *c = xcalloc(1, sizeof(*c));
	int rv;

	if (c == NULL)
		return BUS_EFAIL;
	c->s = s;
	rv = nng_ctx_open(&c->ctx, s->sock);
	if (rv != 0) {
		xfree(c);
		return bus_map(rv);
	}
	if (s->role == BUS_REQ)
		nng_ctx_set_ms(c->ctx, NNG_OPT_REQ_RESENDTIME, BUS_RESEND_MS);
	*out = c;
	return BUS_OK;
}

void
bus_ctx_free(struct bus_ctx *c)
{
	if (c == NULL)
		return;
	if (c->aio != NULL) {
		nng_aio_stop(c->aio);
		nng_aio_free(c->aio);
	}
	if (c->pending != NULL)
		nng_msg_free(c->pending);
	if (c->held != NULL)
		nng_msg_free(c->held);
	nng_ctx_close(c->ctx);
	xfree(c);
}

/* A message of len bytes, written by fill. */
static int
bus_msg_fill(nng_msg **out, size_t len, bus_fill_fn fill, void *arg)
{
	nng_msg *m;
	int rv = nng_msg_alloc(&m, len);

	*out = NULL;
	if (rv != 0)
		return bus_map(rv);
	if (len > 0)
		fill(arg, nng_msg_body(m), len);
	*out = m;
	return BUS_OK;
}

static void
bus_fill_copy(void *arg, void *buf, size_t len)
{
	memcpy(buf, arg, len);
}

static int
bus_msg_from(nng_msg **out, const void *buf, size_t len)
{
	return bus_msg_fill(out, len, bus_fill_copy, (void *)buf);
}

int
bus_call(struct bus_ctx *c, const void *req, size_t len, void **reply,
    size_t *rlen, int timeout_ms)
{
	return bus_call_fill(
	    c, len, bus_fill_copy, (void *)req, reply, rlen, timeout_ms);
}

int
bus_call_fill(struct bus_ctx *c, size_t len, bus_fill_fn fill, void *fill_arg,
    void **reply, size_t *rlen, int timeout_ms)
{
	nng_aio *aio;
	nng_msg *m;
	nng_msg *r;
	int rv;

	rv = bus_msg_fill(&m, len, fill, fill_arg);
	if (rv != 0)
		return rv;
	rv = nng_aio_alloc(&aio, NULL, NULL);
	if (rv != 0) {
		nng_msg_free(m);
		return bus_map(rv);
	}
	nng_aio_set_timeout(
	    aio, timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
	nng_aio_set_msg(aio, m);
	nng_ctx_send(c->ctx, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv != 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		goto out;
	}
	nng_ctx_recv(c->ctx, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv != 0)
		goto out;
	r = nng_aio_get_msg(aio);
	*rlen = nng_msg_len(r);
	*reply = xmalloc(*rlen);
	if (*reply == NULL) {
		nng_msg_free(r);
		rv = NNG_ENOMEM;
		goto out;
	}
	memcpy(*reply, nng_msg_body(r), *rlen);
	nng_msg_free(r);
out:
	nng_aio_free(aio);
	return bus_map(rv);
}

/* Async REQ: send, then receive, then report. The send aio completes once
 * nng has queued the request; a pipe-less REQ socket holds it until a peer
 * appears, which is why the fetcher also caps how many it has in flight. */
static void
bus_async_cb(void *arg)
{
	struct bus_ctx *c = arg;
	int rv = nng_aio_result(c->aio);
	nng_msg *r;
	bus_done_fn done = c->done;

	if (c->sending) {
		c->sending = 0;
		if (rv == 0) {
			nng_ctx_recv(c->ctx, c->aio);
			return;
		}
		nng_msg_free(nng_aio_get_msg(c->aio));
		nng_aio_set_msg(c->aio, NULL);
		done(c->arg, bus_map(rv), NULL, 0);
		return;
	}
	if (rv != 0) {
		done(c->arg, bus_map(rv), NULL, 0);
		return;
	}
	r = nng_aio_get_msg(c->aio);
	nng_aio_set_msg(c->aio, NULL);
	done(c->arg, BUS_OK, nng_msg_body(r), nng_msg_len(r));
	nng_msg_free(r);
}

int
bus_call_async(struct bus_ctx *c, const void *req, size_t len, int timeout_ms,
    bus_done_fn done, void *arg)
{
	return bus_call_async_fill(
	    c, len, bus_fill_copy, (void *)req, timeout_ms, done, arg);
}

int
bus_call_async_fill(struct bus_ctx *c, size_t len, bus_fill_fn fill,
    void *fill_arg, int timeout_ms, bus_done_fn done, void *arg)
{
	nng_msg *m;
	int rv;

	if (c->aio == NULL) {
		rv = nng_aio_alloc(&c->aio, bus_async_cb, c);
		if (rv != 0)
			return bus_map(rv);
	}
	rv = bus_msg_fill(&m, len, fill, fill_arg);
	if (rv != 0)
		return rv;
	c->done = done;
	c->arg = arg;
	c->sending = 1;
	nng_aio_set_timeout(
	    c->aio, timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
	nng_aio_set_msg(c->aio, m);
	nng_ctx_send(c->ctx, c->aio);
	return BUS_OK;
}

int
bus_recv(struct bus_ctx *c, const void **req, size_t *len, int timeout_ms)
{
	nng_aio *aio;
	int rv;

	if (c->held != NULL) {
		nng_msg_free(c->held);
		c->held = NULL;
	}
	rv = nng_aio_alloc(&aio, NULL, NULL);
	if (rv != 0)
		return bus_map(rv);
	nng_aio_set_timeout(
	    aio, timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
	nng_ctx_recv(c->ctx, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv == 0) {
		c->held = nng_aio_get_msg(aio);
		*req = nng_msg_body(c->held);
		*len = nng_msg_len(c->held);
	}
	nng_aio_free(aio);
	return bus_map(rv);
}

/* Async REP: the request is kept in c->held, as bus_recv keeps it, so the
 * owner can work on it after the callback and reply later. */
static void
bus_recv_cb(void *arg)
{
	struct bus_ctx *c = arg;
	int rv = nng_aio_result(c->aio);

	if (rv != 0) {
		c->done(c->arg, bus_map(rv), NULL, 0);
		return;
	}
	c->held = nng_aio_get_msg(c->aio);
	nng_aio_set_msg(c->aio, NULL);
	c->done(c->arg, BUS_OK, nng_msg_body(c->held), nng_msg_len(c->held));
}

int
bus_recv_async(struct bus_ctx *c, int timeout_ms, bus_done_fn done, void *arg)
{
	int rv;

	if (c->held != NULL) {
		nng_msg_free(c->held);
		c->held = NULL;
	}
	if (c->aio == NULL) {
		rv = nng_aio_alloc(&c->aio, bus_recv_cb, c);
		if (rv != 0)
			return bus_map(rv);
	}
	c->done = done;
	c->arg = arg;
	nng_aio_set_timeout(
	    c->aio, timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
	nng_ctx_recv(c->ctx, c->aio);
	return BUS_OK;
}

int
bus_reply(struct bus_ctx *c, const void *rep, size_t len)
{
	nng_aio *aio;
	nng_msg *m;
	int rv;

	if (c->held != NULL) {
		nng_msg_free(c->held);
		c->held = NULL;
	}
	rv = bus_msg_from(&m, rep, len);
	if (rv != 0)
		return rv;
	rv = nng_aio_alloc(&aio, NULL, NULL);
	if (rv != 0) {
		nng_msg_free(m);
		return bus_map(rv);
	}
	nng_aio_set_timeout(aio, 5000);
	nng_aio_set_msg(aio, m);
	nng_ctx_send(c->ctx, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv != 0)
		nng_msg_free(nng_aio_get_msg(aio));
	nng_aio_free(aio);
	return bus_map(rv);
}

int
bus_publish(struct bus_sock *s, const void *buf, size_t len)
{
	return bus_publish_fill(s, len, bus_fill_copy, (void *)buf);
}

int
bus_publish_fill(
    struct bus_sock *s, size_t len, bus_fill_fn fill, void *fill_arg)
{
	nng_msg *m;
	int rv;

	if (atomic_load(&s->pipes) == 0)
		return BUS_EAGAIN; /* nobody listens: dropped, unbuilt */
	rv = bus_msg_fill(&m, len, fill, fill_arg);
	if (rv != 0)
		return rv;
	rv = nng_sendmsg(s->sock, m, NNG_FLAG_NONBLOCK);
	if (rv != 0)
		nng_msg_free(m);
	return bus_map(rv);
}

int
bus_subscribe_recv(struct bus_sock *s, void **buf, size_t *len, int timeout_ms)
{
	nng_msg *m;
	int rv;

	nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO,
	    timeout_ms < 0 ? NNG_DURATION_INFINITE : timeout_ms);
	rv = nng_recvmsg(s->sock, &m, 0);
	if (rv != 0)
		return bus_map(rv);
	*len = nng_msg_len(m);
	*buf = xmalloc(*len);
	if (*buf == NULL) {
		nng_msg_free(m);
		return BUS_EFAIL;
	}
	memcpy(*buf, nng_msg_body(m), *len);
	nng_msg_free(m);
	return BUS_OK;
}

void
bus_free(void *p, size_t len)
{
	(void)len;
	xfree(p);
}

int
bus_tap_url(char *out, size_t outlen, const char *stage)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.tap", stage);
	return proc_default_url(out, outlen, name);
}
