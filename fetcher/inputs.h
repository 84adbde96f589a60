/*
 * inputs: the fetcher's part of the pipeline's YAML file, the `inputs:`
 * section, read into a flat list of targets to pull from. The keys are
 * iLogtail's service_go_profile keys, unchanged, so a user of that plugin
 * brings the file over as it is:
 *
 *   inputs:
 *     - Type: service_go_profile
 *       Name: checkout-pprof          # the job; default service_go_profile
 *       Mode: host                    # default host; kubernetes: not yet
 *       Interval: 10                  # seconds between collections
 *       Timeout: 15                   # seconds per request
 *       BodyLimitSize: 10240          # KB per response body
 *       EnabledProfiles: [cpu, mem, goroutines, mutex, block]
 *       Labels: {service: checkout}
 *       Metrics: true                 # also GET heap?debug=1 (MemStats)
 *       Config:
 *         Addresses:
 *           - {Host: 127.0.0.1, Port: 18689, InstanceLabels: {zone: a}}
 *
 * Everything is validated here, once, so the rest of the fetcher never meets
 * a bad value: a problem comes back as "file:line: key: reason". Inputs of
 * Type profile_push are the push intake's: fetcher/inputs_push.h reads
 * them into pushes[].
 *
 * A target's labels are the input's Labels merged with the address's
 * InstanceLabels (an instance label wins over a global one of the same key),
 * sorted by key, so the same target always carries the same label list.
 */
#ifndef PROFPIPE_FETCHER_INPUTS_H
#define PROFPIPE_FETCHER_INPUTS_H

#include <stddef.h>

#include "common/config.h"
#include "fetcher/inputs_push.h"

enum inputs_kind {
	INPUTS_CPU,
	INPUTS_MEM,
	INPUTS_GOROUTINES,
	INPUTS_MUTEX,
	INPUTS_BLOCK,
	INPUTS_ALLOCS,
	INPUTS_THREADCREATE,
	INPUTS_MEMSTATS, /* heap?debug=1 text, added by Metrics: true */
	INPUTS_NKINDS
};

/* "cpu", "mem", ... as in EnabledProfiles and Origin.kind. */
const char *inputs_kind_name(enum inputs_kind k);
/* The net/http/pprof path, e.g. "/debug/pprof/heap". */
const char *inputs_kind_path(enum inputs_kind k);
/* Fetched with ?seconds=S: Go returns the delta over those seconds. */
int inputs_kind_is_delta(enum inputs_kind k);
/* The body is text (heap?debug=1), not a protobuf profile. */
int inputs_kind_is_text(enum inputs_kind k);
/* 0, or -1 for a name that is no kind. */
int inputs_kind_parse(const char *name, enum inputs_kind *out);

#define INPUTS_DEFAULT_JOB "service_go_profile"
#define INPUTS_HOST_MAX 253
/* "[host]:port" */
#define INPUTS_INSTANCE_MAX (INPUTS_HOST_MAX + 9)

struct inputs_label {
	const char *key;
	const char *value;
};

struct inputs_target {
	const char *host;
	int port;
	const char *instance; /* "host:port", "[v6]:port" */
	const char *job;      /* the input's Name */
	const char *service;  /* the "service" label, else the job */
	const struct inputs_label *labels; /* sorted by key */
	size_t nlabels;
	unsigned kinds; /* bit (1u << kind) per enabled kind */
	long interval_s;
	long timeout_s;    /* per request; delta kinds add seconds_s */
	long seconds_s;    /* S of ?seconds=S: min(Interval-1, 10), >= 1 */
	size_t body_limit; /* bytes */
	int line;          /* the address's line in the file */
};

/* Immutable once built, shared by reference count: a fetch in flight keeps
 * the inputs it was started from alive across a reload. */
struct inputs {
	struct inputs_target *targets;
	size_t ntargets;
	const char **notes; /* "file:line: ..." for the log: skipped inputs */
	size_t nnotes;
	struct inputs_push *pushes; /* Type profile_push */
	size_t npushes;
	struct arena *arena; /* everything above lives here */
	int refs;
};

/* Read c's inputs: section. On success *out has one reference (drop it with
 * inputs_unref). On error -1 and "file:line: key: reason" in err. */
int inputs_from_cfg(
    struct inputs **out, const struct cfg *c, char *err, size_t errlen);
/* The same from a file. */
int inputs_load(
    struct inputs **out, const char *path, char *err, size_t errlen);

struct inputs *inputs_ref(struct inputs *in);
void inputs_unref(struct inputs *in);

/* The time a request for kind may take: Timeout, plus S for delta kinds,
 * so that a CPU profile of S seconds is not cut off. */
long inputs_timeout_ms(const struct inputs_target *t, enum inputs_kind k);

/* "http://host:port/debug/pprof/profile?seconds=S" into out: 0 or -1 (out
 * too small). */
int inputs_url(const struct inputs_target *t, enum inputs_kind k, char *out,
    size_t outlen);

#endif
