/*
 * item: a Result's shape, checked (item.h).
 */
#include "exporter/item.h"

#include <stdio.h>
#include <string.h>

#include "exporter/profile.h"
#include "exporter/sink.h"

int
export_item(struct export_item *it, Profpipe__Result *res, const char **who,
    char *why, size_t whylen)
{
	Profpipe__Window *w = res->window;

	memset(it, 0, sizeof(*it));
	*who = "result";
	if (res->profile != NULL) {
		it->takes = SINK_PROFILES;
		it->shape = "profile";
		it->p = res->profile;
		if (it->p->origin != NULL)
			*who = it->p->origin->profile_id;
		if (export_check(it->p, why, whylen) < 0)
			return -1;
		it->o = it->p->origin;
	} else if (w != NULL) {
		it->takes = SINK_WINDOWS;
		it->shape = "window";
		it->w = w;
		if (w->origin == NULL || w->merged == NULL) {
			snprintf(why, whylen, "window without %s",
			    w->origin == NULL ? "origin" : "merged profile");
			return -1;
		}
		*who = w->origin->profile_id;
		w->merged->origin = w->origin;
		if (__builtin_sub_overflow(w->origin->end_ns,
		        w->origin->start_ns, &w->merged->duration_ns)) {
			snprintf(why, whylen,
			    "window from %lld to %lld ns: its length "
			    "overflows",
			    (long long)w->origin->start_ns,
			    (long long)w->origin->end_ns);
			return -1;
		}
		if (export_check(w->merged, why, whylen) < 0)
			return -1;
		it->p = w->merged;
		it->o = w->origin;
	} else if (res->metrics != NULL) {
		it->takes = SINK_METRICS;
		it->shape = "metrics";
		it->m = res->metrics;
		if (it->m->origin == NULL) {
			snprintf(why, whylen, "metrics without origin");
			return -1;
		}
		it->o = it->m->origin;
	} else {
		snprintf(why, whylen, "no profile, window or metrics in it");
		return -1;
	}
	snprintf(it->key, sizeof(it->key), "%c:%s", it->shape[0],
	    it->o->profile_id);
	return 0;
}
