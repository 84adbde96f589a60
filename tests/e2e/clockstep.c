/*
 * clockstep: an LD_PRELOAD shim for tests that steps the wall clock back.
 * While the file named by $CLOCKSTEP_FILE exists, CLOCK_REALTIME,
 * gettimeofday and time read $CLOCKSTEP_BACK seconds earlier than the
 * kernel says; CLOCK_MONOTONIC is untouched, as a real step leaves it.
 * test_pull.py builds it with cc -shared and runs the fetcher under it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long
clockstep_back(void)
{
	const char *f = getenv("CLOCKSTEP_FILE");
	const char *s = getenv("CLOCKSTEP_BACK");

	if (f == NULL || s == NULL || access(f, F_OK) != 0)
		return 0;
	return atol(s);
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	static int (*real)(clockid_t, struct timespec *);
	int rv;

	if (real == NULL)
		real = (int (*)(clockid_t, struct timespec *))dlsym(
		    RTLD_NEXT, "clock_gettime");
	rv = real(id, ts);
	if (rv == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec -= clockstep_back();
	return rv;
}

int
gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
