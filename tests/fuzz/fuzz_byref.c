/*
 * libFuzzer target: byref_in_resolve, what every stage runs first on each
 * request from its upstream (common/byref.h). Two things per input:
 *
 * - the input itself, as a RawProfile, Decoded or Result message (its
 *   first byte picks which): it must be left alone, refused, or resolved
 *   to bytes that can all be read;
 * - a reference to this process's own memfd, with the length and the
 *   inode taken from the input: it must resolve exactly when the inode is
 *   the memfd's and the length is 1 to the memfd's size, and then to the
 *   memfd's own bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/byref.h"

#define CAP ((size_t)1 << 16)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const types[] = {
    &profpipe__raw_profile__descriptor,
    &profpipe__decoded__descriptor,
    &profpipe__result__descriptor,
};

/* Read all n bytes at p: a mapping shorter than claimed faults here. */
static unsigned
touch(const uint8_t *p, size_t n)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += p[i];
	return sum;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct byref_out out = {.fd = -1};
	static struct byref_in *in;
	static volatile unsigned sink;
	Profpipe__MemfdRef ref = PROFPIPE__MEMFD_REF__INIT;
	Profpipe__Decoded d = PROFPIPE__DECODED__INIT;
	const ProtobufCMessageDescriptor *type;
	uint8_t msg[BYREF_MSG_MAX];
	const void *buf;
	size_t len;
	char err[256];
	int want;
	int rv;

	if (in == NULL) {
		in = byref_in_new();
		if (in == NULL ||
		    byref_out_open(&out, CAP, err, sizeof(err)) != 0)
			abort();
		memset(out.base, 0xa5, CAP);
	}
	if (size == 0)
		return 0;
	type = types[data[0] % 3];

	buf = data + 1;
	len = size - 1;
	rv = byref_in_resolve(in, type, &buf, &len, err, sizeof(err));
	if (rv == 0 && (buf != data + 1 || len != size - 1))
		abort();
	if (rv == 1)
		sink = touch(buf, len);
	if (rv < 0 && !byref_refused(err))
		abort();

	if (size < 10)
		return 0;
	ref.pid = (uint32_t)getpid();
	ref.fd = (uint32_t)out.fd;
	ref.inode = out.ino ^ (uint64_t)(data[9] & 1);
	memcpy(&ref.len, data + 1, sizeof(ref.len));
	ref.len %= 2 * CAP + 2;
	d.by_ref = &ref;
	buf = msg;
	len = protobuf_c_message_pack(&d.base, msg);
	want = ref.inode == out.ino && ref.len >= 1 && ref.len <= CAP;
	rv = byref_in_resolve(
	    in, &profpipe__decoded__descriptor, &buf, &len, err, sizeof(err));
	if (rv != (want ? 1 : -1)) {
		fprintf(stderr, "len %llu inode %s: %d, %s\n",
		    (unsigned long long)ref.len,
		    ref.inode == out.ino ? "right" : "wrong", rv,
		    rv < 0 ? err : "resolved");
		abort();
	}
	if (rv == 1 && (len != ref.len || touch(buf, len) != 0xa5 * len))
		abort();
	return 0;
}
