/*
 * test_decode_stage_byref: the real profpipe-decoder hands a large Decoded
 * over ipc by reference (common/byref.h), this test playing the fetcher
 * and the aggregator as test_decode_stage does. The reference resolves to
 * exactly the bytes the decoder sends inline once the aggregator refuses
 * references; after that refusal every profile goes inline; a small
 * Decoded is never sent by reference. The other way, a raw profile by
 * reference is decoded from the fetcher's memfd, or refused.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/wire.pb-c.h"
#include "tests/unit/decode_stage_util.h"
#include "tests/unit/decode_util.h"

#define WAIT_MS 30000 /* a guard against hanging, never a readiness wait */

/* Send the file as profile id; the Decoded's message as it arrives. */
static void
offer(struct stage_rig *r, struct reply *rep, const char *file, const char *id,
    const void **req, size_t *rlen)
{
	uint8_t *body;
	uint8_t *msg;
	size_t blen;
	size_t len;

	body = du_slurp(file, &blen);
	assert_non_null(body);
	msg = raw_profile(id, body, blen, &len);
	memset(rep, 0, sizeof(*rep));
	assert_int_equal(
	    bus_call_async(r->fc, msg, len, WAIT_MS, on_reply, rep), 0);
	assert_int_equal(bus_recv(r->ac, req, rlen, WAIT_MS), 0);
	free(msg);
	free(body);
}

/* Answer as the aggregator; then, given rep, wait for the fetcher's. */
static void
answer(struct stage_rig *r, struct reply *rep, const char *reason)
{
	uint8_t ack[ACK_MAX];

	assert_int_equal(bus_reply(r->ac, ack, ack_pack(ack, reason)), 0);
	if (rep != NULL)
		assert_int_equal(wait_reply(rep, WAIT_MS), 0);
}

static void
assert_decoded(const void *buf, size_t len, const char *id)
{
	Profpipe__Decoded *d = profpipe__decoded__unpack(NULL, len, buf);

	assert_non_null(d);
	assert_non_null(d->origin);
	assert_string_equal(d->origin->profile_id, id);
	assert_true(d->n_stack_hash > 1000);
	profpipe__decoded__free_unpacked(d, NULL);
}

static void
test_by_reference(void **state)
{
	struct byref_in *in = byref_in_new();
	struct reply rep;
	struct stage_rig r;
	const void *req;
	const void *ref;
	uint8_t *by_ref;
	size_t rlen;
	size_t ref_len;
	char err[256];

	(void)state;
	assert_non_null(in);
	stage_rig_up(&r);

	/* Large: a reference, to a Decoded of that profile. */
	offer(&r, &rep, CORPUS "/synth/heap-large.pb.gz", "p-1", &req, &rlen);
	assert_true(rlen <= BYREF_MSG_MAX);
	ref = req;
	ref_len = rlen;
	assert_int_equal(byref_in_resolve(in, &profpipe__decoded__descriptor,
	                     &ref, &ref_len, err, 256),
	    1);
	assert_true(ref_len >= BYREF_MIN);
	assert_decoded(ref, ref_len, "p-1");
	by_ref = malloc(ref_len);
	assert_non_null(by_ref);
	memcpy(by_ref, ref, ref_len);

	/* Refused as a reference: the same bytes come inline, and only
	 * their answer goes upstream. */
	answer(&r, NULL, BYREF_REASON "this test reads no references");
	assert_int_equal(bus_recv(r.ac, &req, &rlen, WAIT_MS), 0);
	assert_int_equal(rlen, ref_len);
	assert_memory_equal(req, by_ref, rlen);
	answer(&r, &rep, NULL);
	assert_int_equal(rep.err, BUS_OK);
	assert_int_equal(rep.status, 0);

	/* From then on, inline at once. */
	offer(&r, &rep, CORPUS "/synth/cpu-large.pb.gz", "p-2", &req, &rlen);
	assert_true(rlen > BYREF_MSG_MAX);
	assert_decoded(req, rlen, "p-2");
	answer(&r, &rep, NULL);
	assert_int_equal(rep.status, 0);
	stage_rig_stop(&r);
	stage_rig_close(&r);
	free(by_ref);
	byref_in_free(in);
}

/* Under BYREF_MIN: inline, though references are on. */
static void
test_small_inline(void **state)
{
	struct byref_in *in = byref_in_new();
	struct reply rep;
	struct stage_rig r;
	const void *req;
	const void *buf;
	size_t rlen;
	size_t len;
	char err[256];

	(void)state;
	stage_rig_up(&r);
	offer(&r, &rep, CORPUS "/real/goapp-heap.pb.gz", "p-3", &req, &rlen);
	assert_true(rlen > BYREF_MSG_MAX && rlen < BYREF_MIN);
	buf = req;
	len = rlen;
	assert_int_equal(byref_in_resolve(in, &profpipe__decoded__descriptor,
	                     &buf, &len, err, 256),
	    0);
	answer(&r, &rep, NULL);
	assert_int_equal(rep.status, 0);
	stage_rig_stop(&r);
	stage_rig_close(&r);
	byref_in_free(in);
}

/* The fetcher's side: a raw profile by reference is decoded from the
 * fetcher's memfd; one the decoder cannot read is refused with
 * BYREF_REASON and nothing is passed on. */
static void
test_raw_by_reference(void **state)
{
	Profpipe__MemfdRef bad = PROFPIPE__MEMFD_REF__INIT;
	Profpipe__RawProfile bad_raw = PROFPIPE__RAW_PROFILE__INIT;
	struct byref_in *in = byref_in_new();
	struct byref_out out;
	struct reply rep;
	struct stage_rig r;
	uint8_t ref[BYREF_MSG_MAX];
	const void *req;
	uint8_t *body;
	uint8_t *msg;
	size_t blen;
	size_t len;
	size_t rlen;
	char err[256];

	(void)state;
	assert_non_null(in);
	stage_rig_up(&r);
	assert_int_equal(byref_out_open(&out, 16 << 20, err, sizeof(err)), 0);
	body = du_slurp(CORPUS "/real/biggo-cpu-30s.pb.gz", &blen);
	assert_non_null(body);
	msg = raw_profile("p-4", body, blen, &len);
	memcpy(out.base, msg, len);
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(
	    bus_call_async(r.fc, ref, byref_out_message(&out, len, ref),
	        WAIT_MS, on_reply, &rep),
	    0);
	assert_int_equal(bus_recv(r.ac, &req, &rlen, WAIT_MS), 0);
	/* biggo-cpu-30s decodes to 210 KB: that goes by reference too. */
	assert_int_equal(byref_in_resolve(in, &profpipe__decoded__descriptor,
	                     &req, &rlen, err, sizeof(err)),
	    1);
	assert_decoded(req, rlen, "p-4");
	answer(&r, &rep, NULL);
	assert_int_equal(rep.status, 0);

	/* Another inode's name on the same fd. */
	bad.pid = (uint32_t)getpid();
	bad.fd = (uint32_t)out.fd;
	bad.inode = out.ino + 1;
	bad.len = len;
	bad_raw.by_ref = &bad;
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(bus_call_async(r.fc, ref,
	                     protobuf_c_message_pack(&bad_raw.base, ref),
	                     WAIT_MS, on_reply, &rep),
	    0);
	assert_int_equal(wait_reply(&rep, WAIT_MS), 0);
	assert_int_equal(rep.status, 1);
	assert_memory_equal(rep.reason, BYREF_REASON, strlen(BYREF_REASON));
	assert_int_equal(bus_recv(r.ac, &req, &rlen, 300), BUS_ETIMEDOUT);
	stage_rig_stop(&r);
	stage_rig_close(&r);
	byref_out_close(&out);
	byref_in_free(in);
	free(msg);
	free(body);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_by_reference),
	    cmocka_unit_test(test_small_inline),
	    cmocka_unit_test(test_raw_by_reference),
	};

	(void)argc;
	return stage_tests_run(tests, sizeof(tests) / sizeof(tests[0]),
	    argv[0], "/tmp/profpipe-byref-test-XXXXXX");
}
