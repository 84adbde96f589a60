/*
 * ack: the reply of every REQ/REP hop, packed and read in one place.
 */
#ifndef PROFPIPE_ACK_H
#define PROFPIPE_ACK_H

#include <stddef.h>
#include <stdint.h>

#define ACK_MAX 1024

/* Pack an Ack into out (ACK_MAX bytes). reason NULL: OK. Returns length. */
size_t ack_pack(uint8_t out[ACK_MAX], const char *reason);

/* Read a reply. Returns 0 (OK), 1 (REJECTED, reason filled) or -1
 * (unreadable reply). */
int ack_read(const void *buf, size_t len, char *reason, size_t reasonlen);

#endif
