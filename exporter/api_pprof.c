/*
 * api_pprof: one column of a merged profile as a gzipped pprof, the file
 * `go tool pprof` opens. The Decoded's string table is pprof's as it is
 * (index 0 is ""), and each frame becomes one function and one location
 * with one line, ids frame + 1, so nothing is renumbered. Packed with the
 * code protoc-c generates from common/profile.proto.
 */
#include "exporter/api_pprof.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "common/decoded.h"
#include "common/profile.pb-c.h"

static int
api_pprof_gzip(const uint8_t *in, size_t len, struct buf *out)
{
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip header and trailer, as Go writes them */
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -1;
	if (buf_reserve(out, deflateBound(&z, (uLong)len)) < 0) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out->data + out->len;
	z.avail_out = (uInt)(out->size - out->len);
	rc = deflate(&z, Z_FINISH);
	out->len += z.total_out;
	deflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}

int
api_pprof(
    const Profpipe__Decoded *d, size_t col, struct arena *a, struct buf *out)
{
	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType vt =
	    PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType pt =
	    PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *vtp = &vt;
	Perftools__Profiles__Function *fn;
	Perftools__Profiles__Location *loc;
	Perftools__Profiles__Line *line;
	Perftools__Profiles__Sample *smp;
	size_t ns = decoded_n_stacks(d);
	size_t nf = d->n_frame_function;
	size_t i;
	size_t k;
	uint32_t off;
	uint8_t *packed;
	size_t len;

	vt.type = d->sample_types[col]->type;
	vt.unit = d->sample_types[col]->unit;
	pt = vt;
	p.n_sample_type = 1;
	p.sample_type = &vtp;
	p.period_type = &pt;
	p.time_nanos = d->origin ? d->origin->start_ns : 0;
	p.duration_nanos =
	    d->origin ? d->origin->end_ns - d->origin->start_ns : 0;
	p.n_string_table = d->n_strings;
	p.string_table = d->strings;
	fn = arena_calloc(a, nf + 1, sizeof(*fn));
	loc = arena_calloc(a, nf + 1, sizeof(*loc));
	line = arena_calloc(a, nf + 1, sizeof(*line));
	p.function = arena_calloc(a, nf + 1, sizeof(*p.function));
	p.location = arena_calloc(a, nf + 1, sizeof(*p.location));
	smp = arena_calloc(a, ns + 1, sizeof(*smp));
	p.sample = arena_calloc(a, ns + 1, sizeof(*p.sample));
	if (fn == NULL || loc == NULL || line == NULL || p.function == NULL ||
	    p.location == NULL || smp == NULL || p.sample == NULL)
		return -1;
	for (i = 0; i < nf; i++) {
		perftools__profiles__function__init(&fn[i]);
		fn[i].id = i + 1;
		fn[i].name = fn[i].system_name = d->frame_function[i];
		fn[i].filename = d->frame_file[i];
		perftools__profiles__line__init(&line[i]);
		line[i].function_id = i + 1;
		line[i].line = d->frame_line[i];
		perftools__profiles__location__init(&loc[i]);
		loc[i].id = i + 1;
		loc[i].n_line = 1;
		loc[i].line = arena_alloc(a, sizeof(*loc[i].line));
		if (loc[i].line == NULL)
			return -1;
		loc[i].line[0] = &line[i];
		p.function[i] = &fn[i];
		p.location[i] = &loc[i];
	}
	p.n_function = p.n_location = nf;
	for (i = 0; i < ns; i++) {
		if (d->values[i * d->n_sample_types + col] == 0)
			continue;
		perftools__profiles__sample__init(&smp[p.n_sample]);
		off = d->stack_offset[i];
		smp[p.n_sample].n_location_id = d->stack_offset[i + 1] - off;
		smp[p.n_sample].location_id = arena_alloc(
		    a, (smp[p.n_sample].n_location_id + 1) * sizeof(uint64_t));
		if (smp[p.n_sample].location_id == NULL)
			return -1;
		for (k = 0; k < smp[p.n_sample].n_location_id; k++)
			smp[p.n_sample].location_id[k] =
			    (uint64_t)d->stack_frames[off + k] + 1;
		smp[p.n_sample].n_value = 1;
		smp[p.n_sample].value =
		    &d->values[i * d->n_sample_types + col];
		p.sample[p.n_sample] = &smp[p.n_sample];
		p.n_sample++;
	}
	len = perftools__profiles__profile__get_packed_size(&p);
	packed = arena_alloc(a, len + 1);
	if (packed == NULL)
		return -1;
	perftools__profiles__profile__pack(&p, packed);
	return api_pprof_gzip(packed, len, out);
}
