/*
 * stage: the decoder stage's loop. A profile goes through one slot: receive
 * it, decode it into the stage's arena, pack the Decoded into the slot,
 * hand it to the aggregator (retrying until it answers; after SIGTERM for
 * --drain at most), publish it on the tap, and reply to the fetcher with
 * the aggregator's answer or the decoder's own REJECTED.
 *
 * DECODER_STAGE_SLOTS slots, so the core does not sit idle while the
 * aggregator (and the exporter behind it) works on a profile: once
 * profile i is handed off, profile i+1 is received and decoded while i's
 * answer is pending, and so on while a slot is free. The decoding is one
 * at a time, on this thread; nng's threads only note that a request or an
 * answer came and wake the loop. A request is received only when a slot
 * is free and nothing else is being received, so the decoder never takes
 * a profile it cannot start on at once, and the fetcher's nng keeps
 * spreading profiles over the decoders that are free.
 *
 * Each slot has its own REP context (its request stays held, unanswered,
 * until the hand-off completes: the raw body is read where it arrived) and
 * REQ context. The decode has the one arena, capped by --max-memory and
 * reset for each profile: a decoded profile is packed at once into its
 * slot (a buffer, or the slot's memfd), which is what every try at the
 * aggregator sends. The messages in flight, one request and one Decoded
 * per slot at most, come on top of the arena.
 *
 * Over ipc, a Decoded of BYREF_MIN bytes or more is packed once into a
 * memfd and the aggregator is sent only a reference to it
 * (common/byref.h): each slot holds one memfd, whose pages stay written
 * from one profile to the next (up to a budget for them all), instead of
 * nng allocating a message for each. A profile takes the idle memfd that
 * best fits it, trading its slot's for it, so a large one lands where a
 * large one was. A raw
 * profile may come the same way: the slot reads it in the fetcher's
 * memfd, which stays put until the slot answers.
 */
#include "decoder/stage_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/log.h"
#include "common/proc.h"
#include "decoder/pprof.h"

/* Wait up to ms for a callback; returns its slot (ready cleared) or NULL.
 * Answers come before a new request, so replies upstream are not held up
 * behind a decode. */
static struct slot *
stage_wait(struct stage *st, double ms)
{
	struct slot *got = NULL;
	struct timespec ts;
	long add = ms > 0 ? (long)ms : 0;
	int timed_out = 0;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += add / 1000;
	ts.tv_nsec += (add % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->mu);
	for (;;) {
		for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
			if (st->slots[i].ready &&
			    (got == NULL || got->state == SLOT_RECEIVING))
				got = &st->slots[i];
		}
		if (got != NULL || timed_out)
			break;
		timed_out =
		    pthread_cond_timedwait(&st->cv, &st->mu, &ts) == ETIMEDOUT;
	}
	if (got != NULL)
		got->ready = 0;
	pthread_mutex_unlock(&st->mu);
	return got;
}

/* Receive on a free slot, unless one is receiving already. */
static void
stage_listen(struct stage *st)
{
	struct slot *free_slot = NULL;
	int i;

	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		if (st->slots[i].state == SLOT_RECEIVING)
			return;
		if (st->slots[i].state == SLOT_FREE && free_slot == NULL)
			free_slot = &st->slots[i];
	}
	if (free_slot == NULL)
		return;
	free_slot->state = SLOT_RECEIVING;
	if (bus_recv_async(free_slot->upc, -1, dslot_received, free_slot) !=
	    BUS_OK) {
		log_error("fetcher: cannot receive");
		free_slot->state = SLOT_FREE;
		nanosleep(&(struct timespec){0, 100000000}, NULL);
	}
}

static int
stage_waiting(const struct stage *st)
{
	int n = 0;
	int i;

	for (i = 0; i < DECODER_STAGE_SLOTS; i++)
		n += st->slots[i].state == SLOT_WAITING;
	return n;
}

/* On SIGUSR1 and at exit: the counters, then the memory. */
static void
stage_log_counters(const struct stage *st, const char *when)
{
	log_info("%s: %lu decoded, %lu rejected, %lu left to resend", when,
	    st->decoded, st->rejected, st->abandoned);
	proc_log_memory();
}

static void
stage_loop(struct stage *st)
{
	struct slot *s;
	double wait;

	for (;;) {
		if (proc_take_usr1())
			stage_log_counters(st, "counters");
		wait = TICK_MS;
		if (proc_stopping()) {
			if (st->deadline == 0)
				st->deadline =
				    dstage_now_ms() + (double)st->drain_ms;
			wait = st->deadline - dstage_now_ms();
			if (stage_waiting(st) == 0 || wait <= 0)
				break;
		} else {
			stage_listen(st);
		}
		s = stage_wait(st, wait < TICK_MS ? wait : TICK_MS);
		if (s == NULL)
			continue;
		if (s->state == SLOT_WAITING) {
			dslot_finish(st, s);
			continue;
		}
		s->state = SLOT_FREE;
		if (s->err == BUS_ECLOSED)
			break;
		if (s->err != BUS_OK) {
			log_error("fetcher: %s", bus_strerror(s->err));
			nanosleep(&(struct timespec){0, 100000000}, NULL);
			continue;
		}
		/* After SIGTERM, take no more input: the request is left
		 * unanswered, and resent when this decoder's pipe closes. */
		if (proc_stopping())
			dslot_abandon(st, s);
		else
			dslot_start(st, s);
	}
	/* What the aggregator still holds past the drain time. */
	for (s = st->slots; s < st->slots + DECODER_STAGE_SLOTS; s++) {
		if (s->state != SLOT_WAITING)
			continue;
		log_warn("aggregator: no answer in the drain time; leaving "
		         "the profile to the fetcher's resend");
		dslot_abandon(st, s);
	}
}

/* 0, or a bus_err (BUS_EINVAL: an address that cannot work), logged. */
static int
stage_open(struct stage *st, const struct decoder_opts *o)
{
	char raw[512];
	char decoded[512];
	char tap[512];
	char err[1024];
	int rv;
	int i;

	if ((o->raw == NULL &&
	        proc_default_url(raw, sizeof(raw), "raw.ipc") < 0) ||
	    (o->decoded == NULL &&
	        proc_default_url(decoded, sizeof(decoded), "decoded.ipc") <
	            0) ||
	    (o->tap == NULL && bus_tap_url(tap, sizeof(tap), "decoder") < 0)) {
		log_error("run directory: %m");
		return -1;
	}
	st->byref =
	    strncmp(o->decoded ? o->decoded : decoded, "ipc://", 6) == 0;
	rv = bus_open(
	    &st->up, BUS_REP, o->raw ? o->raw : raw, 0, err, sizeof(err));
	if (rv == 0)
		rv = bus_open(&st->down, BUS_REQ,
		    o->decoded ? o->decoded : decoded, 0, err, sizeof(err));
	if (rv != 0) {
		log_error("%s", err);
		return rv;
	}
	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		if (bus_ctx_new(st->up, &st->slots[i].upc) != 0 ||
		    bus_ctx_new(st->down, &st->slots[i].downc) != 0) {
			log_error("nng: cannot make a context");
			return -1;
		}
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

/* The contexts go first: freeing one stops its pending call, whose
 * callback still takes mu. */
static void
stage_close(struct stage *st)
{
	int i;

	for (i = 0; i < DECODER_STAGE_SLOTS; i++) {
		bus_ctx_free(st->slots[i].upc);
		bus_ctx_free(st->slots[i].downc);
	}
	bus_close(st->up);
	bus_close(st->down);
	bus_close(st->tap);
	for (i = 0; i < DECODER_STAGE_SLOTS; i++)
		dslot_free(&st->slots[i]);
	byref_in_free(st->in);
	arena_free(st->a);
	decoder_free(st->dec);
	if (st->sync_ok) {
		pthread_cond_destroy(&st->cv);
		pthread_mutex_destroy(&st->mu);
	}
}

static int
stage_init(struct stage *st, const struct decoder_opts *o)
{
	pthread_condattr_t ca;
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < DECODER_STAGE_SLOTS; i++)
		st->slots[i].out.fd =
		    -1; /* stage_close closes the open ones */
	st->max_raw = o->lim.max_inflated + RAW_SLACK;
	st->drain_ms = o->drain_ms;
	if (pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		pthread_condattr_destroy(&ca);
		return -1;
	}
	if (pthread_cond_init(&st->cv, &ca) != 0) {
		pthread_mutex_destroy(&st->mu);
		pthread_condattr_destroy(&ca);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	st->sync_ok = 1;
	st->a = arena_new(o->max_memory);
	if (st->a == NULL)
		return -1;
	st->in = byref_in_new();
	if (st->in == NULL)
		return -1;
	for (i = 0; i < DECODER_STAGE_SLOTS; i++)
		st->slots[i].st = st;
	return decoder_new(&st->dec, &o->lim);
}

int
decoder_stage_run(const struct decoder_opts *o)
{
	struct stage st;
	int rv;

	if (stage_init(&st, o) != 0) {
		log_error("out of memory");
		stage_close(&st);
		return EXIT_SYSTEM;
	}
	proc_signals();
	rv = stage_open(&st, o);
	if (rv < 0) {
		stage_close(&st);
		return rv == BUS_EINVAL ? EXIT_USAGE : EXIT_SYSTEM;
	}
	proc_notify_ready((int)o->ready_fd);
	/* Which read path this process takes: the speed to expect, and
	 * --portable seen to reach the stage. */
	log_info("ready; location ids read %s",
	    o->lim.portable         ? "without pext (--portable)"
	        : pprof_fast_pext() ? "with pext"
	                            : "without pext (none fast on this CPU)");
	stage_loop(&st);
	stage_log_counters(&st, "stopping");
	proc_exit_watchdog(PROC_CLOSE_SECONDS);
	stage_close(&st);
	return EXIT_OK;
}
