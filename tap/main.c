/*
 * profpipe-tap: print what a stage sends, one JSON line per message.
 * Subscribes to the stage's tap (the PUB copy every stage publishes of what
 * it hands on), unpacks each message as that stage's message type and
 * prints it with tap/json.h. The tap is best effort: messages published
 * while no one listens, or faster than this reads, are gone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/bus.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/wire.pb-c.h"
#include "tap/json.h"

#define TAP_POLL_MS 200
#define TAP_LINE_CAP ((size_t)1024 * 1024 * 1024)

static const char tap_usage[] =
    "usage: profpipe-tap STAGE [--url URL] [--count N] [--bytes]\n"
    "\n"
    "Prints each message STAGE hands on as one JSON line on standard\n"
    "output, until interrupted or N messages have been printed.\n"
    "\n"
    "  STAGE        fetcher (RawProfile), decoder (Decoded) or\n"
    "               aggregator (Result)\n"
    "  --url URL    the tap to dial (default ipc://$PROFPIPE_RUN/STAGE.tap)\n"
    "  --count N    stop after N messages\n"
    "  --bytes      print bytes fields (a RawProfile's body: the profile\n"
    "               as fetched or pushed) in base64, not as their length;\n"
    "               a large profile comes whole, though the decoders get\n"
    "               it by reference\n"
    "\n" BUS_URL_HELP;

static const struct {
	const char *stage;
	const ProtobufCMessageDescriptor *desc;
} tap_stages[] = {
    {"fetcher", &profpipe__raw_profile__descriptor},
    {"decoder", &profpipe__decoded__descriptor},
    {"aggregator", &profpipe__result__descriptor},
};

struct tap_opts {
	const char *stage;
	const ProtobufCMessageDescriptor *desc;
	const char *url;
	long count;     /* 0: no limit */
	unsigned flags; /* for tap_json_message */
};

static const ProtobufCMessageDescriptor *
tap_stage_desc(const char *stage)
{
	size_t i;

	for (i = 0; i < sizeof(tap_stages) / sizeof(tap_stages[0]); i++) {
		if (strcmp(stage, tap_stages[i].stage) == 0)
			return tap_stages[i].desc;
	}
	return NULL;
}

/* 0 to run, 1 for --help, -1 for a usage error (already reported). */
static int
tap_parse(int argc, char **argv, struct tap_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
		if (strcmp(argv[i], "--bytes") == 0) {
			o->flags |= TAP_JSON_BYTES;
		} else if (i + 1 < argc && strcmp(argv[i], "--url") == 0) {
			o->url = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--count") == 0) {
			if (proc_parse_long(
			        argv[++i], 1, 1L << 40, &o->count) < 0) {
				log_error("--count: not a positive number: %s",
				    argv[i]);
				return -1;
			}
		} else if (argv[i][0] != '-' && o->stage == NULL) {
			o->stage = argv[i];
		} else {
			log_error("unknown or incomplete option: %s (see "
			          "--help)",
			    argv[i]);
			return -1;
		}
	}
	if (o->stage == NULL) {
		log_error("which stage? fetcher, decoder or aggregator (see "
		          "--help)");
		return -1;
	}
	o->desc = tap_stage_desc(o->stage);
	if (o->desc == NULL) {
		log_error("unknown stage \"%s\": fetcher, decoder or "
		          "aggregator",
		    o->stage);
		return -1;
	}
	return 0;
}

/* Print one message; *printed is 0 when it was skipped (logged). 0, 1
 * when standard output is gone (a closed pipe: the reader has seen
 * enough), -1 on another write failure. */
static int
tap_print(const struct tap_opts *o, struct arena *a, struct buf *line,
    const void *msg, size_t len, int *printed)
{
	ProtobufCAllocator alloc;
	ProtobufCMessage *m;

	*printed = 0;
	arena_reset(a);
	arena_pb_allocator(a, &alloc);
	m = protobuf_c_message_unpack(o->desc, &alloc, len, msg);
	if (m == NULL) {
		log_warn("%s: a message of %zu bytes does not unpack as %s",
		    o->stage, len, o->desc->name);
		return 0;
	}
	buf_clear(line);
	if (tap_json_message(line, m, o->flags) < 0 ||
	    buf_putc(line, '\n') < 0) {
		log_warn("%s: a message of %zu bytes is too large to print",
		    o->stage, len);
		return 0;
	}
	if (fwrite(line->data, 1, line->len, stdout) != line->len ||
	    fflush(stdout) != 0) {
		if (errno == EPIPE)
			return 1;
		log_error("stdout: %s", strerror(errno));
		return -1;
	}
	*printed = 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct tap_opts o;
	struct bus_sock *sock = NULL;
	struct arena *a;
	struct buf line;
	char url[1024];
	char err[1024];
	void *msg;
	size_t len;
	long seen = 0;
	int printed;
	int code = EXIT_SYSTEM;
	int rv;

	log_init("profpipe-tap", LOG_INFO);
	rv = tap_parse(argc, argv, &o);
	if (rv != 0) {
		if (rv > 0)
			fputs(tap_usage, stdout);
		return rv > 0 ? EXIT_OK : EXIT_USAGE;
	}
	if (o.url == NULL) {
		if (bus_tap_url(url, sizeof(url), o.stage) < 0) {
			log_error("run directory: cannot create it or name "
			          "too long");
			return EXIT_SYSTEM;
		}
		o.url = url;
	}
	a = arena_new(4 * BUS_MAX_MSG);
	if (a == NULL) {
		log_error("out of memory");
		return EXIT_SYSTEM;
	}
	buf_init(&line, TAP_LINE_CAP);
	/* Every stage listens on its tap but the decoders, which are many and
	 * dial it, so that one tap hears them all. */
	rv = bus_open(&sock, BUS_SUB, o.url, strcmp(o.stage, "decoder") == 0,
	    err, sizeof(err));
	if (rv < 0) {
		log_error("%s", err);
		if (rv == BUS_EINVAL)
			code = EXIT_USAGE;
		goto out_free_arena;
	}
	proc_signals();
	while (!proc_stopping() && (o.count == 0 || seen < o.count)) {
		rv = bus_subscribe_recv(sock, &msg, &len, TAP_POLL_MS);
		if (rv == BUS_ETIMEDOUT)
			continue;
		if (rv < 0) {
			log_error("%s: %s", o.url, bus_strerror(rv));
			goto out_close;
		}
		rv = tap_print(&o, a, &line, msg, len, &printed);
		bus_free(msg, len);
		if (rv < 0)
			goto out_close;
		if (rv > 0)
			break;
		seen += printed;
	}
	code = EXIT_OK;
out_close:
	bus_close(sock);
out_free_arena:
	buf_release(&line);
	arena_free(a);
	return code;
}
