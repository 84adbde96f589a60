/*
 * push_event: what one dd-trace-go upload says, whichever of its three
 * shapes it came in, read from the multipart parts (fetcher/multipart):
 *
 *   v2.5 and later   an "event" part (event.json) naming the attachments,
 *                    each a part of its own, zstd-compressed
 *   v1.42 to v2.4    the same with gzip attachments, metrics.json plain
 *   before v1.42     form fields version, family, start, end, tags[],
 *                    and per profile types[N] plus data[N]
 *
 * From the event: start and end (RFC 3339, nanoseconds kept), family, the
 * tags (event.json's tags_profiler "k:v,k:v", or the tags[] fields; split
 * on the first colon) and the attachments, each mapped to a profile kind:
 *
 *   cpu.pprof           cpu         delta (Go's CPU profile is per window)
 *   delta-heap.pprof    mem         delta: the aggregator must not delta it
 *   delta-mutex.pprof   mutex       delta
 *   delta-block.pprof   block       delta
 *   goroutines.pprof    goroutines  a snapshot
 *   heap/mutex/block.pprof          the same kinds, cumulative
 *   metrics.json        metrics     [name, value] pairs for the decoder
 *
 * Other attachments (execution traces, goroutineswait...) are counted and
 * skipped, not refused. Legacy types[N]: "cpu" is cpu, the four heap types
 * are mem (as a delta: dd-trace-go sent heap deltas there since v1.33),
 * "contentions,delay" is mutex (block has the same types: the old form
 * cannot tell them apart), "goroutine" is goroutines.
 *
 * Attachment data points into the request body; nothing is copied.
 */
#ifndef PROFPIPE_FETCHER_PUSH_EVENT_H
#define PROFPIPE_FETCHER_PUSH_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "fetcher/multipart.h"

#define PUSH_MAX_TAGS 64
/* Past the 64th tag, room for the three the intake names a profile by
 * (service, host, runtime-id): they are kept wherever they come. */
#define PUSH_EVENT_TAGS (PUSH_MAX_TAGS + 3)
#define PUSH_EVENT_MAX (64 * 1024) /* bytes of event.json */

struct push_tag {
	char key[64];
	char value[256];
};

struct push_attachment {
	char name[128];
	const char *kind; /* static string */
	int is_delta;
	const uint8_t *data;
	size_t len;
};

struct push_event {
	int64_t start_ns;
	int64_t end_ns;
	char family[32];
	struct push_tag tags[PUSH_EVENT_TAGS];
	size_t ntags;
	size_t tags_skipped; /* over-long, or past PUSH_MAX_TAGS */
	char skipped[64];    /* the first skipped tag's name, for the log */
	char names[MULTIPART_MAX_PARTS][128]; /* event.json's attachments */
	size_t nnames;
	struct push_attachment att[MULTIPART_MAX_PARTS];
	size_t natt;
	size_t nunknown;   /* attachments of no kind we know: skipped */
	char unknown[128]; /* the first of them, for the log */
};

/* Parse event.json into ev (times, family, tags, attachment names). 0, or
 * -1 with the reason in err. */
int push_event_json(const uint8_t *json, size_t len, struct push_event *ev,
    char *err, size_t errlen);

/* The whole upload from its parts, either shape. 0, or -1 with the
 * reason (for a 400) in err. */
int push_event_from_parts(const struct multipart_part *parts, size_t nparts,
    struct push_event *ev, char *err, size_t errlen);

/* RFC 3339 ("2026-11-01T10:00:00.000000001Z", offsets allowed) to unix ns.
 * 0 or -1. */
int push_time_parse(const char *s, int64_t *out);

/* Add "k:v,k:v" tags to ev (split on the first colon of each). */
void push_tags_add(struct push_event *ev, const char *list, char sep);

/* The value of tag key, or NULL. */
const char *push_tag(const struct push_event *ev, const char *key);

/* The kind of an attachment file name, or NULL: *is_delta set. */
const char *push_attachment_kind(const char *name, int *is_delta);

#endif
