/*
 * records: Decoded → iLogtail-shaped JSON lines. The parts shared by every
 * record of a profile (profile id, type, duration, the origin's labels) are
 * escaped once in records_init; per stack only the frames and the pprof
 * sample labels are new, and per value type only the unit, name and value.
 *
 * Every string goes through buf_json_str, which also turns bytes that are
 * not UTF-8 into U+FFFD: function names come from the profiled binary and
 * are not to be trusted to be text.
 */
#include "exporter/records.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A line is one stack's text; the cap only stops a runaway. */
#define RECORDS_FIELD_CAP ((size_t)64 * 1024 * 1024)

static int
records_json(struct buf *b, const char *s)
{
	return buf_json_str(b, s, strlen(s));
}

/* r->name = key as it is printed: quoted and escaped, with "exported_"
 * before its text if exported. Names are compared in this form, so two
 * that print alike (bytes that are not UTF-8 all print as U+FFFD) are
 * the same name. 0, or -1 when memory ran out. */
static int
records_name(struct records *r, const char *key, int exported)
{
	static const char prefix[] = "\"exported_";
	size_t n = sizeof(prefix) - 1;

	buf_clear(&r->name);
	if (!exported)
		return records_json(&r->name, key);
	buf_puts(&r->name, prefix);
	records_json(&r->name, key);
	if (r->name.failed)
		return -1;
	/* the key's own opening quote goes */
	memmove(r->name.data + n, r->name.data + n + 1, r->name.len - n);
	r->name.len--;
	return 0;
}

/* ,NAME:"value" into b, NAME as records_name printed it. */
static int
records_label(struct buf *b, const struct buf *name, const char *value)
{
	buf_putc(b, ',');
	buf_append(b, name->data, name->len);
	buf_putc(b, ':');
	return records_json(b, value);
}

/* One of the collector's labels, unless its name is there already. */
static int
records_origin_label(struct records *r, const char *key, const char *value)
{
	int rv;

	if (records_name(r, key, 0) < 0)
		return -1;
	rv = keyset_add(
	    &r->origin_keys, (const char *)r->name.data, r->name.len);
	if (rv <= 0)
		return rv;
	if (r->origin_keys.n == 1) {
		buf_append(&r->labels, r->name.data, r->name.len);
		buf_putc(&r->labels, ':');
		return records_json(&r->labels, value);
	}
	return records_label(&r->labels, &r->name, value);
}

static int
records_init_labels(struct records *r)
{
	const Profpipe__Origin *o = r->p->origin;
	size_t i;
	int rv;

	buf_putc(&r->labels, '{');
	rv = records_origin_label(r, "__name__", o->service);
	if (rv >= 0)
		rv = records_origin_label(r, "instance", o->instance);
	if (rv >= 0)
		rv = records_origin_label(r, "job", o->job);
	for (i = 0; rv >= 0 && i < o->n_labels; i++) {
		if (o->labels[i] != NULL)
			rv = records_origin_label(
			    r, o->labels[i]->key, o->labels[i]->value);
	}
	return rv < 0 || r->labels.failed ? -1 : 0;
}

int
records_init(struct records *r, const Profpipe__Decoded *p)
{
	const Profpipe__Origin *o = p->origin;
	int64_t duration;

	memset(r, 0, sizeof(*r));
	r->p = p;
	buf_init(&r->common, RECORDS_FIELD_CAP);
	buf_init(&r->labels, RECORDS_FIELD_CAP);
	buf_init(&r->text, RECORDS_FIELD_CAP);
	buf_init(&r->head, RECORDS_FIELD_CAP);
	buf_init(&r->name, RECORDS_FIELD_CAP);
	keyset_init(&r->origin_keys);
	keyset_init(&r->keys);
	export_columns(p, r->cols, &r->n_cols);
	duration =
	    p->duration_ns > 0 ? p->duration_ns : o->end_ns - o->start_ns;
	r->time_s = (long long)(o->start_ns / 1000000000);

	buf_printf(&r->text, "profile_%s", o->kind);
	buf_puts(&r->common, ",\"language\":\"go\",\"type\":");
	buf_json_str(&r->common, (char *)r->text.data, r->text.len);
	buf_printf(&r->common,
	    ",\"dataType\":\"CallStack\","
	    "\"durationNs\":\"%" PRId64 "\",\"profileID\":",
	    duration);
	records_json(&r->common, o->profile_id);
	if (r->common.failed || r->text.failed)
		return -1;
	return records_init_labels(r);
}

void
records_release(struct records *r)
{
	buf_release(&r->common);
	buf_release(&r->labels);
	buf_release(&r->text);
	buf_release(&r->head);
	buf_release(&r->name);
	keyset_release(&r->origin_keys);
	keyset_release(&r->keys);
}

/* "function file" of frame f into r->text. */
static void
records_frame(struct records *r, uint32_t f)
{
	buf_puts(&r->text, export_frame_function(r->p, f));
	buf_putc(&r->text, ' ');
	buf_puts(&r->text, export_frame_file(r->p, f));
}

/* Whether r->name is free in this stack's record; if so it is taken.
 * -1 when memory ran out. */
static int
records_take_name(struct records *r)
{
	const char *s = (const char *)r->name.data;

	if (keyset_has(&r->origin_keys, s, r->name.len))
		return 0;
	return keyset_add(&r->keys, s, r->name.len);
}

/* The name pprof label key takes in this stack's record, printed into
 * r->name: key, or exported_key. 0 when both are taken; -1 when memory ran
 * out (then r->text has failed, and so will the record). */
static int
records_free_name(struct records *r, const char *key)
{
	int rv = records_name(r, key, 0);

	if (rv == 0)
		rv = records_take_name(r);
	if (rv == 0)
		rv = records_name(r, key, 1);
	if (rv == 0)
		rv = records_take_name(r);
	if (rv < 0)
		r->text.failed = 1;
	return rv;
}

/* The stack's pprof labels close the origin's: string labels as they are,
 * numeric ones in decimal with their unit after a space; each under the
 * name records_free_name gives it. */
static void
records_sample_labels(struct records *r, size_t i)
{
	const Profpipe__Decoded *p = r->p;
	const Profpipe__LabelSet *ls;
	const Profpipe__SampleLabel *l;
	const char *unit;
	char num[64];
	size_t j;

	buf_clear(&r->text);
	buf_append(&r->text, r->labels.data, r->labels.len);
	keyset_clear(&r->keys);
	if (p->n_stack_labels > 0 && p->stack_labels[i] != 0) {
		ls = p->label_sets[p->stack_labels[i]];
		for (j = 0; j < ls->n_labels; j++) {
			l = ls->labels[j];
			if (records_free_name(r, export_string(p, l->key)) !=
			    1)
				continue;
			if (l->str != 0) {
				records_label(&r->text, &r->name,
				    export_string(p, l->str));
				continue;
			}
			unit = export_string(p, l->unit);
			snprintf(num, sizeof(num), "%" PRId64 "%s%s", l->num,
			    *unit ? " " : "", unit);
			records_label(&r->text, &r->name, num);
		}
	}
	buf_putc(&r->text, '}');
}

/* r->head = {"name":...,"stack":...,"stackID":...,<common>,"labels":... */
static int
records_head(struct records *r, size_t i, const uint32_t *frames, size_t n)
{
	size_t k;

	buf_clear(&r->head);
	buf_clear(&r->text);
	records_frame(r, frames[0]);
	buf_puts(&r->head, "{\"name\":");
	buf_json_str(&r->head, (char *)r->text.data, r->text.len);

	buf_clear(&r->text);
	for (k = 1; k < n; k++) {
		if (k > 1)
			buf_putc(&r->text, '\n');
		records_frame(r, frames[k]);
	}
	buf_puts(&r->head, ",\"stack\":");
	buf_json_str(
	    &r->head, r->text.len ? (char *)r->text.data : "", r->text.len);
	buf_printf(
	    &r->head, ",\"stackID\":\"%016" PRIx64 "\"", r->p->stack_hash[i]);
	buf_append(&r->head, r->common.data, r->common.len);

	records_sample_labels(r, i);
	buf_puts(&r->head, ",\"labels\":");
	buf_json_str(&r->head, (char *)r->text.data, r->text.len);
	return r->head.failed || r->text.failed ? -1 : 0;
}

int
records_stack(struct records *r, size_t i, struct buf *out, size_t *nrec)
{
	const struct export_col *c;
	const uint32_t *frames;
	size_t n;
	size_t k;
	int64_t v;
	int have_head = 0;

	export_stack(r->p, i, &frames, &n);
	if (n == 0)
		return 0; /* nothing to name it by */
	for (k = 0; k < r->n_cols; k++) {
		c = &r->cols[k];
		v = export_value(r->p, i, c);
		if (v == 0)
			continue;
		if (!have_head && records_head(r, i, frames, n) < 0)
			return -1;
		have_head = 1;
		buf_append(out, r->head.data, r->head.len);
		buf_puts(out, ",\"units\":");
		records_json(out, c->unit);
		buf_puts(out, ",\"valueTypes\":");
		records_json(out, c->type);
		buf_printf(out,
		    ",\"aggTypes\":\"sum\",\"val\":\"%" PRId64
		    ".00\",\"__time__\":%lld}\n",
		    v, r->time_s);
		if (out->failed)
			return -1;
		if (nrec != NULL)
			(*nrec)++;
	}
	return 0;
}

int
records_all(const Profpipe__Decoded *p, struct buf *out, size_t *nrec)
{
	struct records r;
	size_t i;
	size_t n = export_n_stacks(p);
	int rv = -1;

	if (records_init(&r, p) < 0)
		goto out_release;
	for (i = 0; i < n; i++) {
		if (records_stack(&r, i, out, nrec) < 0)
			goto out_release;
	}
	rv = 0;
out_release:
	records_release(&r);
	return rv;
}
