/*
 * bus: every nng call in profpipe. A data hop is REQ/REP: the sender's
 * request stays with nng until the receiver replies, and nng resends it (to
 * another peer when the first one's pipe closes, or after the resend time).
 * A receiver replies only once it has handed the message on, so delivery is
 * at-least-once; receivers drop redeliveries by profile_id.
 *
 * Contexts: one request in flight per context. Synchronous contexts are for
 * one thread each (aggregator, exporter); asynchronous ones (fetcher, decoder)
 * report on an nng thread through a callback, which must not touch the
 * caller's event loop except through a thread-safe wakeup.
 *
 * Buffers: a received request stays valid until the next call on its
 * context; a reply handed to a callback is valid until the callback returns.
 */
#ifndef PROFPIPE_BUS_H
#define PROFPIPE_BUS_H

#include <stddef.h>

enum bus_err {
	BUS_OK = 0,
	BUS_EFAIL = -1,     /* anything else: see the log line */
	BUS_ETIMEDOUT = -2, /* no reply / no request within the time given */
	BUS_ECLOSED = -3,   /* the socket is closed */
	BUS_EAGAIN = -4,    /* would block (pub: subscriber full) */
	/* bus_open: the URL, or the TLS files named for it, cannot work as
	 * given: a configuration error (exit 100, not restarted) */
	BUS_EINVAL = -5,
};

enum bus_role { BUS_REQ, BUS_REP, BUS_PUB, BUS_SUB };

/* What every stage's --help says of its URLs. */
#define BUS_URL_HELP                                                          \
	"A URL is ipc://PATH, tcp://HOST:PORT or tls+tcp://HOST:PORT; for\n"  \
	"tls+tcp, PROFPIPE_TLS_CERT names a PEM file with this stage's\n"     \
	"certificate and key, PROFPIPE_TLS_CA one with the certificate of "   \
	"the\n"                                                               \
	"CA that signed every stage's (each side checks the other's).\n"

/* The largest message a socket takes: raw bodies are capped far below. */
#define BUS_MAX_MSG ((size_t)512 * 1024 * 1024)

struct bus_sock;
struct bus_ctx;

/* Open a socket and listen on (listen != 0) or dial url. Dialing does not
 * wait for the listener: nng keeps redialing in the background. On error
 * a message naming url and the reason goes into err, and the return is
 * BUS_EINVAL when the url or its TLS files cannot work as given (a stage
 * exits 100 for it), else BUS_EFAIL.
 *
 * A tls+tcp:// url takes mutual TLS from the environment: PROFPIPE_TLS_CERT
 * names a PEM file holding this stage's certificate and its key (not
 * encrypted), PROFPIPE_TLS_CA one holding the certificate of the CA that
 * signed every stage's. Each side accepts only a peer whose certificate
 * that CA signed, and a dialer checks that the listener's certificate names
 * the host in url. Either variable missing or unreadable is an error. */
int bus_open(struct bus_sock **out, enum bus_role role, const char *url,
    int listen, char *err, size_t errlen);
/* Closing wakes every context waiting on the socket with BUS_ECLOSED. */
void bus_close(struct bus_sock *s);
const char *bus_strerror(int err);

/* REQ/REP contexts. */
int bus_ctx_new(struct bus_sock *s, struct bus_ctx **out);
void bus_ctx_free(struct bus_ctx *c);

/* REQ, synchronous: send req and wait for the reply up to timeout_ms (-1:
 * forever). On success *reply (bus_free it) holds the reply. */
int bus_call(struct bus_ctx *c, const void *req, size_t len, void **reply,
    size_t *rlen, int timeout_ms);

/* Writes a message's len bytes into buf. */
typedef void (*bus_fill_fn)(void *arg, void *buf, size_t len);
/* bus_call with the request written by fill(fill_arg, ...) straight into
 * the message nng sends: a large one (megabytes of Decoded or Result) is
 * then built in place rather than built and copied. */
int bus_call_fill(struct bus_ctx *c, size_t len, bus_fill_fn fill,
    void *fill_arg, void **reply, size_t *rlen, int timeout_ms);

/* REQ, asynchronous: the same, but returns at once; done(arg, err, reply,
 * rlen) runs on an nng thread when the reply comes or time runs out. The
 * context is busy until then. The reply is freed after done returns. */
typedef void (*bus_done_fn)(
    void *arg, int err, const void *reply, size_t rlen);
int bus_call_async(struct bus_ctx *c, const void *req, size_t len,
    int timeout_ms, bus_done_fn done, void *arg);
/* bus_call_async with the request written in place, as bus_call_fill. */
int bus_call_async_fill(struct bus_ctx *c, size_t len, bus_fill_fn fill,
    void *fill_arg, int timeout_ms, bus_done_fn done, void *arg);

/* REP: wait up to timeout_ms for a request. *req stays valid until the next
 * bus_recv or bus_reply on c. Not replying is allowed: the next bus_recv
 * abandons the request, and the sender's nng resends it elsewhere. */
int bus_recv(struct bus_ctx *c, const void **req, size_t *len, int timeout_ms);
/* REP, asynchronous: the same, but returns at once; done(arg, err, req,
 * len) runs on an nng thread when a request comes or time runs out. The
 * context is busy until then. Unlike a reply to bus_call_async, req stays
 * valid after done returns, until the next bus_recv, bus_recv_async or
 * bus_reply on c. */
int bus_recv_async(
    struct bus_ctx *c, int timeout_ms, bus_done_fn done, void *arg);
int bus_reply(struct bus_ctx *c, const void *rep, size_t len);

/* PUB: best effort, never blocks; BUS_EAGAIN when dropped (a subscriber
 * is full, or none is connected: then buf is not even copied). Each
 * subscriber is queued at most BUS_PUB_QUEUE messages. */
#define BUS_PUB_QUEUE 2
int bus_publish(struct bus_sock *s, const void *buf, size_t len);
/* bus_publish of len bytes written by fill, which runs only when a
 * subscriber is connected. */
int bus_publish_fill(
    struct bus_sock *s, size_t len, bus_fill_fn fill, void *fill_arg);
/* SUB (subscribed to everything): *buf is bus_free'd by the caller. */
int bus_subscribe_recv(
    struct bus_sock *s, void **buf, size_t *len, int timeout_ms);

void bus_free(void *p, size_t len);

/* The tap address of a stage: ipc://$PROFPIPE_RUN/STAGE.tap */
int bus_tap_url(char *out, size_t outlen, const char *stage);

#endif
