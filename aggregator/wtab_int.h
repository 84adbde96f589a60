/*
 * wtab_int: what wtab.c, wtab_set.c and wtab_text.c share and nobody
 * else uses: growing an array, interning a source's string or label set
 * through its maps (label sets: wtab_set.c), and finding a stack by its
 * text (wtab_text.c).
 */
#ifndef PROFPIPE_AGG_WTAB_INT_H
#define PROFPIPE_AGG_WTAB_INT_H

#include "aggregator/wtab.h"

/* Make *p hold at least need elements of size elem; *cap is left to the
 * caller, who updates it once every array sharing it has grown. */
int wtab_grow(void *pp, size_t cap, size_t need, size_t elem, size_t *newcap);

/* The index in t of src's string i (label set i), added if new, noted in
 * m. 0, or -1 out of memory. */
int wtab_map_str(struct wtab *t, const Profpipe__Decoded *src,
    struct wtab_maps *m, uint32_t i, uint32_t *out);
int wtab_map_set(struct wtab *t, const Profpipe__Decoded *src,
    struct wtab_maps *m, uint32_t i, uint32_t *out);

/* Stack i of src's key in t->st_tix: its stack hash mixed with its
 * labels' text (m->ls_text). */
uint64_t wtab_text_key(
    const Profpipe__Decoded *src, const struct wtab_maps *m, size_t i);

/* The stack of t whose frames' text and labels are those of stack i of
 * src, looked up by key: 0 and *idx, or -1 when there is none (or
 * memory ran out: the caller's own lookup then finds that out). What it
 * learns about src's strings and frames goes into m. */
int wtab_text_find(struct wtab *t, const Profpipe__Decoded *src,
    struct wtab_maps *m, size_t i, uint64_t key, uint32_t *idx);

#endif
