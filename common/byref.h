/*
 * byref: a large Decoded (decoder to aggregator) or Result (aggregator to
 * exporter) handed over on the same host by reference instead of through
 * the socket. nng 1.5.2 moves a message over ipc a socket buffer (about
 * 200 KB) at a time, with a hand-off between its threads for each piece,
 * in both processes; a decoded heap profile of 8 MB is dozens of them. By
 * reference, the socket carries a few dozen bytes.
 *
 * The sender packs the message into a memfd of its own (one per request
 * it may have in flight, named "profpipe-byref", sealed so it can neither
 * shrink nor grow) and sends where it is: the message's field 21 (by_ref)
 * alone, a MemfdRef with its pid, the memfd's fd and inode, the length.
 * The receiver opens /proc/PID/fd/FD, checks that it is that inode, a
 * sealed profpipe memfd and its own user's, maps it read-only (once: the
 * mapping is kept for the next message from the same memfd) and reads the
 * message in place.
 *
 * The bytes stay put while they are read: a sender writes a memfd again
 * only once the request that named it was answered (a receiver handles
 * its requests in order, so the answer to a resent copy also means the
 * first copy was done with), and gives up a memfd whose request it
 * abandoned.
 *
 * A receiver that cannot read a reference (another user's process, a
 * /proc it may not open) answers REJECTED with a reason that starts with
 * BYREF_REASON; the sender then sends that message, and every one after
 * it, inline.
 */
#ifndef PROFPIPE_BYREF_H
#define PROFPIPE_BYREF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/wire.pb-c.h"

/* Smaller messages go inline: they fit a socket buffer or so. */
#define BYREF_MIN ((size_t)64 * 1024)
/* The start of a receiver's reason for refusing a reference. */
#define BYREF_REASON "by reference: "
/* Whether a receiver's reason (may be NULL) refused a reference, so the
 * sender should resend inline, rather than the message itself. */
static inline int
byref_refused(const char *reason)
{
	return reason != NULL &&
	    strncmp(reason, BYREF_REASON, sizeof(BYREF_REASON) - 1) == 0;
}
/* The largest reference message: field 21 holding a MemfdRef. */
#define BYREF_MSG_MAX 64

/* The sender's memfd. fd is -1 until byref_out_open. */
struct byref_out {
	int fd;
	uint8_t *base; /* cap bytes, shared, writable */
	size_t cap;
	uint64_t ino;
	size_t high; /* the most bytes named since opened or released */
};

/* A memfd of cap bytes (sparse: pages are taken as they are written).
 * 0, or -1 with the reason in err. */
int byref_out_open(struct byref_out *o, size_t cap, char *err, size_t errlen);
/* Unmaps and closes (a receiver holding it open keeps it alive); then
 * o->fd is -1 again. */
void byref_out_close(struct byref_out *o);
/* Open o with cap bytes unless it is open, write a message of len bytes
 * at its start by fill(arg, buf, len) (a bus_fill_fn), and put the
 * reference naming it into msg: returns the reference's length, or 0
 * with the reason in err when there is no memfd to be had or len is
 * over its size. */
size_t byref_out_fill(struct byref_out *o, size_t cap, size_t len,
    void (*fill)(void *arg, void *buf, size_t len), void *arg, uint8_t *msg,
    char *err, size_t errlen);
/* Give the pages past the first keep bytes back to the system (they are
 * zero again when next written): what a sender with many memfds calls
 * once a request is answered, so each does not keep its largest message
 * for good. */
void byref_out_release(struct byref_out *o, size_t keep);
/* The message naming the first len bytes of o, into msg (BYREF_MSG_MAX
 * bytes), returning its length: field 21 alone, so a Decoded or a Result
 * with only by_ref set, whichever the receiver reads it as. */
size_t byref_out_message(struct byref_out *o, size_t len, uint8_t *msg);

/* The receiver's mappings, at most BYREF_CACHE of them, least recently
 * used dropped first. The aggregator maps every decoder's memfds, one per
 * slot: past the cache, each profile would be mapped and faulted in
 * again (6 decoders of 8 slots against 32 entries cost the aggregator
 * 5-10% more CPU a profile in pipebench). 256 holds 32 decoders' worth. */
#define BYREF_CACHE 256
struct byref_in;

struct byref_in *byref_in_new(void);
void byref_in_free(struct byref_in *in);

/* If (*buf, *len) is a message of type desc (whose field 21 is by_ref)
 * with only by_ref set, point them at the message it names (valid until
 * the next call on in) and return 1; any other message is left as it is,
 * returning 0. -1 when it names something that cannot be read, with the
 * reason, starting with BYREF_REASON, in err. */
int byref_in_resolve(struct byref_in *in,
    const ProtobufCMessageDescriptor *desc, const void **buf, size_t *len,
    char *err, size_t errlen);

#endif
