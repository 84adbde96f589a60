/*
 * pipebench_proc: see pipebench_proc.c.
 */
#ifndef PROFPIPE_PIPEBENCH_PROC_H
#define PROFPIPE_PIPEBENCH_PROC_H

#include <sys/types.h>

/* Start argv[0] with argv, its fd 3 the write end of a pipe; 0 once it
 * wrote its readiness line there (within 20 s), else -1, said on
 * stderr. */
int pb_spawn(pid_t *pid, char *const *argv);
/* User + system seconds of child pid so far (0 if it cannot be read). */
double pb_child_cpu(pid_t pid);
/* Resident kB of child pid now (VmRSS; 0 if it cannot be read). */
long pb_child_rss_kb(pid_t pid);
/* From /proc/stat, in one read: the seconds of CPU the whole machine has
 * been busy, and its context switches so far. */
void pb_machine(double *cpu, unsigned long long *switches);
/* This process's user + system seconds. */
double pb_self_cpu(void);
/* SIGTERM each, SIGKILL what has not exited 10 s later; how many did not
 * exit 0 (each said on stderr). */
int pb_stop_kids(const pid_t *pids, int n);

#endif
