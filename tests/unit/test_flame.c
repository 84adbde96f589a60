/*
 * flame: the call tree of a hand-built profile, element by element, and
 * of corpus profiles (CPU, heap, goroutine, mutex) checked for what every
 * tree must be: pre-order with each parent on the path above, children
 * unique and in signature order, total = self + children's totals, the
 * root's total the column's sum over all stacks; and its JSON. A tree is
 * capped by its elements, not by the frames of the stacks it is made of.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exporter/flame.h"
#include "exporter/profile.h"
#include "tests/unit/export_window.h"

static void
test_fixture_tree(void **state)
{
	static const struct {
		int64_t parent;
		const char *sig;
		int64_t total, self, count_total, count_self;
	} want[] = {
	    {-1, "root", 60000000, 0, 6, 0},
	    {0, "main.main:3", 60000000, 0, 6, 0},
	    {1, "main.work:7", 40000000, 10000000, 4, 1},
	    {2, "runtime.leaf:1", 30000000, 30000000, 3, 3},
	    {1, "main.work:9", 20000000, 20000000, 2, 2},
	};
	struct export_col value;
	struct export_col count;
	struct fixture f;
	struct flame fl;
	size_t i;

	(void)state;
	fixture_cpu(&f);
	assert_int_equal(export_kind_column(&f.d, &value), 0);
	assert_string_equal(value.type, "cpu");
	assert_int_equal(flame_count_column(&f.d, &value, &count), 0);
	assert_string_equal(count.type, "samples");
	flame_init(&fl);
	assert_int_equal(flame_build(&fl, &f.d, &value, &count), 0);
	assert_int_equal(fl.n, 5);
	for (i = 0; i < fl.n; i++) {
		assert_int_equal(fl.elems[i].parent, want[i].parent);
		assert_string_equal(flame_signature(&fl, i), want[i].sig);
		assert_int_equal(fl.elems[i].total, want[i].total);
		assert_int_equal(fl.elems[i].self, want[i].self);
		assert_int_equal(fl.elems[i].count_total, want[i].count_total);
		assert_int_equal(fl.elems[i].count_self, want[i].count_self);
	}
	assert_int_equal(fl.max_depth, 3);

	/* reused for another build: the same tree, no counts */
	assert_int_equal(flame_build(&fl, &f.d, &value, NULL), 0);
	assert_int_equal(fl.n, 5);
	assert_int_equal(fl.elems[0].count_total, 0);
	assert_string_equal(flame_signature(&fl, 4), "main.work:9");
	flame_release(&fl);
}

static void
test_json(void **state)
{
	struct export_col value;
	struct export_col count;
	struct fixture f;
	struct flame fl;
	struct buf b;

	(void)state;
	fixture_cpu(&f);
	f.strings[FX_LEAF] = (char *)"runtime.\"odd\"\xff";
	assert_int_equal(export_kind_column(&f.d, &value), 0);
	assert_int_equal(flame_count_column(&f.d, &value, &count), 0);
	flame_init(&fl);
	assert_int_equal(flame_build(&fl, &f.d, &value, &count), 0);
	buf_init(&b, 1 << 20);
	assert_int_equal(flame_json(&fl, "shop cpu", &value, &count, &b), 0);
	assert_true(fx_json_valid(b.data, b.len));
	buf_putc(&b, '\0');
	assert_non_null(strstr((char *)b.data,
	    "{\"id\":0,\"parentId\":-1,\"codeSignature\":\"root\","
	    "\"total\":60000000,\"self\":0,\"totalCount\":6,"
	    "\"selfCount\":0}"));
	assert_non_null(strstr((char *)b.data,
	    "\"valueType\":\"cpu\",\"unit\":\"nanoseconds\","
	    "\"countType\":\"samples\",\"total\":60000000,"
	    "\"totalCount\":6"));
	assert_non_null(strstr((char *)b.data, "\"parentId\":2,"));
	/* a cap that is too small is an error, not a truncated tree */
	buf_release(&b);
	buf_init(&b, 64);
	assert_int_equal(flame_json(&fl, "shop cpu", &value, &count, &b), -1);
	buf_release(&b);
	flame_release(&fl);
}

static void
test_count_columns(void **state)
{
	struct export_col value;
	struct export_col count;
	struct fixture f;

	(void)state;
	fixture_cpu(&f);
	/* a column without a count partner */
	value.type = "weird";
	value.unit = "bytes";
	value.src = 1;
	value.mul = 1;
	assert_int_equal(flame_count_column(&f.d, &value, &count), -1);
	/* a count column counts itself */
	value.unit = "count";
	assert_int_equal(flame_count_column(&f.d, &value, &count), 0);
	assert_int_equal(count.src, 1);
}

/* Every tree invariant, and the root total against the column's sum. */
static void
check_tree(const Profpipe__Decoded *p, const struct flame *fl,
    const struct export_col *value, const struct export_col *count)
{
	int64_t *child_sum = calloc(fl->n, sizeof(int64_t));
	int64_t *child_count = calloc(fl->n, sizeof(int64_t));
	size_t *path = calloc(fl->max_depth + 2, sizeof(size_t));
	int64_t sum_value = 0;
	int64_t sum_count = 0;
	int64_t selves = 0;
	const struct flame_elem *e;
	size_t i;
	size_t prev_sibling;

	assert_non_null(child_sum);
	assert_non_null(path);
	for (i = 0; i < export_n_stacks(p); i++) {
		sum_value += export_value(p, i, value);
		sum_count += export_value(p, i, count);
	}
	assert_true(fl->n > 1);
	assert_int_equal(fl->elems[0].parent, -1);
	assert_string_equal(flame_signature(fl, 0), "root");
	assert_int_equal(fl->elems[0].total, sum_value);
	assert_int_equal(fl->elems[0].count_total, sum_count);
	path[0] = 0;
	for (i = 1; i < fl->n; i++) {
		e = &fl->elems[i];
		assert_true(e->depth >= 1 && e->depth <= fl->max_depth);
		/* pre-order: the parent is the element on the path one up */
		assert_int_equal(e->parent, (int64_t)path[e->depth - 1]);
		assert_int_equal(fl->elems[e->parent].depth + 1, e->depth);
		/* siblings in strictly increasing signature order */
		prev_sibling = path[e->depth];
		if (prev_sibling != 0 && prev_sibling < i &&
		    fl->elems[prev_sibling].parent == e->parent)
			assert_true(strcmp(flame_signature(fl, prev_sibling),
			                flame_signature(fl, i)) < 0);
		path[e->depth] = i;
		path[e->depth + 1] = 0;
		child_sum[e->parent] += e->total;
		child_count[e->parent] += e->count_total;
	}
	for (i = 0; i < fl->n; i++) {
		e = &fl->elems[i];
		assert_int_equal(e->total, e->self + child_sum[i]);
		assert_int_equal(
		    e->count_total, e->count_self + child_count[i]);
		selves += e->self;
	}
	assert_int_equal(selves, sum_value);
	free(child_sum);
	free(child_count);
	free(path);
}

static void
corpus(const char *name, const char *kind, const char *want_value,
    const char *want_count)
{
	struct export_col value;
	struct export_col count;
	struct xwindow x;
	struct flame fl;

	if (xwindow_corpus(&x, name, kind) < 0)
		fail_msg("%s: cannot read or decode", name);
	assert_int_equal(export_kind_column(&x.d, &value), 0);
	assert_string_equal(value.type, want_value);
	assert_int_equal(flame_count_column(&x.d, &value, &count), 0);
	assert_string_equal(count.type, want_count);
	flame_init(&fl);
	assert_int_equal(flame_build(&fl, &x.d, &value, &count), 0);
	check_tree(&x.d, &fl, &value, &count);
	flame_release(&fl);
	xwindow_free(&x);
}

/* The fixture's tables with n stacks of depth frames each: one shared path
 * of depth - 1 frames, then a leaf of a line of its own. */
static void
deep_stacks(struct fixture *f, size_t n, size_t depth, uint32_t **frames,
    uint32_t **off, int64_t **values, uint32_t **ff, uint32_t **fl,
    int64_t **line)
{
	size_t nf = depth - 1 + n;
	size_t i;
	size_t k;

	*frames = malloc(n * depth * sizeof(**frames));
	*off = malloc((n + 1) * sizeof(**off));
	*values = malloc(2 * n * sizeof(**values));
	*ff = malloc(nf * sizeof(**ff));
	*fl = malloc(nf * sizeof(**fl));
	*line = malloc(nf * sizeof(**line));
	assert_true(*frames && *off && *values && *ff && *fl && *line);
	for (i = 0; i < nf; i++) {
		(*ff)[i] = f->ff[1];
		(*fl)[i] = f->fl[1];
		(*line)[i] = (int64_t)i + 1;
	}
	for (i = 0; i < n; i++) {
		(*off)[i] = (uint32_t)(i * depth);
		(*frames)[i * depth] = (uint32_t)(depth - 1 + i); /* leaf */
		for (k = 1; k < depth; k++)
			(*frames)[i * depth + k] = (uint32_t)(depth - 1 - k);
		(*values)[2 * i] = 1;
		(*values)[2 * i + 1] = 10;
	}
	(*off)[n] = (uint32_t)(n * depth);
	f->d.n_frame_function = f->d.n_frame_file = f->d.n_frame_line = nf;
	f->d.frame_function = *ff;
	f->d.frame_file = *fl;
	f->d.frame_line = *line;
	f->d.n_stack_offset = n + 1;
	f->d.stack_offset = *off;
	f->d.n_stack_frames = n * depth;
	f->d.stack_frames = *frames;
	f->d.n_stack_hash = n;
	f->d.n_values = 2 * n;
	f->d.values = *values;
	f->d.n_stack_labels = 0;
}

/* 50,000 stacks 90 deep: 4.5 million frames in the stacks, more than
 * FLAME_MAX_ELEMS, but 50,089 elements in the tree: it is built. */
static void
test_many_frames_few_elements(void **state)
{
	struct export_col value;
	struct export_col count;
	struct fixture f;
	struct flame fl;
	uint32_t *frames;
	uint32_t *off;
	uint32_t *ff;
	uint32_t *fl_;
	int64_t *values;
	int64_t *line;
	uint64_t *hash = calloc(50000, sizeof(*hash));

	(void)state;
	assert_non_null(hash);
	fixture_cpu(&f);
	deep_stacks(&f, 50000, 90, &frames, &off, &values, &ff, &fl_, &line);
	f.d.stack_hash = hash;
	assert_true(f.d.n_stack_frames > FLAME_MAX_ELEMS);
	assert_int_equal(export_kind_column(&f.d, &value), 0);
	assert_int_equal(flame_count_column(&f.d, &value, &count), 0);
	flame_init(&fl);
	assert_int_equal(flame_build(&fl, &f.d, &value, &count), 0);
	assert_int_equal(fl.n, 1 + 89 + 50000);
	assert_int_equal(fl.elems[0].total, 10 * 50000);
	assert_int_equal(fl.max_depth, 90);
	/* Past the frames' cap (said, not built: it is checked first), the
	 * answer is -2, which a sink takes as "never", not "try again". */
	f.d.n_stack_frames = FLAME_MAX_FRAMES + 1;
	assert_int_equal(flame_build(&fl, &f.d, &value, &count), -2);
	flame_release(&fl);
	free(frames);
	free(off);
	free(values);
	free(ff);
	free(fl_);
	free(line);
	free(hash);
}

static void
test_corpus(void **state)
{
	(void)state;
	corpus("biggo-cpu-30s.pb.gz", "cpu", "cpu", "samples");
	corpus("goapp-cpu.pb.gz", "cpu", "cpu", "samples");
	corpus("biggo-heap.pb.gz", "mem", "inuse_space", "inuse_objects");
	corpus("biggo-allocs.pb.gz", "allocs", "alloc_space", "alloc_objects");
	corpus(
	    "goapp-goroutine.pb.gz", "goroutines", "goroutine", "goroutine");
	corpus("goapp-mutex.pb.gz", "mutex", "delay", "contentions");
	corpus("biggo-block-delta-10s.pb.gz", "block", "delay", "contentions");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_tree),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_count_columns),
	    cmocka_unit_test(test_many_frames_few_elements),
	    cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
