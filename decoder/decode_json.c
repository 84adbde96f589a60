/*
 * decode_json: a Decoded as one JSON line, for people and for scripts
 * (profpipe-decoder --format json). Strings go through buf_json_str, the
 * one escaper in profpipe; the line is built in a buffer and written out in
 * pieces so a large profile never needs its whole text in memory.
 */
#include <string.h>

#include "common/buf.h"
#include "decoder/decode_print.h"

#define JSON_FLUSH (64 * 1024)

static void
json_str(struct buf *b, const Profpipe__Decoded *d, uint32_t i)
{
	const char *s = i < d->n_strings ? d->strings[i] : "";

	buf_json_str(b, s, strlen(s));
}

static void
json_value_type(
    struct buf *b, const Profpipe__Decoded *d, const Profpipe__ValueType *vt)
{
	buf_puts(b, "{\"type\":");
	json_str(b, d, vt->type);
	buf_puts(b, ",\"unit\":");
	json_str(b, d, vt->unit);
	buf_putc(b, '}');
}

static void
json_labels(struct buf *b, const Profpipe__Decoded *d, uint32_t set)
{
	const Profpipe__LabelSet *ls;
	const Profpipe__SampleLabel *l;
	size_t i;

	buf_puts(b, ",\"labels\":[");
	if (set != 0 && set < d->n_label_sets) {
		ls = d->label_sets[set];
		for (i = 0; i < ls->n_labels; i++) {
			l = ls->labels[i];
			buf_puts(b, i ? ",{\"key\":" : "{\"key\":");
			json_str(b, d, l->key);
			if (l->str != 0) {
				buf_puts(b, ",\"str\":");
				json_str(b, d, l->str);
			} else {
				buf_printf(
				    b, ",\"num\":%lld", (long long)l->num);
				if (l->unit != 0) {
					buf_puts(b, ",\"unit\":");
					json_str(b, d, l->unit);
				}
			}
			buf_putc(b, '}');
		}
	}
	buf_putc(b, ']');
}

static void
json_stack(struct buf *b, const Profpipe__Decoded *d, size_t i)
{
	size_t nt = d->n_sample_types;
	uint32_t k;
	uint32_t f;
	size_t t;

	buf_puts(b, i ? ",{\"frames\":[" : "{\"frames\":[");
	for (k = d->stack_offset[i]; k < d->stack_offset[i + 1]; k++) {
		f = d->stack_frames[k];
		buf_puts(
		    b, k > d->stack_offset[i] ? ",{\"name\":" : "{\"name\":");
		json_str(b, d, d->frame_function[f]);
		buf_puts(b, ",\"file\":");
		json_str(b, d, d->frame_file[f]);
		buf_printf(b, ",\"line\":%lld}", (long long)d->frame_line[f]);
	}
	buf_puts(b, "],\"values\":[");
	for (t = 0; t < nt; t++)
		buf_printf(
		    b, t ? ",%lld" : "%lld", (long long)d->values[i * nt + t]);
	buf_putc(b, ']');
	json_labels(b, d, d->stack_labels[i]);
	buf_putc(b, '}');
}

static int
json_flush(struct buf *b, FILE *f)
{
	if (b->failed)
		return -1;
	if (b->len > 0 && fwrite(b->data, 1, b->len, f) != b->len)
		return -1;
	buf_clear(b);
	return 0;
}

int
decode_json_print(const Profpipe__Decoded *d, const char *file, FILE *f)
{
	struct buf b;
	size_t i;
	int rv = 0;

	buf_init(&b, 0);
	buf_puts(&b, "{\"file\":");
	buf_json_str(&b, file, strlen(file));
	buf_puts(&b, ",\"sample_types\":[");
	for (i = 0; i < d->n_sample_types; i++) {
		if (i > 0)
			buf_putc(&b, ',');
		json_value_type(&b, d, d->sample_types[i]);
	}
	buf_puts(&b, "],\"default_sample_type\":");
	json_str(&b, d, d->sample_types[d->default_sample_type]->type);
	buf_puts(&b, ",\"period_type\":");
	json_value_type(&b, d, d->period_type);
	buf_printf(&b,
	    ",\"period\":%lld,\"duration_ns\":%lld,"
	    "\"time_ns\":%lld,\"samples\":%llu,\"stacks\":[",
	    (long long)d->period, (long long)d->duration_ns,
	    (long long)d->time_ns, (unsigned long long)d->n_samples);
	for (i = 0; i < d->n_stack_hash && rv == 0; i++) {
		json_stack(&b, d, i);
		if (b.len >= JSON_FLUSH || b.failed)
			rv = json_flush(&b, f);
	}
	buf_puts(&b, "]}\n");
	if (rv == 0)
		rv = json_flush(&b, f);
	buf_release(&b);
	return rv;
}
