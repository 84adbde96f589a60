/*
 * libFuzzer target: the names of a record's labels (exporter/records.c,
 * exporter/keyset.c) against a plain reference written here, on label
 * names of any bytes. The input is a list of entries split at NUL bytes;
 * an entry's first byte says what it is (one of the collector's labels, a
 * pprof string label or a numeric one, with or without a unit) and the
 * rest is its name. The records of the export fixture's profile, its
 * third stack carrying those pprof labels, must be valid JSON and hold
 * exactly the labels text the reference builds: the collector's labels,
 * a later one whose printed name is there left out; then each pprof label
 * under its printed name if free, else under exported_NAME if free, else
 * left out. The reference compares printed names by linear search and
 * prints exported_NAME from the whole string, not by splicing.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "exporter/records.h"
#include "tests/unit/export_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ORIGIN 40
#define MAX_PPROF 300

/* The printed names so far, and the text being built. */
struct ref {
	struct buf names[4 + MAX_ORIGIN + 2 * MAX_PPROF];
	size_t n;
	size_t n_origin; /* names[0 .. n_origin) are the collector's */
	struct buf text;
};

static int
ref_has(const struct ref *r, const struct buf *nm, size_t from)
{
	size_t i;

	for (i = from; i < r->n; i++) {
		if (r->names[i].len == nm->len &&
		    memcmp(r->names[i].data, nm->data, nm->len) == 0)
			return 1;
	}
	return 0;
}

/* Take name (as printed into r->names[r->n]) if free among the
 * collector's names and, for a pprof label, the sample's. */
static int
ref_take(struct ref *r, const char *name, size_t len)
{
	struct buf *nm = &r->names[r->n];

	buf_clear(nm);
	buf_json_str(nm, name, len);
	if (ref_has(r, nm, 0))
		return 0;
	r->n++;
	return 1;
}

static void
ref_value(struct ref *r, const char *value)
{
	buf_append(&r->text, r->names[r->n - 1].data, r->names[r->n - 1].len);
	buf_putc(&r->text, ':');
	buf_json_str(&r->text, value, strlen(value));
}

static void
ref_origin(struct ref *r, const char *key, const char *value)
{
	if (!ref_take(r, key, strlen(key)))
		return;
	if (r->n > 1)
		buf_putc(&r->text, ',');
	ref_value(r, value);
}

static void
ref_pprof(struct ref *r, const char *key, const char *value)
{
	char *ex = malloc(strlen(key) + 10);

	if (ex == NULL)
		abort();
	snprintf(ex, strlen(key) + 10, "exported_%s", key);
	if (ref_take(r, key, strlen(key)) || ref_take(r, ex, strlen(ex))) {
		buf_putc(&r->text, ',');
		ref_value(r, value);
	}
	free(ex);
}

/* The entries: kinds and names, copied out NUL-terminated. */
struct entries {
	char *names[MAX_ORIGIN + MAX_PPROF];
	uint8_t kinds[MAX_ORIGIN + MAX_PPROF];
	size_t n;
	size_t n_origin;
};

static void
entries_read(struct entries *e, const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	const uint8_t *end = data + size;
	const uint8_t *nul;
	size_t len;
	size_t n_pprof = 0;

	e->n = e->n_origin = 0;
	while (p < end && e->n < MAX_ORIGIN + MAX_PPROF) {
		nul = memchr(p, 0, (size_t)(end - p));
		len = nul ? (size_t)(nul - p) : (size_t)(end - p);
		if (len > 0) {
			e->kinds[e->n] = p[0] % 4;
			if (e->kinds[e->n] == 0 ? e->n_origin < MAX_ORIGIN
			                        : n_pprof < MAX_PPROF) {
				e->names[e->n] =
				    strndup((const char *)p + 1, len - 1);
				if (e->names[e->n] == NULL)
					abort();
				if (e->kinds[e->n] == 0)
					e->n_origin++;
				else
					n_pprof++;
				e->n++;
			}
		}
		p += len + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ref r;
	static struct buf want;
	static struct buf out;
	static int init;
	struct entries e;
	struct fixture f;
	Profpipe__Label ol[MAX_ORIGIN];
	Profpipe__Label *olp[MAX_ORIGIN];
	Profpipe__SampleLabel sl[MAX_PPROF];
	Profpipe__SampleLabel *slp[MAX_PPROF];
	char *strings[FX_N_STRINGS + MAX_PPROF + 2];
	char num[64];
	size_t ns = FX_N_STRINGS;
	size_t v;
	size_t u;
	size_t i;
	size_t no = 0;
	size_t np = 0;
	size_t base;
	size_t nrec = 0;

	if (!init) {
		for (i = 0; i < sizeof(r.names) / sizeof(r.names[0]); i++)
			buf_init(&r.names[i], 0);
		buf_init(&r.text, 0);
		buf_init(&want, 0);
		buf_init(&out, 0);
		init = 1;
	}
	entries_read(&e, data, size);
	fixture_cpu(&f);
	memcpy(strings, f.strings, sizeof(f.strings));
	v = ns++;
	strings[v] = (char *)"v";
	u = ns++;
	strings[u] = (char *)"u";
	for (i = 0; i < e.n; i++) {
		if (e.kinds[i] == 0) {
			profpipe__label__init(&ol[no]);
			ol[no].key = e.names[i];
			ol[no].value = (char *)"o";
			olp[no] = &ol[no];
			no++;
			continue;
		}
		profpipe__sample_label__init(&sl[np]);
		strings[ns] = e.names[i];
		sl[np].key = (uint32_t)ns++;
		if (e.kinds[i] == 1) {
			sl[np].str = (uint32_t)v;
		} else {
			sl[np].num = (int64_t)i * 1000 - 5;
			sl[np].unit = e.kinds[i] == 3 ? (uint32_t)u : 0;
		}
		slp[np] = &sl[np];
		np++;
	}
	f.d.strings = strings;
	f.d.n_strings = ns;
	f.o.labels = olp;
	f.o.n_labels = no;
	f.ls[1].labels = slp;
	f.ls[1].n_labels = np;

	/* the reference */
	r.n = 0;
	buf_clear(&r.text);
	buf_putc(&r.text, '{');
	ref_origin(&r, "__name__", f.o.service);
	ref_origin(&r, "instance", f.o.instance);
	ref_origin(&r, "job", f.o.job);
	for (i = 0; i < no; i++)
		ref_origin(&r, ol[i].key, ol[i].value);
	r.n_origin = r.n;
	base = r.text.len;
	buf_clear(&want);
	buf_puts(&want, "\"labels\":");
	buf_putc(&r.text, '}');
	buf_json_str(&want, (char *)r.text.data, r.text.len);
	buf_putc(&want, ',');
	r.text.len = base; /* the stacks without pprof labels end there */
	buf_clear(&out);
	if (records_all(&f.d, &out, &nrec) != 0 || nrec != 3 ||
	    !fx_jsonl_valid((char *)out.data, out.len) ||
	    strstr((char *)out.data, (char *)want.data) == NULL)
		abort();
	for (i = 0; i < np; i++) {
		if (sl[i].str != 0) {
			ref_pprof(&r, strings[sl[i].key], "v");
			continue;
		}
		snprintf(num, sizeof(num), "%" PRId64 "%s", sl[i].num,
		    sl[i].unit ? " u" : "");
		ref_pprof(&r, strings[sl[i].key], num);
	}
	buf_putc(&r.text, '}');
	buf_clear(&want);
	buf_puts(&want, "\"labels\":");
	buf_json_str(&want, (char *)r.text.data, r.text.len);
	buf_putc(&want, ',');
	if (strstr((char *)out.data, (char *)want.data) == NULL) {
		fprintf(stderr, "want %s\nin %s\n", (char *)want.data,
		    (char *)out.data);
		abort();
	}
	for (i = 0; i < e.n; i++)
		free(e.names[i]);
	return 0;
}
