/*
 * item: what the exporter makes of one Result before any sink sees it:
 * which shape it carries (a profile, a window, runtime metrics), checked
 * so that every sink reads it without checks of its own. A window's
 * merged profile gets the window's origin and length, so the profile
 * writers take it as it is. The stage and fuzz_export both start here.
 */
#ifndef PROFPIPE_EXPORT_ITEM_H
#define PROFPIPE_EXPORT_ITEM_H

#include <stddef.h>

#include "common/wire.pb-c.h"

/* One result, whichever shape it came in. */
struct export_item {
	unsigned takes; /* the SINK_* bit of its shape */
	const char *shape;
	const Profpipe__Origin *o;
	const Profpipe__Decoded *p; /* profile, or a window's merged */
	const Profpipe__Window *w;
	const Profpipe__Metrics *m;
	char key[64]; /* "p:", "w:" or "m:" + id: what dedup remembers */
};

/* The shape res carries, checked (res may be changed: a window's merged
 * profile is given its origin and length). 0, or -1 with why (and *who,
 * the id to name in the rejection, when there is one). */
int export_item(struct export_item *it, Profpipe__Result *res,
    const char **who, char *why, size_t whylen);

#endif
