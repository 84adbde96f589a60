/*
 * metrics: the reductions behind metrics.h, one per profile kind, and the
 * formulas applied when a window closes. Sums saturate rather than wrap.
 */
#include "aggregator/metrics.h"

#include <string.h>

#include "aggregator/window.h"
#include "common/arena.h"
#include "common/decoded.h"
#include "common/uuid.h"
#include "common/xalloc.h"

#define NS_PER_S 1e9

enum metrics_input {
	IN_CPU = 1u << 0,
	IN_ALLOC = 1u << 1,
	IN_GROWTH = 1u << 2,
	IN_INUSE = 1u << 3,
	IN_MEMSTATS = 1u << 4,
	IN_BLOCK = 1u << 5,
	IN_MUTEX = 1u << 6,
	IN_GOROUTINES = 1u << 7,
};

static const struct {
	const char *name;
	const char *unit;
} metrics_defs[M_NMETRICS] = {
    [M_CPU_CORES] = {"prof_go_cpu_cores", "cores"},
    [M_CPU_GC] = {"prof_go_cpu_cores_gc_overhead", "cores"},
    [M_ALLOC_BPS] = {"prof_go_alloc_bytes_per_sec", "bytes/s"},
    [M_ALLOCS_PS] = {"prof_go_allocs_per_sec", "allocs/s"},
    [M_ALLOC_TOTAL] = {"prof_go_alloc_bytes_total", "bytes"},
    [M_FREES_PS] = {"prof_go_frees_per_sec", "frees/s"},
    [M_HEAP_GROWTH] = {"prof_go_heap_growth_bytes_per_sec", "bytes/s"},
    [M_GCS_PS] = {"prof_go_gcs_per_sec", "gcs/s"},
    [M_GC_PAUSE] = {"prof_go_gc_pause_time", "ns"},
    [M_GC_MAX_PAUSE] = {"prof_go_max_gc_pause_time", "ns"},
    [M_BLOCKED] = {"prof_go_blocked_time", "ns"},
    [M_MUTEX] = {"prof_go_mutex_delay_time", "ns"},
    [M_GOROUTINES] = {"prof_go_num_goroutine", "goroutines"},
    [M_HEAP_BYTES] = {"prof_go_lifetime_heap_bytes", "bytes"},
    [M_HEAP_OBJECTS] = {"prof_go_lifetime_heap_objects", "objects"},
};

const char *
metrics_name(enum metrics_id id)
{
	return (unsigned)id < M_NMETRICS ? metrics_defs[id].name : "?";
}

const char *
metrics_unit(enum metrics_id id)
{
	return (unsigned)id < M_NMETRICS ? metrics_defs[id].unit : "?";
}

static int64_t
metrics_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static void *
metrics_pb_alloc(void *data, size_t n)
{
	(void)data;
	return xmalloc(n);
}

static void
metrics_pb_free(void *data, void *p)
{
	(void)data;
	xfree(p);
}

static ProtobufCAllocator metrics_pb = {
    metrics_pb_alloc, metrics_pb_free, NULL};

void
metrics_state_release(struct metrics_state *m)
{
	struct metrics_acc *acc;

	while (m->open != NULL) {
		acc = m->open;
		m->open = acc->next;
		xfree(acc);
	}
	if (m->origin != NULL)
		profpipe__origin__free_unpacked(m->origin, &metrics_pb);
	memset(m, 0, sizeof(*m));
}

/* A deep copy of o, malloc'd through xalloc. */
static Profpipe__Origin *
metrics_copy_origin(const Profpipe__Origin *o)
{
	size_t n = profpipe__origin__get_packed_size(o);
	uint8_t *buf = xmalloc(n + 1);
	Profpipe__Origin *c = NULL;

	if (buf == NULL)
		return NULL;
	profpipe__origin__pack(o, buf);
	c = profpipe__origin__unpack(&metrics_pb, n, buf);
	xfree(buf);
	return c;
}

/* Whether a and b name the instance alike: job and labels. */
static int
metrics_same_names(const Profpipe__Origin *a, const Profpipe__Origin *b)
{
	size_t i;

	if (strcmp(a->job, b->job) != 0 || a->n_labels != b->n_labels)
		return 0;
	for (i = 0; i < a->n_labels; i++) {
		if (strcmp(a->labels[i]->key, b->labels[i]->key) != 0 ||
		    strcmp(a->labels[i]->value, b->labels[i]->value) != 0)
			return 0;
	}
	return 1;
}

/* The accumulator of the window [start, end), opened if new. */
static struct metrics_acc *
metrics_acc_for(struct metrics_state *m, int64_t start, int64_t end)
{
	struct metrics_acc **p = &m->open;
	struct metrics_acc *acc;

	while (*p != NULL && (*p)->start_ns < start)
		p = &(*p)->next;
	if (*p != NULL && (*p)->start_ns == start)
		return *p;
	acc = xcalloc(1, sizeof(*acc));
	if (acc == NULL)
		return NULL;
	acc->start_ns = start;
	acc->end_ns = end;
	acc->next = *p;
	*p = acc;
	return acc;
}

/* Open windows, not counting the one starting at start. */
static size_t
metrics_open_count(const struct metrics_state *m, int64_t start)
{
	const struct metrics_acc *acc;
	size_t n = 0;

	for (acc = m->open; acc != NULL; acc = acc->next) {
		if (acc->start_ns == start)
			return 0;
		n++;
	}
	return n;
}

/* The column of sample type name in d, or -1; absent types count as not
 * there. */
static int
metrics_type(const Profpipe__Decoded *d, const char *name)
{
	size_t t;

	for (t = 0; t < d->n_sample_types; t++) {
		if (!d->sample_types[t]->absent &&
		    strcmp(d->strings[d->sample_types[t]->type], name) == 0)
			return (int)t;
	}
	return -1;
}

static int64_t
metrics_total(const Profpipe__Decoded *d, int t)
{
	size_t nst = decoded_n_stacks(d);
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < nst; i++)
		sum = metrics_add(sum, d->values[i * d->n_sample_types + t]);
	return sum;
}

static int64_t
metrics_duration(const Profpipe__Decoded *d)
{
	if (d->duration_ns > 0)
		return d->duration_ns;
	return d->origin->end_ns - d->origin->start_ns;
}

/* CPU ns of the stacks with a frame in METRICS_GC_FRAMES. */
static int64_t
metrics_gc_ns(const Profpipe__Decoded *d, int t, struct arena *a)
{
	static const char *const gc[] = {METRICS_GC_FRAMES};
	unsigned char *is_gc = arena_calloc(a, d->n_strings + 1, 1);
	size_t nst = decoded_n_stacks(d);
	int64_t sum = 0;
	size_t i;
	size_t j;

	if (is_gc == NULL)
		return -1;
	for (i = 0; i < d->n_strings; i++) {
		for (j = 0; j < sizeof(gc) / sizeof(gc[0]); j++)
			is_gc[i] |= strcmp(d->strings[i], gc[j]) == 0;
	}
	for (i = 0; i < nst; i++) {
		for (j = d->stack_offset[i]; j < d->stack_offset[i + 1]; j++) {
			if (is_gc[d->frame_function[d->stack_frames[j]]]) {
				sum = metrics_add(
				    sum, d->values[i * d->n_sample_types + t]);
				break;
			}
		}
	}
	return sum;
}

static int
metrics_cpu(struct metrics_acc *acc, const Profpipe__Decoded *d)
{
	int t = metrics_type(d, "cpu");
	struct arena *a;
	int64_t gc;

	if (t < 0 || metrics_duration(d) <= 0)
		return 0;
	a = arena_new(0);
	if (a == NULL)
		return -1;
	gc = metrics_gc_ns(d, t, a);
	arena_free(a);
	if (gc < 0)
		return -1;
	acc->cpu_ns = metrics_add(acc->cpu_ns, metrics_total(d, t));
	acc->gc_ns = metrics_add(acc->gc_ns, gc);
	acc->cpu_span_ns = metrics_add(acc->cpu_span_ns, metrics_duration(d));
	acc->have |= IN_CPU;
	return 0;
}

static void
metrics_heap(struct metrics_state *m, struct metrics_acc *acc,
    const Profpipe__Decoded *d, const struct delta_report *rep)
{
	int as = metrics_type(d, "alloc_space");
	int ao = metrics_type(d, "alloc_objects");
	int is = metrics_type(d, "inuse_space");
	int io = metrics_type(d, "inuse_objects");
	int64_t at = d->origin->start_ns;
	int64_t span = 0;
	int64_t inuse;

	if (d->origin->is_delta)
		span = metrics_duration(d);
	else if (rep->mode == DELTA_APPLIED || rep->mode == DELTA_RESTART)
		span = at - rep->since_ns;
	if (as >= 0 && ao >= 0 && span > 0) {
		acc->alloc_bytes =
		    metrics_add(acc->alloc_bytes, metrics_total(d, as));
		acc->alloc_objects =
		    metrics_add(acc->alloc_objects, metrics_total(d, ao));
		acc->alloc_span_ns = metrics_add(acc->alloc_span_ns, span);
		acc->have |= IN_ALLOC;
	}
	if (is < 0 || io < 0)
		return;
	inuse = metrics_total(d, is);
	if (!(acc->have & IN_INUSE) || at >= acc->inuse_at_ns) {
		acc->inuse_bytes = inuse;
		acc->inuse_objects = metrics_total(d, io);
		acc->inuse_at_ns = at;
		acc->have |= IN_INUSE;
	}
	if (m->have_inuse && at > m->inuse_at_ns &&
	    rep->mode != DELTA_RESTART) {
		acc->growth_bytes =
		    metrics_add(acc->growth_bytes, inuse - m->inuse_prev);
		acc->growth_span_ns =
		    metrics_add(acc->growth_span_ns, at - m->inuse_at_ns);
		acc->have |= IN_GROWTH;
	}
	if (!m->have_inuse || at > m->inuse_at_ns) {
		m->have_inuse = 1;
		m->inuse_at_ns = at;
		m->inuse_prev = inuse;
	}
}

/* The difference from the instance's previous snapshot. */
static void
metrics_memstats(struct metrics_state *m, struct metrics_acc *acc,
    const Profpipe__Decoded *d)
{
	const Profpipe__MemStats *ms = d->memstats;
	int64_t at = d->origin->start_ns;
	uint64_t k;
	uint64_t n;
	uint64_t p;
	size_t slot;

	if (ms == NULL || (m->have_ms && at <= m->ms_at_ns))
		return;
	if (m->have_ms && ms->num_gc >= m->ms_num_gc &&
	    ms->frees >= m->ms_frees) {
		acc->frees += ms->frees - m->ms_frees;
		acc->gcs += ms->num_gc - m->ms_num_gc;
		acc->ms_span_ns =
		    metrics_add(acc->ms_span_ns, at - m->ms_at_ns);
		if (ms->num_gc - m->ms_num_gc > ms->n_pause_ns ||
		    ms->n_pause_ns != METRICS_GO_PAUSES)
			acc->pauses_lost = 1;
		/* Counted from the previous GC, not up to this one: a NumGC
		 * at the top of uint64 would never be passed. */
		for (k = 1;
		     !acc->pauses_lost && k <= ms->num_gc - m->ms_num_gc;
		     k++) {
			/* Go: the pause of GC n is PauseNs[(n+255)%256]. */
			n = m->ms_num_gc + k;
			slot = (size_t)((n + 255) % METRICS_GO_PAUSES);
			p = ms->pause_ns[slot];
			acc->pause_ns += p;
			if (p > acc->max_pause_ns)
				acc->max_pause_ns = p;
		}
		acc->have |= IN_MEMSTATS;
	}
	m->have_ms = 1;
	m->ms_at_ns = at;
	m->ms_frees = ms->frees;
	m->ms_num_gc = ms->num_gc;
}

/* dd-trace-go's names are "go_*"; DataKit's "prof_go_*". */
static void
metrics_pushed(struct metrics_acc *acc, const Profpipe__Decoded *d)
{
	const char *name;
	size_t i;
	int k;

	for (i = 0; i < d->n_runtime_metrics; i++) {
		name = d->runtime_metrics[i]->name;
		if (strncmp(name, "prof_", 5) == 0)
			name += 5;
		for (k = 0; k < M_NMETRICS; k++) {
			if (strcmp(name, metrics_defs[k].name + 5) == 0) {
				acc->pushed[k] = d->runtime_metrics[i]->value;
				acc->pushed_have |= 1u << k;
			}
		}
	}
}

static void
metrics_delay(struct metrics_acc *acc, const Profpipe__Decoded *d,
    int64_t *sum, unsigned bit)
{
	int t = metrics_type(d, "delay");

	if (t < 0)
		return;
	*sum = metrics_add(*sum, metrics_total(d, t));
	acc->have |= bit;
}

int
metrics_feed(struct metrics_state *m, const Profpipe__Decoded *d,
    const struct delta_report *rep, int64_t len_ns)
{
	const char *kind = d->origin->kind;
	struct metrics_acc *acc;
	Profpipe__Origin *o;
	int64_t start;
	int64_t end;
	int t;

	/* The labels the metrics carry are the latest profile's: a new
	 * version on the same host, a relabelled target. */
	if (m->origin == NULL ||
	    (d->origin->start_ns >= m->origin->start_ns &&
	        !metrics_same_names(m->origin, d->origin))) {
		o = metrics_copy_origin(d->origin);
		if (o == NULL)
			return -1;
		if (m->origin != NULL)
			profpipe__origin__free_unpacked(
			    m->origin, &metrics_pb);
		m->origin = o;
	}
	if (d->origin->start_ns < m->closed_until ||
	    window_bounds(d->origin->start_ns, len_ns, &start, &end) < 0 ||
	    metrics_open_count(m, start) >= METRICS_MAX_OPEN)
		return 1;
	acc = metrics_acc_for(m, start, end);
	if (acc == NULL)
		return -1;
	if (strcmp(kind, "cpu") == 0)
		return metrics_cpu(acc, d);
	if (strcmp(kind, "mem") == 0)
		metrics_heap(m, acc, d, rep);
	else if (strcmp(kind, "memstats") == 0)
		metrics_memstats(m, acc, d);
	else if (strcmp(kind, "metrics") == 0)
		metrics_pushed(acc, d);
	else if (strcmp(kind, "block") == 0)
		metrics_delay(acc, d, &acc->block_ns, IN_BLOCK);
	else if (strcmp(kind, "mutex") == 0)
		metrics_delay(acc, d, &acc->mutex_ns, IN_MUTEX);
	else if (strcmp(kind, "goroutines") == 0) {
		t = metrics_type(d, "goroutine");
		if (t >= 0) {
			acc->goroutines =
			    metrics_add(acc->goroutines, metrics_total(d, t));
			acc->goroutine_profiles++;
			acc->have |= IN_GOROUTINES;
		}
	}
	return 0;
}

struct metrics_acc *
metrics_due(struct metrics_state *m, int64_t until_ns)
{
	if (m->open != NULL && m->open->end_ns <= until_ns)
		return m->open;
	return NULL;
}

void
metrics_drop(struct metrics_state *m, struct metrics_acc *acc)
{
	struct metrics_acc **p = &m->open;

	while (*p != NULL && *p != acc)
		p = &(*p)->next;
	if (*p != NULL) {
		if (acc->end_ns > m->closed_until)
			m->closed_until = acc->end_ns;
		*p = acc->next;
		xfree(acc);
	}
}

static double
metrics_per(double num, int64_t den_ns)
{
	return num / ((double)den_ns / NS_PER_S);
}

/* Fill v[] and the have bits of what acc's inputs give. */
static unsigned
metrics_compute(const struct metrics_acc *acc, double *v)
{
	unsigned h = 0;
	int k;

#define SET(id, x) (v[id] = (x), h |= 1u << (id))
	if ((acc->have & IN_CPU) && acc->cpu_span_ns > 0) {
		SET(M_CPU_CORES,
		    (double)acc->cpu_ns / (double)acc->cpu_span_ns);
		SET(M_CPU_GC, (double)acc->gc_ns / (double)acc->cpu_span_ns);
	}
	if ((acc->have & IN_ALLOC) && acc->alloc_span_ns > 0) {
		SET(M_ALLOC_BPS,
		    metrics_per((double)acc->alloc_bytes, acc->alloc_span_ns));
		SET(M_ALLOCS_PS,
		    metrics_per(
		        (double)acc->alloc_objects, acc->alloc_span_ns));
		SET(M_ALLOC_TOTAL, (double)acc->alloc_bytes);
	}
	if ((acc->have & IN_GROWTH) && acc->growth_span_ns > 0)
		SET(M_HEAP_GROWTH,
		    metrics_per(
		        (double)acc->growth_bytes, acc->growth_span_ns));
	if ((acc->have & IN_MEMSTATS) && acc->ms_span_ns > 0) {
		SET(M_FREES_PS,
		    metrics_per((double)acc->frees, acc->ms_span_ns));
		SET(M_GCS_PS, metrics_per((double)acc->gcs, acc->ms_span_ns));
		if (!acc->pauses_lost) {
			SET(M_GC_PAUSE, (double)acc->pause_ns);
			SET(M_GC_MAX_PAUSE, (double)acc->max_pause_ns);
		}
	}
	if (acc->have & IN_BLOCK)
		SET(M_BLOCKED, (double)acc->block_ns);
	if (acc->have & IN_MUTEX)
		SET(M_MUTEX, (double)acc->mutex_ns);
	if ((acc->have & IN_GOROUTINES) && acc->goroutine_profiles > 0)
		SET(M_GOROUTINES,
		    (double)acc->goroutines / acc->goroutine_profiles);
	if (acc->have & IN_INUSE) {
		SET(M_HEAP_BYTES, (double)acc->inuse_bytes);
		SET(M_HEAP_OBJECTS, (double)acc->inuse_objects);
	}
	for (k = 0; k < M_NMETRICS; k++) {
		if (acc->pushed_have & (1u << k))
			SET(k, acc->pushed[k]);
	}
#undef SET
	return h;
}

int
metrics_message(const struct metrics_state *m, const struct metrics_acc *acc,
    struct arena *a, Profpipe__Metrics **out)
{
	Profpipe__Metrics init = PROFPIPE__METRICS__INIT;
	Profpipe__Metric minit = PROFPIPE__METRIC__INIT;
	double v[M_NMETRICS];
	Profpipe__Metrics *msg;
	Profpipe__Origin *o;
	Profpipe__Metric *items;
	unsigned h = metrics_compute(acc, v);
	size_t n = 0;
	int k;

	*out = NULL;
	if (h == 0 || m->origin == NULL)
		return 0;
	msg = arena_alloc(a, sizeof(*msg));
	o = arena_alloc(a, sizeof(*o));
	items = arena_alloc(a, M_NMETRICS * sizeof(*items));
	if (msg == NULL || o == NULL || items == NULL)
		return -1;
	*msg = init;
	*o = *m->origin;
	o->profile_id = arena_alloc(a, UUID_STRLEN + 1);
	msg->metrics = arena_alloc(a, M_NMETRICS * sizeof(*msg->metrics));
	if (o->profile_id == NULL || msg->metrics == NULL ||
	    uuid_v4(o->profile_id) < 0)
		return -1;
	o->kind = "metrics";
	o->start_ns = acc->start_ns;
	o->end_ns = acc->end_ns;
	o->is_delta = 1;
	o->target = "";
	for (k = 0; k < M_NMETRICS; k++) {
		if (!(h & (1u << k)))
			continue;
		items[n] = minit;
		items[n].name = (char *)metrics_defs[k].name;
		items[n].value = v[k];
		items[n].unit = (char *)metrics_defs[k].unit;
		msg->metrics[n] = &items[n];
		n++;
	}
	msg->n_metrics = n;
	msg->origin = o;
	*out = msg;
	return 0;
}
