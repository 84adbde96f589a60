/*
 * oneshot: profpipe-decoder given files: each is decoded and printed to
 * stdout, folded or as JSON (decode_print.h), and no socket is opened.
 */
#ifndef PROFPIPE_DECODER_ONESHOT_H
#define PROFPIPE_DECODER_ONESHOT_H

#include "decoder/options.h"

/* Decode and print files[0 .. n) ("-" is stdin). Returns the exit status:
 * 0 all decoded, 1 one failed (named on stderr), EXIT_SYSTEM when stdout
 * or memory fails. */
int decoder_oneshot(const struct decoder_opts *o, int n, char **files);

#endif
