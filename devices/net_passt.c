/*
 * User-mode networking through passt (Debian's `passt`), a separate unprivileged process that
 * turns the guest's Ethernet frames into ordinary host sockets. We hand it one end of a
 * socket pair (--fd) and speak its stream protocol on the other; the backend we return owns
 * the process, so closing the backend stops passt. Only the -t/-u ports we name are bound on
 * the host. docs/net.md explains the choices.
 */
#include "net_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/log.h"

#define NET_PASST_FD        3		/* where the child finds its end of the socket pair */
#define NET_PASST_GO_FD     4		/* where it waits for the guest's network to be up */
#define NET_PASST_STOP_MS   2000	/* bound on waiting for it to exit before SIGKILL */
#define NET_PASST_NOBODY    "65534:65534"
#define NET_PASST_MTU_ARG   "65520"	/* NET_BACKEND_MTU_PASST, as passt reads it */
#define NET_PASST_ERR_MAX   512
_Static_assert(NET_BACKEND_MTU_PASST == 65520, "NET_PASST_MTU_ARG says the same");

struct net_passt {
	struct net_backend be;
	struct net_backend *stream;	/* the protocol, over our end of the socket pair */
	pid_t pid;
	int go_fd;			/* a byte here lets the waiting child exec passt */
	int err_fd;			/* passt's stderr, read when it fails */
	int reported;			/* its failure was logged */
	char err[NET_PASST_ERR_MAX];
	size_t err_len;
};

static uint64_t net_passt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the backend: the stream protocol, plus the process ------------------------------ */

static int net_passt_send(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct net_passt *p = (struct net_passt *)be;

	return p->stream->ops->send(p->stream, iov, n);
}

static void net_passt_report_exit(struct net_passt *p);

static ssize_t net_passt_recv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct net_passt *p = (struct net_passt *)be;
	ssize_t r = p->stream->ops->recv(p->stream, iov, n);

	if (r < 0 && r != -EAGAIN && r != -EMSGSIZE)
		net_passt_report_exit(p);
	return r;
}

/* The guest's network is configured: passt may bind the published ports and forward now. */
static int net_passt_guest_up(struct net_backend *be)
{
	struct net_passt *p = (struct net_passt *)be;
	ssize_t r = p->go_fd >= 0 ? write(p->go_fd, "g", 1) : 1;

	if (p->go_fd >= 0)
		close(p->go_fd);
	p->go_fd = -1;
	return r == 1 ? 0 : -EPIPE;
}

static int net_passt_flush(struct net_backend *be)
{
	struct net_passt *p = (struct net_passt *)be;

	return p->stream->ops->flush(p->stream);
}

/* Reaps pid within ms milliseconds; 1 when it is gone. */
static int net_passt_reap(pid_t pid, unsigned ms)
{
	uint64_t end = net_passt_now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		/* ECHILD: someone else reaped it (a SIGCHLD handler in the caller). */
		if (r == pid || (r < 0 && errno == ECHILD))
			return 1;
		if (net_passt_now_ms() >= end)
			return 0;
		usleep(1000);
	}
}

static void net_passt_close(struct net_backend *be)
{
	struct net_passt *p = (struct net_passt *)be;

	/* --fd makes passt quit once its socket closes; the signal covers a wedged one. */
	if (p->go_fd >= 0)
		close(p->go_fd);	/* a child still waiting to exec passt exits */
	if (p->stream)
		p->stream->ops->close(p->stream);
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		if (!net_passt_reap(p->pid, NET_PASST_STOP_MS)) {
			log_warn("passt (pid %d): still running after SIGTERM; killing it", (int)p->pid);
			kill(p->pid, SIGKILL);
			net_passt_reap(p->pid, NET_PASST_STOP_MS);
		}
	}
	if (p->err_fd >= 0)
		close(p->err_fd);
	free(p);
}

static const struct net_backend_ops net_passt_ops = {
	.send = net_passt_send,
	.recv = net_passt_recv,
	.flush = net_passt_flush,
	.guest_up = net_passt_guest_up,
	.close = net_passt_close,
};

/* ---- before starting: the binary and the host ports ----------------------------------- */

/* Finds passt on PATH; 0 or -ENOENT (why in e, with the package to install). */
static int net_passt_find(char *path, size_t cap, struct err *e)
{
	const char *env = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s", env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
	for (char *save, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, cap, "%s/passt", *dir ? dir : ".");
		if (access(path, X_OK) == 0)
			return 0;
	}
	err_set(e, -ENOENT, "passt: not found; install the Debian package 'passt'");
	return -ENOENT;
}

/* Binds the port as passt will, to say clearly when it is taken; 0 or -errno. */
static int net_passt_try_bind(int family, const struct net_port_map *m)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(m->host_port) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(m->host_port) };
	int one = 1, err = 0;
	int fd = socket(family, (m->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;	/* no such family here: passt will not use it either */
	/* TCP like passt (TIME_WAIT is no conflict); UDP without, so a shared port shows. */
	if (!m->udp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof(a4))
			      : bind(fd, (struct sockaddr *)&a6, sizeof(a6)))
		err = -errno;
	close(fd);
	return err == -EADDRNOTAVAIL ? 0 : err;	/* IPv6 present but unconfigured */
}

static int net_passt_check_ports(const struct net_port_map *maps, unsigned nmaps,
				 struct err *e)
{
	for (unsigned i = 0; i < nmaps; i++) {
		const struct net_port_map *m = &maps[i];
		const char *proto = m->udp ? "udp" : "tcp";
		int err;

		if (!m->host_port || !m->guest_port) {
			err_set(e, -EINVAL, "publishing port %u:%u/%s: port 0 cannot be published",
				m->host_port, m->guest_port, proto);
			return -EINVAL;
		}
		err = net_passt_try_bind(AF_INET, m);
		if (!err)
			err = net_passt_try_bind(AF_INET6, m);
		if (err) {
			err_set(e, err, "publishing port %u/%s: %s", m->host_port, proto,
				err == -EADDRINUSE ? "already in use on the host" : strerror(-err));
			return err;
		}
	}
	return 0;
}

/* ---- starting ---------------------------------------------------------------------- */

/*
 * passt's command line. Forwarding defaults to nothing in passt mode, but a TCP port also
 * forwards the same UDP port unless -u is given: "-u none" keeps the host side exactly -p.
 */
static char **net_passt_argv(const char *path, const struct net_port_map *maps, unsigned nmaps,
			     char (*specs)[16])
{
	char **argv = calloc(16 + 2 * (size_t)nmaps, sizeof(*argv));
	unsigned a = 0, tcp = 0, udp = 0;

	if (!argv)
		return NULL;
	argv[a++] = (char *)path;
	argv[a++] = "--foreground";
	argv[a++] = "--quiet";
	argv[a++] = "--fd";
	argv[a++] = "3";
	argv[a++] = "--mtu";		/* what DHCP tells the guest: the agent sets the same */
	argv[a++] = NET_PASST_MTU_ARG;
	if (geteuid() == 0) {		/* it would drop to nobody anyway, with a warning */
		argv[a++] = "--runas";
		argv[a++] = NET_PASST_NOBODY;
	}
	for (unsigned i = 0; i < nmaps; i++) {
		snprintf(specs[i], sizeof(specs[i]), "%u:%u", maps[i].host_port, maps[i].guest_port);
		argv[a++] = maps[i].udp ? "-u" : "-t";
		argv[a++] = specs[i];
		tcp += !maps[i].udp;
		udp += !!maps[i].udp;
	}
	if (!tcp) {
		argv[a++] = "-t";
		argv[a++] = "none";
	}
	if (!udp) {
		argv[a++] = "-u";
		argv[a++] = "none";
	}
	return argv;
}

/*
 * In the child, between fork and exec: async-signal-safe calls only. It execs passt only once
 * the guest's network is up (a byte on go_r): a host client that connected earlier would get
 * a SYN the guest cannot answer, and Debian 12's passt then spins on that connection forever.
 * Until then the published ports are closed, so clients see "connection refused".
 */
static void net_passt_child(char **argv, int sock, int err_w, int go_r, pid_t parent)
{
	static const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	sigset_t none;
	/* Out of the way of 0-4 first, so no dup2 below overwrites another's source. */
	int s = fcntl(sock, F_DUPFD, 10), e = fcntl(err_w, F_DUPFD, 10), g = fcntl(go_r, F_DUPFD, 10);
	int null = open("/dev/null", O_RDWR);
	char go;
	ssize_t r;

	/* Dies with us; a Ctrl-C on the terminal is for hvm, not for passt (own group). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	if (s < 0 || e < 0 || g < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(e, 2) < 0 || dup2(s, NET_PASST_FD) < 0 || dup2(g, NET_PASST_GO_FD) < 0)
		_exit(127);
	if (close_range(NET_PASST_GO_FD + 1, ~0U, 0) < 0)
		for (int fd = NET_PASST_GO_FD + 1; fd < 4096; fd++)
			close(fd);
	while ((r = read(NET_PASST_GO_FD, &go, 1)) < 0 && errno == EINTR)
		;
	if (r != 1)
		_exit(0);	/* the VM ended before its network came up */
	close(NET_PASST_GO_FD);
	execv(argv[0], argv);
	static const char msg[] = "cannot execute passt\n";
	ssize_t ignored = write(2, msg, sizeof(msg) - 1);
	(void)ignored;
	_exit(127);
}

/* Forks the child that runs passt on `sock` once go_r reads a byte; the pid or -errno. */
static pid_t net_passt_spawn(char **argv, int sock, int err_w, int go_r, struct err *e)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0)
		net_passt_child(argv, sock, err_w, go_r, parent);
	if (pid < 0) {
		int err = -errno;
		err_set(e, err, "passt: fork: %s", strerror(errno));
		return err;
	}
	return pid;
}

/* ---- its failure ------------------------------------------------------------------ */

/* The last line of passt's stderr that says something (not its syslog complaints). */
static const char *net_passt_why(struct net_passt *p)
{
	const char *why = "exited without a message";

	for (char *save, *l = strtok_r(p->err, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strstr(l, "to syslog") && !strstr(l, "Don't run as root"))
			why = l;
	return why;
}

/* passt ended (its stream closed): says why, once, in its own words. */
static void net_passt_report_exit(struct net_passt *p)
{
	ssize_t r;

	if (p->reported || p->err_fd < 0)
		return;
	p->reported = 1;
	/* No poll on the I/O thread: it has exited, so a non-blocking read finds it all. */
	do {
		r = read(p->err_fd, p->err + p->err_len, sizeof(p->err) - 1 - p->err_len);
		if (r > 0)
			p->err_len += (size_t)r;
	} while (r > 0 && p->err_len < sizeof(p->err) - 1);
	p->err[p->err_len] = '\0';
	log_err("passt (pid %d): %s", (int)p->pid, net_passt_why(p));
}

/* Starts passt on a fresh socket pair and wraps our end; 0 or -errno (why in e). */
static int net_passt_run(struct net_passt *p, const char *path, const struct net_port_map *maps,
			 unsigned nmaps, struct err *e)
{
	char (*specs)[16] = calloc(nmaps + 1, sizeof(*specs));
	char **argv = net_passt_argv(path, maps, nmaps, specs);
	int sv[2] = { -1, -1 }, pipefd[2] = { -1, -1 }, go[2] = { -1, -1 }, err = 0;

	if (!specs || !argv)
		err = -ENOMEM;
	else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
		 pipe2(pipefd, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		err = -errno;
	/* Our end reads without blocking; passt's end never blocks it on a full pipe either. */
	else if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(pipefd[1], F_SETFL, O_NONBLOCK) < 0)
		err = -errno;
	if (err)
		err_set(e, err, "passt: %s", strerror(-err));
	if (!err && (p->pid = net_passt_spawn(argv, sv[1], pipefd[1], go[0], e)) < 0)
		err = p->pid;
	if (!err) {
		p->go_fd = go[1];
		go[1] = -1;
		p->err_fd = pipefd[0];
		pipefd[0] = -1;
		err = net_stream_open(sv[0], &p->stream);	/* owns sv[0] from here, even failing */
		sv[0] = -1;
	}
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (pipefd[i] >= 0)
			close(pipefd[i]);
		if (go[i] >= 0)
			close(go[i]);
	}
	free(argv);
	free(specs);
	return err;
}

int net_passt_start(const struct net_port_map *maps, unsigned nmaps, struct net_backend **out,
		    struct err *e)
{
	char path[PATH_MAX];
	struct net_passt *p;
	int err = net_passt_find(path, sizeof(path), e);

	if (!err)
		err = net_passt_check_ports(maps, nmaps, e);
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p) {
		err_set(e, -ENOMEM, "passt: out of memory");
		return -ENOMEM;
	}
	p->err_fd = p->go_fd = -1;
	p->be = (struct net_backend){ .ops = &net_passt_ops, .fd = -1,
				      .mtu = NET_BACKEND_MTU_PASST };
	err = net_passt_run(p, path, maps, nmaps, e);
	if (err) {
		net_passt_close(&p->be);
		return err;
	}
	p->be.fd = p->stream->fd;
	snprintf(p->be.name, sizeof(p->be.name), "passt (pid %d)", (int)p->pid);
	log_debug("passt: started as pid %d", (int)p->pid);
	*out = &p->be;
	return 0;
}
