/*
 * byref: a large Decoded handed from a decoder to the aggregator on the
 * same host by reference instead of through the socket. nng 1.5.2 moves a
 * message over ipc a socket buffer (about 200 KB) at a time, with a hand-
 * off between its threads for each piece, in both processes; a decoded
 * heap profile of 8 MB is dozens of them. By reference, the socket carries
 * a DecodedRef of a few dozen bytes.
 *
 * The decoder packs the Decoded into a memfd of its own (one per slot,
 * named "profpipe-decoded", sealed so it can neither shrink nor grow) and
 * sends where it is: its pid, the memfd's fd and inode, the length. The
 * receiver opens /proc/PID/fd/FD, checks that it is that inode and a
 * sealed profpipe memfd, maps it read-only (once: the mapping is kept for
 * the next profile from the same memfd) and reads the Decoded in place.
 *
 * The bytes stay put while they are read: a decoder writes a slot's memfd
 * again only once the aggregator has answered the request that named it,
 * and gives a slot whose request it abandoned a fresh memfd.
 *
 * A receiver that cannot read a reference (another user's process, a
 * /proc it may not open) answers REJECTED with a reason that starts with
 * BYREF_REASON; the decoder then sends that profile, and every one after
 * it, inline.
 */
#ifndef PROFPIPE_BYREF_H
#define PROFPIPE_BYREF_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.pb-c.h"

/* Smaller Decoded messages go inline: a few socket buffers cost less
 * than the reference's checks. */
#define BYREF_MIN ((size_t)64 * 1024)
/* The start of a receiver's reason for refusing a reference. */
#define BYREF_REASON "by reference: "
/* The largest packed DecodedRef message (a Decoded with only by_ref). */
#define BYREF_MSG_MAX 64

/* The sender's memfd. fd is -1 until byref_out_open. */
struct byref_out {
	int fd;
	uint8_t *base; /* cap bytes, shared, writable */
	size_t cap;
	uint64_t ino;
};

/* A memfd of cap bytes (sparse: pages are taken as they are written).
 * 0, or -1 with the reason in err. */
int byref_out_open(struct byref_out *o, size_t cap, char *err, size_t errlen);
/* Unmaps and closes (a receiver holding it open keeps it alive); then
 * o->fd is -1 again. */
void byref_out_close(struct byref_out *o);
/* The packed message (at most BYREF_MSG_MAX bytes) that names the first
 * len bytes of o: into msg, returning its length. */
size_t byref_out_message(const struct byref_out *o, size_t len, uint8_t *msg);

/* The receiver's mappings, at most BYREF_CACHE of them, least recently
 * used dropped first. */
#define BYREF_CACHE 32
struct byref_in;

struct byref_in *byref_in_new(void);
void byref_in_free(struct byref_in *in);

/* If (*buf, *len) is a DecodedRef message, point them at the Decoded it
 * names (valid until the next call on in) and return 1; any other message
 * is left as it is, returning 0. -1 when it names something that cannot
 * be read, with the reason, starting with BYREF_REASON, in err. */
int byref_in_resolve(struct byref_in *in, const void **buf, size_t *len,
    char *err, size_t errlen);

#endif
