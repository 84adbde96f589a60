/*
 * inputs_push: one profile_push input, checked and copied into the inputs'
 * arena (the cfg tree is freed once the inputs are built).
 */
#include "fetcher/inputs_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/proc.h"
#include "fetcher/inputs.h"

static const char *const inputs_push_keys[] = {"Type", "Listen", "Endpoints",
    "endpoints", "MaxSize", "Labels", "Token", "AckTimeout", NULL};

static char *
inputs_push_dup(struct inputs *in, const char *s)
{
	return arena_strndup(in->arena, s, strlen(s));
}

/* "host:port" or "[v6]:port" into host and port. */
static int
inputs_push_listen(struct inputs *in, const char *s, struct inputs_push *out)
{
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t hlen;
	long port;

	if (colon == NULL || colon == s)
		return -1;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			return -1;
		h = s + 1;
		hlen -= 2;
	} else if (memchr(s, ':', hlen) != NULL) {
		return -1; /* a bare IPv6 address: needs brackets */
	}
	if (proc_parse_long(colon + 1, 1, 65535, &port) < 0)
		return -1;
	out->host = arena_strndup(in->arena, h, hlen);
	out->port = (int)port;
	return out->host == NULL ? -1 : 0;
}

static int
inputs_push_endpoints(const struct cfg *c, const struct cfg_node *input,
    struct inputs *in, struct inputs_push *out, char *err, size_t errlen)
{
	struct cfg_node *seq;
	const struct cfg_node *n;
	const char *key =
	    cfg_get(input, "endpoints") ? "endpoints" : "Endpoints";
	size_t i;

	if (cfg_seq(c, input, key, &seq, err, errlen) < 0)
		return -1;
	out->endpoints = arena_calloc(
	    in->arena, INPUTS_PUSH_MAX_ENDPOINTS, sizeof(*out->endpoints));
	if (out->endpoints == NULL)
		return cfg_error(c, input, err, errlen, "out of memory");
	if (seq == NULL) {
		out->endpoints[0] = INPUTS_PUSH_ENDPOINT;
		out->nendpoints = 1;
		return 0;
	}
	for (n = seq->child; n != NULL; n = n->next) {
		if (n->type != CFG_SCALAR || n->value[0] != '/' ||
		    strpbrk(n->value, "? \t#") != NULL)
			return cfg_error(c, n, err, errlen,
			    "%s: expected paths such as %s", key,
			    INPUTS_PUSH_ENDPOINT);
		for (i = 0; i < out->nendpoints; i++) {
			if (strcmp(out->endpoints[i], n->value) == 0)
				return cfg_error(c, n, err, errlen,
				    "%s: %s is listed twice", key, n->value);
		}
		if (out->nendpoints == INPUTS_PUSH_MAX_ENDPOINTS)
			return cfg_error(c, n, err, errlen,
			    "%s: more than %d endpoints", key,
			    INPUTS_PUSH_MAX_ENDPOINTS);
		out->endpoints[out->nendpoints] =
		    inputs_push_dup(in, n->value);
		if (out->endpoints[out->nendpoints] == NULL)
			return cfg_error(c, n, err, errlen, "out of memory");
		out->nendpoints++;
	}
	if (out->nendpoints == 0)
		return cfg_error(c, seq, err, errlen,
		    "%s: empty: list at least one path", key);
	return 0;
}

static int
inputs_push_label_cmp(const void *a, const void *b)
{
	const struct inputs_label *x = a;
	const struct inputs_label *y = b;

	return strcmp(x->key, y->key);
}

static int
inputs_push_labels(const struct cfg *c, const struct cfg_node *input,
    struct inputs *in, struct inputs_push *out, char *err, size_t errlen)
{
	struct cfg_node *m;
	const struct cfg_node *n;
	struct inputs_label *l;
	size_t k = 0;

	if (cfg_map(c, input, "Labels", &m, err, errlen) < 0)
		return -1;
	if (m == NULL || cfg_count(m) == 0)
		return 0;
	l = arena_calloc(in->arena, cfg_count(m), sizeof(*l));
	if (l == NULL)
		return cfg_error(c, m, err, errlen, "out of memory");
	for (n = m->child; n != NULL; n = n->next) {
		if (n->key[0] == '\0' || n->type != CFG_SCALAR)
			return cfg_error(c, n, err, errlen,
			    "Labels: expected name: value pairs");
		l[k].key = inputs_push_dup(in, n->key);
		l[k].value = inputs_push_dup(in, n->value);
		if (l[k].key == NULL || l[k].value == NULL)
			return cfg_error(c, n, err, errlen, "out of memory");
		k++;
	}
	qsort(l, k, sizeof(*l), inputs_push_label_cmp);
	out->labels = l;
	out->nlabels = k;
	return 0;
}

int
inputs_push_parse(const struct cfg *c, const struct cfg_node *input,
    struct inputs *in, char *err, size_t errlen)
{
	struct inputs_push *out = &in->pushes[in->npushes];
	const struct cfg_node *where;
	const char *s;
	long v;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->line = input->line;
	if (cfg_only(c, input, inputs_push_keys, err, errlen) < 0)
		return -1;
	if (cfg_get(input, "Endpoints") != NULL &&
	    cfg_get(input, "endpoints") != NULL)
		return cfg_error(c, cfg_get(input, "endpoints"), err, errlen,
		    "endpoints: give Endpoints or endpoints, not both");
	if (cfg_str(c, input, "Listen", INPUTS_PUSH_LISTEN, &s, err, errlen) <
	    0)
		return -1;
	where = cfg_get(input, "Listen") ? cfg_get(input, "Listen") : input;
	out->listen = inputs_push_dup(in, s);
	if (out->listen == NULL || inputs_push_listen(in, s, out) < 0)
		return cfg_error(c, where, err, errlen,
		    "Listen: expected host:port (e.g. %s), found \"%s\"",
		    INPUTS_PUSH_LISTEN, s);
	for (i = 0; i < in->npushes; i++) {
		if (strcmp(in->pushes[i].listen, out->listen) == 0)
			return cfg_error(c, where, err, errlen,
			    "Listen: %s is already used by the input at line "
			    "%d (list the endpoints there)",
			    s, in->pushes[i].line);
	}
	if (inputs_push_endpoints(c, input, in, out, err, errlen) < 0)
		return -1;
	if (cfg_int(c, input, "MaxSize", INPUTS_PUSH_MAX_SIZE, 1024, 1L << 30,
	        &v, err, errlen) < 0)
		return -1;
	out->max_size = (size_t)v;
	if (cfg_int(c, input, "AckTimeout", 5, 1, 600, &out->ack_timeout_s,
	        err, errlen) < 0)
		return -1;
	if (inputs_push_labels(c, input, in, out, err, errlen) < 0)
		return -1;
	if (cfg_str(c, input, "Token", NULL, &s, err, errlen) < 0)
		return -1;
	if (s != NULL && s[0] == '\0')
		return cfg_error(c, cfg_get(input, "Token"), err, errlen,
		    "Token: empty (leave it out for no authentication)");
	if (s != NULL) {
		out->token = inputs_push_dup(in, s);
		if (out->token == NULL)
			return cfg_error(
			    c, input, err, errlen, "out of memory");
	}
	in->npushes++;
	return 0;
}
