/*
 * profpipe-fetcher: pulls profiles from Go services' net/http/pprof
 * endpoints and hands them to the decoders. Glue only: read the options
 * and the config, build the sender (the raw and tap sockets) and the pull
 * (schedule + scrapes), install the signal watchers, say ready, run the
 * loop, and on the way out drain what is in flight and log the counters.
 */
#include <curl/curl.h>
#include <ev.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/bus.h"
#include "common/log.h"
#include "common/proc.h"
#include "fetcher/inputs.h"
#include "fetcher/pull.h"
#include "fetcher/push.h"
#include "fetcher/sender.h"

#define DRAIN_SECONDS 10.0

static const char usage[] =
    "usage: profpipe-fetcher -c FILE [--raw URL] [--tap URL] [--inflight N]\n"
    "                        [--ready-fd N] [-v|-q] [--help]\n"
    "\n"
    "Pulls profiles from Go services' net/http/pprof endpoints, as listed in\n"
    "the inputs: section of FILE (iLogtail service_go_profile keys), and\n"
    "sends each to the decoders as a raw profile; with profile_push inputs\n"
    "it also serves HTTP for dd-trace-go's uploads and answers each one\n"
    "once the decoders have taken its profiles. Runs in the foreground and\n"
    "logs on stderr, one line per event.\n"
    "\n"
    "  -c, --config FILE  the pipeline's YAML file (only inputs: is read)\n"
    "      --raw URL      listen here for decoders\n"
    "                     (default ipc://$PROFPIPE_RUN/raw.ipc)\n"
    "      --tap URL      publish a copy of each raw profile here\n"
    "                     (default ipc://$PROFPIPE_RUN/fetcher.tap)\n"
    "      --inflight N   profiles awaiting a decoder's ack at most (16);\n"
    "                     a scrape due while N wait is skipped (push\n"
    "                     inputs add 64 more that only uploads use, and\n"
    "                     may use the N). Over ipc, one\n"
    "                     of 64K or more is sent as a reference to a memfd\n"
    "                     of the fetcher's (one per slot, keeping 256K)\n"
    "      --ready-fd N   write a newline to fd N once listening\n"
    "  -v, --verbose      also log each request (debug)\n"
    "  -q, --quiet        only warnings and errors\n"
    "  -h, --help         this text\n"
    "\n"
    "$PROFPIPE_RUN defaults to /tmp/profpipe.\n" BUS_URL_HELP
    "Signals: TERM/INT stop: no new scrapes, transfers aborted, up to 10 s\n"
    "for acks of profiles already sent (a second TERM/INT stops waiting);\n"
    "HUP reloads the targets from FILE (a bad file is logged and the old\n"
    "targets kept); USR1 logs the counters, as at exit, and the memory\n"
    "(resident, heap in use, heap held).\n"
    "Exit: 0 stopped, 100 usage or configuration error, 111 system failure.\n";

struct opts {
	const char *config;
	const char *raw;
	const char *tap;
	long inflight;
	long ready_fd;
	enum log_level level;
};

struct fetcher {
	struct ev_loop *loop;
	const char *config;
	struct sender *snd;
	struct pull *pull;
	struct push *push;
	int draining;
	ev_signal sig[5];
	ev_timer deadline;
};

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"raw", required_argument, NULL, 'r'},
	    {"tap", required_argument, NULL, 't'},
	    {"inflight", required_argument, NULL, 'n'},
	    {"ready-fd", required_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->inflight = 16;
	o->ready_fd = -1;
	o->level = LOG_INFO;
	for (;;) {
		c = getopt_long(argc, argv, "c:vqh", longs, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'r':
			o->raw = optarg;
			break;
		case 't':
			o->tap = optarg;
			break;
		case 'n':
			if (proc_parse_long(optarg, 1, 4096, &o->inflight) <
			    0) {
				log_error("--inflight: expected 1 to 4096, "
				          "found \"%s\"",
				    optarg);
				return -1;
			}
			break;
		case 'f':
			if (proc_parse_long(optarg, 0, INT_MAX, &o->ready_fd) <
			    0) {
				log_error("--ready-fd: expected a file "
				          "descriptor, found \"%s\"",
				    optarg);
				return -1;
			}
			break;
		case 'v':
			o->level = LOG_DEBUG;
			break;
		case 'q':
			o->level = LOG_WARN;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (optind < argc) {
		log_error(
		    "unexpected argument \"%s\" (try --help)", argv[optind]);
		return -1;
	}
	if (o->config == NULL) {
		log_error("-c FILE is required (try --help)");
		return -1;
	}
	return 0;
}

static void
log_notes(const struct inputs *in)
{
	size_t i;

	for (i = 0; i < in->nnotes; i++)
		log_warn("%s", in->notes[i]);
	if (in->ntargets == 0 && in->npushes == 0)
		log_warn("no targets to pull and no push intake");
}

static void
log_counters(struct fetcher *f, size_t abandoned)
{
	char line[1024];
	struct push_stats ps;

	pull_format_counters(f->pull, f->snd, abandoned, line, sizeof(line));
	log_info("counters: %s", line);
	if (push_listeners(f->push) == 0)
		return;
	push_stats(f->push, &ps);
	log_info("push counters: requests=%llu ok=%llu bad=%llu "
	         "unauthorized=%llu busy=%llu profiles=%llu unknown=%llu "
	         "tags_skipped=%llu http_errors=%llu",
	    (unsigned long long)ps.requests, (unsigned long long)ps.ok,
	    (unsigned long long)ps.bad, (unsigned long long)ps.unauth,
	    (unsigned long long)ps.busy, (unsigned long long)ps.profiles,
	    (unsigned long long)ps.unknown,
	    (unsigned long long)ps.tags_skipped,
	    (unsigned long long)ps.http_errors);
}

static void
on_drained(void *arg)
{
	struct fetcher *f = arg;

	ev_break(f->loop, EVBREAK_ALL);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* TERM/INT: stop taking input, wait for the acks of what was sent. A
 * second signal stops waiting. */
static void
on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct fetcher *f = w->data;

	(void)revents;
	if (f->draining) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	f->draining = 1;
	pull_stop(f->pull);
	push_stop(f->push);
	if (sender_inflight(f->snd) == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("stopping: waiting up to %.0f s for %zu profiles in flight",
	    DRAIN_SECONDS, sender_inflight(f->snd));
	sender_on_idle(f->snd, on_drained, f);
	ev_timer_init(&f->deadline, on_deadline, DRAIN_SECONDS, 0.0);
	ev_timer_start(loop, &f->deadline);
}

static void
on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct fetcher *f = w->data;
	struct inputs *in;
	char err[1024];

	(void)loop;
	(void)revents;
	if (f->draining)
		return;
	if (inputs_load(&in, f->config, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the old targets", err);
		return;
	}
	log_notes(in);
	if (pull_reload(f->pull, in, err, sizeof(err)) < 0)
		log_error("reload: %s; keeping the old targets", err);
	else
		log_info("reloaded %s: %zu targets, %zu profiles to pull",
		    f->config, in->ntargets, pull_jobs(f->pull));
	inputs_unref(in);
}

static void
on_usr1(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	log_counters(w->data, 0);
	proc_log_memory();
}

static void
watch_signals(struct fetcher *f)
{
	static const int sigs[5] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, 0};
	int i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; sigs[i] != 0; i++) {
		ev_signal_init(&f->sig[i],
		    sigs[i] == SIGHUP        ? on_hup
		        : sigs[i] == SIGUSR1 ? on_usr1
		                             : on_stop,
		    sigs[i]);
		f->sig[i].data = f;
		ev_signal_start(f->loop, &f->sig[i]);
	}
}

int
main(int argc, char **argv)
{
	struct fetcher f;
	struct opts o;
	struct inputs *in = NULL;
	char raw[512];
	char tap[512];
	char err[1024];
	size_t abandoned;
	size_t i;
	int rv;
	int code = EXIT_SYSTEM;

	proc_keep_memory();
	log_init("profpipe-fetcher", LOG_INFO);
	rv = parse_opts(argc, argv, &o);
	if (rv != 0)
		return rv > 0 ? EXIT_OK : EXIT_USAGE;
	log_set_level(o.level);
	if (inputs_load(&in, o.config, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	log_notes(in);
	if ((o.raw == NULL &&
	        proc_default_url(raw, sizeof(raw), "raw.ipc") < 0) ||
	    (o.tap == NULL && bus_tap_url(tap, sizeof(tap), "fetcher") < 0)) {
		log_error("cannot make the run directory for the sockets "
		          "($PROFPIPE_RUN)");
		goto out_free_inputs;
	}
	/* Before any thread exists: curl's global init is not thread-safe. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("libcurl: global init failed");
		goto out_free_inputs;
	}
	memset(&f, 0, sizeof(f));
	f.config = o.config;
	f.loop = ev_default_loop(0);
	if (f.loop == NULL) {
		log_error("libev: no event loop");
		goto out_curl;
	}
	rv = sender_new(&f.snd, f.loop, o.raw ? o.raw : raw,
	    o.tap ? o.tap : tap,
	    (int)o.inflight + (in->npushes > 0 ? PUSH_SLOTS : 0), err,
	    sizeof(err));
	if (rv < 0) {
		log_error("%s", err);
		if (rv == BUS_EINVAL)
			code = EXIT_USAGE;
		goto out_curl;
	}
	if (pull_new(&f.pull, f.loop, f.snd, in,
	        in->npushes > 0 ? PUSH_SLOTS : 0, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_free_sender;
	}
	if (push_new(&f.push, f.loop, f.snd, in, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_free_pull;
	}
	watch_signals(&f);
	proc_notify_ready((int)o.ready_fd);
	log_info("pulling %zu profiles from %zu targets; decoders dial %s",
	    pull_jobs(f.pull), in->ntargets, o.raw ? o.raw : raw);
	for (i = 0; i < in->npushes; i++)
		log_info("push intake on http://%s%s (%zu paths)",
		    in->pushes[i].listen, in->pushes[i].endpoints[0],
		    in->pushes[i].nendpoints);
	ev_run(f.loop, 0);

	abandoned = sender_inflight(f.snd);
	if (abandoned > 0)
		log_warn("%zu profiles in flight abandoned at exit (no ack "
		         "from a decoder)",
		    abandoned);
	log_counters(&f, abandoned);
	code = EXIT_OK;
	push_free(f.push);
out_free_pull:
	pull_free(f.pull);
out_free_sender:
	sender_free(f.snd);
out_curl:
	curl_global_cleanup();
out_free_inputs:
	inputs_unref(in);
	return code;
}
