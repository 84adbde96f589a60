/*
 * timeline: feeding and closing (timeline.h). Closing walks every series
 * once per call; the stage calls it at most every 200 ms, and a series is
 * a few pointers to look at when nothing is due.
 */
#include "aggregator/timeline.h"

#include <stdio.h>
#include <string.h>

#include "aggregator/window.h"
#include "common/arena.h"
#include "common/decoded.h"
#include "common/log.h"

/* The open window of s holding start, made if new: 0, 1 late, no room
 * or no window (a time at the very end of int64), -1 out of memory. */
static int
timeline_window(struct series *s, const struct timeline_opts *o, int64_t t_ns,
    struct window **out)
{
	struct window **p = &s->windows;
	struct window *w;
	int64_t start;
	int64_t end;
	size_t n = 0;

	if (t_ns < s->closed_until ||
	    window_bounds(t_ns, o->len_ns, &start, &end) < 0)
		return 1;
	while (*p != NULL && (*p)->start_ns < start) {
		p = &(*p)->next;
		n++;
	}
	if (*p != NULL && (*p)->start_ns == start) {
		*out = *p;
		return 0;
	}
	for (w = *p; w != NULL; w = w->next)
		n++;
	if (n >= TIMELINE_MAX_OPEN)
		return 1;
	if (window_new(&w, start, end, o->max_stacks, o->merge) < 0)
		return -1;
	w->next = *p;
	*p = w;
	*out = w;
	return 0;
}

/* How much longer than the grace the windows of s wait, from a profile
 * of it: its span, when that is more than the grace, up to one window. */
static void
timeline_span(struct series *s, const struct timeline_opts *o,
    const Profpipe__Origin *org)
{
	int64_t span;

	if (org->end_ns <= org->start_ns)
		return;
	if (__builtin_sub_overflow(org->end_ns, org->start_ns, &span) ||
	    span > o->len_ns)
		span = o->len_ns;
	if (span > o->grace_ns && span > s->span_ns)
		s->span_ns = span;
}

/* The series (service, instance, kind), touched at now. */
static struct series *
timeline_series(struct series_table *t, const Profpipe__Origin *org,
    const char *instance, const char *kind, int64_t now)
{
	struct series *s;
	int created;

	if (series_get(t, org->service, instance, kind, now, &s, &created) < 0)
		return NULL;
	series_touch(t, s, now);
	return s;
}

static void
timeline_windows(struct series_table *t, const struct timeline_opts *o,
    const Profpipe__Decoded *res, struct series *s, int64_t now,
    struct arena *scratch, struct timeline_counts *c)
{
	const Profpipe__Origin *org = res->origin;
	uint64_t folded;
	struct window *w;
	int rv;

	if (decoded_n_stacks(res) == 0 && res->n_sample_types == 0)
		return;
	if (o->merge)
		s = timeline_series(t, org, "", org->kind, now);
	if (s == NULL) {
		c->refused++;
		return;
	}
	timeline_span(s, o, org);
	rv = timeline_window(s, o, org->start_ns, &w);
	if (rv == 1) {
		if (org->start_ns < s->closed_until)
			c->late++;
		else
			c->refused++;
		return;
	}
	if (rv < 0) {
		c->failed++;
		return;
	}
	folded = w->n_folded;
	if (window_add(w, res, scratch) < 0)
		c->failed++;
	c->folded += w->n_folded - folded;
}

void
timeline_feed(struct series_table *t, const struct timeline_opts *o,
    const Profpipe__Decoded *res, const struct delta_report *rep,
    struct series *s, int64_t now_ns, int64_t wall_ns, struct arena *scratch,
    struct timeline_counts *c)
{
	const Profpipe__Origin *org = res->origin;
	struct series *inst;
	const char *k = org->kind;
	int64_t ahead;
	int rv;

	/* A wild clock's profile would hold windows open until wall time
	 * caught up, and fill the series' room meanwhile. */
	if (!__builtin_sub_overflow(org->start_ns, wall_ns, &ahead) &&
	    ahead > o->len_ns) {
		c->future++;
		return;
	}
	if (strcmp(k, "memstats") != 0 && strcmp(k, "metrics") != 0)
		timeline_windows(t, o, res, s, now_ns, scratch, c);
	inst = timeline_series(t, org, org->instance, "", now_ns);
	if (inst == NULL) {
		c->refused++;
		return;
	}
	timeline_span(inst, o, org);
	rv = metrics_feed(&inst->metrics, res, rep, o->len_ns);
	if (rv < 0)
		c->failed++;
	else if (rv > 0 && org->start_ns < inst->metrics.closed_until)
		c->late++;
	else if (rv > 0)
		c->refused++;
}

struct timeline_run {
	const struct timeline_opts *o;
	int64_t until;       /* close what ends at or before this */
	int64_t partial_end; /* 0, or the end of everything open */
	struct arena *scratch;
	timeline_send_fn send;
	void *arg;
	struct timeline_counts *c;
	size_t closed; /* windows and metric spans freed */
};

static int
timeline_close_windows(void *arg, struct series *s)
{
	struct timeline_run *r = arg;
	Profpipe__Result res = PROFPIPE__RESULT__INIT;
	char what[512];
	struct window *w;

	while (s->windows != NULL &&
	    (r->partial_end != 0 ||
	        s->windows->end_ns <= r->until - s->span_ns)) {
		w = s->windows;
		s->windows = w->next;
		if (w->end_ns > s->closed_until)
			s->closed_until = w->end_ns;
		if (r->partial_end != 0 && r->partial_end < w->end_ns &&
		    r->partial_end > w->start_ns)
			w->end_ns = r->partial_end;
		snprintf(what, sizeof(what), "%s %s %s window", s->service,
		    s->instance[0] ? s->instance : "(merged)", s->kind);
		if (w->n_profiles > 0 &&
		    window_message(w, r->scratch, &res.window) == 0) {
			if (r->send(r->arg, what, &res) == 0)
				r->c->windows_sent++;
		} else if (w->n_profiles > 0) {
			log_warn("%s: out of memory building it: lost", what);
		}
		window_free(w);
		r->closed++;
		arena_reset(r->scratch);
	}
	return 0;
}

static int
timeline_close_metrics(void *arg, struct series *s)
{
	struct timeline_run *r = arg;
	Profpipe__Result res = PROFPIPE__RESULT__INIT;
	struct metrics_acc *acc;
	char what[512];

	if (s->kind[0] != '\0')
		return 0;
	while (s->metrics.open != NULL &&
	    (r->partial_end != 0 ||
	        s->metrics.open->end_ns <= r->until - s->span_ns)) {
		acc = s->metrics.open;
		if (r->partial_end != 0 && r->partial_end < acc->end_ns &&
		    r->partial_end > acc->start_ns)
			acc->end_ns = r->partial_end;
		snprintf(what, sizeof(what), "%s %s metrics", s->service,
		    s->instance);
		if (metrics_message(
		        &s->metrics, acc, r->scratch, &res.metrics) < 0)
			log_warn(
			    "%s: out of memory building them: lost", what);
		else if (res.metrics != NULL &&
		    r->send(r->arg, what, &res) == 0)
			r->c->metrics_sent++;
		metrics_drop(&s->metrics, acc);
		r->closed++;
		arena_reset(r->scratch);
	}
	return 0;
}

size_t
timeline_close(struct series_table *t, const struct timeline_opts *o,
    int64_t wall_ns, int64_t partial_end, struct arena *scratch,
    timeline_send_fn send, void *arg, struct timeline_counts *c)
{
	struct timeline_run r;

	r.o = o;
	r.until = wall_ns - o->grace_ns;
	r.partial_end = partial_end;
	r.scratch = scratch;
	r.send = send;
	r.arg = arg;
	r.c = c;
	r.closed = 0;
	series_each(t, timeline_close_windows, &r);
	series_each(t, timeline_close_metrics, &r);
	return r.closed;
}
