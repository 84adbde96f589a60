/*
 * pprof_diff: compare what pprof_read made of a profile with what
 * protobuf-c's generated perftools__profiles__profile__unpack made of the
 * same bytes, table by table. Shared by the differential unit test and
 * the differential fuzz target (tests/fuzz/fuzz_pprof_diff.c).
 *
 * The two differ by design in what they accept (pprof_read checks
 * references and refuses what Go refuses; protobuf-c checks only the wire
 * format), so the comparison is for profiles both accepted. Labels are
 * compared as Go keeps them: those with neither value nor unit dropped.
 */
#ifndef PROFPIPE_TEST_PPROF_DIFF_H
#define PROFPIPE_TEST_PPROF_DIFF_H

#include <stdio.h>
#include <string.h>

#include "common/profile.pb-c.h"
#include "decoder/pprof.h"

#define PD_FAIL(...)                                                          \
	do {                                                                  \
		snprintf(why, whylen, __VA_ARGS__);                           \
		return -1;                                                    \
	} while (0)

static inline int
pd_labels(const Perftools__Profiles__Sample *s, const struct pprof_sample *r,
    size_t i, char *why, size_t whylen)
{
	const Perftools__Profiles__Label *l;
	size_t k = 0;
	size_t j;

	for (j = 0; j < s->n_label; j++) {
		l = s->label[j];
		if (l->str == 0 && l->num == 0 && l->num_unit == 0)
			continue;
		if (k >= r->n_labels)
			PD_FAIL("sample %zu: more labels", i);
		/* With a str, Go keeps no num and no unit. */
		if ((int64_t)r->labels[k].key != l->key ||
		    (int64_t)r->labels[k].str != l->str ||
		    r->labels[k].num != (l->str != 0 ? 0 : l->num) ||
		    (int64_t)r->labels[k].unit !=
		        (l->str != 0 ? 0 : l->num_unit))
			PD_FAIL("sample %zu: label %zu differs", i, k);
		k++;
	}
	if (k != r->n_labels)
		PD_FAIL("sample %zu: %zu labels, want %zu", i,
		    (size_t)r->n_labels, k);
	return 0;
}

static inline int
pd_samples(const Perftools__Profiles__Profile *p,
    const struct pprof_profile *r, char *why, size_t whylen)
{
	const Perftools__Profiles__Sample *s;
	size_t nt = r->n_sample_types;
	size_t i;
	size_t j;

	if (p->n_sample != r->n_samples)
		PD_FAIL("%zu samples, want %zu", r->n_samples, p->n_sample);
	for (i = 0; i < p->n_sample; i++) {
		s = p->sample[i];
		if (s->n_location_id != r->samples[i].n_loc)
			PD_FAIL("sample %zu: %u locations, want %zu", i,
			    r->samples[i].n_loc, s->n_location_id);
		for (j = 0; j < s->n_location_id; j++) {
			if (r->locations[r->samples[i].loc[j]].id !=
			    s->location_id[j])
				PD_FAIL(
				    "sample %zu: location %zu differs", i, j);
		}
		if (s->n_value != nt ||
		    (nt > 0 &&
		        memcmp(s->value, r->values + i * nt,
		            nt * sizeof(int64_t)) != 0))
			PD_FAIL("sample %zu: values differ", i);
		if (pd_labels(s, &r->samples[i], i, why, whylen) != 0)
			return -1;
	}
	return 0;
}

static inline int
pd_locations(const Perftools__Profiles__Profile *p,
    const struct pprof_profile *r, char *why, size_t whylen)
{
	const Perftools__Profiles__Location *l;
	const struct pprof_location *q;
	size_t i;
	size_t j;

	if (p->n_location != r->n_locations)
		PD_FAIL(
		    "%zu locations, want %zu", r->n_locations, p->n_location);
	for (i = 0; i < p->n_location; i++) {
		l = p->location[i];
		q = &r->locations[i];
		if (l->id != q->id || l->mapping_id != q->mapping_id ||
		    l->address != q->address ||
		    !l->is_folded != !q->is_folded || l->n_line != q->n_lines)
			PD_FAIL("location %zu differs", i);
		for (j = 0; j < l->n_line; j++) {
			if (r->functions[q->lines[j].function].id !=
			        l->line[j]->function_id ||
			    q->lines[j].line != l->line[j]->line)
				PD_FAIL(
				    "location %zu: line %zu differs", i, j);
		}
	}
	return 0;
}

static inline int
pd_functions(const Perftools__Profiles__Profile *p,
    const struct pprof_profile *r, char *why, size_t whylen)
{
	const Perftools__Profiles__Function *f;
	const Perftools__Profiles__Mapping *m;
	const struct pprof_mapping *q;
	size_t i;

	if (p->n_function != r->n_functions)
		PD_FAIL(
		    "%zu functions, want %zu", r->n_functions, p->n_function);
	for (i = 0; i < p->n_function; i++) {
		f = p->function[i];
		if (f->id != r->functions[i].id ||
		    f->name != (int64_t)r->functions[i].name ||
		    f->system_name != (int64_t)r->functions[i].system_name ||
		    f->filename != (int64_t)r->functions[i].filename ||
		    f->start_line != r->functions[i].start_line)
			PD_FAIL("function %zu differs", i);
	}
	if (p->n_mapping != r->n_mappings)
		PD_FAIL("%zu mappings, want %zu", r->n_mappings, p->n_mapping);
	for (i = 0; i < p->n_mapping; i++) {
		m = p->mapping[i];
		q = &r->mappings[i];
		if (m->id != q->id || m->memory_start != q->memory_start ||
		    m->memory_limit != q->memory_limit ||
		    m->file_offset != q->file_offset ||
		    m->filename != (int64_t)q->filename ||
		    m->build_id != (int64_t)q->build_id ||
		    !m->has_functions != !q->has_functions ||
		    !m->has_filenames != !q->has_filenames ||
		    !m->has_line_numbers != !q->has_line_numbers ||
		    !m->has_inline_frames != !q->has_inline_frames)
			PD_FAIL("mapping %zu differs", i);
	}
	return 0;
}

/* 0 if p (protobuf-c) and r (pprof_read) hold the same profile, else -1
 * with the first difference in why. */
static inline int
pprof_diff(const Perftools__Profiles__Profile *p,
    const struct pprof_profile *r, char *why, size_t whylen)
{
	size_t i;

	if (p->n_string_table != r->n_strings)
		PD_FAIL(
		    "%zu strings, want %zu", r->n_strings, p->n_string_table);
	for (i = 0; i < p->n_string_table; i++) {
		if (memcmp(p->string_table[i], r->strings[i].p,
		        r->strings[i].n) != 0 ||
		    p->string_table[i][r->strings[i].n] != '\0')
			PD_FAIL("string %zu differs", i);
	}
	if (p->n_sample_type != r->n_sample_types)
		PD_FAIL("%zu sample types, want %zu", r->n_sample_types,
		    p->n_sample_type);
	for (i = 0; i < p->n_sample_type; i++) {
		if (p->sample_type[i]->type != r->sample_types[i].type ||
		    p->sample_type[i]->unit != r->sample_types[i].unit)
			PD_FAIL("sample type %zu differs", i);
	}
	if (p->drop_frames != r->drop_frames ||
	    p->keep_frames != r->keep_frames ||
	    p->time_nanos != r->time_nanos ||
	    p->duration_nanos != r->duration_nanos || p->period != r->period ||
	    p->default_sample_type != r->default_sample_type)
		PD_FAIL("scalars differ");
	if ((p->period_type != NULL ? p->period_type->type : 0) !=
	        r->period_type.type ||
	    (p->period_type != NULL ? p->period_type->unit : 0) !=
	        r->period_type.unit)
		PD_FAIL("period type differs");
	if (p->n_comment != r->n_comments)
		PD_FAIL("%zu comments, want %zu", r->n_comments, p->n_comment);
	for (i = 0; i < p->n_comment; i++) {
		if (p->comment[i] != (int64_t)r->comments[i])
			PD_FAIL("comment %zu differs", i);
	}
	if (pd_functions(p, r, why, whylen) != 0 ||
	    pd_locations(p, r, why, whylen) != 0 ||
	    pd_samples(p, r, why, whylen) != 0)
		return -1;
	return 0;
}

#undef PD_FAIL

#endif
