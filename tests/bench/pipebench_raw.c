/*
 * pipebench_raw: see pipebench_raw.h.
 */
#include "tests/bench/pipebench_raw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/wire.pb-c.h"

#define ID_TEMPLATE "00000000-0000-4000-8000-000000000000"
#define ID_COUNTER 24 /* where the last 12 hex digits start */
#define STAMP_BYTES 9 /* a varint of 2^56 .. 2^63 - 1: unix ns, 1972-2262 */

const char *
raw_kind(const char *path)
{
	static const char *const map[][2] = {{"heap", "mem"},
	    {"allocs", "allocs"}, {"goroutine", "goroutines"},
	    {"mutex", "mutex"}, {"block", "block"},
	    {"threadcreate", "threadcreate"}};
	const char *base = strrchr(path, '/');
	size_t i;

	base = base != NULL ? base + 1 : path;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strstr(base, map[i][0]) != NULL)
			return map[i][1];
	}
	return "cpu";
}

/* v as a varint of exactly STAMP_BYTES bytes into out; -1 if it is not
 * that long. */
static int
raw_varint9(uint8_t *out, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	if (v < 0 || u >> 56 == 0)
		return -1;
	for (i = 0; i < STAMP_BYTES - 1; i++) {
		out[i] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	out[i] = (uint8_t)u;
	return u < 0x80 ? 0 : -1;
}

/* Where the only copy of n bytes pat lies in msg; 0 (never a field's
 * value: the tag comes first) when there is none or more than one. */
static size_t
raw_find_once(const uint8_t *msg, size_t len, const void *pat, size_t n)
{
	const uint8_t *at = memmem(msg, len, pat, n);
	const uint8_t *next;

	if (at == NULL)
		return 0;
	next = memmem(at + 1, len - (size_t)(at + 1 - msg), pat, n);
	return next == NULL ? (size_t)(at - msg) : 0;
}

int64_t
raw_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/* Find in r->msg where the id and the two times lie. */
static int
raw_locate(struct raw *r, const char *path, int64_t start, int64_t end)
{
	uint8_t v[STAMP_BYTES];

	r->id_at =
	    raw_find_once(r->msg, r->len, ID_TEMPLATE, strlen(ID_TEMPLATE));
	if (raw_varint9(v, start) == 0)
		r->start_at = raw_find_once(r->msg, r->len, v, sizeof(v));
	if (raw_varint9(v, end) == 0)
		r->end_at = raw_find_once(r->msg, r->len, v, sizeof(v));
	if (r->id_at == 0 || r->start_at == 0 || r->end_at == 0) {
		fprintf(stderr,
		    "pipebench: %s: cannot find the id and the times, once "
		    "each, in the packed request\n",
		    path);
		return -1;
	}
	return 0;
}

int
raw_load(struct raw *r, const char *path, int index)
{
	Profpipe__RawProfile rp = PROFPIPE__RAW_PROFILE__INIT;
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	char id[] = ID_TEMPLATE;
	char instance[32];
	uint8_t *body;
	FILE *f = fopen(path, "rb");
	long n;

	memset(r, 0, sizeof(*r));
	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		perror(path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	body = malloc((size_t)n + 1);
	if (body == NULL || fread(body, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		fclose(f);
		free(body);
		return -1;
	}
	fclose(f);
	/* One series per file: the aggregator's heap deltas then see the
	 * same profile again and again, as from a steady service. */
	snprintf(instance, sizeof(instance), "file%d:6060", index);
	o.profile_id = id;
	o.source = "pull";
	o.kind = (char *)raw_kind(path);
	o.service = "pipebench";
	o.instance = instance;
	o.job = "pipebench";
	o.end_ns = raw_now_ns();
	o.start_ns = o.end_ns - RAW_SPAN_NS;
	o.is_delta = strstr(path, "delta") != NULL;
	o.target = (char *)path;
	rp.origin = &o;
	rp.body.data = body;
	rp.body.len = (size_t)n;
	r->len = profpipe__raw_profile__get_packed_size(&rp);
	r->msg = malloc(r->len);
	if (r->msg == NULL) {
		free(body);
		return -1;
	}
	profpipe__raw_profile__pack(&rp, r->msg);
	free(body);
	r->body = (size_t)n;
	return raw_locate(r, path, o.start_ns, o.end_ns);
}

struct rawfd *
raw_fd(struct raw *r, char *why, size_t whylen)
{
	struct rawfd *f = NULL;
	int i;

	for (i = 0; i < r->nfds && f == NULL; i++) {
		if (!r->fds[i].busy)
			f = &r->fds[i];
	}
	if (f == NULL) {
		if (r->nfds == RAW_MAX_FDS) {
			snprintf(why, whylen, "no free memfd");
			return NULL;
		}
		f = &r->fds[r->nfds++];
		f->out.fd = -1;
	}
	if (f->out.fd < 0) {
		if (byref_out_open(&f->out, r->len, why, whylen) != 0)
			return NULL;
		memcpy(f->out.base, r->msg, r->len);
	}
	return f;
}

int
raw_stamp(
    uint8_t *msg, const struct raw *r, unsigned long long id, int64_t now_ns)
{
	uint8_t start[STAMP_BYTES];
	uint8_t end[STAMP_BYTES];
	char hex[16];

	if (raw_varint9(start, now_ns - RAW_SPAN_NS) != 0 ||
	    raw_varint9(end, now_ns) != 0)
		return -1;
	snprintf(hex, sizeof(hex), "%012llx", id & 0xffffffffffffULL);
	memcpy(msg + r->id_at + ID_COUNTER, hex, 12);
	memcpy(msg + r->start_at, start, sizeof(start));
	memcpy(msg + r->end_at, end, sizeof(end));
	return 0;
}

void
raw_release(struct raw *r)
{
	int i;

	for (i = 0; i < r->nfds; i++) {
		if (r->fds[i].out.fd >= 0)
			byref_out_close(&r->fds[i].out);
	}
	free(r->msg);
	memset(r, 0, sizeof(*r));
}
