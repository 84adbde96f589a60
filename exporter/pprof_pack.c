/*
 * pprof_pack: Decoded → perftools.profiles.Profile → gzip. The generated
 * structs are built in an arena dropped in one call; string indices carry
 * over unchanged (the Decoded's table is pprof's, index 0 ""), so only the
 * functions need a table: frames that share a name and file share one.
 */
#include "exporter/pprof_pack.h"

#include <string.h>
#include <zlib.h>

#include "common/arena.h"
#include "common/bus.h"
#include "common/hash.h"
#include "common/profile.pb-c.h"
#include "exporter/profile.h"

#define PPROF_ARENA_CAP (2 * BUS_MAX_MSG)

typedef Perftools__Profiles__Profile pprof_profile;

struct pprof_build {
	const Profpipe__Decoded *p;
	struct arena *a;
	pprof_profile *prof;
	size_t kept[EXPORT_MAX_COLS]; /* sample types written */
	size_t n_kept;
	uint64_t *frame_fn; /* frame → function id */
};

static int
pprof_sample_types(struct pprof_build *b)
{
	const Profpipe__Decoded *p = b->p;
	Perftools__Profiles__ValueType *vt;
	size_t t;

	b->prof->sample_type =
	    arena_calloc(b->a, p->n_sample_types + 1, sizeof(void *));
	if (b->prof->sample_type == NULL)
		return -1;
	for (t = 0; t < p->n_sample_types && b->n_kept < EXPORT_MAX_COLS;
	     t++) {
		if (p->sample_types[t]->absent)
			continue;
		vt = arena_alloc(b->a, sizeof(*vt));
		if (vt == NULL)
			return -1;
		perftools__profiles__value_type__init(vt);
		vt->type = p->sample_types[t]->type;
		vt->unit = p->sample_types[t]->unit;
		if ((int32_t)t == p->default_sample_type)
			b->prof->default_sample_type = vt->type;
		b->prof->sample_type[b->n_kept] = vt;
		b->kept[b->n_kept++] = t;
	}
	b->prof->n_sample_type = b->n_kept;
	return 0;
}

/* Functions by (name, file); locations one per frame, id = frame + 1. */
static int
pprof_locations(struct pprof_build *b)
{
	const Profpipe__Decoded *p = b->p;
	size_t n = p->n_frame_function;
	size_t size = 16;
	uint32_t *index;
	Perftools__Profiles__Function *fn;
	Perftools__Profiles__Location *loc;
	Perftools__Profiles__Line *line;
	uint64_t key;
	size_t h;
	size_t i;

	while (size < 2 * n)
		size *= 2;
	index = arena_calloc(b->a, size, sizeof(*index));
	b->prof->function = arena_calloc(b->a, n + 1, sizeof(void *));
	b->prof->location = arena_calloc(b->a, n + 1, sizeof(void *));
	fn = arena_calloc(b->a, n + 1, sizeof(*fn));
	loc = arena_calloc(b->a, n + 1, sizeof(*loc));
	line = arena_calloc(b->a, n + 1, sizeof(*line));
	b->frame_fn = arena_calloc(b->a, n + 1, sizeof(*b->frame_fn));
	if (index == NULL || b->prof->function == NULL ||
	    b->prof->location == NULL || fn == NULL || loc == NULL ||
	    line == NULL || b->frame_fn == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		key = (uint64_t)p->frame_function[i] << 32 | p->frame_file[i];
		h = hash_u64(HASH_SEED, key) & (size - 1);
		while (index[h] != 0 &&
		    ((uint64_t)b->prof->function[index[h] - 1]->name << 32 |
		        (uint64_t)b->prof->function[index[h] - 1]->filename) !=
		        key)
			h = (h + 1) & (size - 1);
		if (index[h] == 0) {
			Perftools__Profiles__Function *f =
			    &fn[b->prof->n_function];

			perftools__profiles__function__init(f);
			f->id = b->prof->n_function + 1;
			f->name = f->system_name = p->frame_function[i];
			f->filename = p->frame_file[i];
			b->prof->function[b->prof->n_function++] = f;
			index[h] = (uint32_t)b->prof->n_function;
		}
		b->frame_fn[i] = index[h];
		perftools__profiles__location__init(&loc[i]);
		perftools__profiles__line__init(&line[i]);
		loc[i].id = i + 1;
		line[i].function_id = index[h];
		line[i].line = p->frame_line[i];
		loc[i].n_line = 1;
		loc[i].line = arena_alloc(b->a, sizeof(void *));
		if (loc[i].line == NULL)
			return -1;
		loc[i].line[0] = &line[i];
		b->prof->location[i] = &loc[i];
	}
	b->prof->n_location = n;
	return 0;
}

static int
pprof_labels(struct pprof_build *b, size_t i, Perftools__Profiles__Sample *s)
{
	const Profpipe__Decoded *p = b->p;
	const Profpipe__LabelSet *ls;
	Perftools__Profiles__Label *l;
	size_t j;

	if (p->n_stack_labels == 0 || p->stack_labels[i] == 0)
		return 0;
	ls = p->label_sets[p->stack_labels[i]];
	s->label = arena_calloc(b->a, ls->n_labels + 1, sizeof(void *));
	l = arena_calloc(b->a, ls->n_labels + 1, sizeof(*l));
	if (s->label == NULL || l == NULL)
		return -1;
	for (j = 0; j < ls->n_labels; j++) {
		perftools__profiles__label__init(&l[j]);
		l[j].key = ls->labels[j]->key;
		l[j].str = ls->labels[j]->str;
		l[j].num = ls->labels[j]->num;
		l[j].num_unit = ls->labels[j]->unit;
		s->label[j] = &l[j];
	}
	s->n_label = ls->n_labels;
	return 0;
}

static int
pprof_samples(struct pprof_build *b)
{
	const Profpipe__Decoded *p = b->p;
	size_t n = export_n_stacks(p);
	Perftools__Profiles__Sample *s;
	const uint32_t *frames;
	size_t depth;
	size_t i;
	size_t k;
	int nonzero;

	b->prof->sample = arena_calloc(b->a, n + 1, sizeof(void *));
	if (b->prof->sample == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		nonzero = 0;
		for (k = 0; k < b->n_kept; k++)
			nonzero |=
			    p->values[i * p->n_sample_types + b->kept[k]] != 0;
		if (!nonzero)
			continue;
		export_stack(p, i, &frames, &depth);
		s = arena_alloc(b->a, sizeof(*s));
		if (s == NULL)
			return -1;
		perftools__profiles__sample__init(s);
		s->location_id =
		    arena_calloc(b->a, depth + 1, sizeof(uint64_t));
		s->value = arena_calloc(b->a, b->n_kept + 1, sizeof(int64_t));
		if (s->location_id == NULL || s->value == NULL)
			return -1;
		for (k = 0; k < depth; k++)
			s->location_id[k] = (uint64_t)frames[k] + 1;
		s->n_location_id = depth;
		for (k = 0; k < b->n_kept; k++)
			s->value[k] =
			    p->values[i * p->n_sample_types + b->kept[k]];
		s->n_value = b->n_kept;
		if (pprof_labels(b, i, s) < 0)
			return -1;
		b->prof->sample[b->prof->n_sample++] = s;
	}
	return 0;
}

static int
pprof_gzip(const uint8_t *in, size_t len, struct buf *out)
{
	z_stream z;
	size_t bound;
	int rv;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	        Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&z, len) + 32;
	if (buf_reserve(out, bound) < 0 || len > UINT32_MAX) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)len;
	z.next_out = out->data + out->len;
	z.avail_out = (uInt)(bound > UINT32_MAX ? UINT32_MAX : bound);
	rv = deflate(&z, Z_FINISH);
	if (rv == Z_STREAM_END)
		out->len += z.total_out;
	deflateEnd(&z);
	return rv == Z_STREAM_END ? 0 : -1;
}

int
pprof_pack(const Profpipe__Decoded *p, struct buf *out, size_t *nsamples)
{
	struct pprof_build b;
	Perftools__Profiles__ValueType period_type;
	uint8_t *packed;
	size_t len;
	int rv = -1;

	memset(&b, 0, sizeof(b));
	b.p = p;
	b.a = arena_new(PPROF_ARENA_CAP);
	if (b.a == NULL)
		return -1;
	b.prof = arena_alloc(b.a, sizeof(*b.prof));
	if (b.prof == NULL)
		goto out_free_arena;
	perftools__profiles__profile__init(b.prof);
	b.prof->n_string_table = p->n_strings;
	b.prof->string_table = p->strings;
	if (pprof_sample_types(&b) < 0 || pprof_locations(&b) < 0 ||
	    pprof_samples(&b) < 0)
		goto out_free_arena;
	perftools__profiles__value_type__init(&period_type);
	if (p->period_type != NULL) {
		period_type.type = p->period_type->type;
		period_type.unit = p->period_type->unit;
		b.prof->period_type = &period_type;
	}
	b.prof->period = p->period;
	b.prof->time_nanos = p->origin->start_ns;
	b.prof->duration_nanos = p->duration_ns;
	len = perftools__profiles__profile__get_packed_size(b.prof);
	packed = arena_alloc(b.a, len + 1);
	if (packed == NULL)
		goto out_free_arena;
	perftools__profiles__profile__pack(b.prof, packed);
	if (pprof_gzip(packed, len, out) < 0)
		goto out_free_arena;
	*nsamples = b.prof->n_sample;
	rv = 0;
out_free_arena:
	arena_free(b.a);
	return rv;
}
