/*
 * delta_state_fx: the cmocka fixture the delta tests share: an arena for
 * what one profile produces and a series' delta state, both freed after
 * each test. Included by test_delta.c and test_splice.c.
 */
#ifndef PROFPIPE_TEST_DELTA_STATE_FX_H
#define PROFPIPE_TEST_DELTA_STATE_FX_H

#include <stdlib.h>

#include "aggregator/delta.h"
#include "common/arena.h"

struct fx {
	struct arena *a;
	struct delta_state st;
	struct delta_report rep;
};

static int
fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->a = arena_new(0);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	delta_state_release(&f->st);
	arena_free(f->a);
	free(f);
	return 0;
}

#endif
