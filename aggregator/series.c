/*
 * series: a chained hash table over the series' names, sized once for
 * max_series, plus a list from oldest to newest seen. series_touch moves a
 * series to the new end, so expiry pops from the old end and never scans
 * the table.
 */
#include "aggregator/series.h"

#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

struct series_table {
	struct series **buckets;
	size_t mask;
	size_t count;
	size_t max_series;
	int64_t ttl_ns;
	struct series *oldest;
	struct series *newest;
};

int
series_table_new(struct series_table **out, size_t max_series, int64_t ttl_ns)
{
	struct series_table *t;
	size_t n = 16;

	if (max_series > SIZE_MAX / 4)
		return -1;
	while (n < max_series)
		n *= 2;
	t = xcalloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->buckets = xcalloc(n, sizeof(*t->buckets));
	if (t->buckets == NULL) {
		xfree(t);
		return -1;
	}
	t->mask = n - 1;
	t->max_series = max_series;
	t->ttl_ns = ttl_ns;
	*out = t;
	return 0;
}

static void
series_release(struct series *s)
{
	struct window *w;

	while (s->windows != NULL) {
		w = s->windows;
		s->windows = w->next;
		window_free(w);
	}
	metrics_state_release(&s->metrics);
	delta_state_release(&s->delta);
	xfree(s);
}

void
series_table_free(struct series_table *t)
{
	struct series *s;

	if (t == NULL)
		return;
	while (t->oldest != NULL) {
		s = t->oldest;
		t->oldest = s->newer;
		series_release(s);
	}
	xfree(t->buckets);
	xfree(t);
}

static uint64_t
series_hash(const char *service, const char *instance, const char *kind)
{
	uint64_t h = HASH_SEED;

	h = hash_bytes(h, service, strlen(service) + 1);
	h = hash_bytes(h, instance, strlen(instance) + 1);
	return hash_bytes(h, kind, strlen(kind) + 1);
}

static void
series_unlink_age(struct series_table *t, struct series *s)
{
	if (s->older != NULL)
		s->older->newer = s->newer;
	else
		t->oldest = s->newer;
	if (s->newer != NULL)
		s->newer->older = s->older;
	else
		t->newest = s->older;
	s->older = NULL;
	s->newer = NULL;
}

static void
series_link_newest(struct series_table *t, struct series *s)
{
	s->older = t->newest;
	s->newer = NULL;
	if (t->newest != NULL)
		t->newest->newer = s;
	else
		t->oldest = s;
	t->newest = s;
}

static struct series *
series_new(
    const char *service, const char *instance, const char *kind, uint64_t h)
{
	size_t ls = strlen(service) + 1;
	size_t li = strlen(instance) + 1;
	size_t lk = strlen(kind) + 1;
	struct series *s = xcalloc(1, sizeof(*s) + ls + li + lk);

	if (s == NULL)
		return NULL;
	memcpy(s->names, service, ls);
	memcpy(s->names + ls, instance, li);
	memcpy(s->names + ls + li, kind, lk);
	s->service = s->names;
	s->instance = s->names + ls;
	s->kind = s->names + ls + li;
	s->hash = h;
	return s;
}

int
series_get(struct series_table *t, const char *service, const char *instance,
    const char *kind, int64_t now_ns, struct series **out, int *created)
{
	uint64_t h = series_hash(service, instance, kind);
	struct series **b = &t->buckets[h & t->mask];
	struct series *s;

	*created = 0;
	for (s = *b; s != NULL; s = s->chain) {
		if (s->hash == h && strcmp(s->service, service) == 0 &&
		    strcmp(s->instance, instance) == 0 &&
		    strcmp(s->kind, kind) == 0) {
			*out = s;
			return 0;
		}
	}
	if (t->count >= t->max_series)
		return -1;
	s = series_new(service, instance, kind, h);
	if (s == NULL)
		return -2;
	s->last_seen_ns = now_ns;
	s->chain = *b;
	*b = s;
	series_link_newest(t, s);
	t->count++;
	*out = s;
	*created = 1;
	return 0;
}

void
series_touch(struct series_table *t, struct series *s, int64_t now_ns)
{
	s->last_seen_ns = now_ns;
	series_unlink_age(t, s);
	series_link_newest(t, s);
}

static void
series_remove(struct series_table *t, struct series *s)
{
	struct series **p = &t->buckets[s->hash & t->mask];

	while (*p != s)
		p = &(*p)->chain;
	*p = s->chain;
	series_unlink_age(t, s);
	t->count--;
	series_release(s);
}

size_t
series_expire(struct series_table *t, int64_t now_ns,
    void (*gone)(void *arg, const struct series *s), void *arg)
{
	size_t n = 0;

	if (t->ttl_ns <= 0)
		return 0;
	while (t->oldest != NULL &&
	    now_ns - t->oldest->last_seen_ns > t->ttl_ns) {
		if (gone != NULL)
			gone(arg, t->oldest);
		series_remove(t, t->oldest);
		n++;
	}
	return n;
}

size_t
series_count(const struct series_table *t)
{
	return t->count;
}

int
series_each(
    struct series_table *t, int (*fn)(void *arg, struct series *s), void *arg)
{
	struct series *s;
	int rv;

	for (s = t->oldest; s != NULL; s = s->newer) {
		rv = fn(arg, s);
		if (rv != 0)
			return rv;
	}
	return 0;
}
