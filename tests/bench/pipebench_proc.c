/*
 * pipebench_proc: pipebench's dealings with processes: starting a stage
 * and waiting for its readiness line, the CPU seconds of a child, of
 * itself and of the whole machine (with its context switches), a
 * child's resident memory, and stopping the stages as the supervisor does.
 */
#include "tests/bench/pipebench_proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Start prog with args; wait until it writes its readiness line. */
int
pb_spawn(pid_t *pid, char *const *argv)
{
	posix_spawn_file_actions_t fa;
	struct pollfd p;
	char c;
	int fds[2];
	int rv;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 3);
	rv = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rv != 0) {
		fprintf(stderr, "pipebench: %s: %s\n", argv[0], strerror(rv));
		close(fds[0]);
		return -1;
	}
	p.fd = fds[0];
	p.events = POLLIN;
	rv = poll(&p, 1, 20000) == 1 && read(fds[0], &c, 1) == 1 ? 0 : -1;
	close(fds[0]);
	if (rv < 0)
		fprintf(stderr, "pipebench: %s not ready\n", argv[0]);
	return rv;
}

long
pb_child_rss_kb(pid_t pid)
{
	char path[64];
	char line[256];
	long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* user + system seconds of a child so far, from /proc. */
double
pb_child_cpu(pid_t pid)
{
	char path[64];
	char buf[1024];
	unsigned long ut = 0;
	unsigned long st = 0;
	char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* After the name: state and 10 more fields, then utime stime. */
	if (p == NULL ||
	    sscanf(p + 2,
	        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	        "%lu %lu",
	        &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* From /proc/stat, in one read: the seconds of CPU the whole machine has
 * been busy (all but idle and iowait: what our processes did not use went
 * to others), and its context switches so far ("ctxt": each hand-off
 * between threads or processes costs one or more). */
void
pb_machine(double *cpu, unsigned long long *switches)
{
	unsigned long long v[8] = {0};
	char line[256];
	FILE *f = fopen("/proc/stat", "r");

	*cpu = 0;
	*switches = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "cpu ", 4) == 0 &&
		    sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
		        &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
		        &v[7]) == 8)
			*cpu =
			    (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
			    (double)sysconf(_SC_CLK_TCK);
		else if (sscanf(line, "ctxt %llu", switches) == 1)
			break;
	}
	fclose(f);
}

double
pb_self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* SIGTERM, and SIGKILL what has not exited 10 s later. Returns how many
 * did not exit 0. */
int
pb_stop_kids(const pid_t *pids, int n)
{
	int bad = 0;
	int st;
	int i;
	int tries;

	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < n; i++) {
		for (tries = 0; tries < 1000; tries++) {
			if (waitpid(pids[i], &st, WNOHANG) == pids[i])
				break;
			usleep(10000);
		}
		if (tries == 1000) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &st, 0);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad++;
			if (WIFEXITED(st))
				fprintf(stderr,
				    "pipebench: pid %d exited %d after "
				    "SIGTERM\n",
				    (int)pids[i], WEXITSTATUS(st));
			else
				fprintf(stderr,
				    "pipebench: pid %d ended by signal %d%s\n",
				    (int)pids[i], WTERMSIG(st),
				    tries == 1000 ? " (no exit 10 s after "
				                    "SIGTERM)"
				                  : "");
		}
	}
	return bad;
}
