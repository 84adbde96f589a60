/*
 * push: requests in, profiles out, answers once their fate is known. A
 * request that passes the checks becomes a struct push_req holding its
 * response handle and a count of attachments in flight; each sender
 * completion counts one down, and the last one answers. Pending requests
 * are listed so that push_free can answer them before the servers go.
 */
#include "fetcher/push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zstd.h>

#include "common/httpd.h"
#include "common/log.h"
#include "common/uuid.h"
#include "common/xalloc.h"
#include "fetcher/multipart.h"
#include "fetcher/push_event.h"
#include "fetcher/sniff.h"

struct push_server {
	struct push *p;
	const struct inputs_push *cfg;
	struct httpd *h;
	struct inputs_label *labels; /* room for a request's tags and cfg's */
};

/* One attachment in flight: what its completion needs to name it. */
struct push_att {
	struct push_req *r;
	char name[128];
};

struct push_req {
	struct push *p;
	struct push_req *prev;
	struct push_req *next;
	struct httpd_resp *resp;
	char peer[64];
	char service[256];
	size_t pending; /* attachments not yet acked or failed */
	size_t accepted;
	size_t failed;
	char rejected[512]; /* the first refusal: "name: reason" */
	struct push_att att[MULTIPART_MAX_PARTS];
};

struct push {
	struct ev_loop *loop;
	struct sender *snd;
	struct inputs *in;
	struct push_server *srv;
	size_t nsrv;
	struct push_req *reqs;
	int stopping;
	struct push_stats st;
};

static const char push_retry[] = "Retry-After: 5\r\n";

static void
push_answer(struct push_req *r, int status, const char *text)
{
	struct push *p = r->p;

	switch (status) {
	case 200:
		p->st.ok++;
		break;
	case 400:
		p->st.bad++;
		break;
	default:
		p->st.busy++;
		break;
	}
	httpd_respond_text(
	    r->resp, status, status == 503 ? push_retry : NULL, "%s", text);
}

static void
push_req_unlink(struct push_req *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->p->reqs = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
}

/* The last attachment's fate is known: answer. */
static void
push_req_finish(struct push_req *r)
{
	char text[700];

	if (r->rejected[0] != '\0') {
		log_warn("push %s %s: refused: %s", r->peer, r->service,
		    r->rejected);
		snprintf(text, sizeof(text),
		    "%s (%zu other profiles accepted)", r->rejected,
		    r->accepted);
		push_answer(r, 400, text);
	} else if (r->failed > 0) {
		log_warn("push %s %s: %zu of %zu profiles not acked by a "
		         "decoder in time; answered 503",
		    r->peer, r->service, r->failed, r->failed + r->accepted);
		push_answer(r, 503,
		    "the pipeline did not take the profiles in time; retry "
		    "later");
	} else {
		log_info("push %s %s: accepted %zu profiles", r->peer,
		    r->service, r->accepted);
		snprintf(
		    text, sizeof(text), "accepted %zu profiles", r->accepted);
		push_answer(r, 200, text);
	}
	push_req_unlink(r);
	xfree(r);
}

static void
push_on_done(void *arg, enum sender_outcome outcome, const char *reason)
{
	struct push_att *a = arg;
	struct push_req *r = a->r;

	switch (outcome) {
	case SENDER_ACKED:
		r->accepted++;
		r->p->st.profiles++;
		break;
	case SENDER_REJECTED:
		r->failed++;
		if (r->rejected[0] == '\0')
			snprintf(r->rejected, sizeof(r->rejected),
			    "%s: not a profile: %s", a->name, reason);
		break;
	default:
		r->failed++;
		break;
	}
	if (--r->pending == 0)
		push_req_finish(r);
}

/* Bearer token or DD-API-KEY, when the input has a Token. */
static int
push_authorized(const struct inputs_push *cfg, const struct httpd_req *req)
{
	const char *v;

	if (cfg->token == NULL)
		return 1;
	v = httpd_req_header(req, "DD-API-KEY");
	if (v != NULL && strcmp(v, cfg->token) == 0)
		return 1;
	v = httpd_req_header(req, "Authorization");
	return v != NULL && strncasecmp(v, "Bearer ", 7) == 0 &&
	    strcmp(v + 7, cfg->token) == 0;
}

/* Cheap checks before the pipeline sees an attachment: zstd frames must
 * span its part exactly (a truncated or padded frame is caught here; a
 * zstd stream may hold several frames, and the decoder reads them all),
 * and a profile must not be HTML or text. 0, or -1 with the reason. */
static int
push_check(const struct push_attachment *a, char *err, size_t errlen)
{
	enum sniff_kind k = sniff_body(a->data, a->len);
	size_t off = 0;
	size_t n;

	if (k == SNIFF_ZSTD) {
		while (off < a->len) {
			n = ZSTD_findFrameCompressedSize(
			    a->data + off, a->len - off);
			if (ZSTD_isError(n)) {
				snprintf(err, errlen,
				    "%s: corrupt or truncated zstd frame at "
				    "byte %zu",
				    a->name, off);
				return -1;
			}
			off += n;
		}
		return 0;
	}
	if (strcmp(a->kind, "metrics") == 0)
		return 0; /* plain JSON: the decoder reads it */
	if (!sniff_is_profile(k)) {
		snprintf(err, errlen, "%s: not a profile (%s)", a->name,
		    sniff_name(k));
		return -1;
	}
	return 0;
}

static int
push_label_cmp(const void *a, const void *b)
{
	const struct inputs_label *x = a;
	const struct inputs_label *y = b;

	return strcmp(x->key, y->key);
}

/* Tags, then the input's labels over them, sorted: into l (room for
 * PUSH_EVENT_TAGS + cfg->nlabels). The count. */
static size_t
push_labels(const struct inputs_push *cfg, const struct push_event *ev,
    struct inputs_label *l)
{
	size_t k = 0;
	size_t i;
	size_t j;

	for (i = 0; i < ev->ntags; i++) {
		for (j = 0; j < cfg->nlabels; j++) {
			if (strcmp(cfg->labels[j].key, ev->tags[i].key) == 0)
				break;
		}
		if (j < cfg->nlabels)
			continue;
		for (j = 0; j < k; j++) {
			if (strcmp(l[j].key, ev->tags[i].key) == 0)
				break;
		}
		l[j].key = ev->tags[i].key;
		l[j].value = ev->tags[i].value;
		if (j == k)
			k++;
	}
	for (i = 0; i < cfg->nlabels; i++)
		l[k++] = cfg->labels[i];
	qsort(l, k, sizeof(*l), push_label_cmp);
	return k;
}

static const char *
push_service(const struct inputs_push *cfg, const struct push_event *ev)
{
	const char *s = push_tag(ev, "service");
	size_t i;

	if (s != NULL && s[0] != '\0')
		return s;
	for (i = 0; i < cfg->nlabels; i++) {
		if (strcmp(cfg->labels[i].key, "service") == 0)
			return cfg->labels[i].value;
	}
	return INPUTS_PUSH_JOB;
}

/* The client's address without the port. */
static void
push_peer_ip(const char *peer, char *out, size_t outlen)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);

	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, peer, n);
	out[n] = '\0';
}

/* Submit every attachment of ev for r. The number submitted. */
static size_t
push_submit(struct push_server *s, struct push_req *r,
    const struct push_event *ev, const char *instance)
{
	struct inputs_label *labels = s->labels;
	struct sender_origin o;
	char id[UUID_STRLEN + 1];
	char target[256];
	size_t i;
	size_t sent = 0;

	memset(&o, 0, sizeof(o));
	o.labels = labels;
	o.nlabels = push_labels(s->cfg, ev, labels);
	o.source = "push";
	o.service = r->service;
	o.instance = instance;
	o.job = INPUTS_PUSH_JOB;
	o.start_ns = ev->start_ns;
	o.end_ns = ev->end_ns;
	o.target = target;
	o.profile_id = id;
	for (i = 0; i < ev->natt; i++) {
		if (uuid_v4(id) < 0)
			break;
		snprintf(target, sizeof(target), "push://%s/%s", r->peer,
		    ev->att[i].name);
		o.kind = ev->att[i].kind;
		o.is_delta = ev->att[i].is_delta;
		r->att[i].r = r;
		snprintf(r->att[i].name, sizeof(r->att[i].name), "%s",
		    ev->att[i].name);
		r->pending++;
		if (sender_submit_cb(s->p->snd, &o, ev->att[i].data,
		        ev->att[i].len, (int)s->cfg->ack_timeout_s * 1000,
		        push_on_done, &r->att[i]) < 0) {
			r->pending--;
			break;
		}
		sent++;
	}
	return sent;
}

/* What the body says, checked: 0, or the 400 already answered. */
static int
push_read_body(const struct httpd_req *req, struct multipart_part *parts,
    struct push_event *ev, char *err, size_t errlen)
{
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	size_t nparts;
	size_t i;

	if (multipart_boundary(httpd_req_header(req, "Content-Type"), boundary,
	        sizeof(boundary), err, errlen) < 0 ||
	    multipart_parse(req->body, req->body_len, boundary, parts,
	        MULTIPART_MAX_PARTS, &nparts, err, errlen) < 0 ||
	    push_event_from_parts(parts, nparts, ev, err, errlen) < 0)
		return -1;
	for (i = 0; i < ev->natt; i++) {
		if (push_check(&ev->att[i], err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The token, from the head alone: a client without it is answered 401
 * before its body is read, so it cannot make the intake hold MaxSize
 * for it. */
static int
push_guard(void *arg, const struct httpd_req *req, const char **extra,
    const char **why)
{
	struct push_server *s = arg;

	if (push_authorized(s->cfg, req))
		return 0;
	s->p->st.requests++;
	s->p->st.unauth++;
	log_warn("push %s: no valid token (Authorization: Bearer or "
	         "DD-API-KEY); answered 401 before the body",
	    req->peer);
	*extra = "WWW-Authenticate: Bearer\r\n";
	*why = "missing or wrong token";
	return 401;
}

static void
push_on_post(void *arg, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct push_server *s = arg;
	struct push *p = s->p;
	struct multipart_part *parts = NULL;
	struct push_event *ev = NULL;
	struct push_req *r;
	char instance[INPUTS_INSTANCE_MAX + 1];
	char err[512];
	const char *host;

	p->st.requests++;
	r = xcalloc(1, sizeof(*r));
	if (r == NULL) {
		httpd_respond_text(resp, 503, push_retry, "out of memory");
		p->st.busy++;
		return;
	}
	r->p = p;
	r->resp = resp;
	snprintf(r->peer, sizeof(r->peer), "%s", req->peer);
	if (p->stopping) {
		push_answer(r, 503, "stopping; retry later");
		goto out_free_req;
	}
	/* The token was checked from the head (push_guard). */
	parts = xcalloc(MULTIPART_MAX_PARTS, sizeof(*parts));
	ev = xcalloc(1, sizeof(*ev));
	if (parts == NULL || ev == NULL) {
		push_answer(r, 503, "out of memory");
		goto out_free_req;
	}
	if (push_read_body(req, parts, ev, err, sizeof(err)) < 0) {
		log_warn("push %s: bad request: %s", r->peer, err);
		push_answer(r, 400, err);
		goto out_free_req;
	}
	p->st.unknown += ev->nunknown;
	p->st.tags_skipped += ev->tags_skipped;
	if (ev->tags_skipped > 0)
		log_warn(
		    "push %s: %zu tags skipped, over-long or past the %dth "
		    "(the first: \"%s\"); service, host and runtime-id "
		    "are kept wherever they come",
		    r->peer, ev->tags_skipped, PUSH_MAX_TAGS, ev->skipped);
	if (ev->nunknown > 0)
		log_info("push %s: %zu attachments of unknown kinds skipped "
		         "(%s...)",
		    r->peer, ev->nunknown, ev->unknown);
	snprintf(
	    r->service, sizeof(r->service), "%s", push_service(s->cfg, ev));
	if (ev->natt == 0) {
		push_answer(r, 200, "accepted 0 profiles");
		goto out_free_req;
	}
	if (sender_free_slots(p->snd) < ev->natt) {
		log_warn("push %s %s: pipeline full (%zu profiles, %zu free "
		         "slots); answered 503",
		    r->peer, r->service, ev->natt, sender_free_slots(p->snd));
		push_answer(r, 503, "pipeline full; retry later");
		goto out_free_req;
	}
	host = push_tag(ev, "host");
	if (host == NULL || host[0] == '\0')
		host = push_tag(ev, "runtime-id");
	if (host != NULL && host[0] != '\0')
		snprintf(instance, sizeof(instance), "%s", host);
	else
		push_peer_ip(r->peer, instance, sizeof(instance));
	r->next = p->reqs;
	if (p->reqs != NULL)
		p->reqs->prev = r;
	p->reqs = r;
	if (push_submit(s, r, ev, instance) < ev->natt) {
		/* Those sent will still report; the rest count as failed. */
		r->failed += ev->natt - r->accepted - r->failed - r->pending;
	}
	if (r->pending == 0)
		push_req_finish(r);
	xfree(parts);
	xfree(ev);
	return;
out_free_req:
	xfree(parts);
	xfree(ev);
	xfree(r);
}

int
push_new(struct push **out, struct ev_loop *loop, struct sender *snd,
    struct inputs *in, char *err, size_t errlen)
{
	struct httpd_limits lim;
	struct push *p = xcalloc(1, sizeof(*p));
	struct push_server *s;
	char why[256];
	size_t i;
	size_t e;

	if (p == NULL)
		goto out_oom;
	p->loop = loop;
	p->snd = snd;
	p->in = inputs_ref(in);
	p->srv = xcalloc(in->npushes + 1, sizeof(*p->srv));
	if (p->srv == NULL)
		goto out_free_push;
	for (i = 0; i < in->npushes; i++) {
		s = &p->srv[i];
		s->p = p;
		s->cfg = &in->pushes[i];
		s->labels = xcalloc(
		    PUSH_EVENT_TAGS + s->cfg->nlabels, sizeof(*s->labels));
		if (s->labels == NULL)
			goto out_oom_free;
		httpd_limits_default(&lim);
		lim.max_body = s->cfg->max_size;
		lim.retry_after = PUSH_RETRY_AFTER;
		if (httpd_new(&s->h, loop, s->cfg->host, s->cfg->port, &lim,
		        why, sizeof(why)) < 0) {
			snprintf(err, errlen, "push: listen %s: %s",
			    s->cfg->listen, why);
			goto out_free_push;
		}
		p->nsrv++;
		for (e = 0; e < s->cfg->nendpoints; e++) {
			if (httpd_route(s->h, "POST", s->cfg->endpoints[e],
			        s->cfg->max_size, push_on_post, s) < 0 ||
			    (s->cfg->token != NULL &&
			        httpd_route_guard(s->h, "POST",
			            s->cfg->endpoints[e], push_guard) < 0))
				goto out_oom_free;
		}
	}
	*out = p;
	return 0;
out_oom_free:
	snprintf(err, errlen, "out of memory");
out_free_push:
	push_free(p);
	return -1;
out_oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
push_stop(struct push *p)
{
	if (p != NULL)
		p->stopping = 1;
}

void
push_free(struct push *p)
{
	struct push_req *r;
	size_t i;

	if (p == NULL)
		return;
	while (p->reqs != NULL) {
		r = p->reqs;
		push_answer(r, 503, "stopping; retry later");
		push_req_unlink(r);
		xfree(r);
	}
	for (i = 0; i < p->nsrv; i++)
		httpd_free(p->srv[i].h);
	for (i = 0; p->srv != NULL && i < p->in->npushes; i++)
		xfree(p->srv[i].labels);
	xfree(p->srv);
	inputs_unref(p->in);
	xfree(p);
}

size_t
push_listeners(const struct push *p)
{
	return p->nsrv;
}

void
push_stats(const struct push *p, struct push_stats *out)
{
	size_t i;
	struct httpd_stats hs;

	*out = p->st;
	for (i = 0; i < p->nsrv; i++) {
		httpd_stats(p->srv[i].h, &hs);
		out->http_errors += hs.errors;
	}
}
