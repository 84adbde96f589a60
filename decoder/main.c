/*
 * profpipe-decoder: the decoder stage (decoder/stage.c), or, given files,
 * a one-shot decode of them to stdout (decoder/oneshot.c). Glue: parse
 * the flags, pick the mode, run it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bus.h"
#include "common/log.h"
#include "common/proc.h"
#include "decoder/oneshot.h"
#include "decoder/options.h"
#include "decoder/stage.h"
#include "decoder/stage_int.h"

_Static_assert(DECODER_STAGE_SLOTS == 8, "--help names the slots");
_Static_assert(STAGE_KEEP_REF == (size_t)32 << 20, "--help names it");

static const char usage[] =
    "usage: profpipe-decoder [--raw URL] [--decoded URL] [--tap URL]\n"
    "                        [--ready-fd N] [--max-inflated BYTES]\n"
    "                        [--max-memory BYTES] [--drain SECONDS]\n"
    "                        [--portable] [-v | -q]\n"
    "       profpipe-decoder [--format folded|json] [--sample-type NAME]\n"
    "                        [--max-inflated BYTES] [--max-memory BYTES]\n"
    "                        [--portable] FILE...\n"
    "\n"
    "The decoder stage: takes raw profiles (gzip, zstd or plain pprof) from\n"
    "the fetcher, decodes them into stacks and hands them to the aggregator.\n"
    "It dials both; run as many as there are cores. Over ipc, a decoded\n"
    "profile of 64K or more goes to the aggregator as a reference to a\n"
    "memfd of the decoder's, which the aggregator maps (inline if it\n"
    "cannot, and from then on).\n"
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
    "  --max-memory N      memory one decode may use (one runs at a time;\n"
    "                      default: 8x max-inflated, at least 256M); the\n"
    "                      up to 8 decoded profiles waiting for the\n"
    "                      aggregator are held packed, on top; once\n"
    "                      answered, their memfds keep 32M in all\n"
    "  --drain SECONDS     after SIGTERM, how long to keep offering the\n"
    "                      profiles in flight to the aggregator (default 10)\n"
    "  -v, -q              more, or less, logging\n"
    "\n" BUS_URL_HELP
    "Signals: TERM/INT stop (see --drain); USR1 logs the counters and the\n"
    "memory (resident, heap in use, heap held), as at exit.\n"
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
    "  --portable          either way, read without BMI2's pext where this\n"
    "                      CPU has a fast one: the way CPUs without one\n"
    "                      (AMD before Zen 3, x86 before BMI2) read; for\n"
    "                      testing that path here\n"
    "\n";

/* The usage, with the caps no flag sets taken from decode.h, so that it
 * cannot drift from them. */
static void
print_usage(FILE *f)
{
	fputs(usage, f);
	fprintf(f,
	    "Either way, a profile is refused, with where and why, past the "
	    "caps:\n--max-inflated, %u frames in a sample (inlined ones "
	    "counted), %u\nentries in a table, %u labels on a sample.\n\n"
	    "Exit status: 0 done, 1 a file failed, 100 usage, 111 system "
	    "failure.\n",
	    DECODE_MAX_DEPTH, DECODE_MAX_TABLE, DECODE_MAX_LABELS);
}

static int
parse_opts(struct decoder_opts *o, int argc, char **argv)
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
	    {"portable", no_argument, NULL, 'P'},
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
			print_usage(stdout);
			exit(EXIT_OK);
		case 'R':
			if (proc_parse_long(optarg, 0, 1 << 20, &o->ready_fd) <
			    0)
				goto bad;
			break;
		case 'I':
			if (decoder_parse_size(optarg, &o->lim.max_inflated) <
			    0)
				goto bad;
			break;
		case 'M':
			if (decoder_parse_size(optarg, &o->max_memory) < 0)
				goto bad;
			break;
		case 'D':
			if (proc_parse_long(optarg, 0, 3600, &o->drain_ms) < 0)
				goto bad;
			o->drain_ms *= 1000;
			break;
		case 'P':
			o->lim.portable = 1;
			break;
		default:
			print_usage(stderr);
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

int
main(int argc, char **argv)
{
	struct decoder_opts o;

	proc_keep_memory();
	decoder_opts_defaults(&o);
	log_init("profpipe-decoder", LOG_INFO);
	if (parse_opts(&o, argc, argv) < 0)
		return EXIT_USAGE;
	log_set_level(o.level);
	if (o.max_memory == 0)
		o.max_memory = decode_arena_cap(&o.lim);
	if (optind < argc)
		return decoder_oneshot(&o, argc - optind, argv + optind);
	return decoder_stage_run(&o);
}
