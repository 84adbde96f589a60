/*
 * keyset: the label names a record has used, so that its labels, one JSON
 * object, never hold a name twice. Names are copied in and hashed; clearing
 * is O(1) (a new generation), so a set can be reused for every stack of a
 * profile however large the largest one made it.
 */
#ifndef PROFPIPE_EXPORT_KEYSET_H
#define PROFPIPE_EXPORT_KEYSET_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct keyset_slot {
	uint64_t h;
	size_t off; /* the name's bytes in names */
	size_t len;
	uint32_t gen; /* in the set when equal to the set's */
};

struct keyset {
	struct keyset_slot *slots;
	size_t cap; /* slots: 0 or a power of two */
	size_t n;
	uint32_t gen;
	struct buf names;
};

void keyset_init(struct keyset *k);
void keyset_release(struct keyset *k);
/* Empty the set, keeping its memory. */
void keyset_clear(struct keyset *k);
/* Whether s[0 .. n) is in the set. */
int keyset_has(const struct keyset *k, const char *s, size_t n);
/* Put s[0 .. n) in: 1 if it was not there, 0 if it was, -1 when memory
 * ran out. */
int keyset_add(struct keyset *k, const char *s, size_t n);

#endif
