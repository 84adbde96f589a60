/*
 * xalloc: every heap allocation in profpipe goes through here, so a test can
 * make the Nth allocation fail (xalloc_fail_after) and check that each
 * caller copes. Unlike the usual x-wrappers these return NULL on failure:
 * library code never exits.
 */
#ifndef PROFPIPE_XALLOC_H
#define PROFPIPE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void xfree(void *p);

/* Tests: after n more successful allocations, fail every one. -1: never. */
void xalloc_fail_after(long n);

#endif
