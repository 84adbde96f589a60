/*
 * httpd_thread: a libev loop on a thread of its own, for a process whose
 * main thread has no loop (the exporter waits on nng). The loop is made and
 * run on the new thread; setup and teardown run there too, so nothing but
 * the ev_async that stops it is ever touched from another thread.
 */
#include "common/httpd.h"

#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"

struct httpd_thread {
	pthread_t th;
	struct ev_loop *loop;
	ev_async stop;
	int (*setup)(struct ev_loop *, void *);
	void (*teardown)(struct ev_loop *, void *);
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started; /* 0 waiting, 1 running, -1 setup failed */
};

static void
httpd_thread_on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void
httpd_thread_started(struct httpd_thread *t, int how)
{
	pthread_mutex_lock(&t->mu);
	t->started = how;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static void *
httpd_thread_main(void *arg)
{
	struct httpd_thread *t = arg;

	ev_async_init(&t->stop, httpd_thread_on_stop);
	ev_async_start(t->loop, &t->stop);
	if (t->setup != NULL && t->setup(t->loop, t->arg) != 0) {
		httpd_thread_started(t, -1);
		return NULL;
	}
	httpd_thread_started(t, 1);
	ev_run(t->loop, 0);
	if (t->teardown != NULL)
		t->teardown(t->loop, t->arg);
	return NULL;
}

int
httpd_thread_start(struct httpd_thread **out,
    int (*setup)(struct ev_loop *loop, void *arg),
    void (*teardown)(struct ev_loop *loop, void *arg), void *arg, char *err,
    size_t errlen)
{
	struct httpd_thread *t = xcalloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->setup = setup;
	t->teardown = teardown;
	t->arg = arg;
	t->loop = ev_loop_new(EVFLAG_AUTO);
	if (t->loop == NULL) {
		snprintf(err, errlen, "libev: cannot make a loop");
		goto out_free_thread;
	}
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (pthread_create(&t->th, NULL, httpd_thread_main, t) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		goto out_free_sync;
	}
	pthread_mutex_lock(&t->mu);
	while (t->started == 0)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	if (t->started < 0) {
		pthread_join(t->th, NULL);
		snprintf(err, errlen, "http server setup failed");
		goto out_free_sync;
	}
	*out = t;
	return 0;
out_free_sync:
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	ev_loop_destroy(t->loop);
out_free_thread:
	xfree(t);
	return -1;
}

void
httpd_thread_stop(struct httpd_thread *t)
{
	if (t == NULL)
		return;
	ev_async_send(t->loop, &t->stop);
	pthread_join(t->th, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	ev_loop_destroy(t->loop);
	xfree(t);
}
