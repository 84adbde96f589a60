/*
 * stage: the decoder stage's loop: receive a raw profile, decode it into
 * the arena (reset per profile, so its blocks are reused), pack the
 * Decoded, hand it to the aggregator (retrying until it answers; after
 * SIGTERM for --drain at most), publish it on the tap, and reply to the
 * fetcher with the aggregator's answer or the decoder's own REJECTED.
 */
#include "decoder/stage.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/ack.h"
#include "common/arena.h"
#include "common/bus.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/wire.pb-c.h"
#include "decoder/decode.h"
#include "decoder/decode_metrics_json.h"
#include "decoder/memstats.h"

#define RECV_MS 200
#define FORWARD_MS 1000     /* one try at the aggregator */
#define RAW_SLACK (1 << 20) /* a RawProfile's origin, beyond its body */

struct stage {
	struct bus_sock *up;
	struct bus_sock *down;
	struct bus_sock *tap;
	struct bus_ctx *upc;
	struct bus_ctx *downc;
	struct decoder *dec;
	struct arena *a;
	size_t max_raw;
	long drain_ms;
	unsigned long decoded;
	unsigned long rejected;
	unsigned long abandoned;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Hand msg to the aggregator. Returns 0 (taken), 1 (REJECTED, reason
 * filled) or -1 (given up: the caller must not reply upstream). Retries
 * until it is taken; after SIGTERM, for --drain seconds at most. */
static int
stage_forward(struct stage *st, const void *msg, size_t len, char *reason,
    size_t reasonlen)
{
	double deadline = 0;
	double left;
	void *rep;
	size_t rlen;
	int timeout;
	int rv;

	for (;;) {
		timeout = FORWARD_MS;
		if (proc_stopping()) {
			if (deadline == 0)
				deadline = now_ms() + (double)st->drain_ms;
			left = deadline - now_ms();
			if (left <= 0) {
				log_warn("aggregator: no answer in the drain "
				         "time; leaving the profile to the "
				         "fetcher's resend");
				return -1;
			}
			if (left < timeout)
				timeout = (int)left + 1;
		}
		rv = bus_call(st->downc, msg, len, &rep, &rlen, timeout);
		if (rv == BUS_ETIMEDOUT) {
			log_debug("aggregator: no answer in %d ms; trying "
			          "again",
			    timeout);
			continue;
		}
		if (rv != BUS_OK) {
			log_error("aggregator: %s", bus_strerror(rv));
			return -1;
		}
		rv = ack_read(rep, rlen, reason, reasonlen);
		bus_free(rep, rlen);
		if (rv < 0)
			log_error("aggregator: unreadable reply");
		return rv;
	}
}

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* One raw profile: decode, forward, publish, reply. */
static void
stage_handle(struct stage *st, const void *req, size_t len)
{
	Profpipe__RawProfile *raw = NULL;
	Profpipe__Origin *o;
	Profpipe__Decoded d;
	ProtobufCAllocator pa;
	uint8_t ack[ACK_MAX];
	char err[ACK_MAX];
	uint8_t *packed;
	size_t n;
	int rv;

	arena_reset(st->a);
	if (len <= st->max_raw) {
		arena_pb_allocator(st->a, &pa);
		raw = profpipe__raw_profile__unpack(&pa, len, req);
	}
	if (raw == NULL) {
		snprintf(err, sizeof(err),
		    len > st->max_raw
		        ? "a raw profile message of %zu bytes: over the cap"
		        : "unreadable raw profile message (%zu bytes)",
		    len);
		log_warn("%s", err);
		st->rejected++;
		bus_reply(st->upc, ack, ack_pack(ack, err));
		return;
	}
	o = raw->origin;
	/* heap?debug=1 text: its MemStats tail only (memstats.h). */
	if (o != NULL && o->kind != NULL && strcmp(o->kind, "memstats") == 0)
		rv = memstats_decode(raw->body.data, raw->body.len, st->a, &d,
		    err, sizeof(err));
	else if (o != NULL && o->kind != NULL &&
	    strcmp(o->kind, "metrics") == 0) /* pushed metrics.json */
		rv = metrics_json_decode(raw->body.data, raw->body.len, st->a,
		    &d, err, sizeof(err));
	else
		rv = decoder_run(st->dec, raw->body.data, raw->body.len, st->a,
		    &d, err, sizeof(err));
	if (rv != 0) {
		log_warn("%s %s %s: %s", or_dash(o ? o->target : NULL),
		    or_dash(o ? o->kind : NULL),
		    or_dash(o ? o->profile_id : NULL), err);
		st->rejected++;
		bus_reply(st->upc, ack, ack_pack(ack, err));
		return;
	}
	d.origin = o;
	n = protobuf_c_message_get_packed_size(&d.base);
	packed = arena_alloc(st->a, n);
	if (packed == NULL) {
		/* Deterministic (the arena's cap): resending cannot help. */
		snprintf(err, sizeof(err),
		    "decoded profile of %zu bytes does not fit in "
		    "--max-memory",
		    n);
		log_warn("%s %s %s: %s", or_dash(o ? o->target : NULL),
		    or_dash(o ? o->kind : NULL),
		    or_dash(o ? o->profile_id : NULL), err);
		st->rejected++;
		bus_reply(st->upc, ack, ack_pack(ack, err));
		return;
	}
	protobuf_c_message_pack(&d.base, packed);
	rv = stage_forward(st, packed, n, err, sizeof(err));
	if (rv < 0) {
		st->abandoned++;
		return;
	}
	if (rv == 0) {
		if (st->tap != NULL)
			bus_publish(st->tap, packed, n);
		st->decoded++;
		log_debug("%s %s %s: %zu stacks",
		    or_dash(o ? o->target : NULL), or_dash(o ? o->kind : NULL),
		    or_dash(o ? o->profile_id : NULL), d.n_stack_hash);
	} else {
		log_warn("%s %s %s: aggregator rejected it: %s",
		    or_dash(o ? o->target : NULL), or_dash(o ? o->kind : NULL),
		    or_dash(o ? o->profile_id : NULL), err);
		st->rejected++;
	}
	bus_reply(st->upc, ack, ack_pack(ack, rv == 0 ? NULL : err));
}

static int
stage_open(struct stage *st, const struct decoder_opts *o)
{
	char raw[512];
	char decoded[512];
	char tap[512];
	char err[1024];

	if ((o->raw == NULL &&
	        proc_default_url(raw, sizeof(raw), "raw.ipc") < 0) ||
	    (o->decoded == NULL &&
	        proc_default_url(decoded, sizeof(decoded), "decoded.ipc") <
	            0) ||
	    (o->tap == NULL && bus_tap_url(tap, sizeof(tap), "decoder") < 0)) {
		log_error("run directory: %m");
		return -1;
	}
	if (bus_open(&st->up, BUS_REP, o->raw ? o->raw : raw, 0, err,
	        sizeof(err)) != 0 ||
	    bus_open(&st->down, BUS_REQ, o->decoded ? o->decoded : decoded, 0,
	        err, sizeof(err)) != 0) {
		log_error("%s", err);
		return -1;
	}
	if (bus_ctx_new(st->up, &st->upc) != 0 ||
	    bus_ctx_new(st->down, &st->downc) != 0) {
		log_error("nng: cannot make a context");
		return -1;
	}
	/* Decoders are many, so like their other sockets they dial the tap
	 * and profpipe-tap listens: one tap hears all of them. Until a tap
	 * listens, what is published is dropped. */
	if (bus_open(&st->tap, BUS_PUB, o->tap ? o->tap : tap, 0, err,
	        sizeof(err)) != 0) {
		log_info("tap: %s; running without", err);
		st->tap = NULL;
	}
	return 0;
}

static void
stage_close(struct stage *st)
{
	bus_ctx_free(st->upc);
	bus_ctx_free(st->downc);
	bus_close(st->up);
	bus_close(st->down);
	bus_close(st->tap);
	decoder_free(st->dec);
	arena_free(st->a);
}

int
decoder_stage_run(const struct decoder_opts *o)
{
	struct stage st;
	const void *req;
	size_t len;
	int rv;

	memset(&st, 0, sizeof(st));
	st.max_raw = o->lim.max_inflated + RAW_SLACK;
	st.drain_ms = o->drain_ms;
	st.a = arena_new(o->max_memory);
	if (st.a == NULL || decoder_new(&st.dec, &o->lim) != 0) {
		log_error("out of memory");
		stage_close(&st);
		return EXIT_SYSTEM;
	}
	proc_signals();
	if (stage_open(&st, o) < 0) {
		stage_close(&st);
		return EXIT_SYSTEM;
	}
	proc_notify_ready((int)o->ready_fd);
	log_info("ready");
	while (!proc_stopping()) {
		rv = bus_recv(st.upc, &req, &len, RECV_MS);
		if (rv == BUS_ETIMEDOUT)
			continue;
		if (rv == BUS_ECLOSED)
			break;
		if (rv != BUS_OK) {
			log_error("fetcher: %s", bus_strerror(rv));
			nanosleep(&(struct timespec){0, 100000000}, NULL);
			continue;
		}
		stage_handle(&st, req, len);
	}
	log_info("stopping: %lu decoded, %lu rejected, %lu left to resend",
	    st.decoded, st.rejected, st.abandoned);
	stage_close(&st);
	return EXIT_OK;
}
