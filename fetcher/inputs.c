/*
 * inputs: the inputs: section walked once, every value checked, and the
 * result flattened to one struct inputs_target per address. All of it is
 * allocated in one arena so a reload can drop an old set in one call, and
 * the counts are taken before anything is allocated so no array grows.
 */
#include "fetcher/inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/xalloc.h"

struct inputs_kind_info {
	const char *name;
	const char *path;
	int delta;
};

static const struct inputs_kind_info inputs_kinds[INPUTS_NKINDS] = {
    [INPUTS_CPU] = {"cpu", "/debug/pprof/profile", 1},
    [INPUTS_MEM] = {"mem", "/debug/pprof/heap", 0},
    [INPUTS_GOROUTINES] = {"goroutines", "/debug/pprof/goroutine", 0},
    [INPUTS_MUTEX] = {"mutex", "/debug/pprof/mutex", 1},
    [INPUTS_BLOCK] = {"block", "/debug/pprof/block", 1},
    [INPUTS_ALLOCS] = {"allocs", "/debug/pprof/allocs", 0},
    [INPUTS_THREADCREATE] = {"threadcreate", "/debug/pprof/threadcreate", 0},
    [INPUTS_MEMSTATS] = {"memstats", "/debug/pprof/heap?debug=1", 0},
};

#define INPUTS_KNOWN_KINDS                                                    \
	"cpu, mem, goroutines, mutex, block, allocs, threadcreate"

/* iLogtail's default set. */
#define INPUTS_DEFAULT_KINDS                                                  \
	((1u << INPUTS_CPU) | (1u << INPUTS_MEM) |                            \
	    (1u << INPUTS_GOROUTINES) | (1u << INPUTS_MUTEX) |                \
	    (1u << INPUTS_BLOCK))

#define INPUTS_MAX_SECONDS 10
#define INPUTS_MAX_LIMIT_KB (256L * 1024)

static const char *const inputs_input_keys[] = {"Type", "Name", "Mode",
    "Interval", "Timeout", "BodyLimitSize", "EnabledProfiles", "Labels",
    "Config", "Metrics", NULL};
static const char *const inputs_config_keys[] = {"Addresses", NULL};
static const char *const inputs_address_keys[] = {
    "Host", "Port", "InstanceLabels", NULL};

/* One input's settings, shared by its addresses. */
struct inputs_common {
	const char *job;
	long interval_s;
	long timeout_s;
	long limit_kb;
	unsigned kinds;
	const struct cfg_node *labels;
};

struct inputs_parse {
	const struct cfg *c;
	struct inputs *in;
	char *err;
	size_t errlen;
};

const char *
inputs_kind_name(enum inputs_kind k)
{
	return (unsigned)k < INPUTS_NKINDS ? inputs_kinds[k].name : "?";
}

const char *
inputs_kind_path(enum inputs_kind k)
{
	return (unsigned)k < INPUTS_NKINDS ? inputs_kinds[k].path : "/";
}

int
inputs_kind_is_delta(enum inputs_kind k)
{
	return (unsigned)k < INPUTS_NKINDS && inputs_kinds[k].delta;
}

int
inputs_kind_is_text(enum inputs_kind k)
{
	return k == INPUTS_MEMSTATS;
}

int
inputs_kind_parse(const char *name, enum inputs_kind *out)
{
	int k;

	for (k = 0; k < INPUTS_NKINDS; k++) {
		if (strcmp(inputs_kinds[k].name, name) == 0) {
			*out = (enum inputs_kind)k;
			return 0;
		}
	}
	return -1;
}

static int
inputs_oom(struct inputs_parse *p, const struct cfg_node *n)
{
	return cfg_error(p->c, n, p->err, p->errlen, "out of memory");
}

/* The kinds of EnabledProfiles; absent means iLogtail's default set. */
static int
inputs_parse_kinds(
    struct inputs_parse *p, const struct cfg_node *input, unsigned *out)
{
	struct cfg_node *seq;
	const struct cfg_node *n;
	enum inputs_kind k;
	unsigned kinds = 0;

	if (cfg_seq(p->c, input, "EnabledProfiles", &seq, p->err, p->errlen) <
	    0)
		return -1;
	if (seq == NULL) {
		*out = INPUTS_DEFAULT_KINDS;
		return 0;
	}
	for (n = seq->child; n != NULL; n = n->next) {
		if (n->type != CFG_SCALAR)
			return cfg_error(p->c, n, p->err, p->errlen,
			    "EnabledProfiles: expected profile names");
		if (inputs_kind_parse(n->value, &k) < 0)
			return cfg_error(p->c, n, p->err, p->errlen,
			    "EnabledProfiles: unknown profile \"%s\" "
			    "(known: " INPUTS_KNOWN_KINDS ")",
			    n->value);
		if (kinds & (1u << k))
			return cfg_error(p->c, n, p->err, p->errlen,
			    "EnabledProfiles: %s is listed twice", n->value);
		kinds |= 1u << k;
	}
	if (kinds == 0)
		return cfg_error(p->c, seq, p->err, p->errlen,
		    "EnabledProfiles: empty: name at least one profile");
	*out = kinds;
	return 0;
}

/* A Labels or InstanceLabels map: every member a plain value. */
static int
inputs_check_labels(
    struct inputs_parse *p, const struct cfg_node *m, const char *what)
{
	const struct cfg_node *n;

	if (m == NULL)
		return 0;
	for (n = m->child; n != NULL; n = n->next) {
		if (n->key[0] == '\0')
			return cfg_error(p->c, n, p->err, p->errlen,
			    "%s: a label name must not be empty", what);
		if (n->type != CFG_SCALAR)
			return cfg_error(p->c, n, p->err, p->errlen,
			    "%s: %s: expected a value, found a %s", what,
			    n->key, n->type == CFG_MAP ? "map" : "list");
	}
	return 0;
}

static int
inputs_label_cmp(const void *a, const void *b)
{
	const struct inputs_label *x = a;
	const struct inputs_label *y = b;

	return strcmp(x->key, y->key);
}

/* The input's labels, then the address's over them, sorted by key, copied
 * into the arena: the cfg tree is freed once the inputs are built. */
static int
inputs_merge_labels(struct inputs_parse *p, struct inputs_target *t,
    const struct cfg_node *global, const struct cfg_node *local,
    const struct cfg_node *where)
{
	struct inputs_label *l;
	const struct cfg_node *n;
	size_t k = 0;
	size_t i;
	size_t max = cfg_count(global) + cfg_count(local);

	t->labels = NULL;
	t->nlabels = 0;
	if (max == 0)
		return 0;
	l = arena_calloc(p->in->arena, max, sizeof(*l));
	if (l == NULL)
		return inputs_oom(p, where);
	for (n = global ? global->child : NULL; n != NULL; n = n->next) {
		l[k].key = arena_strndup(p->in->arena, n->key, strlen(n->key));
		l[k].value =
		    arena_strndup(p->in->arena, n->value, strlen(n->value));
		if (l[k].key == NULL || l[k].value == NULL)
			return inputs_oom(p, where);
		k++;
	}
	for (n = local ? local->child : NULL; n != NULL; n = n->next) {
		for (i = 0; i < k; i++) {
			if (strcmp(l[i].key, n->key) == 0)
				break;
		}
		if (i == k) {
			l[k].key = arena_strndup(
			    p->in->arena, n->key, strlen(n->key));
			if (l[k].key == NULL)
				return inputs_oom(p, where);
			k++;
		}
		l[i].value =
		    arena_strndup(p->in->arena, n->value, strlen(n->value));
		if (l[i].value == NULL)
			return inputs_oom(p, where);
	}
	qsort(l, k, sizeof(*l), inputs_label_cmp);
	t->labels = l;
	t->nlabels = k;
	return 0;
}

/* Host names and IP literals: letters, digits, '.', '-', '_', and ':' for
 * IPv6. Anything else (a scheme, a path, a space) is a mistake here. */
static int
inputs_host_ok(const char *h)
{
	size_t i;
	unsigned char ch;

	if (h[0] == '\0' || strlen(h) > INPUTS_HOST_MAX)
		return 0;
	for (i = 0; h[i] != '\0'; i++) {
		ch = (unsigned char)h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
		        ch == '_' || ch == ':'))
			return 0;
	}
	return 1;
}

static int
inputs_parse_address(struct inputs_parse *p, const struct cfg_node *a,
    const struct inputs_common *ic)
{
	struct inputs_target *t = &p->in->targets[p->in->ntargets];
	struct cfg_node *local;
	const char *host;
	char inst[INPUTS_INSTANCE_MAX + 1];
	long port;
	size_t i;

	if (a->type != CFG_MAP)
		return cfg_error(p->c, a, p->err, p->errlen,
		    "Addresses: each address must be a map "
		    "(Host: ..., Port: ...)");
	if (cfg_only(p->c, a, inputs_address_keys, p->err, p->errlen) < 0)
		return -1;
	if (cfg_str(p->c, a, "Host", NULL, &host, p->err, p->errlen) < 0)
		return -1;
	if (host == NULL)
		return cfg_error(p->c, a, p->err, p->errlen, "Host: missing");
	if (!inputs_host_ok(host))
		return cfg_error(p->c, cfg_get(a, "Host"), p->err, p->errlen,
		    "Host: \"%s\" is not a host name or IP address", host);
	if (cfg_int(p->c, a, "Port", 0, 1, 65535, &port, p->err, p->errlen) <
	    0)
		return -1;
	if (port == 0)
		return cfg_error(p->c, a, p->err, p->errlen, "Port: missing");
	if (cfg_map(p->c, a, "InstanceLabels", &local, p->err, p->errlen) < 0)
		return -1;
	if (inputs_check_labels(p, local, "InstanceLabels") < 0)
		return -1;
	snprintf(inst, sizeof(inst), strchr(host, ':') ? "[%s]:%ld" : "%s:%ld",
	    host, port);
	for (i = 0; i < p->in->ntargets; i++) {
		if (strcmp(p->in->targets[i].instance, inst) == 0)
			return cfg_error(p->c, cfg_get(a, "Host"), p->err,
			    p->errlen, "Host: %s is already listed at line %d",
			    inst, p->in->targets[i].line);
	}
	t->host = arena_strndup(p->in->arena, host, strlen(host));
	t->instance = arena_strndup(p->in->arena, inst, strlen(inst));
	if (t->host == NULL || t->instance == NULL)
		return inputs_oom(p, a);
	t->port = (int)port;
	t->job = ic->job;
	t->kinds = ic->kinds;
	t->interval_s = ic->interval_s;
	t->timeout_s = ic->timeout_s;
	t->seconds_s = ic->interval_s - 1 < INPUTS_MAX_SECONDS
	    ? ic->interval_s - 1
	    : INPUTS_MAX_SECONDS;
	if (t->seconds_s < 1)
		t->seconds_s = 1;
	t->body_limit = (size_t)ic->limit_kb * 1024;
	t->line = a->line;
	if (inputs_merge_labels(p, t, ic->labels, local, a) < 0)
		return -1;
	t->service = t->job;
	for (i = 0; i < t->nlabels; i++) {
		if (strcmp(t->labels[i].key, "service") == 0)
			t->service = t->labels[i].value;
	}
	p->in->ntargets++;
	return 0;
}

static int
inputs_parse_pull(struct inputs_parse *p, const struct cfg_node *input)
{
	struct inputs_common ic;
	int metrics;
	struct cfg_node *labels;
	struct cfg_node *config;
	struct cfg_node *addrs;
	const struct cfg_node *a;
	const char *s;

	if (cfg_only(p->c, input, inputs_input_keys, p->err, p->errlen) < 0)
		return -1;
	if (cfg_str(p->c, input, "Name", INPUTS_DEFAULT_JOB, &s, p->err,
	        p->errlen) < 0)
		return -1;
	if (s[0] == '\0')
		return cfg_error(p->c, cfg_get(input, "Name"), p->err,
		    p->errlen, "Name: must not be empty");
	ic.job = arena_strndup(p->in->arena, s, strlen(s));
	if (ic.job == NULL)
		return inputs_oom(p, input);
	if (cfg_str(p->c, input, "Mode", "host", &s, p->err, p->errlen) < 0)
		return -1;
	if (strcmp(s, "kubernetes") == 0)
		return cfg_error(p->c, cfg_get(input, "Mode"), p->err,
		    p->errlen,
		    "Mode: kubernetes is not supported yet "
		    "(use Mode: host with Config.Addresses)");
	if (strcmp(s, "host") != 0)
		return cfg_error(p->c, cfg_get(input, "Mode"), p->err,
		    p->errlen,
		    "Mode: expected host or kubernetes, "
		    "found \"%s\"",
		    s);
	if (cfg_int(p->c, input, "Interval", 10, 1, 86400, &ic.interval_s,
	        p->err, p->errlen) < 0 ||
	    cfg_int(p->c, input, "Timeout", 15, 1, 3600, &ic.timeout_s, p->err,
	        p->errlen) < 0 ||
	    cfg_int(p->c, input, "BodyLimitSize", 10240, 1,
	        INPUTS_MAX_LIMIT_KB, &ic.limit_kb, p->err, p->errlen) < 0)
		return -1;
	if (inputs_parse_kinds(p, input, &ic.kinds) < 0 ||
	    cfg_bool(p->c, input, "Metrics", 0, &metrics, p->err, p->errlen) <
	        0)
		return -1;
	/* The runtime metrics need MemStats, which no profile carries. */
	if (metrics)
		ic.kinds |= 1u << INPUTS_MEMSTATS;
	if (cfg_map(p->c, input, "Labels", &labels, p->err, p->errlen) < 0)
		return -1;
	if (inputs_check_labels(p, labels, "Labels") < 0)
		return -1;
	ic.labels = labels;
	if (cfg_map(p->c, input, "Config", &config, p->err, p->errlen) < 0)
		return -1;
	if (config == NULL)
		return cfg_error(p->c, input, p->err, p->errlen,
		    "Config: missing (Config: {Addresses: [{Host: ..., "
		    "Port: ...}]})");
	if (cfg_only(p->c, config, inputs_config_keys, p->err, p->errlen) < 0)
		return -1;
	if (cfg_seq(p->c, config, "Addresses", &addrs, p->err, p->errlen) < 0)
		return -1;
	if (addrs == NULL || addrs->child == NULL)
		return cfg_error(p->c, addrs ? addrs : config, p->err,
		    p->errlen,
		    "Addresses: %s: list at least one "
		    "{Host: ..., Port: ...}",
		    addrs ? "empty" : "missing");
	for (a = addrs->child; a != NULL; a = a->next) {
		if (inputs_parse_address(p, a, &ic) < 0)
			return -1;
	}
	return 0;
}

static int
inputs_parse_input(struct inputs_parse *p, const struct cfg_node *input)
{
	const char *type;

	if (input->type != CFG_MAP)
		return cfg_error(p->c, input, p->err, p->errlen,
		    "inputs: each input must be a map (Type: ...)");
	if (cfg_str(p->c, input, "Type", NULL, &type, p->err, p->errlen) < 0)
		return -1;
	if (type == NULL)
		return cfg_error(p->c, input, p->err, p->errlen,
		    "Type: missing (service_go_profile or profile_push)");
	if (strcmp(type, "profile_push") == 0)
		return inputs_push_parse(
		    p->c, input, p->in, p->err, p->errlen);
	if (strcmp(type, "service_go_profile") != 0)
		return cfg_error(p->c, cfg_get(input, "Type"), p->err,
		    p->errlen,
		    "Type: unknown input type \"%s\" "
		    "(known: service_go_profile, profile_push)",
		    type);
	return inputs_parse_pull(p, input);
}

/* How many addresses the file lists, if it is shaped as expected: an upper
 * bound on the targets, so the array is allocated once. */
static size_t
inputs_count_addresses(const struct cfg_node *seq)
{
	const struct cfg_node *n;
	const struct cfg_node *addrs;
	size_t k = 0;

	for (n = seq->child; n != NULL; n = n->next) {
		addrs = cfg_get(cfg_get(n, "Config"), "Addresses");
		if (addrs != NULL && addrs->type == CFG_SEQ)
			k += cfg_count(addrs);
	}
	return k;
}

int
inputs_from_cfg(
    struct inputs **out, const struct cfg *c, char *err, size_t errlen)
{
	struct inputs_parse p;
	struct inputs *in;
	struct cfg_node *seq;
	const struct cfg_node *n;
	size_t max;

	if (cfg_check_top(c, err, errlen) < 0 ||
	    cfg_seq(c, c->root, "inputs", &seq, err, errlen) < 0)
		return -1;
	if (seq == NULL)
		return cfg_error(c, c->root, err, errlen,
		    "inputs: missing "
		    "(the fetcher pulls from the targets listed there)");
	in = xcalloc(1, sizeof(*in));
	if (in == NULL)
		return cfg_error(c, seq, err, errlen, "out of memory");
	in->refs = 1;
	in->arena = arena_new(0);
	max = inputs_count_addresses(seq);
	if (in->arena == NULL)
		goto out_oom;
	in->targets =
	    arena_calloc(in->arena, max ? max : 1, sizeof(*in->targets));
	in->notes =
	    arena_calloc(in->arena, cfg_count(seq) + 1, sizeof(*in->notes));
	in->pushes =
	    arena_calloc(in->arena, cfg_count(seq) + 1, sizeof(*in->pushes));
	if (in->targets == NULL || in->notes == NULL || in->pushes == NULL)
		goto out_oom;
	p.c = c;
	p.in = in;
	p.err = err;
	p.errlen = errlen;
	for (n = seq->child; n != NULL; n = n->next) {
		if (inputs_parse_input(&p, n) < 0)
			goto out_free_inputs;
	}
	*out = in;
	return 0;
out_oom:
	cfg_error(c, seq, err, errlen, "out of memory");
out_free_inputs:
	inputs_unref(in);
	return -1;
}

int
inputs_load(struct inputs **out, const char *path, char *err, size_t errlen)
{
	struct cfg *c;
	int rv;

	if (cfg_load(&c, path, err, errlen) < 0)
		return -1;
	rv = inputs_from_cfg(out, c, err, errlen);
	cfg_free(c);
	return rv;
}

struct inputs *
inputs_ref(struct inputs *in)
{
	in->refs++;
	return in;
}

void
inputs_unref(struct inputs *in)
{
	if (in == NULL || --in->refs > 0)
		return;
	arena_free(in->arena);
	xfree(in);
}

long
inputs_timeout_ms(const struct inputs_target *t, enum inputs_kind k)
{
	long s = t->timeout_s;

	if (inputs_kind_is_delta(k))
		s += t->seconds_s;
	return s * 1000;
}

int
inputs_url(const struct inputs_target *t, enum inputs_kind k, char *out,
    size_t outlen)
{
	int n;

	if (inputs_kind_is_delta(k))
		n = snprintf(out, outlen, "http://%s%s?seconds=%ld",
		    t->instance, inputs_kind_path(k), t->seconds_s);
	else
		n = snprintf(out, outlen, "http://%s%s", t->instance,
		    inputs_kind_path(k));
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
