/*
 * stacktab: what a cumulative series remembers of its last profile: for
 * each stack key (a 64-bit hash of the stack's frames and labels) the
 * values of the cumulative sample types. Nothing else of the profile is
 * kept, so a series costs a few dozen bytes per stack.
 *
 * A table is built once from one profile, sized for that profile, and then
 * only read: it never deletes and never rehashes. Its size is fixed at
 * stacktab_new (max_keys); past it stacktab_put refuses.
 */
#ifndef PROFPIPE_AGG_STACKTAB_H
#define PROFPIPE_AGG_STACKTAB_H

#include <stddef.h>
#include <stdint.h>

struct stacktab;

/* A table of up to max_keys keys, each with nval int64 values. 0, or -1
 * out of memory. The caller frees it with stacktab_free. */
int stacktab_new(struct stacktab **out, size_t nval, size_t max_keys);
void stacktab_free(struct stacktab *t);

/* Start loading where key's lookup begins: a caller that knows the keys
 * it will look up a few stacks ahead overlaps their cache misses. */
void stacktab_prefetch(const struct stacktab *t, uint64_t key);

/* The values of key (nval of them), or NULL if key is not in t. */
const int64_t *stacktab_get(const struct stacktab *t, uint64_t key);

/* The values of key, zeroed and *created = 1 if key was not in t yet.
 * 0, or -1 when t already holds max_keys keys and key is new. The row
 * stays valid as long as t does. */
int stacktab_put(
    struct stacktab *t, uint64_t key, int64_t **row, int *created);

size_t stacktab_count(const struct stacktab *t);

#endif
