/*
 * profpipe-aggregator: the stateful stage between the decoders and the
 * exporter (stage.h says what it does with each profile). This file is
 * glue: options, the stage, signals, readiness, the loop.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "aggregator/options.h"
#include "aggregator/stage.h"
#include "common/bus.h"
#include "common/log.h"
#include "common/proc.h"

static const char usage[] =
    "usage: profpipe-aggregator [-c FILE] [--decoded URL] [--results URL]\n"
    "                           [--tap URL] [--ready-fd N] [-v|-q]\n"
    "\n"
    "Turns decoded profiles into results: cumulative counters (heap\n"
    "alloc_*, mutex and block without seconds=) become the delta since the\n"
    "previous profile of the same (service, instance, kind); profiles are\n"
    "merged into time windows and Go runtime metrics per instance.\n"
    "Over ipc, a decoded profile or result of 64K or more travels as a\n"
    "reference to its sender's memfd, which the receiver maps.\n"
    "\n"
    "  -c FILE        the pipeline's YAML file; reads its aggregator:\n"
    "                 section (SeriesTTL, MaxSeries, MaxStacksPerSeries,\n"
    "                 Window, WindowGrace, MaxStacksPerWindow,\n"
    "                 MergeInstances)\n"
    "  --decoded URL  listen for decoders (default "
    "ipc://$PROFPIPE_RUN/decoded.ipc)\n"
    "  --results URL  the exporter (default "
    "ipc://$PROFPIPE_RUN/results.ipc)\n"
    "  --tap URL      publish each result here (default "
    "ipc://$PROFPIPE_RUN/aggregator.tap)\n"
    "  --ready-fd N   write a newline to fd N once listening\n"
    "  -v, -q         more (debug) or less (warnings only) on stderr\n"
    "\n" BUS_URL_HELP
    "Signals: TERM/INT stop: windows still open are sent, partial; USR1\n"
    "logs the counters and the memory (resident, heap in use, heap held),\n"
    "as at exit.\n";

static int
usage_error(int *status, const char *what, const char *arg)
{
	log_error(
	    "%s%s%s (see --help)", what, arg ? ": " : "", arg ? arg : "");
	*status = EXIT_USAGE;
	return -1;
}

/* 0 to go on; -1 to exit at once with *status. */
static int
parse_args(
    int argc, char **argv, struct agg_options *o, int *ready_fd, int *status)
{
	static const struct option longopts[] = {
	    {"decoded", required_argument, NULL, 'd'},
	    {"results", required_argument, NULL, 'r'},
	    {"tap", required_argument, NULL, 't'},
	    {"ready-fd", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	char err[512];
	long fd;
	int c;

	while ((c = getopt_long(argc, argv, "c:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			o->decoded_url = optarg;
			break;
		case 'r':
			o->results_url = optarg;
			break;
		case 't':
			o->tap_url = optarg;
			break;
		case 'R':
			if (proc_parse_long(optarg, 0, 1000000, &fd) < 0)
				return usage_error(status,
				    "--ready-fd: not a file descriptor",
				    optarg);
			*ready_fd = (int)fd;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'q':
			log_set_level(LOG_WARN);
			break;
		case 'h':
			fputs(usage, stdout);
			*status = EXIT_OK;
			return -1;
		default:
			return usage_error(status, "bad option", NULL);
		}
	}
	if (optind < argc)
		return usage_error(
		    status, "unexpected argument", argv[optind]);
	if (config != NULL &&
	    agg_options_load(o, config, err, sizeof(err)) < 0) {
		log_error("%s", err);
		*status = EXIT_USAGE;
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct agg_options opt;
	struct agg_stage *st;
	char err[1024];
	int ready_fd = -1;
	int rc;

	proc_keep_memory();
	log_init("profpipe-aggregator", LOG_INFO);
	agg_options_defaults(&opt);
	opt.stopping = proc_stopping;
	if (parse_args(argc, argv, &opt, &ready_fd, &rc) < 0)
		return rc;
	proc_signals();
	rc = agg_open(&st, &opt, err, sizeof(err));
	if (rc < 0) {
		log_error("%s", err);
		return rc == BUS_EINVAL ? EXIT_USAGE : EXIT_SYSTEM;
	}
	proc_notify_ready(ready_fd);
	rc = EXIT_OK;
	while (!proc_stopping()) {
		if (proc_take_usr1())
			agg_log_counters(st, "counters");
		if (agg_step(st, 200) < 0) {
			rc = EXIT_SYSTEM;
			break;
		}
	}
	agg_finish(st);
	proc_exit_watchdog(PROC_CLOSE_SECONDS);
	agg_close(st);
	return rc;
}
