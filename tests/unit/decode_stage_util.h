/*
 * decode_stage_util: what the decoder stage's tests share. They run the
 * real profpipe-decoder between sockets of their own, playing the fetcher
 * (a REQ call per profile, its reply noted here) and the aggregator.
 */
#ifndef PROFPIPE_TEST_DECODE_STAGE_UTIL_H
#define PROFPIPE_TEST_DECODE_STAGE_UTIL_H

#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/ack.h"
#include "common/bus.h"
#include "common/wire.pb-c.h"

/* The fetcher's view of one call: done once the decoder replied. */
struct reply {
	atomic_int done;
	int err;
	int status;
	char reason[ACK_MAX];
};

/* bus_done_fn for bus_call_async: arg is a struct reply. */
static inline void
on_reply(void *arg, int err, const void *buf, size_t len)
{
	struct reply *r = arg;

	r->err = err;
	if (err == BUS_OK)
		r->status = ack_read(buf, len, r->reason, sizeof(r->reason));
	atomic_store(&r->done, 1);
}

/* 0 once r is done, -1 if ms passed first. */
static inline int
wait_reply(struct reply *r, int ms)
{
	struct timespec ts = {0, 10 * 1000 * 1000};

	while (!atomic_load(&r->done) && ms > 0) {
		nanosleep(&ts, NULL);
		ms -= 10;
	}
	return atomic_load(&r->done) ? 0 : -1;
}

/* A RawProfile of kind heap with this id and body, packed; free() it. */
static inline uint8_t *
raw_profile(const char *id, const uint8_t *body, size_t blen, size_t *len)
{
	Profpipe__RawProfile raw = PROFPIPE__RAW_PROFILE__INIT;
	Profpipe__Origin o = PROFPIPE__ORIGIN__INIT;
	uint8_t *buf;

	o.profile_id = (char *)id;
	o.kind = "heap";
	o.target = "http://127.0.0.1:1/debug/pprof/heap";
	raw.origin = &o;
	raw.body.data = (uint8_t *)body;
	raw.body.len = blen;
	*len = profpipe__raw_profile__get_packed_size(&raw);
	buf = malloc(*len);
	profpipe__raw_profile__pack(&raw, buf);
	return buf;
}

/* Run bin with args; ready_fd >= 0 is passed as --ready-fd 3's fd. */
static inline pid_t
stage_spawn(const char *bin, char *const *args, int ready_fd)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	if (ready_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, ready_fd, 3);
	if (posix_spawn(&pid, bin, &fa, NULL, args, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Run bin with args, which pass "--ready-fd", "3", and wait until it is
 * ready. Its pid, or -1. */
static inline pid_t
stage_spawn_ready(const char *bin, char *const *args)
{
	char c;
	int fds[2];
	pid_t pid;

	if (pipe(fds) != 0)
		return -1;
	pid = stage_spawn(bin, args, fds[1]);
	close(fds[1]);
	if (pid > 0 && read(fds[0], &c, 1) != 1)
		pid = -1;
	close(fds[0]);
	return pid;
}

/* A decoder stage between the test's two ends: the fetcher's REQ and the
 * aggregator's REP, both listening, one context each. */
struct stage_rig {
	pid_t pid;
	struct bus_sock *fetcher;
	struct bus_sock *aggregator;
	struct bus_ctx *fc;
	struct bus_ctx *ac;
};

/* Start bin with args (which name raw_url and dec_url, and pass
 * "--ready-fd", "3"), then listen on both. 0, or -1 (r->pid is then the
 * decoder's, if it started, for the caller to kill). */
static inline int
stage_rig_start(struct stage_rig *r, const char *bin, char *const *args,
    const char *raw_url, const char *dec_url)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->pid = stage_spawn_ready(bin, args);
	if (r->pid <= 0 ||
	    bus_open(&r->fetcher, BUS_REQ, raw_url, 1, err, sizeof(err)) !=
	        0 ||
	    bus_open(&r->aggregator, BUS_REP, dec_url, 1, err, sizeof(err)) !=
	        0 ||
	    bus_ctx_new(r->fetcher, &r->fc) != 0 ||
	    bus_ctx_new(r->aggregator, &r->ac) != 0)
		return -1;
	return 0;
}

/* The test's ends of the rig; the decoder is the caller's to stop. */
static inline void
stage_rig_close(struct stage_rig *r)
{
	bus_ctx_free(r->fc);
	bus_ctx_free(r->ac);
	bus_close(r->fetcher);
	bus_close(r->aggregator);
}

/* The decoder for the test at argv0 ($(O)/tests/NAME): $(O)/bin's (make
 * asan), else bin's. 0, or -1 (said on stderr) if neither is built. */
static inline int
stage_decoder_bin(char *out, size_t n, const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	if (slash == NULL ||
	    snprintf(out, n, "%.*s/../bin/profpipe-decoder",
	        (int)(slash - argv0), argv0) >= (int)n ||
	    access(out, X_OK) != 0)
		snprintf(out, n, "bin/profpipe-decoder");
	if (access(out, X_OK) == 0)
		return 0;
	fprintf(stderr, "%s: %s: not built; skipped\n", argv0, out);
	return -1;
}

/* A scratch run directory, made from the mkdtemp template dir, as
 * $PROFPIPE_RUN; and its removal. */
static inline int
stage_run_dir(char *dir)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	return setenv("PROFPIPE_RUN", dir, 1);
}

static inline int
stage_run_dir_remove(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* What a test file's tests share: the decoder they run, a scratch run
 * directory, and the pid of a decoder a test started, which the group's
 * teardown kills if a check failed before the test stopped it. */
static char decoder_bin[512];
static char stage_dir[64];
static pid_t decoder_pid;

static inline int
stage_group_setup(void **state)
{
	(void)state;
	return stage_run_dir(stage_dir);
}

static inline int
stage_group_teardown(void **state)
{
	(void)state;
	if (decoder_pid > 0) {
		kill(decoder_pid, SIGKILL);
		waitpid(decoder_pid, NULL, 0);
	}
	return stage_run_dir_remove(stage_dir);
}

/* The decoder with only its sockets' flags, between the test's two ends
 * at raw.ipc and decoded.ipc in stage_dir; its pid noted for the group's
 * teardown. */
static inline void
stage_rig_up(struct stage_rig *r)
{
	char raw_url[256];
	char dec_url[256];
	char *args[] = {decoder_bin, "--raw", raw_url, "--decoded", dec_url,
	    "--ready-fd", "3", "-q", NULL};

	snprintf(raw_url, sizeof(raw_url), "ipc://%s/raw.ipc", stage_dir);
	snprintf(dec_url, sizeof(dec_url), "ipc://%s/decoded.ipc", stage_dir);
	assert_int_equal(
	    stage_rig_start(r, decoder_bin, args, raw_url, dec_url), 0);
	decoder_pid = r->pid;
}

/* SIGTERM to the rig's decoder, which must exit 0; the test's ends stay
 * open (stage_rig_close). */
static inline void
stage_rig_stop(struct stage_rig *r)
{
	int st;

	assert_int_equal(kill(r->pid, SIGTERM), 0);
	assert_int_equal(waitpid(r->pid, &st, 0), r->pid);
	decoder_pid = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* main's: the n tests of the test at argv0, in a scratch directory made
 * from the mkdtemp template tmpl; 0 without running them if no decoder
 * is built. */
static inline int
stage_tests_run(const struct CMUnitTest *tests, size_t n, const char *argv0,
    const char *tmpl)
{
	snprintf(stage_dir, sizeof(stage_dir), "%s", tmpl);
	if (stage_decoder_bin(decoder_bin, sizeof(decoder_bin), argv0) != 0)
		return 0;
	return _cmocka_run_group_tests(
	    "tests", tests, n, stage_group_setup, stage_group_teardown);
}

#endif
