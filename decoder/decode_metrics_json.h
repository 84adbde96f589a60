/*
 * decode_metrics_json: dd-trace-go's metrics.json, an attachment of kind
 * "metrics" pushed with the profiles, into Decoded.runtime_metrics (no
 * stacks). The document is an array of [name, number] pairs:
 *
 *   [["go_alloc_bytes_per_sec", 1048576.5], ["go_gcs_per_sec", 0.5], ...]
 *
 * It may come gzip- or zstd-compressed (dd-trace-go v2.5 compresses every
 * attachment); it is inflated first, to METRICS_JSON_MAX_BYTES at most.
 * Caps: METRICS_JSON_MAX_METRICS pairs, names of METRICS_JSON_MAX_NAME
 * bytes; anything else in the array (a pair of three, a string value, a
 * nested object) refuses the whole document. Units are left empty: the
 * names say what they measure. No I/O.
 */
#ifndef PROFPIPE_DECODER_DECODE_METRICS_JSON_H
#define PROFPIPE_DECODER_DECODE_METRICS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire.pb-c.h"

#define METRICS_JSON_MAX_BYTES (1 << 20)
#define METRICS_JSON_MAX_METRICS 1024
#define METRICS_JSON_MAX_NAME 256

struct arena;

/* Parse the JSON text (len bytes, not NUL-terminated) into out[0..*n),
 * allocated in a. 0, or -1 with the reason and byte offset in err. */
int metrics_json_parse(const char *json, size_t len, struct arena *a,
    Profpipe__Metric ***out, size_t *n, char *err, size_t errlen);

/* A Decoded of kind "metrics" for body (plain, gzip or zstd): no stacks,
 * runtime_metrics set. The caller fills out->origin. 0, or -1 with the
 * reason in err. */
int metrics_json_decode(const uint8_t *body, size_t len, struct arena *a,
    Profpipe__Decoded *out, char *err, size_t errlen);

#endif
