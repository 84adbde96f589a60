/*
 * stage_int: what the decoder stage's loop (stage.c) and its slots
 * (stage_slot.c) share. See stage.c for how a profile goes through them.
 */
#ifndef PROFPIPE_DECODER_STAGE_INT_H
#define PROFPIPE_DECODER_STAGE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/byref.h"
#include "common/wire.pb-c.h"
#include "decoder/decode.h"
#include "decoder/stage.h"

#define TICK_MS 200         /* how soon SIGTERM is noticed */
#define FORWARD_MS 1000     /* one try at the aggregator */
#define RAW_SLACK (1 << 20) /* a RawProfile's origin, beyond its body */
/* What a slot keeps between profiles, of its inline buffer (a profile
 * sent inline is under BYREF_MIN bytes unless references are off) and of
 * its memfd: what is past them goes back once the profile is answered.
 * The memfd keeps more: giving back and faulting in again the pages of
 * every large Decoded cost a decoder 12-28% more CPU per profile in
 * pipebench's mix; past 16M, the decode dwarfs that. The slots' memfds
 * together keep STAGE_KEEP_REF at most, what two slots kept when a stage
 * had two: with each of the 8 keeping up to 16M of its own, pipebench -n
 * 2 -a held 59M more (PSS of both decoders and the aggregator), for
 * 6-7% less decoder CPU per profile. Most of that CPU came back once a
 * profile went to the idle memfd that fits it best rather than to its
 * slot's own (stage_slot.c): under the same 32M, pipebench -n 2 -a then
 * faulted in about 19 pages a profile, not 80-110. */
#define SLOT_KEEP ((size_t)256 * 1024)
#define SLOT_KEEP_REF ((size_t)16 * 1024 * 1024)
#define STAGE_KEEP_REF ((size_t)32 * 1024 * 1024)
#define SLOT_NAME_MAX 128 /* each of target, kind, profile_id, for logs */

/* The aggregator keeps the memfds of 32 decoders mapped (a decoder per
 * core). */
_Static_assert(BYREF_CACHE >= 32 * DECODER_STAGE_SLOTS,
    "the aggregator's mapping cache holds 32 decoders' memfds");

enum slot_state {
	SLOT_FREE,
	SLOT_RECEIVING, /* bus_recv_async pending on upc */
	SLOT_WAITING,   /* bus_call_async pending on downc */
};

struct stage;

struct slot {
	struct stage *st;
	struct bus_ctx *upc;
	struct bus_ctx *downc;
	enum slot_state state; /* the loop's own */
	/* The profile in flight, packed once its decode ends (the arena is
	 * then the next profile's): its request held by upc, its Decoded's
	 * n bytes in buf, or by reference in out, named by ref. */
	char target[SLOT_NAME_MAX];
	char kind[SLOT_NAME_MAX];
	char id[SLOT_NAME_MAX];
	size_t n_stacks;
	size_t n;
	uint8_t *buf; /* malloc'd, buf_cap bytes */
	size_t buf_cap;
	int by_ref;
	struct byref_out out;
	uint8_t ref[BYREF_MSG_MAX];
	size_t ref_n;
	int timeout;
	/* Filled by the callbacks, under st->mu. */
	int ready;
	int err;
	int status;
	const void *req;
	size_t len;
	char reason[ACK_MAX];
};

struct stage {
	struct bus_sock *up;
	struct bus_sock *down;
	struct bus_sock *tap;
	struct decoder *dec;
	struct arena *a; /* the decode under way, one at a time */
	/* The fetcher's memfds mapped: one cache, since a request's body is
	 * read only while it is decoded, and one decode runs at a time. */
	struct byref_in *in;
	struct slot slots[DECODER_STAGE_SLOTS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int sync_ok; /* mu and cv made */
	int byref;   /* large Decoded messages go by reference */
	size_t max_raw;
	long drain_ms;
	double deadline; /* of the drain; 0 until SIGTERM */
	unsigned long decoded;
	unsigned long rejected;
	unsigned long abandoned;
};

/* CLOCK_MONOTONIC, in ms. */
double dstage_now_ms(void);

/* bus_done_fn for a slot's receive: on an nng thread, note and wake. */
void dslot_received(void *arg, int err, const void *req, size_t len);
/* On the loop: the slot's request came; decode it and send it on, or
 * answer it REJECTED. */
void dslot_start(struct stage *st, struct slot *s);
/* On the loop: the aggregator answered the slot's profile (or the try
 * ran out): publish, count, reply upstream; or send it again. */
void dslot_finish(struct stage *st, struct slot *s);
/* Free the slot without answering upstream (the fetcher's nng resends
 * the profile), giving up its memfd. */
void dslot_abandon(struct stage *st, struct slot *s);
/* Free what the slot holds (stage_close). */
void dslot_free(struct slot *s);

#endif
