/*
 * schedule: slots in a binary min-heap on their next due time, so finding
 * what is due costs log(n) however many targets there are. A reload is
 * staged (the new set is collected beside the old one and swapped in at
 * schedule_sync_end), so running out of memory half-way leaves the old set
 * untouched.
 */
#include "fetcher/schedule.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/xalloc.h"

/* A slot as schedule_put saw it, applied at schedule_sync_end. */
struct schedule_put {
	struct schedule_slot *slot;
	int is_new;
	int64_t interval_ms;
	int64_t now_ms;
	void *user;
};

struct schedule {
	struct schedule_slot **heap; /* min-heap on next_ms */
	size_t n;
	size_t size;
	struct schedule_slot **retired; /* running, no longer configured */
	size_t nretired;
	size_t retired_size;
	struct schedule_put *puts; /* during a sync */
	size_t nputs;
	size_t puts_size;
	int put_failed;
};

int
schedule_new(struct schedule **out)
{
	struct schedule *s = xcalloc(1, sizeof(*s));

	if (s == NULL)
		return -1;
	*out = s;
	return 0;
}

static void
schedule_slot_free(struct schedule_slot *slot)
{
	xfree(slot->key);
	xfree(slot);
}

void
schedule_free(struct schedule *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		schedule_slot_free(s->heap[i]);
	for (i = 0; i < s->nretired; i++)
		schedule_slot_free(s->retired[i]);
	for (i = 0; i < s->nputs; i++) {
		if (s->puts[i].is_new)
			schedule_slot_free(s->puts[i].slot);
	}
	xfree(s->heap);
	xfree(s->retired);
	xfree(s->puts);
	xfree(s);
}

int64_t
schedule_offset(const char *key, int64_t interval_ms)
{
	uint64_t h = hash_bytes(HASH_SEED, key, strlen(key));

	if (interval_ms <= 0)
		return 0;
	return (int64_t)(h % (uint64_t)interval_ms);
}

/* The first time at or after now that is offset into an interval. */
static int64_t
schedule_first(int64_t now, int64_t interval, int64_t offset)
{
	int64_t into = ((now % interval) + interval) % interval;
	int64_t t = now - into + offset;

	if (t < now)
		t += interval;
	return t;
}

static void
schedule_swap(struct schedule *s, size_t i, size_t j)
{
	struct schedule_slot *t = s->heap[i];

	s->heap[i] = s->heap[j];
	s->heap[j] = t;
}

static void
schedule_sift_down(struct schedule *s, size_t i)
{
	size_t l;
	size_t r;
	size_t m;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < s->n && s->heap[l]->next_ms < s->heap[m]->next_ms)
			m = l;
		if (r < s->n && s->heap[r]->next_ms < s->heap[m]->next_ms)
			m = r;
		if (m == i)
			return;
		schedule_swap(s, i, m);
		i = m;
	}
}

static void
schedule_heapify(struct schedule *s)
{
	size_t i;

	for (i = s->n / 2; i > 0; i--)
		schedule_sift_down(s, i - 1);
}

/* Make room in an array for need elements of size sz. */
static int
schedule_reserve(void **arr, size_t need, size_t *size, size_t sz)
{
	size_t want;
	void *p;

	if (need <= *size)
		return 0;
	want = *size ? *size : 16;
	while (want < need)
		want *= 2;
	p = xrealloc(*arr, want * sz);
	if (p == NULL)
		return -1;
	*arr = p;
	*size = want;
	return 0;
}

void
schedule_sync_begin(struct schedule *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		s->heap[i]->put = 0;
	s->nputs = 0;
	s->put_failed = 0;
}

int
schedule_put(struct schedule *s, const char *key, int64_t interval_ms,
    int64_t now_ms, void *user, struct schedule_slot **out)
{
	struct schedule_slot *slot = NULL;
	struct schedule_put *p;
	size_t i;

	if (interval_ms <= 0 ||
	    schedule_reserve((void **)&s->puts, s->nputs + 1, &s->puts_size,
	        sizeof(*s->puts)) < 0)
		goto fail;
	/* Reloads are rare and sets small: a scan keeps this simple. */
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->heap[i]->key, key) == 0) {
			slot = s->heap[i];
			break;
		}
	}
	p = &s->puts[s->nputs];
	p->is_new = slot == NULL;
	if (slot == NULL) {
		slot = xcalloc(1, sizeof(*slot));
		if (slot == NULL)
			goto fail;
		slot->key = xstrdup(key);
		if (slot->key == NULL) {
			xfree(slot);
			goto fail;
		}
	} else if (slot->put) {
		goto fail; /* the same key twice */
	}
	slot->put = 1;
	p->slot = slot;
	p->interval_ms = interval_ms;
	p->now_ms = now_ms;
	p->user = user;
	s->nputs++;
	*out = slot;
	return 0;
fail:
	s->put_failed = 1;
	return -1;
}

/* Room was reserved by schedule_sync_end. */
static void
schedule_retire(struct schedule *s, struct schedule_slot *slot)
{
	slot->retired = 1;
	slot->user = NULL;
	s->retired[s->nretired++] = slot;
}

void
schedule_sync_end(struct schedule *s, int failed)
{
	struct schedule_slot **heap;
	struct schedule_put *p;
	size_t retiring = 0;
	size_t i;

	failed = failed || s->put_failed;
	/* Room for the new set first, so that nothing below can fail half
	 * way; retiring reserves its room the same way. */
	heap = failed ? NULL : xcalloc(s->nputs + 1, sizeof(*heap));
	if (heap == NULL)
		failed = 1;
	for (i = 0; i < s->n; i++) {
		if (!s->heap[i]->put && s->heap[i]->running)
			retiring++;
	}
	if (!failed &&
	    schedule_reserve((void **)&s->retired, s->nretired + retiring,
	        &s->retired_size, sizeof(*s->retired)) < 0)
		failed = 1;
	if (failed) {
		xfree(heap);
		for (i = 0; i < s->nputs; i++) {
			if (s->puts[i].is_new)
				schedule_slot_free(s->puts[i].slot);
		}
		s->nputs = 0;
		return;
	}
	for (i = 0; i < s->n; i++) {
		if (s->heap[i]->put)
			continue;
		if (s->heap[i]->running)
			schedule_retire(s, s->heap[i]);
		else
			schedule_slot_free(s->heap[i]);
	}
	for (i = 0; i < s->nputs; i++) {
		p = &s->puts[i];
		if (p->is_new || p->slot->interval_ms != p->interval_ms) {
			p->slot->interval_ms = p->interval_ms;
			p->slot->offset_ms =
			    schedule_offset(p->slot->key, p->interval_ms);
			p->slot->next_ms = schedule_first(
			    p->now_ms, p->interval_ms, p->slot->offset_ms);
		}
		p->slot->user = p->user;
		heap[i] = p->slot;
	}
	xfree(s->heap);
	s->heap = heap;
	s->n = s->nputs;
	s->size = s->nputs + 1;
	s->nputs = 0;
	schedule_heapify(s);
}

size_t
schedule_count(const struct schedule *s)
{
	return s->n;
}

int64_t
schedule_next_ms(const struct schedule *s)
{
	return s->n > 0 ? s->heap[0]->next_ms : -1;
}

struct schedule_slot *
schedule_take_due(struct schedule *s, int64_t now_ms)
{
	struct schedule_slot *slot;
	int64_t missed;

	if (s->n == 0 || s->heap[0]->next_ms > now_ms)
		return NULL;
	slot = s->heap[0];
	missed = (now_ms - slot->next_ms) / slot->interval_ms;
	slot->next_ms += (missed + 1) * slot->interval_ms;
	schedule_sift_down(s, 0);
	return slot;
}

int
schedule_begin(struct schedule_slot *slot)
{
	if (slot->running)
		return -1;
	slot->running = 1;
	return 0;
}

void
schedule_end(struct schedule *s, struct schedule_slot *slot)
{
	size_t i;

	slot->running = 0;
	if (!slot->retired)
		return;
	for (i = 0; i < s->nretired; i++) {
		if (s->retired[i] == slot) {
			s->retired[i] = s->retired[--s->nretired];
			break;
		}
	}
	schedule_slot_free(slot);
}
