/*
 * dedup: the set of the most recent N message ids a receiver has handed on,
 * so an at-least-once redelivery is recognised and dropped. Fixed memory:
 * the oldest id is forgotten when a new one arrives at a full set. Not
 * thread-safe: one per receiving thread (or lock around it).
 */
#ifndef PROFPIPE_DEDUP_H
#define PROFPIPE_DEDUP_H

#include <stddef.h>

struct dedup;

/* capacity: ids remembered (e.g. 65536). NULL when out of memory. */
struct dedup *dedup_new(size_t capacity);
void dedup_free(struct dedup *d);

/* 1 if id was seen, else 0. */
int dedup_seen(const struct dedup *d, const char *id);
/* Remember id (no-op if already remembered). 0, or -1 out of memory. */
int dedup_add(struct dedup *d, const char *id);

#endif
