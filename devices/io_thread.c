#include "io_thread.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/seccomp.h"

int io_thread_init(struct io_thread *t, const char *name)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	memset(t, 0, sizeof(*t));
	t->name = name;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->done, NULL);
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->epfd < 0 || t->wake_fd < 0 || epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->wake_fd, &ev) < 0) {
		int err = -errno;
		log_err("%s I/O thread: %s", name, strerror(errno));
		io_thread_destroy(t);
		return err;
	}
	return 0;
}

int io_thread_watch(struct io_thread *t, int fd, uint32_t events, io_handler_fn *fn, void *opaque)
{
	struct epoll_event ev = { .events = events };
	int err = 0;

	pthread_mutex_lock(&t->lock);
	if (t->nwatch == IO_THREAD_MAX_FDS) {
		err = -ENOSPC;
	} else {
		struct io_watch *w = &t->watch[t->nwatch];
		*w = (struct io_watch){ .fd = fd, .fn = fn, .opaque = opaque };
		ev.data.ptr = w;
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			err = -errno;
		else
			t->nwatch++;
	}
	pthread_mutex_unlock(&t->lock);
	if (err)
		log_err("%s I/O thread: watching fd %d: %s", t->name, fd, strerror(-err));
	return err;
}

int io_thread_unwatch(struct io_thread *t, int fd)
{
	int err = -ENOENT;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->nwatch; i++) {
		if (t->watch[i].fd != fd)
			continue;
		epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
		/* Slots stay in place (epoll holds pointers to them); a dead slot has fd -1. */
		t->watch[i].fd = -1;
		err = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

/* Runs a pending io_thread_call, and says whether the loop should stop. */
static int io_thread_control(struct io_thread *t)
{
	uint64_t v;
	int stop;

	if (read(t->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("%s I/O thread: wake read: %s", t->name, strerror(errno));
	pthread_mutex_lock(&t->lock);
	if (t->call_pending) {
		/* Unlocked while it runs: the call may watch or unwatch fds. */
		pthread_mutex_unlock(&t->lock);
		t->call(t->call_arg);
		pthread_mutex_lock(&t->lock);
		t->call_pending = 0;
		pthread_cond_broadcast(&t->done);
	}
	if (t->hold_wanted && !t->stopping) {
		t->held = 1;
		pthread_cond_broadcast(&t->done);
		while (t->hold_wanted && !t->stopping)
			pthread_cond_wait(&t->done, &t->lock);
		t->held = 0;
	}
	stop = t->stopping;
	pthread_mutex_unlock(&t->lock);
	return stop;
}

static void *io_thread_main(void *arg)
{
	struct io_thread *t = arg;
	struct epoll_event ev[IO_THREAD_MAX_FDS + 1];
	sigset_t all;

	/* Signals are for the main thread (and vCPU kicks); this thread never takes one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* ps -L, top -H, debuggers and the fault tests find a device's thread by it. */
	prctl(PR_SET_NAME, t->name, 0, 0, 0);
	/*
	 * Before the first event: nothing the guest controls is handled unfiltered. Without a
	 * filter this thread must not serve at all, and stopping it would hang io_thread_call:
	 * fail closed (seccomp_install logged why).
	 */
	if (seccomp_install(SECCOMP_IO))
		abort();
	for (;;) {
		int n = epoll_wait(t->epfd, ev, IO_THREAD_MAX_FDS + 1, -1);

		if (n < 0 && errno != EINTR) {
			log_err("%s I/O thread: epoll_wait: %s", t->name, strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct io_watch *w = ev[i].data.ptr;
			if (!w) {
				if (io_thread_control(t))
					return NULL;
			} else if (w->fd >= 0) {
				w->fn(w->opaque, w->fd, ev[i].events);
			}
		}
	}
	return NULL;
}

int io_thread_start(struct io_thread *t)
{
	int err = pthread_create(&t->thread, NULL, io_thread_main, t);

	if (err) {
		log_err("%s I/O thread: pthread_create: %s", t->name, strerror(err));
		return -err;
	}
	t->started = 1;
	return 0;
}

static void io_thread_wake(struct io_thread *t)
{
	uint64_t one = 1;

	if (write(t->wake_fd, &one, sizeof(one)) < 0)
		log_debug("%s I/O thread: wake: %s", t->name, strerror(errno));
}

void io_thread_call(struct io_thread *t, void (*fn)(void *), void *arg)
{
	if (!t->started || pthread_equal(pthread_self(), t->thread)) {
		fn(arg);
		return;
	}
	pthread_mutex_lock(&t->lock);
	while (t->call_pending)		/* one call at a time */
		pthread_cond_wait(&t->done, &t->lock);
	t->call = fn;
	t->call_arg = arg;
	t->call_pending = 1;
	io_thread_wake(t);
	while (t->call_pending)
		pthread_cond_wait(&t->done, &t->lock);
	pthread_mutex_unlock(&t->lock);
}

void io_thread_hold(struct io_thread *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->hold_wanted = 1;
	io_thread_wake(t);
	while (!t->held)
		pthread_cond_wait(&t->done, &t->lock);
	pthread_mutex_unlock(&t->lock);
}

void io_thread_release(struct io_thread *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->hold_wanted = 0;
	pthread_cond_broadcast(&t->done);
	pthread_mutex_unlock(&t->lock);
}

void io_thread_destroy(struct io_thread *t)
{
	if (t->started) {
		pthread_mutex_lock(&t->lock);
		t->stopping = 1;
		pthread_cond_broadcast(&t->done);	/* a held thread sees the stop */
		pthread_mutex_unlock(&t->lock);
		io_thread_wake(t);
		pthread_join(t->thread, NULL);
		t->started = 0;
	}
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	t->epfd = t->wake_fd = -1;
}
