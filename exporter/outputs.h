/*
 * outputs: the config file's outputs: list turned into open sinks.
 *
 *   outputs:
 *     - Type: jsonl
 *       Path: "-"
 *     - Type: folded
 *       Dir: /var/lib/profpipe/folded
 *
 * Without the list (or without a config file) there is one jsonl sink on
 * standard output. Every mistake is refused at start as "file:line: what".
 */
#ifndef PROFPIPE_EXPORT_OUTPUTS_H
#define PROFPIPE_EXPORT_OUTPUTS_H

#include <stddef.h>

#include "common/config.h"
#include "exporter/sink.h"

#define OUTPUTS_MAX 32

struct outputs {
	struct sink *sinks[OUTPUTS_MAX];
	size_t n;
};

/* c may be NULL (no config file). On error nothing stays open. */
int outputs_open(
    struct outputs *o, const struct cfg *c, char *err, size_t errlen);
/* Flush and close every sink. */
void outputs_close(struct outputs *o);

#endif
