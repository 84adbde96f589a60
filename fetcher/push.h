/*
 * push: the push intake. dd-trace-go (profiler.WithAgentAddr) posts each
 * upload as multipart/form-data to an endpoint of ours; every attachment
 * that is a profile becomes one RawProfile, sent to the decoders through
 * the fetcher's sender, and the HTTP answer waits for their acks, so that
 * it tells the client the truth:
 *
 *   200  every profile of the request was taken by a decoder
 *   400  the body is malformed (the reason names the part), or a decoder
 *        refused an attachment as corrupt (named); the rest went on
 *   401  Token is set and neither "Authorization: Bearer T" nor
 *        "DD-API-KEY: T" was sent
 *   404 / 405 / 413  unknown path / other method / over MaxSize (from
 *        Content-Length, before the body is read; common/httpd)
 *   503  with Retry-After: no room (fewer free sender slots than
 *        attachments), no decoder acked within AckTimeout, or stopping.
 *        dd-trace-go retries, so refusing loses nothing, where accepting
 *        and dropping would. A profile a decoder took just as the time ran
 *        out may arrive twice after the retry (the ids differ).
 *
 * What each profile carries (Origin): source "push", job "profile_push",
 * service = the service tag (else the input's service label, else the
 * job), instance = the host tag, else runtime-id, else the client's IP;
 * start/end = the event's; labels = every tag of the upload, then the
 * input's Labels over them (an operator's label wins over a tag of the
 * same name), sorted by key. Each attachment gets a profile_id of its own.
 *
 * One server (common/httpd) per push input, on the fetcher's loop.
 */
#ifndef PROFPIPE_FETCHER_PUSH_H
#define PROFPIPE_FETCHER_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "fetcher/inputs.h"
#include "fetcher/sender.h"

struct ev_loop;

/* Sender slots the fetcher adds to its pool when push inputs exist. */
#define PUSH_SLOTS 64
#define PUSH_RETRY_AFTER 5 /* seconds, in every 503 of ours */

struct push_stats {
	uint64_t requests;     /* POSTs handled (past the server's caps) */
	uint64_t ok;           /* answered 200 */
	uint64_t bad;          /* answered 400 */
	uint64_t unauth;       /* answered 401 */
	uint64_t busy;         /* answered 503 */
	uint64_t profiles;     /* attachments taken by a decoder */
	uint64_t unknown;      /* attachments of unknown kinds, skipped */
	uint64_t tags_skipped; /* over-long, or past the 64th (push_event.h) */
	uint64_t http_errors;  /* the servers' own 4xx/5xx (413, 404, ...) */
};

struct push;

/* Listen for every push input of in (kept by reference). 0 (also when in
 * has none), or -1 with "LISTEN: reason" in err. */
int push_new(struct push **out, struct ev_loop *loop, struct sender *snd,
    struct inputs *in, char *err, size_t errlen);
/* From now on every request is answered 503 (draining). */
void push_stop(struct push *p);
/* Requests still waiting are answered 503; then everything is freed. */
void push_free(struct push *p);

size_t push_listeners(const struct push *p);
void push_stats(const struct push *p, struct push_stats *out);

#endif
