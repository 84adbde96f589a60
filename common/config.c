/*
 * config: libyaml's event stream folded into a tree of cfg_nodes, each
 * remembering its line. The tree is small (a config file), so it is plain
 * malloc'd nodes freed recursively.
 */
#include "common/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/buf.h"
#include "common/xalloc.h"

#define CFG_MAX_FILE (1024 * 1024)
#define CFG_MAX_DEPTH 64
#define CFG_MAX_NODES 100000
#define CFG_MAX_KEYS 4096 /* per map: keys are checked pairwise for twins */

struct cfg_parser {
	yaml_parser_t yp;
	const char *name;
	char *err;
	size_t errlen;
	long nodes;
};

static void
cfg_node_free(struct cfg_node *n)
{
	struct cfg_node *next;

	while (n != NULL) {
		next = n->next;
		cfg_node_free(n->child);
		xfree(n->key);
		xfree(n->value);
		xfree(n);
		n = next;
	}
}

void
cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	cfg_node_free(c->root);
	xfree(c->path);
	xfree(c);
}

static int
cfg_perr(struct cfg_parser *p, int line, const char *what)
{
	snprintf(p->err, p->errlen, "%s:%d: %s", p->name, line, what);
	return -1;
}

/* The line of libyaml's error: a reader error (bytes that are not
 * UTF-8, a NUL) has only the byte offset set, the others the mark. */
static size_t
cfg_err_line(const struct cfg_parser *p)
{
	const unsigned char *t = p->yp.input.string.start;
	size_t n = p->yp.problem_offset;
	size_t line = 1;
	size_t i;

	if (p->yp.error != YAML_READER_ERROR)
		return p->yp.problem_mark.line + 1;
	if (t == NULL || n > (size_t)(p->yp.input.string.end - t))
		return line;
	for (i = 0; i < n; i++)
		line += t[i] == '\n';
	return line;
}

static int
cfg_next(struct cfg_parser *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->yp, ev)) {
		snprintf(p->err, p->errlen, "%s:%zu: %s%s%s", p->name,
		    cfg_err_line(p),
		    p->yp.problem ? p->yp.problem : "malformed YAML",
		    p->yp.context ? " " : "",
		    p->yp.context ? p->yp.context : "");
		return -1;
	}
	return 0;
}

static int cfg_build(
    struct cfg_parser *p, yaml_event_t *ev, int depth, struct cfg_node **out);

/* Build the members of a map or sequence until its end event. */
static int
cfg_build_members(struct cfg_parser *p, struct cfg_node *parent, int depth)
{
	yaml_event_t ev;
	struct cfg_node **tail = &parent->child;
	struct cfg_node *n;
	char *key;
	int line;
	int keys = 0;

	for (;;) {
		if (cfg_next(p, &ev) < 0)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT ||
		    ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		key = NULL;
		if (parent->type == CFG_MAP) {
			line = (int)ev.start_mark.line + 1;
			if (ev.type != YAML_SCALAR_EVENT) {
				yaml_event_delete(&ev);
				return cfg_perr(
				    p, line, "map keys must be plain words");
			}
			if (++keys > CFG_MAX_KEYS) {
				yaml_event_delete(&ev);
				return cfg_perr(
				    p, line, "more than 4096 keys in one map");
			}
			key = xstrdup((char *)ev.data.scalar.value);
			yaml_event_delete(&ev);
			if (key == NULL)
				return cfg_perr(p, line, "out of memory");
			for (n = parent->child; n != NULL; n = n->next) {
				if (strcmp(n->key, key) == 0) {
					xfree(key);
					return cfg_perr(
					    p, line, "duplicate key");
				}
			}
			if (cfg_next(p, &ev) < 0) {
				xfree(key);
				return -1;
			}
		}
		n = NULL;
		if (cfg_build(p, &ev, depth + 1, &n) < 0) {
			/* n, if made, is not linked in yet: free it here */
			cfg_node_free(n);
			xfree(key);
			return -1;
		}
		n->key = key;
		*tail = n;
		tail = &n->next;
	}
}

/* ev is consumed. */
static int
cfg_build(
    struct cfg_parser *p, yaml_event_t *ev, int depth, struct cfg_node **out)
{
	struct cfg_node *n;
	int line = (int)ev->start_mark.line + 1;

	if (depth > CFG_MAX_DEPTH) {
		yaml_event_delete(ev);
		return cfg_perr(p, line, "nested too deeply");
	}
	if (++p->nodes > CFG_MAX_NODES) {
		yaml_event_delete(ev);
		return cfg_perr(p, line, "too many entries");
	}
	if (ev->type == YAML_ALIAS_EVENT) {
		yaml_event_delete(ev);
		return cfg_perr(p, line, "aliases are not supported");
	}
	n = xcalloc(1, sizeof(*n));
	if (n == NULL) {
		yaml_event_delete(ev);
		return cfg_perr(p, line, "out of memory");
	}
	n->line = line;
	*out = n;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->type = CFG_SCALAR;
		if (ev->data.scalar.anchor != NULL) {
			yaml_event_delete(ev);
			return cfg_perr(p, line, "anchors are not supported");
		}
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		n->value = xstrdup((char *)ev->data.scalar.value);
		yaml_event_delete(ev);
		return n->value == NULL ? cfg_perr(p, line, "out of memory")
		                        : 0;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		n->type =
		    ev->type == YAML_MAPPING_START_EVENT ? CFG_MAP : CFG_SEQ;
		if (ev->data.mapping_start.anchor != NULL) {
			yaml_event_delete(ev);
			return cfg_perr(p, line, "anchors are not supported");
		}
		yaml_event_delete(ev);
		return cfg_build_members(p, n, depth);
	default:
		yaml_event_delete(ev);
		return cfg_perr(p, line, "unexpected YAML structure");
	}
}

int
cfg_parse(struct cfg **out, const char *name, const char *text, size_t len,
    char *err, size_t errlen)
{
	struct cfg_parser p;
	yaml_event_t ev;
	struct cfg *c;
	int rv = -1;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.err = err;
	p.errlen = errlen;
	c = xcalloc(1, sizeof(*c));
	if (c == NULL || (c->path = xstrdup(name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		xfree(c);
		return -1;
	}
	if (!yaml_parser_initialize(&p.yp)) {
		snprintf(err, errlen, "%s: out of memory", name);
		cfg_free(c);
		return -1;
	}
	yaml_parser_set_input_string(&p.yp, (const unsigned char *)text, len);
	/* stream start, then a document start or the stream's end */
	if (cfg_next(&p, &ev) < 0)
		goto out;
	yaml_event_delete(&ev);
	if (cfg_next(&p, &ev) < 0)
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		c->root = xcalloc(1, sizeof(*c->root));
		if (c->root == NULL)
			goto out;
		c->root->type = CFG_MAP;
		c->root->line = 1;
		rv = 0;
		goto out;
	}
	yaml_event_delete(&ev);
	if (cfg_next(&p, &ev) < 0)
		goto out;
	if (cfg_build(&p, &ev, 0, &c->root) < 0)
		goto out;
	if (c->root->type != CFG_MAP) {
		cfg_perr(&p, c->root->line,
		    "the top level must be a map (inputs:, outputs:, ...)");
		goto out;
	}
	if (cfg_next(&p, &ev) < 0)
		goto out;
	yaml_event_delete(&ev); /* document end */
	if (cfg_next(&p, &ev) < 0)
		goto out;
	if (ev.type != YAML_STREAM_END_EVENT) {
		cfg_perr(&p, (int)ev.start_mark.line + 1,
		    "only one YAML document is allowed");
		yaml_event_delete(&ev);
		goto out;
	}
	yaml_event_delete(&ev);
	rv = 0;
out:
	yaml_parser_delete(&p.yp);
	if (rv < 0)
		cfg_free(c);
	else
		*out = c;
	return rv;
}

int
cfg_load(struct cfg **out, const char *path, char *err, size_t errlen)
{
	struct buf b;
	char chunk[8192];
	FILE *f;
	size_t n;
	int rv;

	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b, CFG_MAX_FILE);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, n) < 0) {
			snprintf(err, errlen, "%s: larger than %d bytes", path,
			    CFG_MAX_FILE);
			fclose(f);
			buf_release(&b);
			return -1;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
		fclose(f);
		buf_release(&b);
		return -1;
	}
	fclose(f);
	rv = cfg_parse(
	    out, path, b.len ? (char *)b.data : "", b.len, err, errlen);
	buf_release(&b);
	return rv;
}

struct cfg_node *
cfg_get(const struct cfg_node *m, const char *key)
{
	struct cfg_node *n;

	if (m == NULL || m->type != CFG_MAP)
		return NULL;
	for (n = m->child; n != NULL; n = n->next) {
		if (strcmp(n->key, key) == 0)
			return n;
	}
	return NULL;
}

size_t
cfg_count(const struct cfg_node *n)
{
	size_t k = 0;
	const struct cfg_node *c;

	if (n == NULL)
		return 0;
	for (c = n->child; c != NULL; c = c->next)
		k++;
	return k;
}

int
cfg_error(const struct cfg *c, const struct cfg_node *n, char *err,
    size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(err, errlen, "%s:%d: ", c->path, n ? n->line : 1);
	if (k < 0 || (size_t)k >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static int
cfg_scalar(const struct cfg *c, const struct cfg_node *n, const char *key,
    char *err, size_t errlen)
{
	if (n->type != CFG_SCALAR)
		return cfg_error(c, n, err, errlen,
		    "%s: expected a value, "
		    "found a %s",
		    key, n->type == CFG_MAP ? "map" : "list");
	return 0;
}

/* The member key of m, or NULL when it is absent or YAML's null spelt
 * out (~, null: `Token: null` had been the token "null"). An empty value
 * stays "": some keys give it a meaning ("Listen:", none). */
static struct cfg_node *
cfg_get_value(const struct cfg_node *m, const char *key)
{
	struct cfg_node *n = cfg_get(m, key);

	if (n != NULL && n->type == CFG_SCALAR && !n->quoted &&
	    (strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
	        strcmp(n->value, "Null") == 0 ||
	        strcmp(n->value, "NULL") == 0))
		return NULL;
	return n;
}

int
cfg_int(const struct cfg *c, const struct cfg_node *m, const char *key,
    long def, long min, long max, long *out, char *err, size_t errlen)
{
	struct cfg_node *n = cfg_get_value(m, key);
	char *end;
	long v;

	if (n == NULL) {
		*out = def;
		return 0;
	}
	if (cfg_scalar(c, n, key, err, errlen) < 0)
		return -1;
	errno = 0;
	v = strtol(n->value, &end, 10);
	if (n->value[0] == '\0' || *end != '\0' || errno != 0)
		return cfg_error(c, n, err, errlen,
		    "%s: \"%s\" is not a whole number", key, n->value);
	if (v < min || v > max)
		return cfg_error(c, n, err, errlen,
		    "%s: %ld is out of range (%ld to %ld)", key, v, min, max);
	*out = v;
	return 0;
}

int
cfg_bool(const struct cfg *c, const struct cfg_node *m, const char *key,
    int def, int *out, char *err, size_t errlen)
{
	struct cfg_node *n = cfg_get_value(m, key);

	if (n == NULL) {
		*out = def;
		return 0;
	}
	if (cfg_scalar(c, n, key, err, errlen) < 0)
		return -1;
	if (strcmp(n->value, "true") == 0 || strcmp(n->value, "yes") == 0)
		*out = 1;
	else if (strcmp(n->value, "false") == 0 || strcmp(n->value, "no") == 0)
		*out = 0;
	else
		return cfg_error(c, n, err, errlen,
		    "%s: expected true or false, found \"%s\"", key, n->value);
	return 0;
}

int
cfg_str(const struct cfg *c, const struct cfg_node *m, const char *key,
    const char *def, const char **out, char *err, size_t errlen)
{
	struct cfg_node *n = cfg_get_value(m, key);

	if (n == NULL) {
		*out = def;
		return 0;
	}
	if (cfg_scalar(c, n, key, err, errlen) < 0)
		return -1;
	*out = n->value;
	return 0;
}

static int
cfg_typed(const struct cfg *c, const struct cfg_node *m, const char *key,
    enum cfg_type t, struct cfg_node **out, char *err, size_t errlen)
{
	struct cfg_node *n = cfg_get(m, key);

	*out = NULL;
	if (n == NULL)
		return 0;
	if (n->type != t)
		return cfg_error(c, n, err, errlen, "%s: expected a %s", key,
		    t == CFG_MAP ? "map (key: value lines)" : "list");
	*out = n;
	return 0;
}

int
cfg_map(const struct cfg *c, const struct cfg_node *m, const char *key,
    struct cfg_node **out, char *err, size_t errlen)
{
	return cfg_typed(c, m, key, CFG_MAP, out, err, errlen);
}

int
cfg_seq(const struct cfg *c, const struct cfg_node *m, const char *key,
    struct cfg_node **out, char *err, size_t errlen)
{
	return cfg_typed(c, m, key, CFG_SEQ, out, err, errlen);
}

int
cfg_only(const struct cfg *c, const struct cfg_node *m,
    const char *const *known, char *err, size_t errlen)
{
	const struct cfg_node *n;
	size_t i;

	if (m == NULL)
		return 0;
	for (n = m->child; n != NULL; n = n->next) {
		for (i = 0; known[i] != NULL; i++) {
			if (strcmp(n->key, known[i]) == 0)
				break;
		}
		if (known[i] == NULL)
			return cfg_error(
			    c, n, err, errlen, "unknown key \"%s\"", n->key);
	}
	return 0;
}

int
cfg_check_top(const struct cfg *c, char *err, size_t errlen)
{
	static const char *const sections[] = {
	    "inputs", "aggregator", "outputs", NULL};

	return cfg_only(c, c->root, sections, err, errlen);
}
