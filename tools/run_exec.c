/*
 * `hvm-run exec --api-socket PATH ...`: one more process in a running VM. Reaches the agent's
 * exec port through the VM's vsock bridge ("CONNECT <port>\n" / "OK <port>\n") and speaks the
 * same session protocol as the boot session.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../image/image.h"
#include "run.h"
#include "run_request.h"
#include "run_tty.h"

#define EXEC_CONNECT_TIMEOUT_MS 60000	/* the guest is slow to answer on nested hosts */

/* Reads the bridge's one-line answer, byte by byte so nothing after it is consumed. */
static int read_answer(int fd, char *line, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	while (n + 1 < cap) {
		if (poll(&p, 1, EXEC_CONNECT_TIMEOUT_MS) != 1 || read(fd, line + n, 1) != 1)
			return -1;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return 0;
}

static int exec_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char req[32], answer[64];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(addr.sun_path) || fd < 0 ||
	    (strcpy(addr.sun_path, path), connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)) {
		fprintf(stderr, "hvm-run: exec: %s: %s\n", path, fd < 0 ? strerror(errno) :
			strlen(path) >= sizeof(addr.sun_path) ? "path too long" : strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "CONNECT %d\n", PROTO_PORT_EXEC);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) ||
	    read_answer(fd, answer, sizeof(answer)) < 0 || strncmp(answer, "OK ", 3) != 0) {
		fprintf(stderr, "hvm-run: exec: %s: the VM's agent did not accept the session\n", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int exec_loop(struct host_session *s, int sigfd, int tty)
{
	struct signalfd_siginfo si;
	unsigned rows, cols;

	while (!s->done) {
		struct pollfd pf[3] = {
			{ .fd = s->fd, .events = (short)(POLLIN | (s->outlen ? POLLOUT : 0)) },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = s->stdin_open && s->hello && host_session_room(s) ? STDIN_FILENO : -1,
			  .events = POLLIN },
		};
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			return EXIT_HVM_ERROR;
		if (pf[2].revents)
			host_session_stdin(s, STDIN_FILENO);
		if (pf[1].revents && read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if ((int)si.ssi_signo == SIGWINCH && tty) {
				run_tty_size(STDIN_FILENO, &rows, &cols);
				host_session_resize(s, rows, cols);
			} else if ((int)si.ssi_signo != SIGWINCH) {
				host_session_signal(s, (int)si.ssi_signo);
			}
		}
		if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && host_session_read(s) < 0)
			break;
		if (host_session_flush(s) < 0)
			host_session_read(s);
	}
	return s->status;
}

int run_exec(const struct run_flags *f)
{
	static struct host_session s;
	struct image_config none = { 0 };
	sigset_t set;
	unsigned rows, cols;
	char *json = NULL;
	int fd, sigfd, status;

	run_tty_size(STDIN_FILENO, &rows, &cols);
	if (run_request_process(f, &none, rows, cols, &json))
		return EXIT_HVM_ERROR;
	sigemptyset(&set);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT ||
		    sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGWINCH)
			sigaddset(&set, sig);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	fd = exec_connect(f->api_socket);
	if (fd < 0 || sigfd < 0) {
		free(json);
		return EXIT_HVM_ERROR;
	}
	host_session_init(&s, fd, "exec", json, f->interactive, 1);
	if (f->tty)
		run_tty_raw(STDIN_FILENO);
	status = exec_loop(&s, sigfd, f->tty);
	run_tty_restore();
	host_session_close(&s);
	close(sigfd);
	return status;
}
