/*
 * hvm-agent: PID 1 of every guest. Mounts the kernel file systems and the image root, then
 * serves the host over vsock: each session runs one process, relays its stdio as frames
 * and reports how it ended. When the boot session's process ends, the VM powers off.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/layout.h"
#include "agent.h"

#define SYSLOG_ACTION_CONSOLE_LEVEL 8

/* Tells the VMM's boot timer the agent is ready; skipped where port access is unavailable. */
static void boot_timer_signal(void)
{
	if (ioperm(PORT_BOOT_TIMER, 1, 1) == 0) {
		outb(1, PORT_BOOT_TIMER);
		ioperm(PORT_BOOT_TIMER, 1, 0);
	}
}

/* The boot session's connection, non-blocking; -1 (said on the console) when there is none. */
static int connect_main_session(void)
{
	int fd = vsock_connect_host(PROTO_PORT_MAIN);

	if (fd < 0) {
		console_print("connecting to the host on vsock port %d: %s", PROTO_PORT_MAIN,
			      strerror(-fd));
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/*
 * The boot session's connection was reset: the VM was restored from a snapshot or template
 * on a new host, which listens before the vCPUs run. The session (and its process, if one
 * runs) moves to a new connection; then ready again on the boot timer. 0, or -1: power off.
 */
static int reconnect_host(struct session *s)
{
	for (int tries = 0; tries < 3; tries++) {
		int fd = connect_main_session();
		if (fd >= 0) {
			session_reattach(s, fd);
			boot_timer_signal();
			return 0;
		}
		usleep(100000);
	}
	return -1;
}

static int vsock_listen_exec(void)
{
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				    .svm_port = PROTO_PORT_EXEC };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd >= 0 && (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0)) {
		console_print("listening on vsock port %d: %s", PROTO_PORT_EXEC, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Moves process output into frames while the session's buffer has room. */
static void relay_output(struct session *s, int *fd, uint32_t type)
{
	uint8_t buf[PROTO_MAX_PAYLOAD];

	while (*fd >= 0 && AGENT_OUT_ROOM(s)) {
		ssize_t n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			session_send(s, type, buf, (size_t)n);
			continue;
		}
		/* After the process exited, "nothing now" means done: background jobs don't count. */
		if (n == 0 || (errno != EAGAIN && errno != EINTR) || s->proc.exited) {
			if (*fd != s->proc.in_fd)
				close(*fd);
			*fd = -1;
		}
		break;
	}
}

/* Once the process is gone and its output relayed, EXIT goes out and the session winds down. */
static void session_progress(struct session *s)
{
	struct process *p = &s->proc;

	relay_output(s, &p->out_fd, PROTO_STDOUT);
	relay_output(s, &p->err_fd, PROTO_STDERR);
	process_flush_stdin(p);
	session_ack_stdin(s);
	if (p->exited && p->out_fd < 0 && p->err_fd < 0 && !s->closing &&
	    session_send_exit(s) == 0)
		s->closing = 1;
}

static void reap_children(void)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (int i = 0; i < AGENT_MAX_SESSIONS; i++)
			if (sessions[i].fd >= 0 && sessions[i].out && sessions[i].proc.pid == pid) {
				sessions[i].proc.exited = 1;
				sessions[i].proc.status = st;
			}
}

/* poll() entries: [0] signalfd, [1] exec listener, then per session: socket, out, err, in. */
#define POLL_PER_SESSION 4

static int build_pollset(struct pollfd *pf, int sigfd, int listen_fd)
{
	int n = 0;

	pf[n++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	pf[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	for (int i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct session *s = &sessions[i];
		int room = s->out && AGENT_OUT_ROOM(s);
		if (s->fd < 0 || !s->out) {
			for (int k = 0; k < POLL_PER_SESSION; k++)
				pf[n++].fd = -1;
			continue;
		}
		pf[n++] = (struct pollfd){ .fd = s->fd, .events = (short)((!s->closing ? POLLIN : 0) |
						   (s->outlen || session_ack_due(s) ? POLLOUT : 0)) };
		pf[n++] = (struct pollfd){ .fd = room ? s->proc.out_fd : -1, .events = POLLIN };
		pf[n++] = (struct pollfd){ .fd = room ? s->proc.err_fd : -1, .events = POLLIN };
		/* A full stdin pipe: wake when the process has read some. */
		pf[n++] = (struct pollfd){ .fd = s->proc.inlen ? s->proc.in_fd : -1, .events = POLLOUT };
	}
	return n;
}

static void accept_session(int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd >= 0 && !session_add(fd, 0))
		close(fd);	/* all slots taken */
}

/*
 * The boot session is over: wait (bounded) for the host to close its end, which it does once
 * it has read our EXIT; powering off earlier could lose frames still in flight.
 */
static void wait_host_close(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];

	shutdown(fd, SHUT_WR);
	while (poll(&p, 1, 10000) == 1 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* One round of the loop for session i; returns 1 when the VM should power off. */
static int serve_session(struct session *s, const struct pollfd *sock, int no_avx)
{
	if (sock->revents & (POLLIN | POLLHUP | POLLERR)) {
		if (session_read(s, no_avx) < 0) {
			if (s->main && s->reset)
				return reconnect_host(s) < 0;
			if (s->main) {	/* the host is gone: nobody to report to */
				console_print("the host closed the session; powering off");
				return 1;
			}
			session_close(s);
			return 0;
		}
	}
	session_progress(s);
	int flushed = session_flush(s);
	if (flushed < 0 && s->main && s->reset)
		return reconnect_host(s) < 0;
	if (flushed < 0 || (s->closing && s->outlen == 0)) {
		int main_done = s->main;
		if (flushed < 0 && main_done)
			console_print("writing to the host: %s; powering off", strerror(errno));
		if (main_done)
			wait_host_close(s->fd);
		session_close(s);
		return main_done;
	}
	return 0;
}

static void serve(int sigfd, int listen_fd, int no_avx)
{
	struct pollfd pf[2 + POLL_PER_SESSION * AGENT_MAX_SESSIONS];

	for (;;) {
		int n = build_pollset(pf, sigfd, listen_fd);
		if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR) {
			console_print("poll: %s; powering off", strerror(errno));
			return;
		}
		if (pf[0].revents) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) > 0)
				;
			reap_children();
		}
		if (pf[1].revents)
			accept_session(listen_fd);
		for (int i = 0; i < AGENT_MAX_SESSIONS; i++)
			if (sessions[i].fd >= 0 && sessions[i].out &&
			    serve_session(&sessions[i], &pf[2 + POLL_PER_SESSION * i], no_avx))
				return;
	}
}

/* Request, network and root file system; 0, or -errno with msg saying what failed. */
static int boot_system(struct boot_request *req, char *msg, size_t cap)
{
	const char *why;
	int err = boot_request_read(req, &why);

	if (err == -ENOENT)
		err = 0;	/* no request: the initramfs is the whole system */
	if (req->quiet)
		klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, NULL, 1);	/* panics only from here on */
	if (err)
		snprintf(msg, cap, "%s: %s", why, strerror(-err));
	else if (req->hostname && sethostname(req->hostname, strlen(req->hostname)) < 0)
		console_print("hostname %s: %s", req->hostname, strerror(errno));
	if (!err)
		err = net_configure(&req->net, msg, cap);
	if (!err)
		err = rootfs_enter(req, msg, cap);
	int dns_err = err ? 0 : net_write_resolv_conf(&req->net);
	if (dns_err)	/* a read-only root: the command runs, without our name servers */
		console_print("writing /etc/resolv.conf: %s", strerror(-dns_err));
	return err;
}

/* The way out: syncs and unmounts volumes, resets the VM. */
static __attribute__((noreturn)) void agent_poweroff(void)
{
	rootfs_release();
	reboot(RB_AUTOBOOT);	/* reboot=k: the i8042 reset the VMM turns into a stop */
	for (;;)
		pause();
}

int main(void)
{
	struct boot_request req;
	char msg[512];
	sigset_t chld;
	int sigfd, listen_fd, host;

	for (int i = 0; i < AGENT_MAX_SESSIONS; i++)
		sessions[i].fd = -1;
	rootfs_mount_kernel_fs("");
	console_open();
	host = connect_main_session();
	int err = boot_system(&req, msg, sizeof(msg));
	if (host < 0) {
		/* No host to serve (a VMM without our vsock bridge): boot timing still counts. */
		boot_timer_signal();
		agent_poweroff();
	}
	struct session *s = session_add(host, 1);
	if (err) {
		session_error(s, "%s", msg);	/* the host exits 125 with this */
		fcntl(host, F_SETFL, 0);	/* blocking: the message must get out before we stop */
		session_flush(s);
		wait_host_close(host);	/* written is not yet delivered: see wait_host_close */
		agent_poweroff();
	}

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a vanished host shows up as EPIPE, not death */
	sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	listen_fd = vsock_listen_exec();
	warm_page_cache(&req);	/* a template's boot: before ready, so the template holds it */
	boot_timer_signal();
	serve(sigfd, listen_fd, req.no_avx);
	agent_poweroff();
}
