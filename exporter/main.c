/*
 * profpipe-exporter: the last stage. Listens for the aggregator's results
 * and writes each to every configured sink that takes its shape
 * (exporter/outputs.h), acking a result only once all of them hold it.
 * Glue only: options, config, sinks, the stage, signals, readiness, the
 * loop.
 */
#include <stdio.h>
#include <string.h>

#include "common/bus.h"
#include "common/config.h"
#include "common/log.h"
#include "common/proc.h"
#include "exporter/outputs.h"
#include "exporter/stage.h"

#define EXPORT_POLL_MS 200

static const char export_usage[] =
    "usage: profpipe-exporter [-c FILE] [--results URL] [--ready-fd N] "
    "[-v|-q]\n"
    "\n"
    "Writes the aggregator's results (profiles, windows, runtime metrics)\n"
    "to the sinks in FILE's outputs: list (jsonl records, folded stacks,\n"
    "pprof files, flame graphs, Prometheus /metrics and line protocol);\n"
    "without -c, jsonl on standard output.\n"
    "\n"
    "  -c FILE         the pipeline's YAML config\n"
    "  --results URL   listen here (default ipc://$PROFPIPE_RUN/results.ipc)\n"
    "  --ready-fd N    write a newline to fd N once listening\n"
    "  -v, -q          more / less logging on stderr\n"
    "\n" BUS_URL_HELP
    "Signals: TERM/INT stop; USR1 logs the memory (resident, heap in use,\n"
    "heap held).\n";

struct export_opts {
	const char *config;
	const char *url;
	long ready_fd;
	enum log_level level;
};

/* 0 to run, 1 for --help, -1 for a usage error (already reported). */
static int
export_parse(int argc, char **argv, struct export_opts *o)
{
	int i;

	o->config = NULL;
	o->url = NULL;
	o->ready_fd = -1;
	o->level = LOG_INFO;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
		if (strcmp(argv[i], "-v") == 0) {
			o->level = LOG_DEBUG;
		} else if (strcmp(argv[i], "-q") == 0) {
			o->level = LOG_WARN;
		} else if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
			o->config = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--results") == 0) {
			o->url = argv[++i];
		} else if (i + 1 < argc &&
		    strcmp(argv[i], "--ready-fd") == 0) {
			if (proc_parse_long(
			        argv[++i], 0, 1 << 20, &o->ready_fd) < 0) {
				log_error("--ready-fd: not a file descriptor: "
				          "%s",
				    argv[i]);
				return -1;
			}
		} else {
			log_error("unknown or incomplete option: %s (see "
			          "--help)",
			    argv[i]);
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct export_opts o;
	struct cfg *cfg = NULL;
	struct outputs outs;
	struct export_stage *st = NULL;
	char url[1024];
	char err[1024];
	int rv;
	int code = EXIT_SYSTEM;

	proc_keep_memory();
	log_init("profpipe-exporter", LOG_INFO);
	rv = export_parse(argc, argv, &o);
	if (rv != 0) {
		if (rv > 0)
			fputs(export_usage, stdout);
		return rv > 0 ? EXIT_OK : EXIT_USAGE;
	}
	log_set_level(o.level);
	if (o.url == NULL) {
		if (proc_default_url(url, sizeof(url), "results.ipc") < 0) {
			log_error("run directory: cannot create it or name "
			          "too long");
			return EXIT_SYSTEM;
		}
		o.url = url;
	}
	if (o.config != NULL &&
	    cfg_load(&cfg, o.config, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return EXIT_USAGE;
	}
	if (outputs_open(&outs, cfg, err, sizeof(err)) < 0) {
		log_error("%s", err);
		cfg_free(cfg);
		return EXIT_USAGE;
	}
	rv =
	    export_stage_new(&st, o.url, outs.sinks, outs.n, err, sizeof(err));
	if (rv < 0) {
		log_error("%s", err);
		if (rv == BUS_EINVAL)
			code = EXIT_USAGE;
		goto out_close_outputs;
	}
	proc_signals();
	proc_notify_ready((int)o.ready_fd);
	log_info("listening on %s, %zu sinks", o.url, outs.n);
	while (!proc_stopping()) {
		if (proc_take_usr1())
			proc_log_memory();
		rv = export_stage_step(st, EXPORT_POLL_MS);
		if (rv < 0) {
			log_error("%s: %s", o.url, bus_strerror(rv));
			goto out_free_stage;
		}
	}
	log_info("stopping");
	code = EXIT_OK;
out_free_stage:
	export_stage_free(st);
out_close_outputs:
	outputs_close(&outs);
	cfg_free(cfg);
	return code;
}
