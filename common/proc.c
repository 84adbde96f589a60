/*
 * proc: signals as flags, s6-style readiness, run-directory addresses,
 * the heap's settings and size.
 */
#include "common/proc.h"

#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

static volatile sig_atomic_t proc_stop_flag;
static volatile sig_atomic_t proc_hup_flag;
static volatile sig_atomic_t proc_usr1_flag;

static void
proc_on_signal(int sig)
{
	if (sig == SIGHUP)
		proc_hup_flag = 1;
	else if (sig == SIGUSR1)
		proc_usr1_flag = 1;
	else
		proc_stop_flag = 1;
}

void
proc_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = proc_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

void
proc_keep_memory(void)
{
#ifdef __GLIBC__
	/* Setting either one turns off glibc's own sliding threshold, so
	 * both are set. */
	mallopt(M_MMAP_THRESHOLD, PROC_MMAP_MAX);
	mallopt(M_TRIM_THRESHOLD, PROC_KEEP_FREE);
#endif
}

void
proc_release_memory(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/* VmRSS in kB from /proc/self/status; -1 if not there. */
static long long
proc_rss_kb(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

void
proc_format_memory(char *out, size_t outlen)
{
	long long in_use = -1;
	long long held = -1;

#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 33)
	struct mallinfo2 mi = mallinfo2();

	/* uordblks: in use in the arenas; hblkhd: blocks mmapped on their
	 * own, each in use; arena: what the arenas hold, used or free. */
	in_use = (long long)((mi.uordblks + mi.hblkhd) >> 10);
	held = (long long)((mi.arena + mi.hblkhd) >> 10);
#endif
	snprintf(out, outlen,
	    "rss_kb=%lld heap_in_use_kb=%lld heap_held_kb=%lld", proc_rss_kb(),
	    in_use, held);
}

void
proc_log_memory(void)
{
	char mem[128];

	proc_format_memory(mem, sizeof(mem));
	log_info("memory: %s", mem);
}

static void
proc_on_alarm(int sig)
{
	static const char msg[] = "profpipe: closing the sockets did not "
	                          "finish in time; exiting anyway\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing else to do: the exit is what matters */
	}
	_exit(EXIT_OK);
}

void
proc_exit_watchdog(unsigned seconds)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = proc_on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}

int
proc_stopping(void)
{
	return proc_stop_flag != 0;
}

void
proc_request_stop(void)
{
	proc_stop_flag = 1;
}

int
proc_take_hup(void)
{
	if (!proc_hup_flag)
		return 0;
	proc_hup_flag = 0;
	return 1;
}

int
proc_take_usr1(void)
{
	if (!proc_usr1_flag)
		return 0;
	proc_usr1_flag = 0;
	return 1;
}

void
proc_notify_ready(int fd)
{
	if (fd < 0)
		return;
	if (write(fd, "\n", 1) < 0) {
		/* the supervisor went away; nothing to tell */
	}
	close(fd);
}

int
proc_default_url(char *out, size_t outlen, const char *name)
{
	const char *dir = getenv("PROFPIPE_RUN");
	int n;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp/profpipe";
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	n = snprintf(out, outlen, "ipc://%s/%s", dir, name);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

int
proc_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
