/*
 * ack: Ack messages. REJECTED means "this message can never succeed" (a
 * corrupt profile): the sender counts it and never resends it.
 */
#include "common/ack.h"

#include <stdio.h>
#include <string.h>

#include "common/wire.pb-c.h"

size_t
ack_pack(uint8_t out[ACK_MAX], const char *reason)
{
	Profpipe__Ack a = PROFPIPE__ACK__INIT;
	char trimmed[ACK_MAX / 2];

	if (reason != NULL) {
		snprintf(trimmed, sizeof(trimmed), "%s", reason);
		a.status = PROFPIPE__ACK__STATUS__REJECTED;
		a.reason = trimmed;
	}
	return protobuf_c_message_pack(&a.base, out);
}

int
ack_read(const void *buf, size_t len, char *reason, size_t reasonlen)
{
	Profpipe__Ack *a;
	int rv;

	a = profpipe__ack__unpack(NULL, len, buf);
	if (a == NULL)
		return -1;
	rv = a->status == PROFPIPE__ACK__STATUS__OK ? 0 : 1;
	if (rv == 1 && reason != NULL)
		snprintf(reason, reasonlen, "%s", a->reason ? a->reason : "");
	profpipe__ack__free_unpacked(a, NULL);
	return rv;
}
