#include "oci_vm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/unix_addr.h"
#include "../include/hvm.h"
#include "oci_cgroup.h"
#include "oci_console.h"
#include "oci_files.h"
#include "oci_log.h"
#include "oci_state.h"

#define CTL_READ_TIMEOUT_MS 5000	/* a request line arrives at once or not at all */

struct sup {
	struct hvm *vm;
	const struct oci_spec *spec;
	const char *dir;
	struct oci_state st;
	int listen_fd, sigfd, tty_fd;
	int debug;			/* --debug: the guest kernel log goes to --log */
	int jail;			/* root without --no-jail: the VMM jails itself at start */
	unsigned uid, gid;		/* the jail's ids */
	pthread_mutex_t lock;		/* vm may not be used once `ended` is set */
	int ended;
};

int oci_sock_path(const char *dir, const char *name, char *buf, size_t cap, int *dirfd)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);

	*dirfd = -1;
	if (strlen(dir) + 1 + strlen(name) < max) {
		snprintf(buf, cap, "%s/%s", dir, name);
		return 0;
	}
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -errno;
	snprintf(buf, cap, "/proc/self/fd/%d/%s", *dirfd, name);
	return 0;
}

/* Reads one line (up to '\n' or EOF) from fd; timeout_ms -1 waits as long as it takes. */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	while (n + 1 < cap) {
		ssize_t r;
		if (poll(&p, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return n ? 0 : -EIO;
}

int oci_vm_request(const char *dir, const char *req, char *msg, size_t cap)
{
	char path[256], line[1024];
	int dirfd, fd, err = oci_sock_path(dir, OCI_CTL_SOCKET, path, sizeof(path), &dirfd);

	fd = err ? err : unix_connect(path, 0);
	if (dirfd >= 0)
		close(dirfd);
	if (fd < 0) {
		snprintf(msg, cap, "%s", strerror(-fd));
		return fd;
	}
	if (dprintf(fd, "%s\n", req) < 0 || read_line(fd, line, sizeof(line), -1) < 0) {
		snprintf(msg, cap, "the container's supervisor did not answer");
		close(fd);
		return -EIO;
	}
	close(fd);
	if (strcmp(line, "ok") == 0)
		return 0;
	snprintf(msg, cap, "%s", strncmp(line, "err ", 4) == 0 ? line + 4 : line);
	return -EIO;
}

/* ---- the supervisor ------------------------------------------------------------------ */

static int vm_fail(struct sup *s, const char *what, int err)
{
	const char *why = s->vm ? hvm_error(s->vm) : "";

	oci_err("%s: %s", what, why && why[0] ? why : strerror(-err));
	return err;
}

/* The agent's settings and in-guest hooks, with the state those hooks read on stdin. */
static int guest_settings(struct sup *s)
{
	cJSON *extra = cJSON_Parse(s->spec->guest);
	char *state = oci_state_json(&s->st, "created"), *text = NULL;
	int err;

	if (extra && state && cJSON_AddStringToObject(extra, "state", state))
		text = cJSON_PrintUnformatted(extra);
	err = text ? hvm_set_run_extra(s->vm, text) : -ENOMEM;
	cJSON_Delete(extra);
	free(state);
	free(text);
	return err;
}

static int configure_process(struct sup *s)
{
	const struct oci_process *p = &s->spec->process;
	char user[32];
	int err;

	err = hvm_set_argv(s->vm, (const char *const *)p->args);
	for (int i = 0; !err && p->env[i]; i++)
		err = hvm_add_env(s->vm, p->env[i]);
	if (!err && p->cwd)
		err = hvm_set_workdir(s->vm, p->cwd);
	snprintf(user, sizeof(user), "%u:%u", p->uid, p->gid);
	if (!err)
		err = hvm_set_user(s->vm, user);
	if (!err && s->spec->hostname && s->spec->hostname[0])
		err = hvm_set_hostname(s->vm, s->spec->hostname);
	if (!err)
		err = guest_settings(s);
	return err ? vm_fail(s, "process", err) : 0;
}

static int configure_stdio(struct sup *s)
{
	const struct oci_process *p = &s->spec->process;
	unsigned rows, cols;
	int err;

	if (s->tty_fd >= 0) {
		oci_console_size(s->tty_fd, &rows, &cols);
		err = hvm_set_stdio(s->vm, s->tty_fd, s->tty_fd, -1);
		if (!err)
			err = hvm_set_tty(s->vm, 1, rows, cols);
	} else {
		err = hvm_set_stdio(s->vm, STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO);
		if (!err && p->terminal)	/* no console socket: our own stdin is the terminal */
			err = hvm_set_tty(s->vm, 1, p->rows ? p->rows : 24, p->cols ? p->cols : 80);
	}
	return err ? vm_fail(s, "stdio", err) : 0;
}

/* The network namespace the engine made for the container: the VM's network lives there. */
static int enter_netns(const struct oci_spec *spec)
{
	int fd;

	if (!spec->netns)
		return 0;
	fd = open(spec->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		oci_err("network namespace %s: %s", spec->netns, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

/* The jail (docs/jail.md) keeps the state directory, where the api socket is, and the
 * supervisor writes the state and removes its ctl socket there as the jail's uid. */
static int jail_vm(struct sup *s, int dirfd)
{
	if (dirfd >= 0) {	/* /proc/self/fd/N/api.sock: no /proc in the jail */
		oci_err("%s: too long a path for the api socket of a jailed VM; use a shorter "
			"--root or --no-jail", s->dir);
		return -ENAMETOOLONG;
	}
	if (chown(s->dir, s->uid, s->gid) < 0) {
		oci_err("%s: %s", s->dir, strerror(errno));
		return -errno;
	}
	/* with a /proc: engines read the container's processes there (podman top) */
	return hvm_set_jail(s->vm, HVM_JAIL_ON | HVM_JAIL_PROC, s->uid, s->gid);
}

/* Binds of host directories become the VM's shares, with their ro, nosuid, nodev and noexec;
 * the rest of a bind's propagation options mean nothing across a VM boundary. */
static int add_shares(struct sup *s)
{
	const struct oci_spec *spec = s->spec;
	int err = 0;

	for (int i = 0; i < spec->nmounts && !err; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		if (!oci_files_is_share(m))
			continue;
		int flags = (m->read_only ? HVM_VOLUME_RO : 0) | (m->nosuid ? HVM_VOLUME_NOSUID : 0) |
			    (m->nodev ? HVM_VOLUME_NODEV : 0) | (m->noexec ? HVM_VOLUME_NOEXEC : 0);
		err = hvm_add_volume(s->vm, m->source, m->destination, flags, 0);
	}
	return err;
}

static int configure_vm(struct sup *s)
{
	const struct oci_spec *spec = s->spec;
	char api[256];
	int dirfd, err = hvm_create(&s->vm);

	if (err)
		return vm_fail(s, "hvm_create", err);
	err = hvm_set_image(s->vm, spec->root);
	if (!err)
		err = hvm_set_read_only(s->vm, spec->root_read_only);
	if (!err && spec->mem_mib)
		err = hvm_set_memory(s->vm, spec->mem_mib);
	if (!err && spec->cpus)
		err = hvm_set_cpus(s->vm, spec->cpus);
	if (!err && s->debug && oci_log_fd() >= 0)
		err = hvm_set_console(s->vm, oci_log_fd());
	if (!err)	/* warm starts from a configuration's third container on (docs/embedding.md) */
		err = hvm_set_templates(s->vm, HVM_TEMPLATES_REPEATED);
	if (!err)
		err = oci_sock_path(s->dir, OCI_API_SOCKET, api, sizeof(api), &dirfd);
	if (!err)	/* dirfd, if any, stays open for the supervisor's life */
		err = hvm_set_api_socket(s->vm, api);
	if (!err && s->jail)
		err = jail_vm(s, dirfd);
	if (!err)
		err = add_shares(s);
	if (err)
		return vm_fail(s, "VM", err);
	err = configure_process(s);
	return err ? err : configure_stdio(s);
}

/* Signals the supervisor takes for the container: all that can be caught and make sense to
 * forward. They are blocked in every thread (libhvm's included) and read from a signalfd. */
static int block_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH,
				    SIGCONT, SIGALRM };
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static void finish(struct sup *s, int status) __attribute__((noreturn));
static void finish(struct sup *s, int status)
{
	char path[4096];

	pthread_mutex_lock(&s->lock);
	s->ended = 1;
	pthread_mutex_unlock(&s->lock);
	snprintf(path, sizeof(path), "%s/%s", s->dir, OCI_CTL_SOCKET);
	unlink(path);
	if (s->vm)
		hvm_destroy(s->vm);
	exit(status);
}

/* A signal for the container. Before start there is no process yet: like runc's init
 * waiting for start, the container dies of any signal that would kill a process. */
static void deliver(struct sup *s, int sig, int started)
{
	unsigned rows, cols;

	if (sig == SIGWINCH) {
		if (started && s->tty_fd >= 0) {
			oci_console_size(s->tty_fd, &rows, &cols);
			pthread_mutex_lock(&s->lock);
			if (!s->ended)
				hvm_resize(s->vm, rows, cols);
			pthread_mutex_unlock(&s->lock);
		}
		return;
	}
	if (!started) {
		if (sig != SIGCONT && sig != SIGCHLD && sig != SIGURG)
			finish(s, 128 + sig);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (!s->ended)
		hvm_kill(s->vm, sig);
	pthread_mutex_unlock(&s->lock);
}

/* Records status in state.json; the old one stays in memory when it cannot be written. */
static int set_status(struct sup *s, const char *status)
{
	char *old = s->st.status;
	int err;

	s->st.status = strdup(status);
	if (!s->st.status) {
		s->st.status = old;
		return -ENOMEM;
	}
	err = oci_state_write(s->dir, &s->st);
	if (err) {
		free(s->st.status);
		s->st.status = old;
	} else {
		free(old);
	}
	return err;
}

static int do_start(struct sup *s, char *reply, size_t cap)
{
	int err = hvm_start(s->vm);

	if (err) {
		snprintf(reply, cap, "err start: %s", hvm_error(s->vm)[0] ? hvm_error(s->vm)
									 : strerror(-err));
		return err;
	}
	err = set_status(s, "running");
	snprintf(reply, cap, err ? "err state: %s" : "ok", strerror(-err));
	return err;
}

/* hvm_pause/hvm_resume's refusals in the words of a container's state. */
static const char *pause_why(struct sup *s, int pause, int err)
{
	switch (err) {
	case -EALREADY:
		return pause ? "the container is paused already" : "the container is not paused";
	case -EINVAL:
		return "the container is not started";
	case -ESRCH:
		return "the container has stopped";
	}
	return hvm_error(s->vm)[0] ? hvm_error(s->vm) : strerror(-err);
}

/* Pauses (pause 1) or resumes the VM and records it. The VM first: `state` never says
 * "paused" of a VM that still runs. Under s->lock, as every use of s->vm after start;
 * a record that cannot be written undoes the change, so record and VM agree. */
static void pause_vm(struct sup *s, int pause, char *reply, size_t cap)
{
	int err;

	pthread_mutex_lock(&s->lock);
	err = s->ended ? -ESRCH : pause ? hvm_pause(s->vm) : hvm_resume(s->vm);
	if (err) {
		snprintf(reply, cap, "err %s", pause_why(s, pause, err));
	} else if ((err = set_status(s, pause ? "paused" : "running"))) {
		snprintf(reply, cap, "err state: %s", strerror(-err));
		if (pause)
			hvm_resume(s->vm);
		else
			hvm_pause(s->vm);
	}
	pthread_mutex_unlock(&s->lock);
}

/* A start request on fd, answered and closed; a start that fails ends the supervisor.
 * Returns 1 when it started the container. */
static int serve_start(struct sup *s, int fd, int started)
{
	char reply[1024];

	if (started) {
		dprintf(fd, "err cannot start an already running container\n");
		close(fd);
		return 0;
	}
	if (do_start(s, reply, sizeof(reply))) {
		dprintf(fd, "%s\n", reply);
		close(fd);
		oci_err("%s", reply + 4);
		finish(s, 125);
	}
	dprintf(fd, "ok\n");
	close(fd);
	return 1;
}

/* Serves one ctl connection. Returns 1 when it started the container. */
static int serve_one(struct sup *s, int started)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC), sig = 0;
	char line[256], reply[1024] = "ok";

	if (fd < 0)
		return 0;
	if (read_line(fd, line, sizeof(line), CTL_READ_TIMEOUT_MS) < 0) {
		close(fd);
		return 0;
	}
	if (strcmp(line, "start") == 0)
		return serve_start(s, fd, started);
	if (strcmp(line, "pause") == 0 || strcmp(line, "resume") == 0) {
		pause_vm(s, strcmp(line, "pause") == 0, reply, sizeof(reply));
	} else if (sscanf(line, "kill %d", &sig) != 1 || sig <= 0 || sig >= NSIG) {
		sig = 0;
		snprintf(reply, sizeof(reply), "err unknown request: %s", line);
	}
	dprintf(fd, "%s\n", reply);
	close(fd);
	if (sig)
		deliver(s, sig, started);
	return 0;
}

/* Polls ctl.sock and the signalfd; returns once a start request succeeded (before start) or
 * never (after start: the thread body). */
static void serve(struct sup *s, int started)
{
	struct signalfd_siginfo si;

	for (;;) {
		struct pollfd p[2] = { { .fd = s->listen_fd, .events = POLLIN },
				       { .fd = s->sigfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents && read(s->sigfd, &si, sizeof(si)) == sizeof(si))
			deliver(s, (int)si.ssi_signo, started);
		if (p[0].revents && serve_one(s, started) && !started)
			return;
	}
}

static void *serve_thread(void *arg)
{
	serve(arg, 1);
	return NULL;
}

static void supervise(struct sup *s) __attribute__((noreturn));
static void supervise(struct sup *s)
{
	pthread_t t;
	int status = 125, err;

	serve(s, 0);
	pthread_create(&t, NULL, serve_thread, s);
	err = hvm_wait(s->vm, -1, &status);
	if (err || (status == 125 && hvm_error(s->vm)[0])) {	/* the guest's refusal too */
		oci_err("%s%s", err ? "wait: " : "", hvm_error(s->vm));
		status = 125;
	}
	oci_debug("container %s exited with status %d", s->st.id, status);
	finish(s, status);
}

/* Our pid as the host sees it: /proc is the host's, and its "self" says so (getpid() is 1
 * in the jail's PID namespace). */
static pid_t host_pid(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return getpid();
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

/* The supervisor's setup; tells the parent through ready_fd, then serves. */
static void supervisor_main(struct sup *s, int ready_fd) __attribute__((noreturn));
static void supervisor_main(struct sup *s, int ready_fd)
{
	char ctl[256], now[64];
	int dirfd, err;

	setsid();
	if (oci_cgroup_enter(s->dir))	/* before any thread or process: they all inherit it */
		_exit(1);
	if (chdir("/") < 0)	/* hold no engine directory busy; every path here is absolute */
		_exit(125);
	if (s->tty_fd >= 0)	/* SIGWINCH when the engine resizes the master, SIGHUP on close */
		ioctl(s->tty_fd, TIOCSCTTY, 0);
	s->sigfd = block_signals();
	oci_now_rfc3339(now, sizeof(now));
	s->st.pid = s->jail ? host_pid() : getpid();	/* the in-guest hooks' state has it */
	s->st.pid_start = oci_pid_start(s->st.pid);
	s->st.created = strdup(now);
	s->st.status = strdup("created");
	err = s->sigfd < 0 ? s->sigfd : enter_netns(s->spec);
	if (!err)
		err = configure_vm(s);
	if (!err)
		err = oci_sock_path(s->dir, OCI_CTL_SOCKET, ctl, sizeof(ctl), &dirfd);
	if (!err && (s->listen_fd = unix_listen(ctl, 16, 0)) < 0) {
		err = s->listen_fd;
		oci_err("%s: %s", ctl, strerror(-err));
	}
	if (!err && (err = oci_state_write(s->dir, &s->st)) < 0)
		oci_err("%s/%s: %s", s->dir, OCI_STATE_FILE, strerror(-err));
	if (err)
		_exit(125);
	if (write(ready_fd, "", 1) != 1)
		_exit(125);
	close(ready_fd);
	supervise(s);
}

/* fork(), the child being PID 1 of a new PID namespace: the jail's (docs/jail.md). The
 * supervisor signals and waits like any init; our later children are born in ours again. */
static pid_t fork_pid_ns(void)
{
	int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC), err;
	pid_t pid;

	if (own < 0 || unshare(CLONE_NEWPID) < 0) {
		err = -errno;
		oci_err("jail: a new PID namespace: %s (--no-jail runs without)", strerror(errno));
		if (own >= 0)
			close(own);
		errno = -err;
		return -1;
	}
	pid = fork();
	if (pid != 0 && setns(own, CLONE_NEWPID) < 0)
		oci_err("jail: back to our PID namespace: %s", strerror(errno));
	close(own);
	return pid;
}

pid_t oci_vm_create(const struct oci_cli *c, const char *dir, const char *bundle,
		    const struct oci_spec *spec)
{
	static struct sup s;	/* the child's, for the rest of its life */
	int ready[2], status;
	pid_t pid;
	char b;

	s = (struct sup){ .spec = spec, .dir = dir, .tty_fd = -1, .listen_fd = -1, .sigfd = -1,
			  .debug = c->debug, .lock = PTHREAD_MUTEX_INITIALIZER,
			  .jail = !c->no_jail && geteuid() == 0, .uid = (unsigned)c->jail_uid,
			  .gid = (unsigned)c->jail_gid };
	s.st = (struct oci_state){ .id = (char *)c->id, .bundle = (char *)bundle,
				   .annotations = spec->annotations };
	if (oci_files_copy(spec))
		return -EIO;
	if (c->console_socket) {
		s.tty_fd = oci_console_open(c->console_socket, spec->process.rows,
					    spec->process.cols);
		if (s.tty_fd < 0)
			return s.tty_fd;
	}
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	pid = s.jail ? fork_pid_ns() : fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(ready[0]);
		supervisor_main(&s, ready[1]);
	}
	close(ready[1]);
	if (s.tty_fd >= 0)
		close(s.tty_fd);
	if (read(ready[0], &b, 1) != 1) {	/* it failed and said why */
		waitpid(pid, &status, 0);
		close(ready[0]);
		return WIFEXITED(status) && WEXITSTATUS(status) == 1 ? -EINVAL : -EIO;
	}
	close(ready[0]);
	return pid;
}
