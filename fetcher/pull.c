/*
 * pull: one ev_timer set to the schedule's next due time; on it, every due
 * job is started (or skipped), and the timer is set again. A fetch in
 * flight holds a reference to the inputs it was started from, so a reload
 * can drop the old targets at once while their fetches finish.
 */
#include "fetcher/pull.h"

#include <ev.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "fetcher/schedule.h"

/* A (target, kind) as configured now: what a schedule slot points at. */
struct pull_job {
	const struct inputs_target *t;
	enum inputs_kind kind;
};

struct pull {
	struct ev_loop *loop;
	struct sender *snd;
	struct scrape *scr;
	struct schedule *sched;
	struct inputs *in;
	struct pull_job *jobs;
	size_t njobs;
	ev_timer tick;
	int stopping;
	uint64_t full_skips;    /* since the pipeline last had room */
	size_t reserve;         /* sender slots left to the push intake */
	int64_t wall_offset_ms; /* wall clock minus monotonic, at the start */
	struct pull_stats st;
};

/* One request in flight. */
struct pull_fetch {
	struct pull *p;
	struct schedule_slot *slot;
	struct inputs *in; /* a reference: keeps t alive */
	const struct inputs_target *t;
	enum inputs_kind kind;
	char url[INPUTS_INSTANCE_MAX + 64];
};

static int64_t
pull_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The schedule's clock: monotonic, so that a wall clock stepped back does
 * not stall every scrape for as long, but read as the wall clock was at
 * the start, so that offsets into an interval fall where they would on
 * the wall. */
static int64_t
pull_now_ms(struct pull *p)
{
	return pull_mono_ms() + p->wall_offset_ms;
}

static void
pull_fetch_free(struct pull_fetch *f)
{
	inputs_unref(f->in);
	xfree(f);
}

static void
pull_send(struct pull *p, struct pull_fetch *f, const struct scrape_result *r)
{
	struct sender_origin o;
	char id[UUID_STRLEN + 1];
	int rv;

	if (uuid_v4(id) < 0) {
		log_error("%s %s: no random bytes for a profile id",
		    f->t->instance, inputs_kind_name(f->kind));
		return;
	}
	memset(&o, 0, sizeof(o));
	o.profile_id = id;
	o.source = "pull";
	o.kind = inputs_kind_name(f->kind);
	o.service = f->t->service;
	o.instance = f->t->instance;
	o.job = f->t->job;
	o.target = f->url;
	o.labels = f->t->labels;
	o.nlabels = f->t->nlabels;
	o.start_ns = r->start_ns;
	o.end_ns = r->end_ns;
	o.is_delta = inputs_kind_is_delta(f->kind);
	rv = sender_submit(p->snd, &o, r->body, r->len);
	if (rv == SENDER_EFULL) {
		p->st.dropped_full++;
		log_warn("%s %s: dropped: pipeline full", o.instance, o.kind);
		return;
	}
	if (rv == 0) {
		p->st.fetched++;
		log_debug("%s %s: fetched profile %s (%zu bytes)", o.instance,
		    o.kind, id, r->len);
	}
}

static void
pull_on_fetched(void *arg, const struct scrape_result *r)
{
	struct pull_fetch *f = arg;
	struct pull *p = f->p;

	schedule_end(p->sched, f->slot);
	if (r->status == SCRAPE_OK) {
		pull_send(p, f, r);
	} else if (r->status == SCRAPE_EABORTED) {
		p->st.failed[r->status]++;
		log_debug("%s %s: aborted", f->t->instance,
		    inputs_kind_name(f->kind));
	} else {
		p->st.failed[r->status]++;
		log_warn("%s %s: %s", f->t->instance,
		    inputs_kind_name(f->kind), r->reason);
	}
	pull_fetch_free(f);
}

static void
pull_start(struct pull *p, struct schedule_slot *slot)
{
	struct pull_job *job = slot->user;
	const char *kind = inputs_kind_name(job->kind);
	struct pull_fetch *f;

	if (schedule_begin(slot) < 0) {
		p->st.skipped_running++;
		log_warn("%s %s: skipped: the previous fetch is still running",
		    job->t->instance, kind);
		return;
	}
	if (sender_free_slots(p->snd) <= p->reserve) {
		schedule_end(p->sched, slot);
		p->st.skipped_full++;
		/* With no decoder every job is skipped every interval: one
		 * line says so, the counter keeps the rest. */
		if (p->full_skips++ == 0)
			log_warn(
			    "%s %s: skipped: pipeline full (%zu profiles "
			    "await a decoder; further skips are only counted)",
			    job->t->instance, kind, sender_inflight(p->snd));
		else
			log_debug("%s %s: skipped: pipeline full",
			    job->t->instance, kind);
		return;
	}
	if (p->full_skips > 0) {
		log_info("pipeline has room again after %llu skipped scrapes",
		    (unsigned long long)p->full_skips);
		p->full_skips = 0;
	}
	f = xcalloc(1, sizeof(*f));
	if (f == NULL)
		goto out_oom;
	f->p = p;
	f->slot = slot;
	f->in = inputs_ref(p->in);
	f->t = job->t;
	f->kind = job->kind;
	if (inputs_url(job->t, job->kind, f->url, sizeof(f->url)) < 0 ||
	    (inputs_kind_is_text(job->kind) ? scrape_start_text
	                                    : scrape_start)(p->scr, f->url,
	        inputs_timeout_ms(job->t, job->kind), job->t->body_limit,
	        pull_on_fetched, f) < 0)
		goto out_free_fetch;
	p->st.scrapes++;
	log_debug("%s %s: GET %s", job->t->instance, kind, f->url);
	return;
out_free_fetch:
	pull_fetch_free(f);
out_oom:
	schedule_end(p->sched, slot);
	log_warn("%s %s: cannot start a request: out of memory",
	    job->t->instance, kind);
}

/* Start what is due, then sleep until the next due time. */
static void
pull_on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pull *p = w->data;
	struct schedule_slot *slot;
	int64_t now = pull_now_ms(p);
	int64_t next;

	(void)revents;
	ev_timer_stop(loop, w);
	if (p->stopping)
		return;
	for (;;) {
		slot = schedule_take_due(p->sched, now);
		if (slot == NULL)
			break;
		pull_start(p, slot);
	}
	next = schedule_next_ms(p->sched);
	if (next < 0)
		return;
	ev_timer_set(w, next > now ? (double)(next - now) / 1000.0 : 0.0, 0.0);
	ev_timer_start(loop, w);
}

int
pull_reload(struct pull *p, struct inputs *in, char *err, size_t errlen)
{
	struct pull_job *jobs;
	struct schedule_slot *slot;
	char key[INPUTS_INSTANCE_MAX + 32];
	size_t n = 0;
	size_t i;
	int k;
	int failed = 0;

	for (i = 0; i < in->ntargets; i++) {
		for (k = 0; k < INPUTS_NKINDS; k++)
			n += (in->targets[i].kinds >> k) & 1u;
	}
	jobs = xcalloc(n ? n : 1, sizeof(*jobs));
	if (jobs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = 0;
	schedule_sync_begin(p->sched);
	for (i = 0; i < in->ntargets && !failed; i++) {
		for (k = 0; k < INPUTS_NKINDS && !failed; k++) {
			if (!((in->targets[i].kinds >> k) & 1u))
				continue;
			jobs[n].t = &in->targets[i];
			jobs[n].kind = (enum inputs_kind)k;
			snprintf(key, sizeof(key), "%s %s",
			    in->targets[i].instance,
			    inputs_kind_name((enum inputs_kind)k));
			failed = schedule_put(p->sched, key,
			             in->targets[i].interval_s * 1000,
			             pull_now_ms(p), &jobs[n], &slot) < 0;
			n++;
		}
	}
	schedule_sync_end(p->sched, failed);
	if (failed) {
		xfree(jobs);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	xfree(p->jobs);
	inputs_unref(p->in);
	p->jobs = jobs;
	p->njobs = n;
	p->in = inputs_ref(in);
	if (!p->stopping) {
		ev_timer_stop(p->loop, &p->tick);
		ev_timer_set(&p->tick, 0.0, 0.0);
		ev_timer_start(p->loop, &p->tick);
	}
	return 0;
}

int
pull_new(struct pull **out, struct ev_loop *loop, struct sender *snd,
    struct inputs *in, size_t reserve, char *err, size_t errlen)
{
	struct pull *p = xcalloc(1, sizeof(*p));

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->loop = loop;
	p->snd = snd;
	p->reserve = reserve;
	p->wall_offset_ms = (int64_t)(ev_time() * 1000.0) - pull_mono_ms();
	ev_init(&p->tick, pull_on_tick);
	p->tick.data = p;
	if (scrape_new(&p->scr, loop) < 0 || schedule_new(&p->sched) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_free_pull;
	}
	if (pull_reload(p, in, err, errlen) < 0)
		goto out_free_pull;
	*out = p;
	return 0;
out_free_pull:
	pull_free(p);
	return -1;
}

void
pull_stop(struct pull *p)
{
	p->stopping = 1;
	ev_timer_stop(p->loop, &p->tick);
	if (p->scr != NULL)
		scrape_abort_all(p->scr);
}

void
pull_free(struct pull *p)
{
	if (p == NULL)
		return;
	pull_stop(p);
	scrape_free(p->scr);
	schedule_free(p->sched);
	xfree(p->jobs);
	inputs_unref(p->in);
	xfree(p);
}

size_t
pull_jobs(const struct pull *p)
{
	return p->njobs;
}

size_t
pull_running(const struct pull *p)
{
	return scrape_running(p->scr);
}

void
pull_stats(const struct pull *p, struct pull_stats *out)
{
	*out = p->st;
}

void
pull_format_counters(const struct pull *p, const struct sender *snd,
    size_t abandoned, char *out, size_t outlen)
{
	struct sender_stats ss;
	const struct pull_stats *ps = &p->st;

	sender_stats(snd, &ss);
	snprintf(out, outlen,
	    "scrapes=%llu fetched=%llu sent=%llu "
	    "rejected=%llu send_failed=%llu failed_connect=%llu "
	    "failed_timeout=%llu failed_http=%llu failed_too_large=%llu "
	    "failed_not_profile=%llu failed_other=%llu skipped_running=%llu "
	    "skipped_full=%llu dropped_full=%llu aborted=%llu abandoned=%zu "
	    "tap_dropped=%llu",
	    (unsigned long long)ps->scrapes, (unsigned long long)ps->fetched,
	    (unsigned long long)ss.sent, (unsigned long long)ss.rejected,
	    (unsigned long long)ss.failed,
	    (unsigned long long)ps->failed[SCRAPE_ECONNECT],
	    (unsigned long long)ps->failed[SCRAPE_ETIMEDOUT],
	    (unsigned long long)ps->failed[SCRAPE_EHTTP],
	    (unsigned long long)ps->failed[SCRAPE_ETOOLARGE],
	    (unsigned long long)ps->failed[SCRAPE_ENOTPROFILE],
	    (unsigned long long)ps->failed[SCRAPE_EFAIL],
	    (unsigned long long)ps->skipped_running,
	    (unsigned long long)ps->skipped_full,
	    (unsigned long long)ps->dropped_full,
	    (unsigned long long)ps->failed[SCRAPE_EABORTED], abandoned,
	    (unsigned long long)ss.tap_dropped);
}
