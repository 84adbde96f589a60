/*
 * inputs_push: inputs of Type profile_push, the push intake's settings,
 * read from the same inputs: section as the pull inputs (fetcher/inputs.c
 * calls in here for them):
 *
 *   inputs:
 *     - Type: profile_push
 *       Listen: 127.0.0.1:9529          # DataKit's port; [v6]:port too
 *       Endpoints: [/profiling/v1/input] # DataKit's `endpoints` also read
 *       MaxSize: 31457280               # bytes per request (413 past it)
 *       Labels: {cluster: eu-1}         # added to every pushed profile
 *       Token: secret                   # optional: Bearer or DD-API-KEY
 *       AckTimeout: 5                   # seconds for the decoders' ack
 *
 * Every value is checked here, with "file:line: key: reason" on error; two
 * push inputs may not share a Listen address (list the endpoints in one).
 */
#ifndef PROFPIPE_FETCHER_INPUTS_PUSH_H
#define PROFPIPE_FETCHER_INPUTS_PUSH_H

#include <stddef.h>

#include "common/config.h"

#define INPUTS_PUSH_JOB "profile_push"
#define INPUTS_PUSH_LISTEN "127.0.0.1:9529"
#define INPUTS_PUSH_ENDPOINT "/profiling/v1/input"
#define INPUTS_PUSH_MAX_SIZE 31457280L
#define INPUTS_PUSH_MAX_ENDPOINTS 16

struct inputs;
struct inputs_label;

struct inputs_push {
	const char *host; /* to bind, as written ("127.0.0.1", "::1") */
	int port;
	const char *listen; /* as written, for messages */
	const char **endpoints;
	size_t nendpoints;
	size_t max_size;                   /* bytes per request */
	const struct inputs_label *labels; /* sorted by key */
	size_t nlabels;
	const char *token; /* NULL: no auth */
	long ack_timeout_s;
	int line;
};

/* Read one profile_push input node into in->pushes[in->npushes++] (the
 * array is sized by the caller). 0, or -1 with the reason in err. */
int inputs_push_parse(const struct cfg *c, const struct cfg_node *input,
    struct inputs *in, char *err, size_t errlen);

#endif
