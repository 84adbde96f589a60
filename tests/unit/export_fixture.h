/*
 * export_fixture: a hand-built Decoded profile for the exporter's tests,
 * and (json_check.h) a strict JSON checker, so a test can say "this line
 * parses" without a JSON library.
 *
 * The CPU profile: sample types samples/count and cpu/nanoseconds, period
 * 10 ms, three frames, stacks (leaf first)
 *   0: runtime.leaf, main.work, main.main     3 samples, 30 ms
 *   1: main.main                              0, 0
 *   2: main.work (line 7), main.main          1, 10 ms, labels req=GET and
 *                                             size=42 bytes
 *   3: main.work (line 9), main.main          2, 20 ms
 */
#ifndef PROFPIPE_TEST_EXPORT_FIXTURE_H
#define PROFPIPE_TEST_EXPORT_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "common/wire.pb-c.h"
#include "tests/unit/json_check.h"

enum {
	FX_EMPTY,
	FX_SAMPLES,
	FX_COUNT,
	FX_CPU,
	FX_NS,
	FX_MAIN,
	FX_MAIN_GO,
	FX_WORK,
	FX_WORK_GO,
	FX_LEAF,
	FX_LEAF_GO,
	FX_REQ,
	FX_GET,
	FX_SIZE,
	FX_BYTES,
	FX_N_STRINGS
};

struct fixture {
	Profpipe__Result r;
	Profpipe__Decoded d;
	Profpipe__Origin o;
	Profpipe__Label l[2];
	Profpipe__Label *lp[2];
	Profpipe__ValueType vt[4];
	Profpipe__ValueType *vtp[4];
	Profpipe__ValueType period_type;
	char *strings[FX_N_STRINGS];
	uint32_t ff[4];
	uint32_t fl[4];
	int64_t line[4];
	uint32_t off[5];
	uint32_t frames[16];
	uint64_t hash[4];
	int64_t values[8];
	uint32_t stack_labels[4];
	Profpipe__SampleLabel sl[2];
	Profpipe__SampleLabel *slp[2];
	Profpipe__LabelSet ls[2];
	Profpipe__LabelSet *lsp[2];
};

static inline void
fixture_cpu(struct fixture *f)
{
	static const char *const s[FX_N_STRINGS] = {"", "samples", "count",
	    "cpu", "nanoseconds", "main.main", "/src/main.go", "main.work",
	    "/src/work.go", "runtime.leaf", "/src/rt.go", "req", "GET", "size",
	    "bytes"};
	static const uint32_t frames[] = {3, 1, 0, 0, 1, 0, 2, 0};
	static const uint32_t off[] = {0, 3, 4, 6, 8};
	static const int64_t values[] = {
	    3, 30000000, 0, 0, 1, 10000000, 2, 20000000};
	size_t i;

	memset(f, 0, sizeof(*f));
	profpipe__result__init(&f->r);
	profpipe__decoded__init(&f->d);
	profpipe__origin__init(&f->o);
	f->r.profile = &f->d;
	f->d.origin = &f->o;
	f->o.profile_id = (char *)"6f1c0e2a-0000-4000-8000-000000000001";
	f->o.source = (char *)"pull";
	f->o.kind = (char *)"cpu";
	f->o.service = (char *)"shop";
	f->o.instance = (char *)"127.0.0.1:6060";
	f->o.job = (char *)"go";
	f->o.start_ns = 1700000000123456789LL;
	f->o.end_ns = 1700000010123456789LL;
	f->o.target = (char *)"http://127.0.0.1:6060/debug/pprof/profile";
	for (i = 0; i < 2; i++) {
		profpipe__label__init(&f->l[i]);
		f->lp[i] = &f->l[i];
	}
	f->l[0].key = (char *)"env";
	f->l[0].value = (char *)"prod";
	f->l[1].key = (char *)"zone";
	f->l[1].value = (char *)"a";
	f->o.n_labels = 2;
	f->o.labels = f->lp;

	for (i = 0; i < FX_N_STRINGS; i++)
		f->strings[i] = (char *)s[i];
	f->d.n_strings = FX_N_STRINGS;
	f->d.strings = f->strings;
	for (i = 0; i < 4; i++) {
		profpipe__value_type__init(&f->vt[i]);
		f->vtp[i] = &f->vt[i];
	}
	f->vt[0].type = FX_SAMPLES;
	f->vt[0].unit = FX_COUNT;
	f->vt[1].type = FX_CPU;
	f->vt[1].unit = FX_NS;
	f->d.n_sample_types = 2;
	f->d.sample_types = f->vtp;
	f->d.default_sample_type = 1;
	profpipe__value_type__init(&f->period_type);
	f->period_type.type = FX_CPU;
	f->period_type.unit = FX_NS;
	f->d.period_type = &f->period_type;
	f->d.period = 10000000;
	f->d.duration_ns = 10000000000LL;

	/* frames: 0 main.main, 1 main.work:7, 2 main.work:9, 3 leaf */
	f->ff[0] = FX_MAIN;
	f->fl[0] = FX_MAIN_GO;
	f->ff[1] = f->ff[2] = FX_WORK;
	f->fl[1] = f->fl[2] = FX_WORK_GO;
	f->ff[3] = FX_LEAF;
	f->fl[3] = FX_LEAF_GO;
	f->line[0] = 3;
	f->line[1] = 7;
	f->line[2] = 9;
	f->line[3] = 1;
	f->d.n_frame_function = f->d.n_frame_file = f->d.n_frame_line = 4;
	f->d.frame_function = f->ff;
	f->d.frame_file = f->fl;
	f->d.frame_line = f->line;

	memcpy(f->off, off, sizeof(off));
	memcpy(f->frames, frames, sizeof(frames));
	memcpy(f->values, values, sizeof(values));
	f->d.n_stack_offset = 5;
	f->d.stack_offset = f->off;
	f->d.n_stack_frames = 8;
	f->d.stack_frames = f->frames;
	f->hash[0] = 0x0123456789abcdefULL;
	f->hash[1] = 0x1ULL;
	f->hash[2] = 0xfedcba9876543210ULL;
	f->hash[3] = 0x2ULL;
	f->d.n_stack_hash = 4;
	f->d.stack_hash = f->hash;
	f->d.n_values = 8;
	f->d.values = f->values;

	for (i = 0; i < 2; i++) {
		profpipe__sample_label__init(&f->sl[i]);
		f->slp[i] = &f->sl[i];
		profpipe__label_set__init(&f->ls[i]);
		f->lsp[i] = &f->ls[i];
	}
	f->sl[0].key = FX_REQ;
	f->sl[0].str = FX_GET;
	f->sl[1].key = FX_SIZE;
	f->sl[1].num = 42;
	f->sl[1].unit = FX_BYTES;
	f->ls[1].n_labels = 2;
	f->ls[1].labels = f->slp;
	f->d.n_label_sets = 2;
	f->d.label_sets = f->lsp;
	f->stack_labels[2] = 1;
	f->d.n_stack_labels = 4;
	f->d.stack_labels = f->stack_labels;
	f->d.n_samples = 6;
}

#endif
