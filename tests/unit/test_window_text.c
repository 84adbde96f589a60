/*
 * window: stacks found by their text (wtab_text.c) must be exactly the
 * stacks interning finds. Profiles built here list the same stacks under
 * other string, frame and label-set indices, and in other label order:
 * they merge. A stack sharing another's stack_hash but not its frames (a
 * hash collision, or a decoder bug), or its frames but not its labels,
 * stays a stack of its own. Checked by reading the window's stacks back
 * as text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "aggregator/window.h"
#include "common/arena.h"
#include "common/decoded.h"

#define MAXN 16

/* A frame: function, file (string indices), line. */
struct tf {
	uint32_t func, file;
	int64_t line;
};

/* A stack: frames (indices, leaf first), label set, hash, value. */
struct ts {
	uint32_t fr[4];
	size_t n;
	uint32_t ls;
	uint64_t hash;
	int64_t v;
};

/* A label: key, value (string indices). */
struct tl {
	uint32_t key, str;
};

struct tp {
	const char *str[MAXN];
	size_t n_str;
	struct tf fr[MAXN];
	size_t n_fr;
	struct tl ls[MAXN][2]; /* set i + 1; set 0 is empty */
	size_t ls_n[MAXN];
	size_t n_ls;
	struct ts st[MAXN];
	size_t n_st;
};

struct built {
	Profpipe__Decoded d;
	Profpipe__Origin o;
	Profpipe__ValueType vt, *vtp;
	uint32_t ff[MAXN], fl[MAXN], off[MAXN + 1], sf[4 * MAXN];
	uint32_t sl[MAXN];
	int64_t line[MAXN], val[MAXN];
	uint64_t hash[MAXN];
	Profpipe__SampleLabel lab[MAXN + 1][2], *labp[MAXN + 1][2];
	Profpipe__LabelSet set[MAXN + 1], *setp[MAXN + 1];
};

static void
build(struct built *b, const struct tp *p)
{
	static const Profpipe__Decoded dinit = PROFPIPE__DECODED__INIT;
	static const Profpipe__Origin oinit = PROFPIPE__ORIGIN__INIT;
	size_t i;
	size_t j;
	uint32_t n = 0;

	b->d = dinit;
	b->o = oinit;
	b->o.service = "svc";
	b->o.instance = "i:1";
	b->o.kind = "cpu";
	b->o.job = "j";
	b->d.origin = &b->o;
	b->d.strings = (char **)p->str;
	b->d.n_strings = p->n_str;
	profpipe__value_type__init(&b->vt);
	b->vt.type = 1; /* every profile here has "samples" at 1 */
	b->vt.unit = 1;
	b->vtp = &b->vt;
	b->d.sample_types = &b->vtp;
	b->d.n_sample_types = 1;
	for (i = 0; i < p->n_fr; i++) {
		b->ff[i] = p->fr[i].func;
		b->fl[i] = p->fr[i].file;
		b->line[i] = p->fr[i].line;
	}
	b->d.frame_function = b->ff;
	b->d.frame_file = b->fl;
	b->d.frame_line = b->line;
	b->d.n_frame_function = b->d.n_frame_file = b->d.n_frame_line =
	    p->n_fr;
	for (i = 0; i < p->n_st; i++) {
		b->off[i] = n;
		for (j = 0; j < p->st[i].n; j++)
			b->sf[n++] = p->st[i].fr[j];
		b->sl[i] = p->st[i].ls;
		b->hash[i] = p->st[i].hash;
		b->val[i] = p->st[i].v;
	}
	b->off[p->n_st] = n;
	b->d.stack_offset = b->off;
	b->d.n_stack_offset = p->n_st + 1;
	b->d.stack_frames = b->sf;
	b->d.n_stack_frames = n;
	b->d.stack_hash = b->hash;
	b->d.n_stack_hash = p->n_st;
	b->d.stack_labels = b->sl;
	b->d.n_stack_labels = p->n_st;
	b->d.values = b->val;
	b->d.n_values = p->n_st;
	for (i = 0; i <= p->n_ls; i++) {
		profpipe__label_set__init(&b->set[i]);
		b->setp[i] = &b->set[i];
		if (i == 0)
			continue;
		for (j = 0; j < p->ls_n[i - 1]; j++) {
			profpipe__sample_label__init(&b->lab[i][j]);
			b->lab[i][j].key = p->ls[i - 1][j].key;
			b->lab[i][j].str = p->ls[i - 1][j].str;
			b->labp[i][j] = &b->lab[i][j];
		}
		b->set[i].n_labels = p->ls_n[i - 1];
		b->set[i].labels = b->labp[i];
	}
	b->d.label_sets = b->setp;
	b->d.n_label_sets = p->n_ls + 1;
}

static void
add(struct window *w, struct arena *a, const struct tp *p)
{
	struct built b;
	char err[256];

	build(&b, p);
	if (decoded_check(&b.d, err, sizeof(err)) < 0)
		fail_msg("test profile: %s", err);
	assert_int_equal(window_add(w, &b.d, a), 0);
	arena_reset(a);
}

/* The value of the window's stack written as text ("f@x.go:1;g@x.go:2
 * k=v,k2=v2", labels in the window's order), or -1 when it has none. */
static int64_t
value_of(const struct window *w, const char *want)
{
	const struct wtab *t = &w->tab;
	const Profpipe__LabelSet *ls;
	char text[512];
	size_t i;
	size_t j;
	size_t n;
	uint32_t f;
	int64_t found = -1;

	for (i = 0; i < t->n_st; i++) {
		n = 0;
		text[0] = '\0';
		for (j = t->st_off[i]; j < t->st_off[i + 1]; j++) {
			f = t->sf[j];
			n += (size_t)snprintf(text + n, sizeof(text) - n,
			    "%s%s@%s:%lld", j > t->st_off[i] ? ";" : "",
			    t->str[t->fr_func[f]], t->str[t->fr_file[f]],
			    (long long)t->fr_line[f]);
		}
		ls = t->ls[t->st_ls[i]];
		for (j = 0; j < ls->n_labels; j++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
			    "%s%s=%s", j ? "," : " ",
			    t->str[ls->labels[j]->key],
			    t->str[ls->labels[j]->str]);
		if (strcmp(text, want) == 0) {
			assert_int_equal(found, -1); /* one stack per text */
			found = t->st_val[i * WTAB_MAX_TYPES];
		}
	}
	return found;
}

/* Stacks f;g (hash 0x100), f with span=1 (0x200), f with span=1 and
 * route=r (0x300). */
static const struct tp first = {
    .str = {"", "samples", "f", "g", "x.go", "span", "1", "route", "r"},
    .n_str = 9,
    .fr = {{2, 4, 1}, {3, 4, 2}},
    .n_fr = 2,
    .ls = {{{5, 6}}, {{5, 6}, {7, 8}}},
    .ls_n = {1, 2},
    .n_ls = 2,
    .st = {{{0, 1}, 2, 0, 0x100, 10}, {{0}, 1, 1, 0x200, 20},
        {{0}, 1, 2, 0x300, 30}},
    .n_st = 3,
};

/* The same stacks under other indices and label order. */
static const struct tp shuffled = {
    .str = {"", "samples", "r", "route", "1", "span", "x.go", "g", "f"},
    .n_str = 9,
    .fr = {{7, 6, 2}, {8, 6, 1}},
    .n_fr = 2,
    .ls = {{{3, 2}, {5, 4}}, {{5, 4}}},
    .ls_n = {2, 1},
    .n_ls = 2,
    .st = {{{1}, 1, 1, 0x300, 3}, {{1, 0}, 2, 0, 0x100, 1},
        {{1}, 1, 2, 0x200, 2}},
    .n_st = 3,
};

/* Hash of f;g on f;g at line 9 (a collision); f with span=2 under the
 * hash of f with span=1. */
static const struct tp impostors = {
    .str = {"", "samples", "f", "g", "x.go", "span", "2"},
    .n_str = 7,
    .fr = {{2, 4, 1}, {3, 4, 9}},
    .n_fr = 2,
    .ls = {{{5, 6}}},
    .ls_n = {1},
    .n_ls = 1,
    .st = {{{0, 1}, 2, 0, 0x100, 100}, {{0}, 1, 1, 0x200, 200}},
    .n_st = 2,
};

static void
test_text_merges_exactly(void **state)
{
	struct arena *a = arena_new(0);
	struct window *w;

	(void)state;
	assert_int_equal(window_new(&w, 0, 10, 1000, 0), 0);
	add(w, a, &first);
	add(w, a, &shuffled);
	add(w, a, &first);
	assert_int_equal(w->tab.n_st, 3);
	assert_int_equal(value_of(w, "f@x.go:1;g@x.go:2"), 21);
	assert_int_equal(value_of(w, "f@x.go:1 span=1"), 42);
	assert_int_equal(value_of(w, "f@x.go:1 route=r,span=1"), 63);
	add(w, a, &impostors);
	add(w, a, &impostors);
	assert_int_equal(w->tab.n_st, 5);
	assert_int_equal(value_of(w, "f@x.go:1;g@x.go:2"), 21);
	assert_int_equal(value_of(w, "f@x.go:1;g@x.go:9"), 200);
	assert_int_equal(value_of(w, "f@x.go:1 span=1"), 42);
	assert_int_equal(value_of(w, "f@x.go:1 span=2"), 400);
	window_free(w);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_merges_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
