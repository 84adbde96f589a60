/*
 * prom: series are kept as (sanitized name, rendered label text) so the
 * exposition is a sort and a copy; the label text is built once per
 * update, which also is the key that finds the series again.
 */
#include "exporter/prom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

#define PROM_NAME_MAX 200
#define PROM_NAME_SIZE (PROM_NAME_MAX + 2)
#define PROM_MAX_LABELS 64
#define PROM_TEXT_CAP ((size_t)1 << 20)

struct prom_series {
	char *name;
	char *labels; /* {k="v",...} */
	char *unit;
	double value;
	uint64_t hash;
	int64_t updated_ns;
};

void
prom_init(struct prom *p, size_t max_series, int64_t ttl_ns)
{
	memset(p, 0, sizeof(*p));
	p->max_series = max_series ? max_series : PROM_MAX_SERIES_DEFAULT;
	p->ttl_ns = ttl_ns;
	buf_init(&p->scratch, PROM_TEXT_CAP);
}

void
prom_release(struct prom *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		xfree(p->series[i].name);
		xfree(p->series[i].labels);
		xfree(p->series[i].unit);
	}
	xfree(p->series);
	xfree(p->index);
	buf_release(&p->scratch);
	memset(p, 0, sizeof(*p));
}

/* A name Prometheus accepts into dst (PROM_NAME_SIZE): bad bytes become
 * '_', a leading digit gets a '_' before it, "" becomes "_". colon: ':'
 * allowed (metric names, not label names). */
static void
prom_name(char *dst, const char *s, int colon)
{
	size_t i;
	size_t n = 0;
	char c;

	if (s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		dst[n++] = '_';
	for (i = 0; s[i] != '\0' && i < PROM_NAME_MAX; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || (colon && c == ':'))
			dst[n++] = c;
		else
			dst[n++] = '_';
	}
	dst[n] = '\0';
}

/* A label value: \\, \" and \n escaped; bytes that are not UTF-8 become
 * U+FFFD: Prometheus's text format is UTF-8. */
static void
prom_value_escaped(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	size_t used;

	while (n > 0) {
		used = 1;
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_utf8_put(b, s, n, &used);
		s += used;
		n -= used;
	}
}

struct prom_keys {
	char key[PROM_MAX_LABELS][PROM_NAME_SIZE];
	size_t n;
};

/* ,key="value" unless key (sanitized) is there already or there are
 * PROM_MAX_LABELS labels. */
static void
prom_label(
    struct buf *b, struct prom_keys *k, const char *key, const char *value)
{
	size_t i;

	if (k->n == PROM_MAX_LABELS)
		return;
	prom_name(k->key[k->n], key, 0);
	for (i = 0; i < k->n; i++) {
		if (strcmp(k->key[i], k->key[k->n]) == 0)
			return;
	}
	if (k->n > 0)
		buf_putc(b, ',');
	buf_puts(b, k->key[k->n++]);
	buf_puts(b, "=\"");
	prom_value_escaped(b, value);
	buf_putc(b, '"');
}

/* {service="...",...} of an origin into p->scratch, NUL-terminated. */
static int
prom_labels(struct prom *p, const Profpipe__Origin *o)
{
	struct buf *b = &p->scratch;
	struct prom_keys *k;
	size_t i;

	k = xmalloc(sizeof(*k));
	if (k == NULL)
		return -1;
	k->n = 0;
	buf_clear(b);
	buf_putc(b, '{');
	prom_label(b, k, "service", o->service);
	prom_label(b, k, "instance", o->instance);
	prom_label(b, k, "job", o->job);
	for (i = 0; i < o->n_labels; i++) {
		if (o->labels[i] != NULL)
			prom_label(
			    b, k, o->labels[i]->key, o->labels[i]->value);
	}
	buf_putc(b, '}');
	buf_putc(b, '\0');
	xfree(k);
	return b->failed ? -1 : 0;
}

static int
prom_rehash(struct prom *p)
{
	size_t size = 1024;
	size_t i;
	size_t h;

	while (size < 4 * (p->n + 1))
		size *= 2;
	xfree(p->index);
	p->index = xcalloc(size, sizeof(*p->index));
	if (p->index == NULL)
		return -1;
	p->mask = size - 1;
	for (i = 0; i < p->n; i++) {
		h = p->series[i].hash & p->mask;
		while (p->index[h] != 0)
			h = (h + 1) & p->mask;
		p->index[h] = (uint32_t)i + 1;
	}
	return 0;
}

/* Drop the series not updated since now_ns - ttl_ns. 0, or -1 out of
 * memory for the index (the series are gone either way). */
static int
prom_expire(struct prom *p, int64_t now_ns)
{
	struct prom_series *s;
	size_t kept = 0;
	size_t i;

	if (p->ttl_ns <= 0)
		return 0;
	for (i = 0; i < p->n; i++) {
		s = &p->series[i];
		if (now_ns - s->updated_ns <= p->ttl_ns) {
			p->series[kept++] = *s;
			continue;
		}
		xfree(s->name);
		xfree(s->labels);
		xfree(s->unit);
		p->expired++;
	}
	if (kept == p->n)
		return 0;
	p->n = kept;
	return prom_rehash(p);
}

static int
prom_set(struct prom *p, const char *name, const char *labels,
    const char *unit, double value, int64_t now_ns, size_t *dropped)
{
	uint64_t hv = hash_bytes(
	    hash_bytes(HASH_SEED, name, strlen(name)), labels, strlen(labels));
	struct prom_series *s;
	size_t h;
	void *q;

	if (p->index == NULL && prom_rehash(p) < 0)
		return -1;
	for (h = hv & p->mask; p->index[h] != 0; h = (h + 1) & p->mask) {
		s = &p->series[p->index[h] - 1];
		if (s->hash == hv && strcmp(s->name, name) == 0 &&
		    strcmp(s->labels, labels) == 0) {
			s->value = value;
			s->updated_ns = now_ns;
			return 0;
		}
	}
	if (p->n >= p->max_series && p->ttl_ns > 0) {
		if (prom_expire(p, now_ns) < 0)
			return -1;
		for (h = hv & p->mask; p->index[h] != 0; h = (h + 1) & p->mask)
			;
	}
	if (p->n >= p->max_series) {
		p->dropped++;
		if (dropped != NULL)
			(*dropped)++;
		return 0;
	}
	if (p->n == p->size) {
		q = xrealloc(p->series,
		    (p->size ? 2 * p->size : 64) * sizeof(*p->series));
		if (q == NULL)
			return -1;
		p->series = q;
		p->size = p->size ? 2 * p->size : 64;
	}
	s = &p->series[p->n];
	s->name = xstrdup(name);
	s->labels = xstrdup(labels);
	s->unit = xstrdup(unit);
	if (s->name == NULL || s->labels == NULL || s->unit == NULL) {
		xfree(s->name);
		xfree(s->labels);
		xfree(s->unit);
		return -1;
	}
	s->value = value;
	s->hash = hv;
	s->updated_ns = now_ns;
	p->index[h] = (uint32_t)++p->n;
	if (4 * p->n > p->mask)
		return prom_rehash(p);
	return 0;
}

int
prom_update(struct prom *p, const Profpipe__Metrics *m, int64_t now_ns,
    size_t *dropped)
{
	char name[PROM_NAME_SIZE];
	char *labels;
	size_t i;
	int rv = 0;

	if (dropped != NULL)
		*dropped = 0;
	if (prom_labels(p, m->origin) < 0)
		return -1;
	labels = xstrdup((const char *)p->scratch.data);
	if (labels == NULL)
		return -1;
	for (i = 0; i < m->n_metrics && rv == 0; i++) {
		if (m->metrics[i] == NULL)
			continue;
		prom_name(name, m->metrics[i]->name, 1);
		rv = prom_set(p, name, labels,
		    m->metrics[i]->unit ? m->metrics[i]->unit : "",
		    m->metrics[i]->value, now_ns, dropped);
	}
	xfree(labels);
	return rv;
}

static int
prom_cmp(const void *a, const void *b)
{
	const struct prom_series *x = *(const struct prom_series *const *)a;
	const struct prom_series *y = *(const struct prom_series *const *)b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->labels, y->labels);
}

static void
prom_number(struct buf *b, double v)
{
	if (isnan(v))
		buf_puts(b, "NaN");
	else if (isinf(v))
		buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else
		buf_printf(b, "%.17g", v);
}

static void
prom_help(struct buf *b, const struct prom_series *s)
{
	const char *u = s->unit;
	size_t n = strlen(u);
	size_t used;

	buf_printf(b, "# HELP %s Go runtime metric from profpipe", s->name);
	if (n > 0) {
		buf_puts(b, " (");
		for (; n > 0; u += used, n -= used) {
			used = 1;
			if (*u == '\\')
				buf_puts(b, "\\\\");
			else if (*u == '\n')
				buf_puts(b, "\\n");
			else
				buf_utf8_put(b, u, n, &used);
		}
		buf_putc(b, ')');
	}
	buf_printf(b, ".\n# TYPE %s gauge\n", s->name);
}

int
prom_render(struct prom *p, int64_t now_ns, struct buf *out)
{
	const struct prom_series **v;
	size_t i;

	if (prom_expire(p, now_ns) < 0)
		return -1;
	if (p->n == 0)
		return 0;
	v = xmalloc(p->n * sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < p->n; i++)
		v[i] = &p->series[i];
	qsort(v, p->n, sizeof(*v), prom_cmp);
	for (i = 0; i < p->n; i++) {
		if (i == 0 || strcmp(v[i]->name, v[i - 1]->name) != 0)
			prom_help(out, v[i]);
		buf_puts(out, v[i]->name);
		buf_puts(out, v[i]->labels);
		buf_putc(out, ' ');
		prom_number(out, v[i]->value);
		buf_putc(out, '\n');
	}
	xfree(v);
	return out->failed ? -1 : 0;
}
