/*
 * decode_metrics_json: the array is walked with common/json_scan, each
 * pair read into a Profpipe__Metric in the arena. The compressed forms
 * go through decode_inflate with a state made for the call: metrics come
 * once per upload, so keeping a decompressor for them is not worth it.
 */
#include "decoder/decode_metrics_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/json_scan.h"
#include "decoder/decode.h"
#include "decoder/decode_inflate.h"

static int
metrics_json_pair(
    struct json_scan *js, struct arena *a, Profpipe__Metric **out)
{
	char name[METRICS_JSON_MAX_NAME + 1];
	Profpipe__Metric *m;
	size_t n;
	double v;

	if (json_scan_expect(js, '[') < 0 ||
	    json_scan_string(js, name, sizeof(name), &n) < 0 ||
	    json_scan_expect(js, ',') < 0 || json_scan_number(js, &v) < 0 ||
	    json_scan_expect(js, ']') < 0)
		return -1;
	m = arena_alloc(a, sizeof(*m));
	if (m == NULL)
		return -2;
	profpipe__metric__init(m);
	m->name = arena_strndup(a, name, n);
	m->unit = "";
	m->value = isfinite(v) ? v : 0;
	if (m->name == NULL)
		return -2;
	*out = m;
	return 0;
}

int
metrics_json_parse(const char *json, size_t len, struct arena *a,
    Profpipe__Metric ***out, size_t *n, char *err, size_t errlen)
{
	struct json_scan js;
	Profpipe__Metric **ms;
	size_t k = 0;
	int more;
	int rv;

	json_scan_init(&js, json, len);
	ms = arena_calloc(a, METRICS_JSON_MAX_METRICS, sizeof(*ms));
	if (ms == NULL)
		goto out_oom;
	if (json_scan_expect(&js, '[') < 0)
		goto out_syntax;
	more = json_scan_peek(&js) == ']' ? 0 : 1;
	if (!more)
		js.p++;
	while (more) {
		if (k == METRICS_JSON_MAX_METRICS) {
			snprintf(err, errlen,
			    "metrics.json: more than %d metrics",
			    METRICS_JSON_MAX_METRICS);
			return -1;
		}
		rv = metrics_json_pair(&js, a, &ms[k]);
		if (rv == -2)
			goto out_oom;
		if (rv < 0)
			goto out_syntax;
		k++;
		more = json_scan_next(&js, ']');
		if (more < 0)
			goto out_syntax;
	}
	if (json_scan_end(&js) < 0)
		goto out_syntax;
	*out = ms;
	*n = k;
	return 0;
out_syntax:
	snprintf(err, errlen,
	    "metrics.json: %s (expected [[\"name\", number], ...])", js.err);
	return -1;
out_oom:
	snprintf(err, errlen, "metrics.json: out of memory");
	return -1;
}

int
metrics_json_decode(const uint8_t *body, size_t len, struct arena *a,
    Profpipe__Decoded *out, char *err, size_t errlen)
{
	static char *empty[] = {""};
	static uint32_t zero[] = {0};
	Profpipe__Decoded init = PROFPIPE__DECODED__INIT;
	struct decode_inflate *z = NULL;
	uint8_t *text = (uint8_t *)body;
	size_t tlen = len;
	int rv;

	if (decode_sniff(body, len) != DECODE_PLAIN) {
		if (decode_inflate_new(&z) != 0) {
			snprintf(err, errlen, "metrics.json: out of memory");
			return -1;
		}
		rv = decode_inflate(z, body, len, METRICS_JSON_MAX_BYTES, a,
		    &text, &tlen, err, errlen);
		decode_inflate_free(z);
		if (rv != 0)
			return -1;
	} else if (len > METRICS_JSON_MAX_BYTES) {
		snprintf(err, errlen, "metrics.json: over %d bytes",
		    METRICS_JSON_MAX_BYTES);
		return -1;
	}
	*out = init;
	if (metrics_json_parse((const char *)text, tlen, a,
	        &out->runtime_metrics, &out->n_runtime_metrics, err,
	        errlen) < 0)
		return -1;
	out->n_strings = 1;
	out->strings = empty;
	out->n_stack_offset = 1;
	out->stack_offset = zero;
	return 0;
}
