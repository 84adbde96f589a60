/*
 * push_event: event.json is walked with common/json_scan, taking only the
 * members it knows and skipping the rest (dd-trace-go adds "info",
 * "endpoint_counts", "process_tags"... as it goes); the legacy form is read
 * field by field. Either way the result is the same struct push_event.
 */
#include "fetcher/push_event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json_scan.h"

struct push_kind {
	const char *name;
	const char *kind;
	int delta;
};

static const struct push_kind push_kinds[] = {
    {"cpu.pprof", "cpu", 1},
    {"delta-heap.pprof", "mem", 1},
    {"heap.pprof", "mem", 0},
    {"delta-mutex.pprof", "mutex", 1},
    {"mutex.pprof", "mutex", 0},
    {"delta-block.pprof", "block", 1},
    {"block.pprof", "block", 0},
    {"goroutines.pprof", "goroutines", 0},
    {"metrics.json", "metrics", 0},
    {NULL, NULL, 0},
};

/* Legacy types[N] values. */
static const struct push_kind push_legacy[] = {
    {"cpu", "cpu", 1},
    {"alloc_objects,alloc_space,inuse_objects,inuse_space", "mem", 1},
    {"contentions,delay", "mutex", 1},
    {"goroutine", "goroutines", 0},
    {NULL, NULL, 0},
};

static int push_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
push_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

const char *
push_attachment_kind(const char *name, int *is_delta)
{
	size_t i;

	for (i = 0; push_kinds[i].name != NULL; i++) {
		if (strcmp(push_kinds[i].name, name) == 0) {
			*is_delta = push_kinds[i].delta;
			return push_kinds[i].kind;
		}
	}
	return NULL;
}

static int
push_digits(const char *s, int n, int *out)
{
	int v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
push_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh, om;
	int64_t frac = 0;
	int fd = 0;
	int64_t off = 0;
	time_t t;

	if (strlen(s) < 20 || push_digits(s, 4, &y) < 0 || s[4] != '-' ||
	    push_digits(s + 5, 2, &mo) < 0 || s[7] != '-' ||
	    push_digits(s + 8, 2, &d) < 0 || (s[10] != 'T' && s[10] != 't') ||
	    push_digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
	    push_digits(s + 14, 2, &mi) < 0 || s[16] != ':' ||
	    push_digits(s + 17, 2, &sec) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	s += 19;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, fd++) {
			if (fd < 9)
				frac = frac * 10 + (*s - '0');
		}
		if (fd == 0)
			return -1;
		for (; fd < 9; fd++)
			frac *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		if (push_digits(s + 1, 2, &oh) < 0 || s[3] != ':' ||
		    push_digits(s + 4, 2, &om) < 0 || oh > 23 || om > 59)
			return -1;
		off = ((int64_t)oh * 3600 + om * 60) * (*s == '-' ? -1 : 1);
		s += 6;
	} else {
		return -1;
	}
	if (*s != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* Nanoseconds since 1970 in an int64 reach 1677 to 2262: a time
	 * outside is refused, not wrapped. */
	if (__builtin_mul_overflow(
	        (int64_t)t - off, (int64_t)1000000000, out) ||
	    __builtin_add_overflow(*out, frac, out))
		return -1;
	return 0;
}

/* Whether a tag past the 64th is one the intake names a profile by, not
 * yet seen: it is kept. */
static int
push_tag_names(const struct push_event *ev, const char *key, size_t klen)
{
	static const char *const names[] = {"service", "host", "runtime-id"};
	char k[16];
	size_t i;

	if (klen >= sizeof(k) || ev->ntags >= PUSH_EVENT_TAGS)
		return 0;
	memcpy(k, key, klen);
	k[klen] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(k, names[i]) == 0)
			return push_tag(ev, k) == NULL;
	}
	return 0;
}

static void
push_tag_add(struct push_event *ev, const char *tag, size_t n)
{
	const char *colon = memchr(tag, ':', n);
	size_t klen;
	size_t vlen;

	if (n == 0)
		return;
	klen = colon ? (size_t)(colon - tag) : n;
	vlen = colon ? n - klen - 1 : 0;
	if ((ev->ntags >= PUSH_MAX_TAGS && !push_tag_names(ev, tag, klen)) ||
	    klen == 0 || klen >= sizeof(ev->tags[0].key) ||
	    vlen >= sizeof(ev->tags[0].value)) {
		if (ev->tags_skipped++ == 0)
			snprintf(ev->skipped, sizeof(ev->skipped), "%.*s",
			    (int)(klen < 48 ? klen : 48), tag);
		return;
	}
	memcpy(ev->tags[ev->ntags].key, tag, klen);
	ev->tags[ev->ntags].key[klen] = '\0';
	if (vlen > 0)
		memcpy(ev->tags[ev->ntags].value, colon + 1, vlen);
	ev->tags[ev->ntags].value[vlen] = '\0';
	ev->ntags++;
}

void
push_tags_add(struct push_event *ev, const char *list, char sep)
{
	const char *p = list;
	const char *e;

	while (*p != '\0') {
		e = strchr(p, sep);
		if (e == NULL)
			e = p + strlen(p);
		push_tag_add(ev, p, (size_t)(e - p));
		p = *e ? e + 1 : e;
	}
}

const char *
push_tag(const struct push_event *ev, const char *key)
{
	size_t i;

	for (i = 0; i < ev->ntags; i++) {
		if (strcmp(ev->tags[i].key, key) == 0)
			return ev->tags[i].value;
	}
	return NULL;
}

static int
push_json_time(struct json_scan *js, const char *what, int64_t *out, char *err,
    size_t errlen)
{
	char s[64];

	if (json_scan_string(js, s, sizeof(s), NULL) < 0)
		return push_fail(
		    err, errlen, "event.json: %s: %s", what, js->err);
	if (push_time_parse(s, out) < 0)
		return push_fail(err, errlen,
		    "event.json: %s: \"%s\" is not an RFC 3339 time", what, s);
	return 0;
}

static int
push_json_attachments(
    struct json_scan *js, struct push_event *ev, char *err, size_t errlen)
{
	int more;

	if (json_scan_expect(js, '[') < 0)
		return -1;
	if (json_scan_peek(js) == ']') {
		js->p++;
		return 0;
	}
	do {
		if (ev->nnames == MULTIPART_MAX_PARTS)
			return push_fail(err, errlen,
			    "event.json: more than %d attachments",
			    MULTIPART_MAX_PARTS);
		if (json_scan_string(js, ev->names[ev->nnames],
		        sizeof(ev->names[0]), NULL) < 0)
			return -1;
		ev->nnames++;
		more = json_scan_next(js, ']');
	} while (more > 0);
	return more;
}

int
push_event_json(const uint8_t *json, size_t len, struct push_event *ev,
    char *err, size_t errlen)
{
	struct json_scan js;
	char key[64];
	char tags[8192];
	int have_start = 0;
	int have_end = 0;
	int more;
	int rv;

	if (len > PUSH_EVENT_MAX)
		return push_fail(
		    err, errlen, "event.json: over %d bytes", PUSH_EVENT_MAX);
	json_scan_init(&js, json, len);
	if (json_scan_expect(&js, '{') < 0)
		goto out_syntax;
	if (json_scan_peek(&js) == '}')
		goto out_fields;
	do {
		if (json_scan_string(&js, key, sizeof(key), NULL) < 0)
			goto out_syntax;
		if (json_scan_expect(&js, ':') < 0)
			goto out_syntax;
		rv = 0;
		if (strcmp(key, "start") == 0) {
			rv = push_json_time(
			    &js, "start", &ev->start_ns, err, errlen);
			have_start = 1;
		} else if (strcmp(key, "end") == 0) {
			rv = push_json_time(
			    &js, "end", &ev->end_ns, err, errlen);
			have_end = 1;
		} else if (strcmp(key, "attachments") == 0) {
			rv = push_json_attachments(&js, ev, err, errlen);
			if (rv < 0 && js.err[0] != '\0')
				goto out_syntax;
		} else if (strcmp(key, "tags_profiler") == 0) {
			if (json_scan_string(&js, tags, sizeof(tags), NULL) <
			    0)
				goto out_syntax;
			push_tags_add(ev, tags, ',');
		} else if (strcmp(key, "family") == 0) {
			if (json_scan_string(
			        &js, ev->family, sizeof(ev->family), NULL) < 0)
				goto out_syntax;
		} else if (json_scan_skip(&js) < 0) {
			goto out_syntax;
		}
		if (rv < 0)
			return -1;
		more = json_scan_next(&js, '}');
		if (more < 0)
			goto out_syntax;
	} while (more);
	if (json_scan_end(&js) < 0)
		goto out_syntax;
out_fields:
	if (!have_start || !have_end)
		return push_fail(err, errlen, "event.json: no %s",
		    have_start ? "end" : "start");
	if (ev->nnames == 0)
		return push_fail(err, errlen, "event.json: no attachments");
	return 0;
out_syntax:
	return push_fail(err, errlen, "event.json: %s", js.err);
}

static void
push_add_attachment(struct push_event *ev, const char *name, const char *kind,
    int is_delta, const struct multipart_part *p)
{
	struct push_attachment *a;

	if (kind == NULL) {
		if (ev->nunknown++ == 0)
			snprintf(ev->unknown, sizeof(ev->unknown), "%s", name);
		return;
	}
	a = &ev->att[ev->natt++];
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->kind = kind;
	a->is_delta = is_delta;
	a->data = p->data;
	a->len = p->len;
}

/* A small text field of the legacy form into out. */
static int
push_field(const struct multipart_part *parts, size_t nparts, const char *name,
    char *out, size_t outlen)
{
	const struct multipart_part *p = multipart_find(parts, nparts, name);

	if (p == NULL || p->len >= outlen || memchr(p->data, 0, p->len))
		return -1;
	memcpy(out, p->data, p->len);
	out[p->len] = '\0';
	return 0;
}

static int
push_from_legacy(const struct multipart_part *parts, size_t nparts,
    struct push_event *ev, char *err, size_t errlen)
{
	const struct multipart_part *data;
	char s[256];
	char name[32];
	const char *kind;
	size_t i;
	size_t k;
	int delta;

	if (push_field(parts, nparts, "start", s, sizeof(s)) < 0 ||
	    push_time_parse(s, &ev->start_ns) < 0)
		return push_fail(err, errlen,
		    "no event part, and no RFC 3339 start field either");
	if (push_field(parts, nparts, "end", s, sizeof(s)) < 0 ||
	    push_time_parse(s, &ev->end_ns) < 0)
		return push_fail(err, errlen, "end: missing or not RFC 3339");
	if (push_field(
	        parts, nparts, "family", ev->family, sizeof(ev->family)) < 0)
		ev->family[0] = '\0';
	for (i = 0; i < nparts; i++) {
		if (strcmp(parts[i].name, "tags[]") == 0 &&
		    parts[i].len < sizeof(s) &&
		    memchr(parts[i].data, 0, parts[i].len) == NULL) {
			memcpy(s, parts[i].data, parts[i].len);
			s[parts[i].len] = '\0';
			push_tags_add(ev, s, ',');
		}
	}
	for (i = 0; i < MULTIPART_MAX_PARTS; i++) {
		snprintf(name, sizeof(name), "types[%zu]", i);
		if (push_field(parts, nparts, name, s, sizeof(s)) < 0)
			break;
		snprintf(name, sizeof(name), "data[%zu]", i);
		data = multipart_find(parts, nparts, name);
		if (data == NULL)
			return push_fail(
			    err, errlen, "types[%zu] without data[%zu]", i, i);
		kind = NULL;
		delta = 0;
		for (k = 0; push_legacy[k].name != NULL; k++) {
			if (strcmp(push_legacy[k].name, s) == 0) {
				kind = push_legacy[k].kind;
				delta = push_legacy[k].delta;
			}
		}
		push_add_attachment(ev, name, kind, delta, data);
	}
	if (i == 0)
		return push_fail(err, errlen,
		    "no event part and no types[0]/data[0] fields: "
		    "not a profile upload");
	return 0;
}

int
push_event_from_parts(const struct multipart_part *parts, size_t nparts,
    struct push_event *ev, char *err, size_t errlen)
{
	const struct multipart_part *evp;
	const struct multipart_part *p;
	const char *kind;
	size_t i;
	int delta;

	memset(ev, 0, sizeof(*ev));
	evp = multipart_find(parts, nparts, "event");
	if (evp == NULL)
		return push_from_legacy(parts, nparts, ev, err, errlen);
	if (push_event_json(evp->data, evp->len, ev, err, errlen) < 0)
		return -1;
	for (i = 0; i < ev->nnames; i++) {
		p = multipart_find(parts, nparts, ev->names[i]);
		if (p == NULL)
			return push_fail(err, errlen,
			    "event.json names attachment %s, but no part "
			    "has that name",
			    ev->names[i]);
		kind = push_attachment_kind(ev->names[i], &delta);
		push_add_attachment(ev, ev->names[i], kind, delta, p);
	}
	return 0;
}
