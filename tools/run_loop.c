/*
 * The life of a VM under hvm-run: sockets for the vsock bridge, boot, then one poll loop that
 * serves the agent's session (stdio, signals, window size), the timeout, host signals and the
 * VM stopping, until the VM is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../vmm/clock.h"
#include "../vmm/log.h"
#include "../vmm/seccomp.h"
#include "run.h"
#include "run_tty.h"

enum { PF_STOP, PF_SIG, PF_READY, PF_LISTEN, PF_STDIN, PF_AGENT, PF_EXTRA };

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* The serial console carries only the kernel log: kept for post-mortems, shown with --console. */
static void on_serial(void *opaque, uint8_t byte)
{
	struct run *r = opaque;

	r->tail[r->tail_len++ % RUN_LOG_TAIL] = (char)byte;
	if (r->flags.console)
		write_all(STDERR_FILENO, &byte, 1);
}

static void on_ready(void *opaque)
{
	struct run *r = opaque;
	uint64_t one = 1;

	/* Sampled by the main thread: the vCPU goes back to the guest at once. */
	if (write(r->ready_fd, &one, sizeof(one)) < 0)
		log_debug("ready eventfd: %s", strerror(errno));
}

static int listen_unix(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "hvm-run: %s: socket path too long\n", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 8) < 0) {
		fprintf(stderr, "hvm-run: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The vsock bridge's socket (--api-socket, or private) and the agent's port next to it. */
static int setup_sockets(struct run *r)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");

	if (r->flags.api_socket) {
		snprintf(r->vsock_uds, sizeof(r->vsock_uds), "%s", r->flags.api_socket);
	} else {
		snprintf(r->vsock_dir, sizeof(r->vsock_dir), "%s/hvm.XXXXXX",
			 rt && *rt == '/' ? rt : "/tmp");
		if (!mkdtemp(r->vsock_dir)) {
			fprintf(stderr, "hvm-run: %s: %s\n", r->vsock_dir, strerror(errno));
			r->vsock_dir[0] = '\0';
			return -1;
		}
		snprintf(r->vsock_uds, sizeof(r->vsock_uds), "%s/vsock", r->vsock_dir);
	}
	snprintf(r->agent_uds, sizeof(r->agent_uds), "%s_%d", r->vsock_uds, PROTO_PORT_MAIN);
	r->listen_fd = listen_unix(r->agent_uds);
	return r->listen_fd < 0 ? -1 : 0;
}

static void cleanup_sockets(struct run *r)
{
	if (r->listen_fd >= 0) {
		close(r->listen_fd);
		unlink(r->agent_uds);
	}
	if (r->vsock_dir[0])
		rmdir(r->vsock_dir);	/* the device removed its own socket */
}

/* SIGINT/TERM/HUP/QUIT/USR1/USR2 go to the guest process, SIGWINCH resizes its tty. */
static int block_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a vanished reader of our stdout must not kill the VM */
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Prints why the guest ended without an exit status, with the last console lines. */
static void report_lost_guest(struct run *r, enum vm_state st)
{
	size_t n = r->tail_len < RUN_LOG_TAIL ? r->tail_len : RUN_LOG_TAIL;
	size_t start = r->tail_len < RUN_LOG_TAIL ? 0 : r->tail_len % RUN_LOG_TAIL;

	fprintf(stderr, "hvm-run: the guest stopped (%s) without reporting an exit status\n",
		vm_state_name(st));
	if (n && !r->flags.console) {
		fprintf(stderr, "hvm-run: last guest console output:\n");
		write_all(STDERR_FILENO, r->tail + start, n - start);
		write_all(STDERR_FILENO, r->tail, start);
		fputc('\n', stderr);
	}
}

static void accept_session(struct run *r)
{
	int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct host_session *s;

	if (fd < 0)
		return;
	s = malloc(sizeof(*s));
	if (!s) {
		close(fd);
		return;
	}
	/* The agent is PID 1 and connects first; anything later is another guest program. */
	if (!r->agent) {
		host_session_init(s, fd, "guest agent", r->run_json, r->flags.interactive, 1);
		r->run_json = NULL;
		r->agent = s;
		return;
	}
	for (int i = 0; i < RUN_MAX_EXTRA; i++)
		if (!r->extra[i]) {
			host_session_init(s, fd, "guest connection", NULL, 0, 0);
			r->extra[i] = s;
			return;
		}
	free(s);
	close(fd);
}

static void drop_session(struct host_session **s)
{
	host_session_close(*s);
	free(*s);
	*s = NULL;
}

/* A signal for us: forwarded to the guest process once it runs, else the VM stops. */
static int on_signal(struct run *r, int sigfd)
{
	struct signalfd_siginfo si;
	unsigned rows, cols;

	if (read(sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if ((int)si.ssi_signo == SIGWINCH) {
		run_tty_size(STDIN_FILENO, &rows, &cols);
		if (r->agent && r->flags.tty)
			host_session_resize(r->agent, rows, cols);
		return 0;
	}
	if (r->agent && r->agent->hello && !r->agent->done) {
		host_session_signal(r->agent, (int)si.ssi_signo);
		return 0;
	}
	vm_stop(&r->machine.vm, VM_STOP_HOST);
	return 128 + (int)si.ssi_signo;
}

static int poll_timeout(uint64_t deadline)
{
	uint64_t now = clock_now_us();

	if (!deadline)
		return -1;
	return now >= deadline ? 0 : (int)((deadline - now + 999) / 1000);
}

/* Fills the poll set; sessions only read or write when there is something to do. */
static int build_pollset(struct run *r, struct pollfd *pf, int sigfd)
{
	struct host_session *a = r->agent;
	int n = PF_EXTRA;

	pf[PF_STOP] = (struct pollfd){ .fd = r->machine.vm.stop_fd, .events = POLLIN };
	pf[PF_SIG] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
	pf[PF_READY] = (struct pollfd){ .fd = r->ready_fd, .events = POLLIN };
	pf[PF_LISTEN] = (struct pollfd){ .fd = r->listen_fd, .events = POLLIN };
	pf[PF_STDIN] = (struct pollfd){ .fd = a && a->stdin_open && a->hello &&
		host_session_room(a) ? STDIN_FILENO : -1, .events = POLLIN };
	pf[PF_AGENT] = (struct pollfd){ .fd = a && !a->done ? a->fd : -1,
		.events = (short)(POLLIN | (a && a->outlen ? POLLOUT : 0)) };
	for (int i = 0; i < RUN_MAX_EXTRA; i++, n++) {
		struct host_session *x = r->extra[i];
		pf[n] = (struct pollfd){ .fd = x ? x->fd : -1,
			.events = (short)(POLLIN | (x && x->outlen ? POLLOUT : 0)) };
	}
	return n;
}

static void serve_sessions(struct run *r, const struct pollfd *pf)
{
	struct host_session *a = r->agent;

	if (pf[PF_STDIN].revents)
		host_session_stdin(a, STDIN_FILENO);
	if (a && !a->done) {
		if (pf[PF_AGENT].revents & (POLLIN | POLLHUP | POLLERR))
			host_session_read(a);
		if (!a->done && host_session_flush(a) < 0)
			host_session_read(a);	/* learns how the connection broke */
	}
	for (int i = 0; i < RUN_MAX_EXTRA; i++) {
		struct host_session *x = r->extra[i];
		if (x && ((pf[PF_EXTRA + i].revents && host_session_read(x) < 0) ||
			  host_session_flush(x) < 0))
			drop_session(&r->extra[i]);	/* it said why; the VM carries on */
	}
}

/* The VM stopped: frames the agent sent just before may still wait in our socket. */
static void drain_agent(struct run *r)
{
	struct host_session *a = r->agent;
	struct pollfd p = { .fd = a ? a->fd : -1, .events = POLLIN };

	while (a && !a->done && a->fd >= 0 && poll(&p, 1, 0) == 1 && host_session_read(a) == 0)
		;
}

/* Serves the VM until it stops (or the timeout / a signal ends it); returns the exit status. */
static int serve_vm(struct run *r, int sigfd)
{
	struct pollfd pf[PF_EXTRA + RUN_MAX_EXTRA];
	uint64_t deadline = r->flags.timeout_s ? clock_now_us() + r->flags.timeout_s * 1000000ULL : 0;
	int status = 0;

	while (vm_state(&r->machine.vm) == VM_RUNNING && !status) {
		int n = build_pollset(r, pf, sigfd);
		if (poll(pf, (nfds_t)n, poll_timeout(deadline)) < 0 && errno != EINTR)
			break;
		if (deadline && clock_now_us() >= deadline) {
			vm_stop(&r->machine.vm, VM_STOP_HOST);
			fprintf(stderr, "hvm-run: --timeout %u s expired: VM stopped\n", r->flags.timeout_s);
			return EXIT_TIMEOUT;
		}
		if (pf[PF_READY].revents & POLLIN) {
			r->metrics.agent_ready_us = atomic_load(&r->machine.timer.ready_us);
			run_metrics_sample_rss(&r->metrics, &r->machine);
			pf[PF_READY].fd = r->ready_fd = -1;
		}
		if (pf[PF_SIG].revents)
			status = on_signal(r, sigfd);
		if (pf[PF_LISTEN].revents)
			accept_session(r);
		serve_sessions(r, pf);
		if (r->agent && r->agent->done && r->agent->fd >= 0) {
			r->metrics.command_exit_us = clock_now_us();
			host_session_close(r->agent);	/* the agent powers off once it sees this */
		}
	}
	if (status)
		return status;
	drain_agent(r);
	if (r->agent && r->agent->done)
		return r->agent->status;	/* the command's own status, or 125 after an error */
	report_lost_guest(r, vm_state(&r->machine.vm));
	return EXIT_HVM_ERROR;
}

int run_vm(struct run *r)
{
	int sigfd = block_signals(), status = EXIT_HVM_ERROR;

	r->listen_fd = -1;
	r->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sigfd < 0 || r->ready_fd < 0 || setup_sockets(r) < 0)
		goto out;
	r->cfg.vsock_uds = r->vsock_uds;
	r->cfg.serial_output = on_serial;
	r->cfg.serial_opaque = r;
	r->cfg.on_ready = on_ready;
	r->cfg.ready_opaque = r;
	if (r->flags.tty)
		run_tty_raw(STDIN_FILENO);
	r->net.backend = NULL;	/* the machine owns it from here, whatever happens */
	seccomp_set_enabled(!r->flags.no_seccomp);	/* before the I/O threads start */
	seccomp_set_violation_exit(EXIT_HVM_ERROR);
	if (machine_create(&r->machine, &r->cfg))
		goto out;
	r->metrics.kvm_ready_us = r->machine.kvm_ready_us;
	/* The main thread's list is installed last: the vCPU threads inherit it and stack theirs. */
	if (seccomp_install(SECCOMP_MAIN) == 0 && machine_start(&r->machine) == 0)
		status = serve_vm(r, sigfd);
	r->metrics.vm_exit_us = clock_now_us();
	r->metrics.first_entry_us = atomic_load(&r->machine.vm.first_entry_us);
	if (r->metrics.vmm_rss_kib < 0)
		run_metrics_sample_rss(&r->metrics, &r->machine);
	run_metrics_sample_net(&r->metrics, &r->machine);
	machine_destroy(&r->machine);
out:
	run_tty_restore();
	if (r->agent)
		drop_session(&r->agent);
	for (int i = 0; i < RUN_MAX_EXTRA; i++)
		if (r->extra[i])
			drop_session(&r->extra[i]);
	cleanup_sockets(r);
	if (sigfd >= 0)
		close(sigfd);
	if (r->ready_fd >= 0)
		close(r->ready_fd);
	return status;
}
