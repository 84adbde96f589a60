/*
 * sender: hands fetched profiles to the decoders. Each profile becomes a
 * RawProfile, packed once, sent on the raw REQ socket (which the fetcher
 * listens on and decoders dial) and published on the tap.
 *
 * A fixed pool of contexts, one profile in flight on each: when none is
 * free the caller skips the scrape (DESIGN.md: nothing queues without
 * bound). nng keeps each request until a decoder acks it and resends it to
 * another decoder if one dies, so there is no timeout here.
 *
 * Acks come back on nng's threads. The callback there only copies the
 * reply into its slot, queues the slot and wakes the loop (ev_async); the
 * loop reads the ack and logs the outcome, one line per profile:
 *
 *   INSTANCE KIND: sent profile UUID (N bytes)        info, decoder took it
 *   INSTANCE KIND: not a profile: REASON              warn, decoder refused
 *   INSTANCE KIND: profile UUID not delivered: WHY    warn, bus failure
 */
#ifndef PROFPIPE_FETCHER_SENDER_H
#define PROFPIPE_FETCHER_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "fetcher/inputs.h"

struct ev_loop;

#define SENDER_EFULL (-2)

/* Who, what and when: copied into the message, not kept. */
struct sender_origin {
	const char *profile_id;
	const char *source; /* "pull" or "push" */
	const char *kind;
	const char *service;
	const char *instance;
	const char *job;
	const char *target; /* the URL */
	const struct inputs_label *labels;
	size_t nlabels;
	int64_t start_ns;
	int64_t end_ns;
	int is_delta;
};

struct sender_stats {
	uint64_t sent;        /* acked OK */
	uint64_t rejected;    /* acked REJECTED: not a profile */
	uint64_t failed;      /* bus failure or unreadable ack */
	uint64_t tap_dropped; /* tap subscriber too slow */
};

struct sender;

/* Listen on raw_url (REQ) and, unless tap_url is NULL, tap_url (PUB);
 * inflight contexts. 0, or -1 with the reason in err (BUS_EINVAL when an
 * address cannot work as given). */
int sender_new(struct sender **out, struct ev_loop *loop, const char *raw_url,
    const char *tap_url, int inflight, char *err, size_t errlen);
/* Closes the sockets; profiles still in flight are abandoned (nng drops
 * them; the decoders never acked them, so nothing is lost downstream). */
void sender_free(struct sender *s);

/* Pack and send body with its origin. 0; SENDER_EFULL when every context
 * is busy; -1 when packing or the bus failed (logged). */
int sender_submit(struct sender *s, const struct sender_origin *o,
    const void *body, size_t len);

/* What became of one profile sent with sender_submit_cb. */
enum sender_outcome {
	SENDER_ACKED = 0,    /* a decoder took it */
	SENDER_REJECTED = 1, /* a decoder refused it: reason says why */
	SENDER_FAILED = 2,   /* no ack within the time, or a bus failure */
};
typedef void (*sender_done_fn)(
    void *arg, enum sender_outcome outcome, const char *reason);

/* sender_submit, and done(arg, ...) on the loop once the profile's fate is
 * known, after it is logged: exactly once if 0 is returned, never
 * otherwise. timeout_ms (-1: none) bounds the wait for a decoder's ack;
 * past it the request is abandoned (nng stops resending it) and the
 * outcome is SENDER_FAILED. */
int sender_submit_cb(struct sender *s, const struct sender_origin *o,
    const void *body, size_t len, int timeout_ms, sender_done_fn done,
    void *arg);

size_t sender_free_slots(const struct sender *s);
size_t sender_inflight(const struct sender *s);

/* Call fn(arg) on the loop whenever the last profile in flight is acked
 * (used to finish a drain). NULL to stop. */
void sender_on_idle(struct sender *s, void (*fn)(void *arg), void *arg);

void sender_stats(const struct sender *s, struct sender_stats *out);

#endif
