/*
 * memstats: a line scanner over heap?debug=1 text (memstats.h). Only the
 * lines after "# runtime.MemStats" are looked at; the heap records before
 * it are skipped without being read. Every field has a bit in "seen" so a
 * repeated key is refused rather than silently overwritten.
 */
#include "decoder/memstats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"

enum memstats_field {
	MS_TOTAL_ALLOC,
	MS_MALLOCS,
	MS_FREES,
	MS_HEAP_ALLOC,
	MS_HEAP_OBJECTS,
	MS_HEAP_SYS,
	MS_NUM_GC,
	MS_PAUSE_TOTAL,
	MS_PAUSE_NS,
	MS_PAUSE_END,
	MS_NEXT_GC,
	MS_LAST_GC,
	MS_NFIELDS
};

static const char *const memstats_names[MS_NFIELDS] = {
    "TotalAlloc",
    "Mallocs",
    "Frees",
    "HeapAlloc",
    "HeapObjects",
    "HeapSys",
    "NumGC",
    "PauseTotalNs",
    "PauseNs",
    "PauseEnd",
    "NextGC",
    "LastGC",
};

#define MEMSTATS_NEEDED                                                       \
	((1u << MS_TOTAL_ALLOC) | (1u << MS_MALLOCS) | (1u << MS_FREES) |     \
	    (1u << MS_HEAP_ALLOC) | (1u << MS_HEAP_OBJECTS) |                 \
	    (1u << MS_NUM_GC) | (1u << MS_PAUSE_NS) | (1u << MS_PAUSE_END))

struct memstats_run {
	Profpipe__MemStats *ms;
	unsigned seen;
	int line;
	char *err;
	size_t errlen;
};

static int
memstats_fail(struct memstats_run *r, const char *what, const char *key)
{
	snprintf(r->err, r->errlen, "memstats line %d: %s%s%s", r->line,
	    key != NULL ? key : "", key != NULL ? ": " : "", what);
	return -1;
}

/* One unsigned decimal at *p (p < end), leaving *p after it. */
static int
memstats_u64(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/* "[a b c]" into an arena array of at most MEMSTATS_MAX_PAUSES. */
static int
memstats_list(struct memstats_run *r, const char *p, const char *end,
    struct arena *a, uint64_t **out, size_t *n, const char *key)
{
	uint64_t *v = arena_alloc(a, MEMSTATS_MAX_PAUSES * sizeof(*v));

	*n = 0;
	if (v == NULL)
		return memstats_fail(r, "out of memory", key);
	if (p == end || *p != '[')
		return memstats_fail(r, "expected [numbers]", key);
	for (p++; p < end && *p == ' '; p++)
		;
	while (p < end && *p != ']') {
		if (*n == MEMSTATS_MAX_PAUSES)
			return memstats_fail(r, "more than 256 entries", key);
		if (memstats_u64(&p, end, &v[*n]) < 0)
			return memstats_fail(r, "not a number", key);
		(*n)++;
		if (p < end && *p != ' ' && *p != ']')
			return memstats_fail(r, "not a number", key);
		for (; p < end && *p == ' '; p++)
			;
	}
	if (p == end || p + 1 != end)
		return memstats_fail(r, "expected ] at the end", key);
	*out = v;
	return 0;
}

static int
memstats_field(struct memstats_run *r, enum memstats_field f, const char *p,
    const char *end, struct arena *a)
{
	Profpipe__MemStats *ms = r->ms;
	const char *key = memstats_names[f];
	uint64_t v;

	if (r->seen & (1u << f))
		return memstats_fail(r, "appears twice", key);
	r->seen |= 1u << f;
	if (f == MS_PAUSE_NS)
		return memstats_list(
		    r, p, end, a, &ms->pause_ns, &ms->n_pause_ns, key);
	if (f == MS_PAUSE_END)
		return memstats_list(
		    r, p, end, a, &ms->pause_end, &ms->n_pause_end, key);
	if (memstats_u64(&p, end, &v) < 0 || p != end)
		return memstats_fail(r, "not an unsigned number", key);
	switch (f) {
	case MS_TOTAL_ALLOC:
		ms->total_alloc = v;
		break;
	case MS_MALLOCS:
		ms->mallocs = v;
		break;
	case MS_FREES:
		ms->frees = v;
		break;
	case MS_HEAP_ALLOC:
		ms->heap_alloc = v;
		break;
	case MS_HEAP_OBJECTS:
		ms->heap_objects = v;
		break;
	case MS_HEAP_SYS:
		ms->heap_sys = v;
		break;
	case MS_NUM_GC:
		ms->num_gc = v;
		break;
	case MS_PAUSE_TOTAL:
		ms->pause_total_ns = v;
		break;
	case MS_NEXT_GC:
		ms->next_gc = v;
		break;
	case MS_LAST_GC:
		ms->last_gc = v;
		break;
	default:
		break;
	}
	return 0;
}

/* One line "# Key = value" (without its newline). Unknown keys pass. */
static int
memstats_line(
    struct memstats_run *r, const char *p, const char *end, struct arena *a)
{
	const char *eq;
	size_t klen;
	int f;

	if (end - p < 2 || p[0] != '#' || p[1] != ' ')
		return 0;
	p += 2;
	eq = memchr(p, '=', (size_t)(end - p));
	if (eq == NULL || eq == p || eq[-1] != ' ' || eq + 1 >= end ||
	    eq[1] != ' ')
		return 0;
	klen = (size_t)(eq - 1 - p);
	for (f = 0; f < MS_NFIELDS; f++) {
		if (strlen(memstats_names[f]) == klen &&
		    memcmp(memstats_names[f], p, klen) == 0)
			return memstats_field(
			    r, (enum memstats_field)f, eq + 2, end, a);
	}
	return 0;
}

int
memstats_parse(const char *text, size_t len, struct arena *a,
    Profpipe__MemStats **out, char *err, size_t errlen)
{
	static const char marker[] = "# runtime.MemStats";
	Profpipe__MemStats init = PROFPIPE__MEM_STATS__INIT;
	const char *end = text + len;
	const char *p = text;
	const char *nl;
	struct memstats_run r;
	int in_tail = 0;
	int f;

	memset(&r, 0, sizeof(r));
	r.err = err;
	r.errlen = errlen;
	r.ms = arena_alloc(a, sizeof(*r.ms));
	if (r.ms == NULL)
		return memstats_fail(&r, "out of memory", NULL);
	*r.ms = init;
	for (; p < end; p = nl + 1) {
		r.line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (!in_tail) {
			in_tail = (size_t)(nl - p) == sizeof(marker) - 1 &&
			    memcmp(p, marker, sizeof(marker) - 1) == 0;
			continue;
		}
		if (nl - p > MEMSTATS_MAX_LINE)
			return memstats_fail(&r, "line too long", NULL);
		if (memstats_line(&r, p, nl, a) < 0)
			return -1;
	}
	if (!in_tail)
		return memstats_fail(
		    &r, "no \"# runtime.MemStats\" section", NULL);
	for (f = 0; f < MS_NFIELDS; f++) {
		if ((MEMSTATS_NEEDED & (1u << f)) && !(r.seen & (1u << f)))
			return memstats_fail(&r, "missing", memstats_names[f]);
	}
	if (r.ms->n_pause_ns != r.ms->n_pause_end)
		return memstats_fail(
		    &r, "PauseNs and PauseEnd differ in length", NULL);
	*out = r.ms;
	return 0;
}

int
memstats_decode(const uint8_t *body, size_t len, struct arena *a,
    Profpipe__Decoded *out, char *err, size_t errlen)
{
	static char *empty[] = {""};
	static uint32_t zero[] = {0};
	Profpipe__Decoded init = PROFPIPE__DECODED__INIT;
	Profpipe__MemStats *ms;

	if (memstats_parse((const char *)body, len, a, &ms, err, errlen) < 0)
		return -1;
	*out = init;
	out->n_strings = 1;
	out->strings = empty;
	out->n_stack_offset = 1;
	out->stack_offset = zero;
	out->memstats = ms;
	return 0;
}
