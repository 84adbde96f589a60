/*
 * proc: the process contract every stage keeps (DESIGN.md): exit codes,
 * readiness on an fd, SIGTERM/SIGINT/SIGHUP/SIGUSR1 turned into flags a
 * main loop can poll, and the heap: how it keeps memory, and how much.
 */
#ifndef PROFPIPE_PROC_H
#define PROFPIPE_PROC_H

#include <stddef.h>

#define EXIT_OK 0
#define EXIT_USAGE 100  /* bad flags or configuration: do not restart */
#define EXIT_SYSTEM 111 /* a system failure: a restart may help */

/* Signal-driven flags. proc_signals installs the handlers (no SA_RESTART,
 * so blocking calls return EINTR). */
void proc_signals(void);
int proc_stopping(void);  /* SIGTERM or SIGINT seen */
int proc_take_hup(void);  /* SIGHUP seen since last call; clears it */
int proc_take_usr1(void); /* SIGUSR1 seen since last call; clears it */
void proc_request_stop(void);

/* Keep the heap's freed memory for reuse instead of handing it back to the
 * kernel at once (glibc's mallopt; nothing elsewhere). A stage's messages
 * are megabytes each, allocated and freed by nng for every profile: with
 * glibc's defaults each one was fresh pages, faulted in one by one and
 * unmapped again (188k page faults in 3 s of two decoders on cpu-large,
 * 37k with this). Buffers up to
 * PROC_MMAP_MAX now come from the heap, and up to PROC_KEEP_FREE of free
 * heap is kept: the process holds on to its peak, as its arenas do.
 * Call it first thing in main, before any thread starts. */
#define PROC_MMAP_MAX (32 << 20) /* glibc's largest on 64-bit */
#define PROC_KEEP_FREE (64 << 20)
void proc_keep_memory(void);

/* Hand the heap's free pages back to the kernel (glibc's malloc_trim),
 * for a stage that has just freed a long-lived structure. The aggregator
 * builds each window's tables over a minute and frees them when it
 * closes; kept for reuse, that memory fragmented: 12 minutes of
 * `pipebench -n 2 -a` took its heap from 92 to 160 MB (RSS 112 to 168)
 * with 56 MB in use throughout. Free pages inside the heap stay mapped
 * (madvise) and its free top is unmapped; either way the next use
 * faults them in again. */
void proc_release_memory(void);

/* The process's memory as it sees it, for a stage to log on SIGUSR1:
 * "rss_kb=R heap_in_use_kb=U heap_held_kb=H" into out. R is VmRSS. U is
 * what malloc'd blocks take (glibc's mallinfo2, over all arenas, mmapped
 * blocks included), H what the heap spans for them: U plus the free space
 * inside the arenas, resident or not (proc_release_memory hands back the
 * pages of that space, not the span). H growing while U stays level is
 * fragmentation; U growing is memory held on to. U and H count what was
 * handed out, so they can pass R: a block not yet written takes no pages
 * (the aggregator's arena, calloc'd). A value not known (no
 * glibc 2.33, no /proc) is -1. Walks every arena's free lists, so
 * milliseconds on a large heap: for a signal, not for every message. */
void proc_format_memory(char *out, size_t outlen);
/* That, as the info line "memory: ..." every stage logs on SIGUSR1. */
void proc_log_memory(void);

/* A stage's last step, closing its sockets, can hang inside nng 1.5.2's
 * nng_close (a decoder with requests still queued to it: 2 of 143
 * pipebench runs): after this call, if the process has not exited
 * within seconds, it writes a line to stderr and exits EXIT_OK, its work
 * being done. Call it in main, once the stage has stopped and drained,
 * right before the closing. */
void proc_exit_watchdog(unsigned seconds);
#define PROC_CLOSE_SECONDS 5

/* s6 readiness: write "\n" to fd and close it. fd < 0: nothing. */
void proc_notify_ready(int fd);

/* The run directory: $PROFPIPE_RUN or /tmp/profpipe. Creates it. Writes
 * "ipc://DIR/NAME" into out. Returns 0 or -1 (out too small or mkdir). */
int proc_default_url(char *out, size_t outlen, const char *name);

/* Parse a decimal in [min, max]; 0 or -1. */
int proc_parse_long(const char *s, long min, long max, long *out);

#endif
