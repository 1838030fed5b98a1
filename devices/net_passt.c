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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../vmm/log.h"

#define NET_PASST_FD        3		/* where the child finds its end of the socket pair */
#define NET_PASST_READY_MS  2000	/* bound on waiting for passt's first answer */
#define NET_PASST_STOP_MS   2000	/* bound on waiting for it to exit before SIGKILL */
#define NET_PASST_NOBODY    "65534:65534"
#define NET_PASST_ERR_MAX   512

struct net_passt {
	struct net_backend be;
	struct net_backend *stream;	/* the protocol, over our end of the socket pair */
	pid_t pid;
	int err_fd;			/* passt's stderr, read when it fails */
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

static ssize_t net_passt_recv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct net_passt *p = (struct net_passt *)be;

	return p->stream->ops->recv(p->stream, iov, n);
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
	.close = net_passt_close,
};

/* ---- before starting: the binary and the host ports ----------------------------------- */

/* Finds passt on PATH; 0 or -ENOENT (logged with the package to install). */
static int net_passt_find(char *path, size_t cap)
{
	const char *env = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s", env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
	for (char *save, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, cap, "%s/passt", *dir ? dir : ".");
		if (access(path, X_OK) == 0)
			return 0;
	}
	log_err("passt: not found; install the Debian package 'passt'");
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

static int net_passt_check_ports(const struct net_port_map *maps, unsigned nmaps)
{
	for (unsigned i = 0; i < nmaps; i++) {
		const struct net_port_map *m = &maps[i];
		const char *proto = m->udp ? "udp" : "tcp";
		int err;

		if (!m->host_port || !m->guest_port) {
			log_err("publishing port %u:%u/%s: port 0 cannot be published", m->host_port,
				m->guest_port, proto);
			return -EINVAL;
		}
		err = net_passt_try_bind(AF_INET, m);
		if (!err)
			err = net_passt_try_bind(AF_INET6, m);
		if (err) {
			log_err("publishing port %u/%s: %s", m->host_port, proto,
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
	argv[a++] = "--mtu";		/* what DHCP tells the guest: our device's MTU */
	argv[a++] = "1500";
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

/* In the child, between fork and exec: async-signal-safe calls only. */
static void net_passt_child(char **argv, int sock, int err_w, pid_t parent)
{
	static const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD };
	sigset_t none;
	/* Out of the way of 0-3 first, so no dup2 below overwrites the other's source. */
	int s = fcntl(sock, F_DUPFD, 10), e = fcntl(err_w, F_DUPFD, 10);
	int null = open("/dev/null", O_RDWR);

	/* Dies with us; a Ctrl-C on the terminal is for hvm, not for passt (own group). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	if (s < 0 || e < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(e, 2) < 0 || dup2(s, NET_PASST_FD) < 0)
		_exit(127);
	if (close_range(NET_PASST_FD + 1, ~0U, 0) < 0)
		for (int fd = NET_PASST_FD + 1; fd < 4096; fd++)
			close(fd);
	execv(argv[0], argv);
	static const char msg[] = "cannot execute passt\n";
	ssize_t ignored = write(2, msg, sizeof(msg) - 1);
	(void)ignored;
	_exit(127);
}

/* Forks passt on `sock` with stderr into the pipe err_w; the pid or -errno. */
static pid_t net_passt_spawn(char **argv, int sock, int err_w)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0)
		net_passt_child(argv, sock, err_w, parent);
	if (pid < 0) {
		int err = -errno;
		log_err("passt: fork: %s", strerror(errno));
		return err;
	}
	return pid;
}

/* ---- waiting until it answers ------------------------------------------------------ */

/* An ARP request from the guest's MAC: any answer proves passt is set up and listening. */
static void net_passt_probe_frame(uint8_t f[60], const uint8_t mac[6])
{
	static const uint8_t arp_hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };	/* Ethernet/IPv4, request */
	static const uint8_t target[4] = { 169, 254, 0, 1 };	/* never passt's guest address */

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, arp_hdr, sizeof(arp_hdr));
	memcpy(f + 22, mac, 6);			/* sender 0.0.0.0: a probe claims no address */
	memcpy(f + 38, target, sizeof(target));
}

/* Keeps what passt writes on stderr; 0 at its end (passt exited), else 1. */
static int net_passt_read_err(struct net_passt *p)
{
	ssize_t r = read(p->err_fd, p->err + p->err_len, sizeof(p->err) - 1 - p->err_len);

	if (r > 0)
		p->err_len += (size_t)r;
	if (p->err_len == sizeof(p->err) - 1)
		p->err_len = 0;		/* keep the newest lines: the error comes last */
	p->err[p->err_len] = '\0';
	return r != 0;
}

/* The last line of passt's stderr that says something (not its syslog complaints). */
static const char *net_passt_why(struct net_passt *p)
{
	const char *why = "exited without a message";

	for (char *save, *l = strtok_r(p->err, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strstr(l, "to syslog") && !strstr(l, "Don't run as root"))
			why = l;
	return why;
}

/* Takes everything passt still writes on stderr; it has exited or been killed. */
static void net_passt_drain_err(struct net_passt *p)
{
	struct pollfd fd = { p->err_fd, POLLIN, 0 };

	while (poll(&fd, 1, 100) == 1 && net_passt_read_err(p))
		;
}

/* Waits for passt's answer to the probe; 0 when it is up, or -errno (logged). */
static int net_passt_wait_ready(struct net_passt *p, const uint8_t mac[6])
{
	uint64_t end = net_passt_now_ms() + NET_PASST_READY_MS;
	uint8_t probe[60], buf[2048];
	struct iovec v = { probe, sizeof(probe) };
	ssize_t r = 0;
	int err;

	net_passt_probe_frame(probe, mac);
	err = p->stream->ops->send(p->stream, &v, 1);
	if (!err)
		err = p->stream->ops->flush(p->stream);
	v = (struct iovec){ buf, sizeof(buf) };
	for (uint64_t now; !err && (now = net_passt_now_ms()) < end;) {
		struct pollfd fds[2] = { { p->stream->fd, POLLIN, 0 }, { p->err_fd, POLLIN, 0 } };
		if (poll(fds, 2, (int)(end - now)) < 0 && errno != EINTR)
			err = -errno;
		else if (fds[1].revents && !net_passt_read_err(p))
			err = -EIO;	/* stderr closed: passt exited */
		else if (fds[0].revents && (r = p->stream->ops->recv(p->stream, &v, 1)) != 0)
			err = r > 0 || r == -EMSGSIZE ? 1 : (int)r;	/* any frame will do */
	}
	if (err == 1)
		return 0;
	if (!err) {
		/* Alive but silent (a host without IPv4 answers no ARP): take it as up. */
		log_debug("passt: no answer to the ARP probe in %d ms; assuming it is up",
			  NET_PASST_READY_MS);
		return 0;
	}
	kill(p->pid, SIGTERM);
	net_passt_reap(p->pid, NET_PASST_STOP_MS);
	p->pid = 0;
	net_passt_drain_err(p);
	const char *why = net_passt_why(p);
	log_err("passt: %s", why);
	return strstr(why, "bind") ? -EADDRINUSE : err;
}

/* Starts passt on a fresh socket pair and wraps our end; 0 or -errno (logged). */
static int net_passt_run(struct net_passt *p, const char *path, const struct net_port_map *maps,
			 unsigned nmaps)
{
	char (*specs)[16] = calloc(nmaps + 1, sizeof(*specs));
	char **argv = net_passt_argv(path, maps, nmaps, specs);
	int sv[2] = { -1, -1 }, pipefd[2] = { -1, -1 }, err = 0;

	if (!specs || !argv)
		err = -ENOMEM;
	else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
		 pipe2(pipefd, O_CLOEXEC) < 0)
		err = -errno;
	/* Our end reads without blocking; passt's end never blocks it on a full pipe either. */
	else if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(pipefd[1], F_SETFL, O_NONBLOCK) < 0)
		err = -errno;
	if (err)
		log_err("passt: %s", strerror(-err));
	if (!err && (p->pid = net_passt_spawn(argv, sv[1], pipefd[1])) < 0)
		err = p->pid;
	if (!err) {
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
	}
	free(argv);
	free(specs);
	return err;
}

int net_passt_start(const struct net_port_map *maps, unsigned nmaps, const uint8_t mac[6],
		    struct net_backend **out)
{
	char path[PATH_MAX];
	struct net_passt *p;
	int err = net_passt_find(path, sizeof(path));

	if (!err)
		err = net_passt_check_ports(maps, nmaps);
	if (err)
		return err;
	p = calloc(1, sizeof(*p));
	if (!p) {
		log_err("passt: out of memory");
		return -ENOMEM;
	}
	p->err_fd = -1;
	p->be = (struct net_backend){ .ops = &net_passt_ops, .fd = -1 };
	err = net_passt_run(p, path, maps, nmaps);
	if (!err)
		err = net_passt_wait_ready(p, mac);
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
