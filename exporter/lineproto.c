/*
 * lineproto: one escaping routine for the three places line protocol
 * escapes the same three bytes (tag keys, tag values, field keys); the
 * measurement name is a constant that needs none.
 */
#include "exporter/lineproto.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define LINEPROTO_MAX_TAGS 64

/* Bytes that are not UTF-8 become U+FFFD: line protocol is UTF-8. */
static void
lineproto_escaped(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	size_t used;

	while (n > 0) {
		used = 1;
		if (*s == ',' || *s == '=' || *s == ' ')
			buf_putc(b, '\\');
		if (*s == '\n' || *s == '\r')
			buf_putc(b, ' ');
		else
			buf_utf8_put(b, s, n, &used);
		s += used;
		n -= used;
	}
}

static void
lineproto_tag(struct buf *b, const char **seen, size_t *n, const char *key,
    const char *value)
{
	size_t i;

	if (key == NULL || value == NULL || key[0] == '\0' ||
	    value[0] == '\0' || *n == LINEPROTO_MAX_TAGS)
		return;
	for (i = 0; i < *n; i++) {
		if (strcmp(seen[i], key) == 0)
			return;
	}
	seen[(*n)++] = key;
	buf_putc(b, ',');
	lineproto_escaped(b, key);
	buf_putc(b, '=');
	lineproto_escaped(b, value);
}

int
lineproto_render(const Profpipe__Metrics *m, struct buf *out, size_t *nlines)
{
	const Profpipe__Origin *o = m->origin;
	const char *seen[LINEPROTO_MAX_TAGS];
	size_t start = out->len;
	size_t nseen = 0;
	size_t nfields = 0;
	size_t i;
	double v;

	*nlines = 0;
	buf_puts(out, "profiling_metrics");
	lineproto_tag(out, seen, &nseen, "service", o->service);
	lineproto_tag(out, seen, &nseen, "host", o->instance);
	lineproto_tag(out, seen, &nseen, "job", o->job);
	for (i = 0; i < o->n_labels; i++) {
		if (o->labels[i] != NULL)
			lineproto_tag(out, seen, &nseen, o->labels[i]->key,
			    o->labels[i]->value);
	}
	for (i = 0; i < m->n_metrics; i++) {
		if (m->metrics[i] == NULL || m->metrics[i]->name[0] == '\0')
			continue;
		v = m->metrics[i]->value;
		if (!isfinite(v))
			continue;
		buf_putc(out, nfields++ ? ',' : ' ');
		lineproto_escaped(out, m->metrics[i]->name);
		buf_printf(out, "=%.17g", v);
	}
	if (nfields == 0) {
		out->len = start;
		return out->failed ? -1 : 0;
	}
	buf_printf(out, " %" PRId64 "\n", o->end_ns);
	if (out->failed)
		return -1;
	*nlines = 1;
	return 0;
}
