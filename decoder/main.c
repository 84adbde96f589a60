/*
 * profpipe-decoder: the decoder stage. It dials the fetcher (REP on
 * raw.ipc) and the aggregator (REQ on decoded.ipc), turns each raw profile
 * into a Decoded, hands it on, and only then replies upstream, so a profile
 * is never lost between the two: if the aggregator cannot be reached, the
 * decoder does not reply and the fetcher's nng resends the profile. A
 * profile that cannot be decoded is answered REJECTED with the reason and
 * never passed on. Many decoders can run side by side; they share nothing.
 *
 * Given files, it decodes them to stdout instead (folded or JSON) and
 * opens no socket.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ack.h"
#include "common/arena.h"
#include "common/buf.h"
#include "common/bus.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/wire.pb-c.h"
#include "decoder/decode.h"
#include "decoder/decode_print.h"

#define RECV_MS 200
#define FORWARD_MS 1000     /* one try at the aggregator */
#define RAW_SLACK (1 << 20) /* a RawProfile's origin, beyond its body */

static const char usage[] =
    "usage: profpipe-decoder [--raw URL] [--decoded URL] [--tap URL]\n"
    "                        [--ready-fd N] [--max-inflated BYTES]\n"
    "                        [--max-memory BYTES] [--drain SECONDS] [-v | "
    "-q]\n"
    "       profpipe-decoder [--format folded|json] [--sample-type NAME]\n"
    "                        [--max-inflated BYTES] FILE...\n"
    "\n"
    "The decoder stage: takes raw profiles (gzip, zstd or plain pprof) from\n"
    "the fetcher, decodes them into stacks and hands them to the aggregator.\n"
    "It dials both; run as many as there are cores.\n"
    "\n"
    "  --raw URL           the fetcher's address "
    "(ipc://$PROFPIPE_RUN/raw.ipc)\n"
    "  --decoded URL       the aggregator's address (.../decoded.ipc)\n"
    "  --tap URL           where to publish a copy of each decoded profile\n"
    "                      (.../decoder.tap, dialed: profpipe-tap decoder\n"
    "                      listens there and hears every decoder)\n"
    "  --ready-fd N        write a newline to fd N once the sockets are open\n"
    "  --max-inflated N    refuse profiles larger than N bytes once inflated\n"
    "                      (default 64M; K, M and G suffixes are binary)\n"
    "  --max-memory N      memory one decode may use (default 8x "
    "max-inflated,\n"
    "                      at least 256M)\n"
    "  --drain SECONDS     after SIGTERM, how long to keep offering the\n"
    "                      profile in hand to the aggregator (default 10)\n"
    "  -v, -q              more, or less, logging\n"
    "\n"
    "Given FILEs (- is stdin), it decodes them to stdout and exits: 0 if all\n"
    "decoded, 1 if any failed (each named on stderr).\n"
    "  --format folded     \"root;...;leaf VALUE\" lines, frames named by\n"
    "                      function, equal name sequences summed (default)\n"
    "  --format json       one object per file: sample types, period, "
    "duration\n"
    "                      and every stack (frames leaf first, values, "
    "labels)\n"
    "  --sample-type NAME  the value column for folded (default: the\n"
    "                      profile's default sample type)\n"
    "\n"
    "Exit status: 0 done, 1 a file failed, 100 usage, 111 system failure.\n";

struct opts {
	const char *raw;
	const char *decoded;
	const char *tap;
	const char *format;
	const char *sample_type;
	long ready_fd;
	long drain_ms;
	size_t max_memory;
	struct decode_limits lim;
	enum log_level level;
};

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

/* A byte count: decimal, with an optional K, M or G (powers of 1024). */
static int
parse_size(const char *s, size_t *out)
{
	char num[32];
	size_t n = strlen(s);
	int shift = 0;
	long v;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	default:
		break;
	}
	if (shift != 0)
		num[n - 1] = '\0';
	if (proc_parse_long(num, 1, (long)(SIZE_MAX >> 31) >> shift, &v) < 0)
		return -1;
	*out = (size_t)v << shift;
	return 0;
}

static int
parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
	    {"raw", required_argument, NULL, 'r'},
	    {"decoded", required_argument, NULL, 'd'},
	    {"tap", required_argument, NULL, 't'},
	    {"ready-fd", required_argument, NULL, 'R'},
	    {"format", required_argument, NULL, 'f'},
	    {"sample-type", required_argument, NULL, 's'},
	    {"max-inflated", required_argument, NULL, 'I'},
	    {"max-memory", required_argument, NULL, 'M'},
	    {"drain", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "vqh", longs, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->raw = optarg;
			break;
		case 'd':
			o->decoded = optarg;
			break;
		case 't':
			o->tap = optarg;
			break;
		case 'f':
			o->format = optarg;
			break;
		case 's':
			o->sample_type = optarg;
			break;
		case 'v':
			o->level = LOG_DEBUG;
			break;
		case 'q':
			o->level = LOG_WARN;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(EXIT_OK);
		case 'R':
			if (proc_parse_long(optarg, 0, 1 << 20, &o->ready_fd) <
			    0)
				goto bad;
			break;
		case 'I':
			if (parse_size(optarg, &o->lim.max_inflated) < 0)
				goto bad;
			break;
		case 'M':
			if (parse_size(optarg, &o->max_memory) < 0)
				goto bad;
			break;
		case 'D':
			if (proc_parse_long(optarg, 0, 3600, &o->drain_ms) < 0)
				goto bad;
			o->drain_ms *= 1000;
			break;
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (o->format != NULL && strcmp(o->format, "folded") != 0 &&
	    strcmp(o->format, "json") != 0) {
		log_error("--format: %s: not folded or json", o->format);
		return -1;
	}
	if ((o->format != NULL || o->sample_type != NULL) && optind == argc) {
		log_error("--format and --sample-type need FILE arguments");
		return -1;
	}
	return 0;
bad:
	log_error("%s: bad value", optarg);
	return -1;
}

/* --- one-shot mode --------------------------------------------------- */

static int
read_file(
    const char *path, size_t cap, struct buf *b, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t room;
	size_t n;
	int rv = 0;

	buf_clear(b);
	if (f == NULL) {
		snprintf(err, errlen, "%m");
		return -1;
	}
	for (;;) {
		room = cap - b->len < (1 << 16) ? cap - b->len : 1 << 16;
		if (room == 0) {
			if (getc(f) != EOF) {
				snprintf(err, errlen,
				    "larger than %zu bytes "
				    "(--max-inflated)",
				    cap);
				rv = -1;
			}
			break;
		}
		if (buf_reserve(b, room) < 0) {
			snprintf(err, errlen, "out of memory");
			rv = -1;
			break;
		}
		n = fread(b->data + b->len, 1, room, f);
		b->len += n;
		if (n < room)
			break;
	}
	if (rv == 0 && ferror(f)) {
		snprintf(err, errlen, "read: %m");
		rv = -1;
	}
	if (f != stdin)
		fclose(f);
	return rv;
}

static int
oneshot_print(const struct opts *o, const Profpipe__Decoded *d,
    const char *path, struct arena *a)
{
	struct decode_fold g;
	int type = d->default_sample_type;
	size_t i;

	if (o->format != NULL && strcmp(o->format, "json") == 0)
		return decode_json_print(d, path, stdout) < 0 ? -2 : 0;
	if (o->sample_type != NULL) {
		type = decode_sample_type(d, o->sample_type);
		if (type < 0) {
			struct buf names;

			buf_init(&names, 4096);
			for (i = 0; i < d->n_sample_types; i++)
				buf_printf(&names, "%s%s", i ? ", " : "",
				    d->strings[d->sample_types[i]->type]);
			log_error("%s: no sample type %s (it has %s)", path,
			    o->sample_type,
			    names.failed ? "too many"
			                 : (const char *)names.data);
			buf_release(&names);
			return -1;
		}
	}
	switch (decode_fold(d, a, &g)) {
	case 0:
		break;
	case -2:
		log_error("%s: a folded sum overflows int64", path);
		return -1;
	default:
		log_error("%s: out of memory", path);
		return -1;
	}
	return decode_fold_print(d, &g, (size_t)type, stdout) < 0 ? -2 : 0;
}

static int
oneshot(const struct opts *o, int n, char **files)
{
	struct decoder *dec = NULL;
	struct arena *a;
	Profpipe__Decoded d;
	struct buf in;
	char err[1024];
	int status = 0;
	int rv;
	int i;

	buf_init(&in, o->lim.max_inflated);
	a = arena_new(o->max_memory);
	if (a == NULL || decoder_new(&dec, &o->lim) != 0) {
		log_error("out of memory");
		arena_free(a);
		return EXIT_SYSTEM;
	}
	for (i = 0; i < n; i++) {
		arena_reset(a);
		if (read_file(files[i], o->lim.max_inflated, &in, err,
		        sizeof(err)) < 0) {
			log_error("%s: %s", files[i], err);
			status = 1;
			continue;
		}
		rv =
		    decoder_run(dec, in.data, in.len, a, &d, err, sizeof(err));
		if (rv != 0) {
			log_error("%s: %s", files[i], err);
			status = 1;
			continue;
		}
		rv = oneshot_print(o, &d, files[i], a);
		if (rv == -2 || fflush(stdout) != 0) {
			log_error("stdout: %m");
			status = EXIT_SYSTEM;
			break;
		}
		if (rv < 0)
			status = 1;
	}
	decoder_free(dec);
	arena_free(a);
	buf_release(&in);
	return status;
}

/* --- the stage ------------------------------------------------------- */

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
	rv = decoder_run(st->dec, raw->body.data, raw->body.len, st->a, &d,
	    err, sizeof(err));
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
stage_open(struct stage *st, const struct opts *o)
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

static int
stage_run(const struct opts *o)
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

int
main(int argc, char **argv)
{
	struct opts o;

	memset(&o, 0, sizeof(o));
	o.ready_fd = -1;
	o.drain_ms = 10000;
	o.level = LOG_INFO;
	decode_limits_default(&o.lim);
	log_init("profpipe-decoder", LOG_INFO);
	if (parse_opts(&o, argc, argv) < 0)
		return EXIT_USAGE;
	log_set_level(o.level);
	if (o.max_memory == 0)
		o.max_memory = decode_arena_cap(&o.lim);
	/* Keep freed arena blocks in the heap for the next profile rather
	 * than mapping and faulting them in again each time. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	if (optind < argc)
		return oneshot(&o, argc - optind, argv + optind);
	return stage_run(&o);
}
