/*
 * Snapshots of a libhvm VM (docs/snapshot.md): hvm_snapshot from the embedding program, the
 * control socket next to the api socket for `hvm-run snapshot` from another process (both
 * done by the service thread, which owns the machine), and restoring one at hvm_start.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/unix_addr.h"
#include "../core/clock.h"
#include "hvm_export.h"
#include "hvm_internal.h"
#include "../core/log.h"

#define CTL_SUFFIX     ".ctl"
#define CTL_LINE_MAX   (PATH_MAX + 32)
#define CTL_WAIT_MS    5000	/* for a client's request line once it connected */

/* ---- restoring (hvm_start, caller's thread) -------------------------------------------- */

int hvm_restore_prepare(struct hvm *vm, struct err *e)
{
	struct machine_config *c = &vm->mcfg;
	int err;

	snprintf(vm->snap_dir, sizeof(vm->snap_dir), "%s", vm->cfg.restore);
	err = snap_read(vm->snap_dir, &vm->snap, &vm->snap_mem_fd, e);
	vm->metrics.snapshot_read_us = clock_now_us();
	if (err)
		return err;
	*c = (struct machine_config){ .console = vm->cfg.console_fd >= 0 };
	err = machine_config_from_snapshot(&vm->snap, vm->snap_dir, c, e);
	/* The back ends are new: a network as this run configures it (the same kind). */
	if (!err)
		err = hvm_stage(vm, HVM_ERROR_NETWORK, hvm_net_setup(&vm->cfg.net, &vm->net, e));
	if (!err && vm->net.backend)
		c->net = vm->net.backend;
	vm->restored = !err;
	if (!vm->metrics.start)
		vm->metrics.start = "restore";
	return err;
}

void hvm_restore_release(struct hvm *vm)
{
	snap_state_free(&vm->snap);
	if (vm->snap_mem_fd >= 0)
		close(vm->snap_mem_fd);
	vm->snap_mem_fd = -1;
	vm->restored = 0;
}

/* ---- taking one (service thread) ------------------------------------------------------- */

int hvm_snapshot_now(struct hvm *vm, int dirfd, const char *dir, int stop, struct err *e)
{
	struct vm *kvm_vm = &vm->machine.vm;
	int was_paused = 0, err;

	for (int i = 0; i < vm->cfg.nvolumes; i++)
		if (vm->cfg.volumes[i].port)	/* a live 9p connection cannot be saved */
			return err_set(e, -EOPNOTSUPP, "snapshot %s: the VM shares the host "
				       "directory %s (no snapshots of VMs with directory volumes)",
				       dir, vm->cfg.volumes[i].host);
	err = vm_pause(kvm_vm);

	if (err == -EALREADY) {	/* hvm_pause'd: it stays paused */
		was_paused = 1;
		err = 0;
	}
	if (err)
		return err_set(e, -ESRCH, "snapshot %s: the VM has stopped", dir);
	err = machine_snapshot(&vm->machine, &vm->mcfg, dirfd, dir, e);
	if (!err && stop)
		vm_stop(kvm_vm, VM_STOP_HOST);
	else if (!was_paused)
		vm_resume(kvm_vm);
	return err;
}

/* DIR for a snapshot, created 0700 when missing, opened as a directory: the fd or -errno
 * (why in e as "snapshot DIR: why"). */
static int snap_open_dir(const char *dir, struct err *e)
{
	int fd = mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 :
		 open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		fd = err_set(e, -errno, "snapshot %s: %s", dir, strerror(errno));
	return fd;
}

/* hvm_snapshot from another thread: like hvm_pause, the service thread does it. */
HVM_API int hvm_snapshot(struct hvm *vm, const char *dir, int stop)
{
	struct err why;
	int dirfd, err;

	if (!dir)
		return -EINVAL;
	err_clear(&why);
	dirfd = snap_open_dir(dir, &why);
	if (dirfd < 0) {
		pthread_mutex_lock(&vm->lock);
		hvm_fail_err(vm, HVM_ERROR_SNAPSHOT, &why, dirfd);
		pthread_mutex_unlock(&vm->lock);
		return dirfd;
	}
	pthread_mutex_lock(&vm->lock);
	err = vm->phase == HVM_RUNNING ? 0 : -ESRCH;
	while (!err && vm->snap_asked && vm->phase == HVM_RUNNING)	/* one at a time */
		pthread_cond_wait(&vm->answered, &vm->lock);
	if (!err && vm->phase == HVM_RUNNING) {
		vm->snap_asked = 1;
		vm->snap_answered = 0;
		vm->snap_dirfd = dirfd;
		vm->snap_stop = stop;
		vm->snap_target = dir;
		hvm_wake(vm);
		while (!vm->snap_answered && vm->phase != HVM_ENDED)
			pthread_cond_wait(&vm->answered, &vm->lock);
		err = vm->snap_answered ? vm->snap_result : -ESRCH;
		vm->snap_asked = 0;
		pthread_cond_broadcast(&vm->answered);
	}
	if (err == -ESRCH)
		hvm_fail_as(vm, HVM_ERROR_USAGE, err, "hvm_snapshot: the VM is not running");
	else if (err)
		hvm_fail_err(vm, HVM_ERROR_SNAPSHOT, &vm->snap_error, err);
	pthread_mutex_unlock(&vm->lock);
	close(dirfd);
	return err;
}

/* ---- the control socket ---------------------------------------------------------------- */

int hvm_control_listen(struct hvm *vm, struct err *e)
{
	if (!vm->cfg.api_socket)
		return 0;
	snprintf(vm->ctl_path, sizeof(vm->ctl_path), "%s%s", vm->vsock_uds, CTL_SUFFIX);
	vm->ctl_fd = hvm_listen_unix(vm->ctl_path, e);
	return vm->ctl_fd < 0 ? vm->ctl_fd : 0;
}

void hvm_control_close(struct hvm *vm)
{
	if (vm->ctl_fd < 0)
		return;
	close(vm->ctl_fd);
	unlink(vm->ctl_path);
	vm->ctl_fd = -1;
}

/* The request line and the directory fd that comes with it; 0 or -errno. */
static int ctl_receive(int fd, char *line, size_t cap, int *dirfd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = line, .iov_len = cap - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct cmsghdr *c;
	ssize_t n;

	*dirfd = -1;
	if (poll(&p, 1, CTL_WAIT_MS) != 1)
		return -ETIMEDOUT;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n <= 0)
		return n < 0 ? -errno : -EPROTO;
	line[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(dirfd, CMSG_DATA(c), sizeof(int));
	return 0;
}

/* "SNAPSHOT [stop] DIR\n" with DIR's fd: the snapshot, answered "OK" or "ERROR why". */
static int ctl_snapshot(struct hvm *vm, int fd)
{
	char line[CTL_LINE_MAX], answer[HVM_ERR_MAX + 16];
	int dirfd, stop = 0, err = ctl_receive(fd, line, sizeof(line), &dirfd);
	char *dir = line + 9;
	struct err why;

	if (!err && (strncmp(line, "SNAPSHOT ", 9) || dirfd < 0 || !strchr(line, '\n')))
		err = -EPROTO;
	if (!err && strncmp(dir, "stop ", 5) == 0) {
		stop = 1;
		dir += 5;
	}
	err_clear(&why);
	if (!err) {
		dir[strcspn(dir, "\n")] = '\0';
		err = hvm_snapshot_now(vm, dirfd, dir, stop, &why);
	}
	if (err == -EPROTO || err == -ETIMEDOUT)
		err_set(&why, err, "control socket: not a snapshot request");
	int n = snprintf(answer, sizeof(answer), err ? "ERROR %s\n" : "OK\n",
			 err_is_set(&why) ? why.msg : strerror(-err));
	if (write(fd, answer, (size_t)n) < 0)
		log_debug("control socket: answer: %s", strerror(errno));
	if (dirfd >= 0)
		close(dirfd);
	return !err && stop;
}

int hvm_control_serve(struct hvm *vm)
{
	int fd = accept4(vm->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), stop;

	if (fd < 0)
		return 0;
	stop = ctl_snapshot(vm, fd);
	close(fd);
	return stop;
}

/* Connects to PATH.ctl and sends the request with the directory's fd; the socket or -errno. */
static int ctl_request(const char *path, const char *line, int dirfd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)line, .iov_len = strlen(line) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	struct sockaddr_un addr;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &dirfd, sizeof(int));
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, unix_addr(&addr, path)) < 0 ||
	    sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* The VMM's one-line answer: 0 for "OK", else -EIO with its reason logged. */
static int ctl_answer(int fd)
{
	char answer[HVM_ERR_MAX + 16];
	size_t n = 0;
	ssize_t r;

	/* The whole snapshot happens before the answer: no time limit but the VMM's. */
	while (n < sizeof(answer) - 1 && (r = read(fd, answer + n, sizeof(answer) - 1 - n)) > 0)
		n += (size_t)r;
	answer[n] = '\0';
	answer[strcspn(answer, "\n")] = '\0';
	if (strcmp(answer, "OK") == 0)
		return 0;
	log_err("%s", strncmp(answer, "ERROR ", 6) == 0 ? answer + 6 :
		"snapshot: the VM closed its control socket without an answer");
	return -EIO;
}

/* `hvm-run snapshot`: asks the VM behind api_socket (its control socket) for a snapshot. */
HVM_API int hvm_snapshot_socket(const char *api_socket, const char *dir, int stop)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8], line[CTL_LINE_MAX];
	char abs_dir[PATH_MAX];
	int dirfd, fd, err;

	if (!api_socket || !dir)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s%s", api_socket, CTL_SUFFIX);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_err("snapshot: %s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	dirfd = snap_open_dir(dir, NULL);	/* no handle: said on stderr */
	if (dirfd < 0)
		return dirfd;
	if (!realpath(dir, abs_dir)) {
		err = -errno;
		log_err("snapshot %s: %s", dir, strerror(errno));
		close(dirfd);
		return err;
	}
	snprintf(line, sizeof(line), "SNAPSHOT %s%s\n", stop ? "stop " : "", abs_dir);
	fd = ctl_request(path, line, dirfd);
	close(dirfd);
	if (fd < 0) {
		log_err("snapshot: %s: %s (is the VM running with --api-socket %s?)", path,
			strerror(-fd), api_socket);
		return fd;
	}
	err = ctl_answer(fd);
	close(fd);
	return err;
}
