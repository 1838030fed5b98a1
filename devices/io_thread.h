/*
 * A device's I/O thread: an epoll loop that runs callbacks for ready file descriptors (queue
 * notifications from ioeventfds, sockets, TAP devices). Devices do their heavy work here,
 * never on a vCPU thread.
 */
#ifndef HVM_IO_THREAD_H
#define HVM_IO_THREAD_H

#include <pthread.h>
#include <stdint.h>

#define IO_THREAD_MAX_FDS 16

/* Called on the I/O thread when fd is ready; events are EPOLL* bits. */
typedef void io_handler_fn(void *opaque, int fd, uint32_t events);

struct io_watch {
	int fd;
	io_handler_fn *fn;
	void *opaque;
};

struct io_thread {
	const char *name;
	int epfd;
	int wake_fd;			/* eventfd: stop, or run `call` */
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t done;
	void (*call)(void *);		/* a function to run on the thread (io_thread_call) */
	void *call_arg;
	int call_pending, stopping;
	int hold_wanted, held;		/* io_thread_hold: the loop waits between callbacks */
	unsigned nwatch;
	struct io_watch watch[IO_THREAD_MAX_FDS];
};

/* Prepares the loop (not yet running); 0 or -errno (logged). */
int io_thread_init(struct io_thread *t, const char *name);

/* Adds fd to the loop (before or after start); 0 or -errno (logged). */
int io_thread_watch(struct io_thread *t, int fd, uint32_t events, io_handler_fn *fn, void *opaque);

/* Stops watching fd; 0 or -ENOENT. */
int io_thread_unwatch(struct io_thread *t, int fd);

/* Starts the thread; 0 or -errno (logged). */
int io_thread_start(struct io_thread *t);

/*
 * Runs fn(arg) on the I/O thread between callbacks and waits for it: how other threads
 * change state the loop owns (e.g. a device reset) without locking every callback.
 * Runs fn directly when the thread is not running.
 */
void io_thread_call(struct io_thread *t, void (*fn)(void *), void *arg);

/*
 * Stops the loop between two callbacks and returns once it waits there, so that nothing the
 * device does changes guest memory or its own state (a snapshot reads both); no-op when the
 * thread is not running. io_thread_release lets it go on.
 */
void io_thread_hold(struct io_thread *t);

/* Ends an io_thread_hold. */
void io_thread_release(struct io_thread *t);

/* Stops and joins the thread, closes the loop. Watched fds are not closed. */
void io_thread_destroy(struct io_thread *t);

#endif
