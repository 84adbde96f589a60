/*
 * xalloc: the one allocation wrapper, with a failure injector for tests.
 */
#include "common/xalloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long xalloc_budget = -1;

void
xalloc_fail_after(long n)
{
	atomic_store(&xalloc_budget, n);
}

static int
xalloc_allowed(void)
{
	long b = atomic_load(&xalloc_budget);

	if (b < 0)
		return 1;
	while (b > 0) {
		if (atomic_compare_exchange_weak(&xalloc_budget, &b, b - 1))
			return 1;
	}
	return 0;
}

void *
xmalloc(size_t n)
{
	if (!xalloc_allowed())
		return NULL;
	return malloc(n == 0 ? 1 : n);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	if (!xalloc_allowed())
		return NULL;
	return calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);
}

void *
xrealloc(void *p, size_t n)
{
	if (!xalloc_allowed())
		return NULL;
	return realloc(p, n == 0 ? 1 : n);
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void
xfree(void *p)
{
	free(p);
}
