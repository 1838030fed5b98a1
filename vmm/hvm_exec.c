/*
 * hvm_exec: one more process in a running VM. Reaches the agent's exec port through the VM's
 * vsock bridge ("CONNECT <port>\n" / "OK <port>\n") and speaks the same session protocol as
 * the boot session, relaying the caller's fds. No handle: failures are logged.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../include/hvm.h"
#include "host_session.h"
#include "hvm_export.h"
#include "../core/log.h"
#include "../core/unix_addr.h"

#define EXEC_CONNECT_TIMEOUT_MS 60000	/* the guest is slow to answer on nested hosts */

/* Reads the bridge's one-line answer, byte by byte so nothing after it is consumed. */
static int read_answer(int fd, char *line, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	while (n + 1 < cap) {
		int r = poll(&p, 1, EXEC_CONNECT_TIMEOUT_MS);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 || read(fd, line + n, 1) != 1)
			return r < 0 ? -errno : -ECONNRESET;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return 0;
}

static int connect_unix(const char *path)
{
	int fd = unix_connect(path, 0);

	if (fd == -ENAMETOOLONG)
		log_err("exec: %s: path too long", path);
	else if (fd < 0)
		log_err("exec: %s: %s", path, strerror(-fd));
	return fd;
}

/* A connection to the agent's exec port; the fd or -errno (logged). */
static int exec_connect(const char *path)
{
	char req[32], answer[64];
	int fd = connect_unix(path), err = 0;

	if (fd < 0)
		return fd;
	snprintf(req, sizeof(req), "CONNECT %d\n", PROTO_PORT_EXEC);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		err = -EPIPE;
	if (!err)
		err = read_answer(fd, answer, sizeof(answer));
	if (!err && strncmp(answer, "OK ", 3) != 0)
		err = -ECONNREFUSED;
	if (err) {
		log_err("exec: %s: the VM's agent did not accept the session", path);
		close(fd);
		return err;
	}
	return fd;
}

static void tty_size(int fd, unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	} else {
		*rows = 24;
		*cols = 80;
	}
}

/* A signal the caller's signalfd delivered: a resize or one for the process. */
static void on_signal(struct host_session *s, int sig_fd, int tty, int in_fd)
{
	struct signalfd_siginfo si;
	unsigned rows, cols;

	if (read(sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if ((int)si.ssi_signo != SIGWINCH) {
		host_session_signal(s, (int)si.ssi_signo);
	} else if (tty) {
		tty_size(in_fd, &rows, &cols);
		host_session_resize(s, rows, cols);
	}
}

static int exec_loop(struct host_session *s, int sig_fd, int tty, int in_fd)
{
	while (!s->done) {
		struct pollfd pf[3] = {
			{ .fd = s->fd, .events = (short)(POLLIN | (s->outlen ? POLLOUT : 0)) },
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = host_session_wants_stdin(s) ? in_fd : -1,
			  .events = POLLIN },
		};
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			return -errno;
		if (pf[2].revents)
			host_session_stdin(s, in_fd);
		if (pf[1].revents)
			on_signal(s, sig_fd, tty, in_fd);
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && host_session_read(s) < 0)
			break;
		if (host_session_flush(s) < 0)
			host_session_read(s);
	}
	if (s->error)
		log_err("%s", s->why);
	return 0;
}

HVM_API int hvm_exec_signals(const char *api_socket, const char *const *argv,
			     const char *const *env, const char *cwd, const char *user, int tty,
			     int in_fd, int out_fd, int err_fd, int sig_fd, int *status)
{
	struct host_session *s;
	unsigned rows, cols;
	char *json;
	int fd, err;

	if (!api_socket || !argv || !argv[0] || !status)
		return -EINVAL;
	tty_size(in_fd, &rows, &cols);
	json = host_session_run_json((char *const *)argv, (char *const *)env, cwd, user, !!tty,
				     rows, cols, in_fd >= 0);
	s = malloc(sizeof(*s));
	if (!json || !s) {
		free(json);
		free(s);
		return -ENOMEM;
	}
	fd = exec_connect(api_socket);
	if (fd < 0) {
		free(json);
		free(s);
		return fd;
	}
	host_session_init(s, fd, "exec", json, in_fd >= 0, 1, out_fd, tty ? out_fd : err_fd);
	err = exec_loop(s, sig_fd, tty, in_fd);
	*status = s->status;
	host_session_close(s);
	free(s);
	return err;
}

HVM_API int hvm_exec(const char *api_socket, const char *const *argv, const char *const *env,
		     const char *cwd, const char *user, int tty, int in_fd, int out_fd, int err_fd,
		     int *status)
{
	return hvm_exec_signals(api_socket, argv, env, cwd, user, tty, in_fd, out_fd, err_fd, -1,
				status);
}
