/*
 * decode_util: what the decoder's tests share: the corpus's location,
 * reading a file whole, inflating one, and building small profiles with
 * protobuf-c's generated code (so a test states a profile as data, not as
 * bytes). Header-only: each test is one program.
 */
#ifndef PROFPIPE_TEST_DECODE_UTIL_H
#define PROFPIPE_TEST_DECODE_UTIL_H

#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/profile.pb-c.h"
#include "decoder/decode.h"
#include "decoder/decode_inflate.h"

#define CORPUS "../shared/corpus"

/* The whole file, or NULL. *len set; free() it. */
static inline uint8_t *
du_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)n + 1);
		if (p != NULL && fread(p, 1, (size_t)n, f) != (size_t)n) {
			free(p);
			p = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return p;
}

/* fn(path, arg) for every file matching each of the n patterns, in glob's
 * order. Returns how many files that was, or 0 if a pattern matched
 * nothing (so a caller's "at least so many" fails then too). */
static inline size_t
du_each_file(const char *const *pats, size_t n,
    void (*fn)(const char *path, void *arg), void *arg)
{
	size_t seen = 0;
	size_t i;
	size_t j;
	glob_t g;

	for (i = 0; i < n; i++) {
		if (glob(pats[i], 0, NULL, &g) != 0)
			return 0;
		for (j = 0; j < g.gl_pathc; j++, seen++)
			fn(g.gl_pathv[j], arg);
		globfree(&g);
	}
	return seen;
}

/* Body inflated into a (gzip, zstd or plain), or NULL. */
static inline uint8_t *
du_inflate(const uint8_t *body, size_t len, struct arena *a, size_t *outlen)
{
	struct decode_inflate *z;
	uint8_t *out = NULL;
	char err[256];

	if (decode_inflate_new(&z) != 0)
		return NULL;
	if (decode_inflate(z, body, len, DECODE_MAX_INFLATED, a, &out, outlen,
	        err, sizeof(err)) != 0)
		out = NULL;
	decode_inflate_free(z);
	return out;
}

/* A minimal protobuf writer, for bytes protobuf-c would never write
 * (unpacked repeated fields, unknown fields, groups). */
static inline size_t
du_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline size_t
du_tag(uint8_t *p, uint32_t field, uint32_t wt)
{
	return du_varint(p, (uint64_t)field << 3 | wt);
}

/* A profile under construction: tables with room for a few entries. */
#define DU_MAX 64
struct du_prof {
	Perftools__Profiles__Profile p;
	Perftools__Profiles__ValueType st[DU_MAX], pt;
	Perftools__Profiles__ValueType *stp[DU_MAX];
	Perftools__Profiles__Sample s[DU_MAX];
	Perftools__Profiles__Sample *sp[DU_MAX];
	Perftools__Profiles__Label lab[DU_MAX];
	Perftools__Profiles__Label *labp[DU_MAX];
	Perftools__Profiles__Location l[DU_MAX];
	Perftools__Profiles__Location *lp[DU_MAX];
	Perftools__Profiles__Line line[DU_MAX];
	Perftools__Profiles__Line *linep[DU_MAX];
	Perftools__Profiles__Function f[DU_MAX];
	Perftools__Profiles__Function *fp[DU_MAX];
	Perftools__Profiles__Mapping m[DU_MAX];
	Perftools__Profiles__Mapping *mp[DU_MAX];
	uint64_t ids[DU_MAX * 8];
	int64_t vals[DU_MAX * 8];
	char *strs[DU_MAX];
	size_t n_ids, n_vals, n_lines, n_labels;
};

/* A valid two-type profile: strings "", "samples", "count", "cpu",
 * "nanoseconds", then function names/files added by du_func. */
static inline void
du_init(struct du_prof *d)
{
	static char *base[] = {"", "samples", "count", "cpu", "nanoseconds"};
	int i;

	memset(d, 0, sizeof(*d));
	perftools__profiles__profile__init(&d->p);
	for (i = 0; i < 5; i++)
		d->strs[i] = base[i];
	d->p.n_string_table = 5;
	d->p.string_table = d->strs;
	for (i = 0; i < DU_MAX; i++) {
		d->stp[i] = &d->st[i];
		d->sp[i] = &d->s[i];
		d->labp[i] = &d->lab[i];
		d->lp[i] = &d->l[i];
		d->linep[i] = &d->line[i];
		d->fp[i] = &d->f[i];
		d->mp[i] = &d->m[i];
	}
	d->p.sample_type = d->stp;
	d->p.sample = d->sp;
	d->p.location = d->lp;
	d->p.function = d->fp;
	d->p.mapping = d->mp;
	for (i = 0; i < 2; i++) {
		perftools__profiles__value_type__init(&d->st[i]);
		d->st[i].type = 1 + 2 * i;
		d->st[i].unit = 2 + 2 * i;
	}
	d->p.n_sample_type = 2;
	perftools__profiles__value_type__init(&d->pt);
	d->pt.type = 3;
	d->pt.unit = 4;
	d->p.period_type = &d->pt;
	d->p.period = 10000000;
}

static inline int64_t
du_str(struct du_prof *d, char *s)
{
	d->strs[d->p.n_string_table] = s;
	return (int64_t)d->p.n_string_table++;
}

/* Function with id id named name in file file. */
static inline void
du_func(struct du_prof *d, uint64_t id, char *name, char *file)
{
	Perftools__Profiles__Function *f = &d->f[d->p.n_function++];

	perftools__profiles__function__init(f);
	f->id = id;
	f->name = du_str(d, name);
	f->filename = du_str(d, file);
}

/* Location id with n lines (function id, line) pairs, leaf first. */
static inline void
du_loc(struct du_prof *d, uint64_t id, size_t n, const uint64_t *fid,
    const int64_t *line)
{
	Perftools__Profiles__Location *l = &d->l[d->p.n_location++];
	size_t i;

	perftools__profiles__location__init(l);
	l->id = id;
	l->address = 0x1000 + id;
	l->line = &d->linep[d->n_lines];
	l->n_line = n;
	for (i = 0; i < n; i++) {
		perftools__profiles__line__init(&d->line[d->n_lines]);
		d->line[d->n_lines].function_id = fid[i];
		d->line[d->n_lines].line = line[i];
		d->n_lines++;
	}
}

/* Sample over n location ids (leaf first), values v0 and v1. */
static inline Perftools__Profiles__Sample *
du_sample(
    struct du_prof *d, size_t n, const uint64_t *locs, int64_t v0, int64_t v1)
{
	Perftools__Profiles__Sample *s = &d->s[d->p.n_sample++];

	perftools__profiles__sample__init(s);
	s->location_id = &d->ids[d->n_ids];
	memcpy(s->location_id, locs, n * sizeof(*locs));
	s->n_location_id = n;
	d->n_ids += n;
	s->value = &d->vals[d->n_vals];
	s->value[0] = v0;
	s->value[1] = v1;
	s->n_value = 2;
	d->n_vals += 2;
	return s;
}

static inline void
du_label(struct du_prof *d, Perftools__Profiles__Sample *s, int64_t key,
    int64_t str, int64_t num)
{
	Perftools__Profiles__Label *l = &d->lab[d->n_labels++];

	perftools__profiles__label__init(l);
	l->key = key;
	l->str = str;
	l->num = num;
	if (s->n_label == 0)
		s->label = &d->labp[d->n_labels - 1];
	s->n_label++;
}

/* Packed bytes of d (malloc'd, *len set). */
static inline uint8_t *
du_pack(const struct du_prof *d, size_t *len)
{
	uint8_t *buf;

	*len = perftools__profiles__profile__get_packed_size(&d->p);
	buf = malloc(*len + 1);
	if (buf != NULL)
		perftools__profiles__profile__pack(&d->p, buf);
	return buf;
}

#endif
