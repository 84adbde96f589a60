/*
 * api_data: the API's data endpoints. Each reads its parameters strictly
 * (exporter/api_params.h: 400 naming the parameter), asks the store
 * (404 when it holds no such series), and answers JSON, or for
 * /api/v1/profile a gzipped pprof.
 *
 * The flame graph and the diff are one code path: the store merges one
 * range (or two, the second being the base) into a profile with one
 * column per range, and flame_build makes one tree of it with the first
 * column as its values and the second as its counts, so each element of
 * a diff carries both totals without matching two trees up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "exporter/api_int.h"
#include "exporter/api_params.h"
#include "exporter/pprof_pack.h"
#include "exporter/store_query.h"

#define API_NS 1000000000LL
/* Elements of a flame graph answer unless maxNodes says otherwise. */
#define API_MAX_NODES 30000

static const struct {
	const char *kind;
	const char *type;
} api_kind_types[] = {
    {"cpu", "cpu"},
    {"mem", "inuse_space"},
    {"goroutines", "goroutine"},
    {"mutex", "delay"},
    {"block", "delay"},
    {"allocs", "alloc_space"},
    {"threadcreate", "threadcreate"},
};

static int64_t
api_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * API_NS + ts.tv_nsec;
}

/* Parse req's query into p, refusing keys not in known. 0, or -1 having
 * answered 400. */
static int
api_read_params(struct api_params *p, const struct httpd_req *req,
    const char *const *known, struct httpd_resp *r)
{
	char err[256];

	if (api_params_parse(p, req->query, err, sizeof(err)) < 0 ||
	    api_params_only(p, known, err, sizeof(err)) < 0) {
		api_error(r, 400, err);
		return -1;
	}
	return 0;
}

static int
api_required(const struct api_params *p, const char *key, const char **out,
    struct httpd_resp *r)
{
	char err[128];

	*out = api_param(p, key);
	if (*out == NULL || (*out)[0] == '\0') {
		snprintf(err, sizeof(err), "parameter %s: required", key);
		api_error(r, 400, err);
		return -1;
	}
	return 0;
}

/* service, instance, kind, valueType, from, to (and baseFrom, baseTo when
 * base): the selection of a flame graph, diff, profile or totals. */
static int
api_selection(const struct api_params *p, int base, struct store_sel *q,
    struct httpd_resp *r)
{
	int64_t now = api_now_ns();
	char err[256];
	size_t i;

	memset(q, 0, sizeof(*q));
	if (api_required(p, "service", &q->service, r) < 0 ||
	    api_required(p, "kind", &q->kind, r) < 0)
		return -1;
	q->instance = api_param(p, "instance");
	if (q->instance != NULL && q->instance[0] == '\0')
		q->instance = NULL;
	q->value_type = api_param(p, "valueType");
	for (i = 0; q->value_type == NULL &&
	     i < sizeof(api_kind_types) / sizeof(api_kind_types[0]);
	     i++) {
		if (strcmp(q->kind, api_kind_types[i].kind) == 0)
			q->value_type = api_kind_types[i].type;
	}
	if (q->value_type == NULL || q->value_type[0] == '\0') {
		api_error(
		    r, 400, "parameter valueType: required for this kind");
		return -1;
	}
	q->n_ranges = 1;
	if (api_params_range(p, "from", "to", now, &q->range[0].from_ns,
	        &q->range[0].to_ns, err, sizeof(err)) < 0) {
		api_error(r, 400, err);
		return -1;
	}
	if (!base)
		return 0;
	if (api_param(p, "baseFrom") == NULL ||
	    api_param(p, "baseTo") == NULL) {
		api_error(r, 400,
		    api_param(p, "baseFrom") == NULL
		        ? "parameter baseFrom: required"
		        : "parameter baseTo: required");
		return -1;
	}
	q->n_ranges = 2;
	if (api_params_range(p, "baseFrom", "baseTo", now,
	        &q->range[1].from_ns, &q->range[1].to_ns, err,
	        sizeof(err)) < 0) {
		api_error(r, 400, err);
		return -1;
	}
	return 0;
}

/* Merge q; 0, or -1 having answered 404 or 500. */
static int
api_merge(struct api *a, const struct store_sel *q, struct store_merged *m,
    struct httpd_resp *r)
{
	char err[512];
	int rv;

	arena_reset(a->arena);
	buf_clear(&a->out);
	rv = store_merge(a->store, q, a->arena, m, err, sizeof(err));
	if (rv == STORE_ENOTFOUND) {
		api_error(r, 404, err);
		return -1;
	}
	if (rv < 0) {
		api_error(r, 500, err);
		return -1;
	}
	return 0;
}

static void
api_col(const struct store_merged *m, size_t i, struct export_col *c)
{
	/* a flame graph has one column: its base stays unused */
	if (i >= m->d.n_sample_types)
		i = 0;
	c->type = m->d.strings[1];
	c->unit = m->unit;
	c->src = i;
	c->mul = 1;
}

static const char *const api_sel_keys[] = {
    "service", "instance", "kind", "valueType", "from", "to", NULL};
static const char *const api_tree_keys[] = {"service", "instance", "kind",
    "valueType", "from", "to", "maxNodes", NULL};
static const char *const api_diff_keys[] = {"service", "instance", "kind",
    "valueType", "from", "to", "baseFrom", "baseTo", "maxNodes", NULL};

/* The maxNodes-th largest total (nodes at or above it are kept): a
 * quickselect over a copy of the totals, O(n). */
static int64_t
api_threshold(const struct flame *f, size_t max, int64_t *tmp)
{
	size_t lo = 0, hi = f->n - 1, k = max - 1;
	size_t i, j;
	int64_t pivot, t;

	for (i = 0; i < f->n; i++)
		tmp[i] = f->elems[i].total;
	while (lo < hi) {
		pivot = tmp[lo + (hi - lo) / 2];
		i = lo;
		j = hi;
		while (i <= j) {
			while (tmp[i] > pivot)
				i++;
			while (tmp[j] < pivot)
				j--;
			if (i <= j) {
				t = tmp[i];
				tmp[i] = tmp[j];
				tmp[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return tmp[k];
}

/* v in decimal: a tree's answer holds tens of thousands of numbers, and
 * buf_printf's vsnprintf costs more than the digits. */
static void
api_put_i64(struct buf *out, int64_t v)
{
	char d[24];
	size_t n = sizeof(d);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		d[--n] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		d[--n] = '-';
	buf_append(out, d + n, sizeof(d) - n);
}

/* The tree as JSON, at most max elements: the largest totals, which is a
 * subtree since a child's total never exceeds its parent's. Dropped
 * elements' values stay in their parents' totals. diff adds the base's
 * totals (the flame's counts). */
static int
api_tree_json(struct api *a, const struct flame *f, size_t max, int diff,
    const struct export_col *col)
{
	const struct flame_elem *e;
	struct buf *out = &a->out;
	const char *sig;
	int64_t *newid;
	int64_t thr = INT64_MIN;
	size_t kept = 0;
	size_t i;

	newid = arena_alloc(a->arena, (f->n + 1) * sizeof(int64_t));
	if (newid == NULL)
		return -1;
	if (max > 0 && f->n > max)
		thr = api_threshold(f, max, newid);
	buf_puts(out, "{\"valueType\":");
	buf_json_str(out, col->type, strlen(col->type));
	buf_puts(out, ",\"unit\":");
	buf_json_str(out, col->unit, strlen(col->unit));
	buf_printf(out, ",\"total\":%" PRId64, f->n ? f->elems[0].total : 0);
	if (diff)
		buf_printf(out, ",\"baseTotal\":%" PRId64,
		    f->n ? f->elems[0].count_total : 0);
	buf_puts(out, ",\"elements\":[");
	for (i = 0; i < f->n && !out->failed; i++) {
		e = &f->elems[i];
		newid[i] = -1;
		if (i > 0 &&
		    (newid[e->parent] < 0 || e->total < thr ||
		        (max > 0 && kept >= max)))
			continue;
		newid[i] = (int64_t)kept;
		buf_puts(out, kept ? ",\n{\"id\":" : "\n{\"id\":");
		api_put_i64(out, (int64_t)kept);
		buf_puts(out, ",\"parentId\":");
		api_put_i64(out, i ? newid[e->parent] : -1);
		kept++;
		buf_puts(out, ",\"codeSignature\":");
		sig = flame_signature(f, i);
		buf_json_str(out, sig, strlen(sig));
		buf_puts(out, ",\"total\":");
		api_put_i64(out, e->total);
		buf_puts(out, ",\"self\":");
		api_put_i64(out, e->self);
		if (diff) {
			buf_puts(out, ",\"baseTotal\":");
			api_put_i64(out, e->count_total);
			buf_puts(out, ",\"baseSelf\":");
			api_put_i64(out, e->count_self);
		}
		buf_puts(out, "}");
	}
	buf_printf(out, "],\"omitted\":%zu}\n", f->n - kept);
	return out->failed ? -1 : 0;
}

/* maxNodes: elements in the answer at most (default API_MAX_NODES). */
static int
api_max_nodes(const struct api_params *p, size_t *max, struct httpd_resp *r)
{
	const char *s = api_param(p, "maxNodes");
	long v = 0;
	size_t i;

	*max = API_MAX_NODES;
	if (s == NULL)
		return 0;
	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 8; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0 || s[i] != '\0' || v < 1) {
		api_error(r, 400,
		    "parameter maxNodes: not a number from 1 to 99999999");
		return -1;
	}
	*max = (size_t)v;
	return 0;
}

static void
api_tree(
    void *arg, const struct httpd_req *req, struct httpd_resp *r, int diff)
{
	struct api *a = arg;
	struct api_params p;
	struct store_sel q;
	struct store_merged m;
	struct export_col col;
	struct export_col base;
	char why[160];
	size_t max;

	if (api_read_params(&p, req, diff ? api_diff_keys : api_tree_keys, r) <
	        0 ||
	    api_max_nodes(&p, &max, r) < 0 ||
	    api_selection(&p, diff, &q, r) < 0 || api_merge(a, &q, &m, r) < 0)
		return;
	api_col(&m, 0, &col);
	api_col(&m, 1, &base);
	switch (flame_build(&a->flame, &m.d, &col, diff ? &base : NULL)) {
	case 0:
		break;
	case -2:
		snprintf(why, sizeof(why),
		    "flame tree: more than %zu elements, or %zu frames in its "
		    "stacks: choose a shorter range",
		    (size_t)FLAME_MAX_ELEMS, (size_t)FLAME_MAX_FRAMES);
		api_error(r, 500, why);
		return;
	default:
		api_error(r, 500, "flame tree: out of memory");
		return;
	}
	if (api_tree_json(a, &a->flame, max, diff, &col) < 0) {
		api_error(r, 500, "answer larger than the API's cap");
		return;
	}
	api_json(a, r);
}

void
api_flamegraph(void *arg, const struct httpd_req *req, struct httpd_resp *r)
{
	api_tree(arg, req, r, 0);
}

void
api_diff(void *arg, const struct httpd_req *req, struct httpd_resp *r)
{
	api_tree(arg, req, r, 1);
}

void
api_profile(void *arg, const struct httpd_req *req, struct httpd_resp *r)
{
	struct api *a = arg;
	struct api_params p;
	struct store_sel q;
	struct store_merged m;
	char extra[256];
	size_t nsamples;

	if (api_read_params(&p, req, api_sel_keys, r) < 0 ||
	    api_selection(&p, 0, &q, r) < 0 || api_merge(a, &q, &m, r) < 0)
		return;
	if (pprof_pack(&m.d, &a->out, &nsamples) < 0) {
		api_error(r, 500, "pprof: out of memory or too large");
		return;
	}
	snprintf(extra, sizeof(extra),
	    "Content-Disposition: attachment; filename=\"%s.pb.gz\"\r\n",
	    q.kind);
	httpd_respond(r, 200, "application/octet-stream", extra, a->out.data,
	    a->out.len);
}

void
api_series(void *arg, const struct httpd_req *req, struct httpd_resp *r)
{
	static const char *const known[] = {NULL};
	struct api *a = arg;
	struct api_params p;
	char err[512];

	if (api_read_params(&p, req, known, r) < 0)
		return;
	buf_clear(&a->out);
	if (store_series_json(a->store, &a->out, err, sizeof(err)) < 0) {
		api_error(r, 500, err);
		return;
	}
	api_json(a, r);
}

void
api_totals(void *arg, const struct httpd_req *req, struct httpd_resp *r)
{
	struct api *a = arg;
	struct api_params p;
	struct store_sel q;
	char err[512];
	int rv;

	if (api_read_params(&p, req, api_sel_keys, r) < 0 ||
	    api_selection(&p, 0, &q, r) < 0)
		return;
	buf_clear(&a->out);
	rv = store_totals_json(a->store, &q, &a->out, err, sizeof(err));
	if (rv < 0) {
		api_error(r, rv == STORE_ENOTFOUND ? 404 : 500, err);
		return;
	}
	api_json(a, r);
}

void
api_metrics(void *arg, const struct httpd_req *req, struct httpd_resp *r)
{
	static const char *const known[] = {
	    "service", "instance", "name", "from", "to", NULL};
	struct api *a = arg;
	struct api_params p;
	const char *service;
	const char *name;
	const char *instance;
	int64_t from;
	int64_t to;
	char err[512];
	int rv;

	if (api_read_params(&p, req, known, r) < 0 ||
	    api_required(&p, "service", &service, r) < 0 ||
	    api_required(&p, "name", &name, r) < 0)
		return;
	if (api_params_range(&p, "from", "to", api_now_ns(), &from, &to, err,
	        sizeof(err)) < 0) {
		api_error(r, 400, err);
		return;
	}
	instance = api_param(&p, "instance");
	if (instance != NULL && instance[0] == '\0')
		instance = NULL;
	buf_clear(&a->out);
	rv = store_metrics_json(a->store, service, instance, name, from, to,
	    &a->out, err, sizeof(err));
	if (rv < 0) {
		api_error(r, rv == STORE_ENOTFOUND ? 404 : 500, err);
		return;
	}
	api_json(a, r);
}
