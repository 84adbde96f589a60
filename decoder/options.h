/*
 * options: what profpipe-decoder runs with, for both of its modes (the
 * stage and the one-shot decode of files); main.c fills it from the flags.
 */
#ifndef PROFPIPE_DECODER_OPTIONS_H
#define PROFPIPE_DECODER_OPTIONS_H

#include <stddef.h>

#include "common/log.h"
#include "decoder/decode.h"

struct decoder_opts {
	const char *raw;         /* NULL: ipc://$PROFPIPE_RUN/raw.ipc */
	const char *decoded;     /* NULL: .../decoded.ipc */
	const char *tap;         /* NULL: .../decoder.tap */
	const char *format;      /* one-shot: "folded" (NULL) or "json" */
	const char *sample_type; /* one-shot folded: NULL, the default */
	long ready_fd;           /* -1: none */
	long drain_ms;           /* after SIGTERM, for the profile in hand */
	size_t max_memory;       /* the arena's cap; 0: decode_arena_cap */
	struct decode_limits lim;
	enum log_level level;
};

void decoder_opts_defaults(struct decoder_opts *o);

/* A byte count: decimal, with an optional K, M or G (powers of 1024).
 * 0, or -1 if s is not one. */
int decoder_parse_size(const char *s, size_t *out);

#endif
