/*
 * scrape: HTTP GETs of profiles, many at once, on a libev loop. libcurl's
 * multi interface does the HTTP; libev tells it when its sockets are ready
 * and when its timer runs out (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION), so
 * nothing blocks and nothing polls.
 *
 * A scrape ends in exactly one call of its done function, on the loop: a
 * profile (status 200 and a body that sniffs as gzip, zstd or protobuf),
 * or one reason for people. The body never grows past the limit given: the
 * write callback aborts the transfer the moment it would (and a declared
 * Content-Length over the limit is refused before any body is read).
 */
#ifndef PROFPIPE_FETCHER_SCRAPE_H
#define PROFPIPE_FETCHER_SCRAPE_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;

enum scrape_status {
	SCRAPE_OK,
	SCRAPE_ECONNECT,    /* could not connect: refused, unreachable */
	SCRAPE_ETIMEDOUT,   /* the whole request took longer than allowed */
	SCRAPE_EHTTP,       /* a status other than 200 */
	SCRAPE_ETOOLARGE,   /* body over the limit */
	SCRAPE_ENOTPROFILE, /* 200, but HTML, text, empty, ... */
	SCRAPE_EFAIL,       /* anything else (reset, bad URL, out of memory) */
	SCRAPE_EABORTED,    /* scrape_abort_all */
	SCRAPE_NSTATUS
};

struct scrape_result {
	enum scrape_status status;
	/* For people: "HTTP 500: cpu profiling already in use", "timed out
	 * after 25 s"; "" on success. */
	const char *reason;
	long http_code;            /* 0 when no response came */
	const unsigned char *body; /* SCRAPE_OK: valid during done only */
	size_t len;
	size_t received;  /* body bytes kept: never over the limit */
	int64_t start_ns; /* unix ns: the request went out */
	int64_t end_ns;   /* unix ns: the response was complete */
};

typedef void (*scrape_done_fn)(void *arg, const struct scrape_result *r);

struct scrape;

/* The engine runs on loop; the caller runs the loop. Needs
 * curl_global_init to have been called. 0 or -1. */
int scrape_new(struct scrape **out, struct ev_loop *loop);
/* Aborts what is running (each done is called with SCRAPE_EABORTED). */
void scrape_free(struct scrape *s);

/* Start a GET of url, given timeout_ms in all and a body of at most limit
 * bytes. done(arg, result) runs later on the loop, never from inside this
 * call. 0, or -1 (out of memory, curl refused the URL): done not called. */
int scrape_start(struct scrape *s, const char *url, long timeout_ms,
    size_t limit, scrape_done_fn done, void *arg);

/* The same for a text body (heap?debug=1): text is what is wanted there,
 * so only HTML, an empty or a binary body is "not a profile". */
int scrape_start_text(struct scrape *s, const char *url, long timeout_ms,
    size_t limit, scrape_done_fn done, void *arg);

/* End every scrape in flight now, each with SCRAPE_EABORTED. */
void scrape_abort_all(struct scrape *s);
size_t scrape_running(const struct scrape *s);

/* A short name for counters: "connect", "timeout", "http", ... */
const char *scrape_status_name(enum scrape_status st);

#endif
