/*
 * pipebench_raw: the requests pipebench sends, one corpus file each as a
 * packed RawProfile made once, and stamped before every send with a fresh
 * profile id (the aggregator drops an id it has handed on) and with the
 * time of the send (so that however long a run lasts, the aggregator
 * merges each profile into the window that is open, as for a live
 * service: dated once at load time, every profile would be late once
 * that window closed, a minute or so into a run, and window merging would
 * drop out of what is measured).
 */
#ifndef PROFPIPE_PIPEBENCH_RAW_H
#define PROFPIPE_PIPEBENCH_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "common/byref.h"

#define RAW_MAX_FDS 64
#define RAW_SPAN_NS 10000000000LL /* each profile covers 10 s */

/* A large request's bytes in a memfd of the sender's, as the fetcher
 * sends them, written once: only the stamp is rewritten before each send.
 * busy while a call names it; a failed call's memfd is closed (the
 * receiver may still read it) and written again when next needed. */
struct rawfd {
	struct byref_out out;
	int busy;
};

/* One corpus file as a packed RawProfile. */
struct raw {
	uint8_t *msg;
	size_t len;
	size_t id_at;    /* offset of the profile_id's text in msg */
	size_t start_at; /* of origin.start_ns's 9-byte varint */
	size_t end_at;   /* of origin.end_ns's */
	size_t body;     /* the gzipped body's size */
	struct rawfd fds[RAW_MAX_FDS]; /* made as calls overlap */
	int nfds;
};

/* The kind the fetcher would give the profile at path, from its name
 * (heap: "mem", goroutine: "goroutines", ...; "cpu" when none fits). */
const char *raw_kind(const char *path);

/* Load path as file number index (its series: instance "fileINDEX").
 * 0, or -1 said on stderr. */
int raw_load(struct raw *r, const char *path, int index);
/* A memfd holding r's bytes that no call names, written if it is new;
 * NULL with the reason in why when there is none to be had. */
struct rawfd *raw_fd(struct raw *r, char *why, size_t whylen);
/* Stamp msg, a copy of r's bytes: profile id number id (its last 12 hex
 * digits), origin [now_ns - RAW_SPAN_NS, now_ns). 0, or -1, with
 * nothing written, when a time does not take the 9 bytes reserved for it
 * (before 1972: int64 ns end in 2262, and still take 9). */
int raw_stamp(
    uint8_t *msg, const struct raw *r, unsigned long long id, int64_t now_ns);
/* The wall clock in unix ns. */
int64_t raw_now_ns(void);
/* Free what raw_load made and close its memfds. */
void raw_release(struct raw *r);

#endif
