/*
 * The self-jail. Two steps, because a PID namespace only applies to children:
 *
 * jail_fork: the caller's process forks once into a new PID namespace. The parent stays
 * outside and does nothing but wait: signals sent to it are passed to the child as records
 * on a socket (the child, PID 1 of its namespace, keeps those signals at their default
 * action, so the kernel drops copies sent to it from outside, such as a terminal's
 * Ctrl-C to the whole process group: each signal reaches the VM once), and the child's
 * exit status becomes the parent's answer.
 *
 * jail_enter: in the child, once the image is converted, volumes made, passt started and
 * the TAP open, and before the machine exists. The files the machine will open (/dev/kvm,
 * kernel, initramfs, disk images) are opened first, by the caller (root, or a user in a user
 * namespace of its own: jail_privileges) and never through a symlink in their last
 * component, and handed out by jail_open: the jailed uid need not be able to open them, and
 * nothing of them needs to be in the jail. Then new mount, IPC and UTS
 * namespaces; an empty, read-only tmpfs root holding only the directories asked for (the
 * api socket's; the private sockets are abstract), each cloned as a detached mount from an fd
 * opened without following a symlink and attached by fd, so no path is resolved twice;
 * rlimits; every capability dropped, the given gid/uid, no_new_privs. Nothing here is
 * undone on failure: a process whose jail_enter failed must not run a guest.
 */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "proc_self.h"
#include "sanitize.h"

/* Where the new root is assembled: covered in the jail's own mount namespace only. */
#define JAIL_BUILD_AT "/tmp"

static int fail(struct err *e, const char *what, const char *why_path)
{
	int err = -errno;

	return err_set(e, err, "jail: %s%s%s: %s", what, why_path ? " " : "",
		       why_path ? why_path : "", strerror(-err));
}

/* Set once this process is in a user namespace of its own: an unprivileged jail. */
static int jail_in_userns;

/* Writes text to /proc/self/FILE; 0 or -errno (why in e). */
static int write_proc_self(const char *file, const char *text, struct err *e)
{
	char path[64];
	size_t len = strlen(text);
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		err = fail(e, "writing", path);
	if (fd >= 0)
		close(fd);
	return err;
}

/*
 * Root has what the jail needs. Anyone else first enters a user namespace of their own that
 * maps only their uid and gid (to themselves): its capabilities make the other namespaces
 * and the minimal root, and reach nothing the caller could not (user_namespaces(7)), as
 * rootless crun and podman do. The process must be single-threaded. 0 or -errno (why in e).
 */
static int jail_privileges(struct err *e)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[32];
	int err;

	if (uid == 0 || jail_in_userns)
		return 0;
	if (unshare(CLONE_NEWUSER) < 0) {
		err = -errno;
		err_set(e, err, "jail: a user namespace for uid %u: %s%s", (unsigned)uid,
			strerror(-err), err == -EPERM || err == -ENOSPC ? " (unprivileged user "
			"namespaces are off here: sysctl kernel.unprivileged_userns_clone, "
			"user.max_user_namespaces)" : "");
		return err;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	err = write_proc_self("uid_map", map, e);
	if (!err)	/* gid_map needs it: a process can then never drop a group to gain access */
		err = write_proc_self("setgroups", "deny", e);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (!err)
		err = write_proc_self("gid_map", map, e);
	jail_in_userns = !err;
	return err;
}

int jail_unprivileged(void)
{
	return jail_in_userns || geteuid() != 0;
}

/* ---- jail_fork --------------------------------------------------------------------------- */

static int decode_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 125;
}

/* The parent's loop: forwards what sig_fd reads to sock until pid has ended. */
static int wait_child(pid_t pid, int sig_fd, int sock)
{
	struct signalfd_siginfo si;
	int ws = 0;

	for (;;) {
		ssize_t n = read(sig_fd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si))
			break;
		if (si.ssi_signo == SIGCHLD) {
			if (waitpid(pid, &ws, WNOHANG) == pid)
				return decode_status(ws);
			continue;
		}
		if (send(sock, &si, sizeof(si), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("jail: forwarding signal %u: %s", si.ssi_signo, strerror(errno));
	}
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return 125;
	return decode_status(ws);
}

/* Signals that came once the child had ended were for it: dropped, not left to end us when
 * the mask goes back (the caller is about to exit with the child's status). */
static void drain(int sig_fd)
{
	struct pollfd p = { .fd = sig_fd, .events = POLLIN };
	struct signalfd_siginfo si;

	while (poll(&p, 1, 0) == 1 && read(sig_fd, &si, sizeof(si)) == sizeof(si))
		;
}

/* The child: forwarded signals back at their defaults (dropped when sent from outside). */
static void child_side(const sigset_t *forward, const sigset_t *old)
{
	for (int s = 1; s < NSIG; s++)
		if (sigismember(forward, s) == 1)
			signal(s, SIG_DFL);
	pthread_sigmask(SIG_SETMASK, old, NULL);
	pthread_sigmask(SIG_UNBLOCK, forward, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);	/* the parent killed: the VM goes with it */
}

int jail_fork(const sigset_t *forward, int *sig_fd, int *status)
{
	struct err *e = NULL;	/* no caller's object to fill: said on stderr */
	sigset_t block = *forward, old;
	int sv[2], sfd, own, err;
	pid_t pid;

	SANITIZE_LEAK_CHECK_NOW();	/* neither side could at exit */
	err = jail_privileges(e);

	if (err)
		return err;
	sigaddset(&block, SIGCHLD);
	own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return fail(e, "/proc/self/ns/pid", NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		err = fail(e, "socketpair", NULL);
		close(own);
		return err;
	}
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sfd = signalfd(-1, &block, SFD_CLOEXEC);
	if (sfd < 0 || unshare(CLONE_NEWPID) < 0) {
		err = fail(e, sfd < 0 ? "signalfd" : "new PID namespace", NULL);
		goto out;
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		close(sfd);
		close(own);
		child_side(forward, &old);
		*sig_fd = sv[1];
		return 0;
	}
	err = pid < 0 ? fail(e, "fork", NULL) : 1;
	/* Our own later children (none in hvm-run) are born in our namespace again; in a user
	 * namespace of our own that is not ours to choose any more. */
	if (!jail_in_userns && setns(own, CLONE_NEWPID) < 0)
		log_warn("jail: back to our PID namespace: %s", strerror(errno));
	if (pid > 0)
		*status = wait_child(pid, sfd, sv[0]);
out:
	if (sfd >= 0) {
		drain(sfd);
		close(sfd);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(own);
	close(sv[0]);
	close(sv[1]);
	return err;
}

/* ---- jail_probe -------------------------------------------------------------------------- */

/* The steps a jail takes that a host may refuse, in order, as jail_probe names them. */
static const char *const probe_steps[] = {
	"a user namespace", "new PID, mount, IPC and UTS namespaces", "making mounts private",
	"a tmpfs root",
};

/* Step i of the probe; 0 or an errno. */
static int probe_try(int i)
{
	switch (i) {
	case 0: return -jail_privileges(NULL);	/* its own line is logged, to /dev/null */
	case 1: return unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0
		       ? errno : 0;
	case 2: return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ? errno : 0;
	default: return mount("hvm-jail-probe", JAIL_BUILD_AT, "tmpfs",
			      MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k") < 0 ? errno : 0;
	}
}

/* The probe's child: each step in turn; exits with the number of the one refused (1 on),
 * after writing its errno to fd, or 0. */
static __attribute__((noreturn)) void probe_child(int fd)
{
	for (int i = 0; i < (int)(sizeof(probe_steps) / sizeof(probe_steps[0])); i++) {
		int err = probe_try(i);
		if (err) {
			if (write(fd, &err, sizeof(err)) != sizeof(err))
				_exit(255);
			_exit(i + 1);
		}
	}
	_exit(0);
}

int jail_probe(const char **step)
{
	int pipefd[2], err = 0, ws;
	pid_t pid;

	*step = "fork";
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, STDERR_FILENO);	/* the warning is the caller's to give */
		probe_child(pipefd[1]);
	}
	close(pipefd[1]);
	if (pid < 0)
		err = -errno;
	while (pid > 0 && waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			break;
	if (pid > 0 && !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) {
		int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 0;
		if (read(pipefd[0], &err, sizeof(err)) != sizeof(err) || err <= 0)
			err = EIO;
		err = -err;
		*step = code >= 1 && code <= (int)(sizeof(probe_steps) / sizeof(probe_steps[0]))
			? probe_steps[code - 1] : "the probe";
	}
	close(pipefd[0]);
	return err;
}

/* ---- paths ----------------------------------------------------------------------------- */

int jail_abspath(const char *path, char *out, size_t cap)
{
	char buf[2 * PATH_MAX], *save = NULL;
	size_t n = 0, len = 0;

	if (path[0] != '/') {
		if (!getcwd(buf, PATH_MAX))
			return -errno;
		n = strlen(buf);
	}
	if (snprintf(buf + n, sizeof(buf) - n, "/%s", path) >= (int)(sizeof(buf) - n) || cap < 2)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		char *up = strrchr(out, '/');
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (up)
				*up = '\0';
			len = strlen(out);
			continue;
		}
		if (len + 1 + strlen(c) + 1 > cap)
			return -ENAMETOOLONG;
		out[len++] = '/';
		strcpy(out + len, c);
		len += strlen(c);
	}
	if (!len)
		strcpy(out, "/");
	return 0;
}

int jail_add(struct jail_config *c, const char *path, unsigned flags, struct err *e)
{
	if (!path)
		return 0;
	if (c->nbinds == JAIL_MAX_BINDS) {
		err_set(e, -E2BIG, "jail: %s: more than %d paths", path, JAIL_MAX_BINDS);
		return -E2BIG;
	}
	c->binds[c->nbinds++] = (struct jail_bind){ .path = path, .flags = flags };
	return 0;
}

/* A directory under dir (made when missing), opened without following a symlink. */
static int mkdir_open(int dir, const char *name)
{
	int fd;

	if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The parent directory of abs (absolute, folded) under root, made as needed; *name is the
 * last component (inside abs, which is cut at its slashes while walking). */
static int walk_parent(int root, char *abs, char **name)
{
	char *p = abs + 1, *slash;
	int dir = dup(root);

	if (dir < 0)
		return -errno;
	while ((slash = strchr(p, '/'))) {
		int next;
		*slash = '\0';
		next = mkdir_open(dir, p);
		*slash = '/';
		close(dir);
		if (next < 0)
			return next;
		dir = next;
		p = slash + 1;
	}
	*name = p;
	return dir;
}

/* The directory abs under root, made with its parents as needed; an fd or -errno. */
static int make_target(int root, const char *abs)
{
	char copy[PATH_MAX], *name = NULL;
	int dir, fd;

	snprintf(copy, sizeof(copy), "%s", abs);
	dir = walk_parent(root, copy, &name);
	if (dir < 0)
		return dir;
	fd = *name ? mkdir_open(dir, name) : dup(dir);
	close(dir);
	return fd;
}

/* ---- files opened before the jail ------------------------------------------------------ */

/* Handed out once each by jail_open; one jailed VM per process, so one table. */
static struct {
	char path[PATH_MAX];		/* as the VMM will name it */
	int fd;
	int accmode;
} preopened[JAIL_MAX_BINDS];
static unsigned npreopened;

int jail_open(const char *path, int flags)
{
	for (unsigned i = 0; i < npreopened; i++)
		if (preopened[i].fd >= 0 && (flags & O_ACCMODE) == preopened[i].accmode &&
		    strcmp(path, preopened[i].path) == 0) {
			int fd = preopened[i].fd;
			preopened[i].fd = -1;
			return fd;
		}
	return open(path, flags);
}

static void release_preopened(void)
{
	for (unsigned i = 0; i < npreopened; i++)
		if (preopened[i].fd >= 0)
			close(preopened[i].fd);
	npreopened = 0;
}

static int check_type(const char *path, const struct stat *st, unsigned flags, struct err *e)
{
	const char *want = NULL;

	if ((flags & JAIL_DIR) && !S_ISDIR(st->st_mode))
		want = "a directory";
	else if ((flags & JAIL_DEV) && !S_ISCHR(st->st_mode))
		want = "a character device";
	else if (!(flags & (JAIL_DIR | JAIL_DEV)) && !S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))
		want = "a regular file or block device";
	if (!want)
		return 0;
	err_set(e, -EINVAL, "jail: %s: not %s", path, want);
	return -EINVAL;
}

/* path (as given) without following a symlink in its last component; fd or -errno. */
static int open_nofollow(const char *path, int flags, unsigned jflags, struct err *e)
{
	struct stat st;
	int err, fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		err_set(e, err, "jail: %s: %s", path, err == -ELOOP ? "is a symbolic link (give "
			"the file it points to: the jail does not follow links in the paths it is "
			"given)" : strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	err = check_type(path, &st, jflags, e);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int preopen(const struct jail_bind *b, struct err *e)
{
	int acc = b->flags & (JAIL_RW | JAIL_DEV) ? O_RDWR : O_RDONLY;
	int fd;

	if (strlen(b->path) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = open_nofollow(b->path, acc, b->flags, e);
	if (fd < 0)
		return fd;
	strcpy(preopened[npreopened].path, b->path);
	preopened[npreopened].fd = fd;
	preopened[npreopened++].accmode = acc;
	return 0;
}

/* ---- the root ---------------------------------------------------------------------------- */

struct jail_src {
	char abs[PATH_MAX];
	int mnt;			/* a detached bind mount of the directory, flags applied */
};

/* Opens directory b as a detached, flag-restricted mount. */
static int clone_source(const struct jail_bind *b, struct jail_src *s, struct err *e)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC |
		MOUNT_ATTR_NODEV | (b->flags & JAIL_RW ? 0 : MOUNT_ATTR_RDONLY) };
	int fd, err = jail_abspath(b->path, s->abs, sizeof(s->abs));

	s->mnt = -1;
	if (err) {
		err_set(e, err, "jail: %s: %s", b->path, strerror(-err));
		return err;
	}
	fd = open_nofollow(s->abs, O_PATH | O_DIRECTORY, b->flags, e);
	if (fd < 0)
		return fd;
	s->mnt = (int)open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (s->mnt < 0)
		err = fail(e, "bind", s->abs);
	if (!err && mount_setattr(s->mnt, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		err = fail(e, "mount flags of", s->abs);
	close(fd);
	return err;
}

static int attach(int root, const struct jail_src *s, struct err *e)
{
	int t = make_target(root, s->abs), err = 0;

	if (t < 0) {
		errno = -t;
		return fail(e, "mount point", s->abs);
	}
	if (move_mount(s->mnt, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		err = fail(e, "mount", s->abs);
	close(t);
	return err;
}

/* The root: an empty, read-only tmpfs with the directories attached. The sources are
 * cloned first: the tmpfs covers JAIL_BUILD_AT. */
static int build_root(const struct jail_config *c, struct jail_src *src, struct err *e)
{
	int root, err = 0;
	unsigned n = 0;

	for (unsigned i = 0; !err && i < c->nbinds; i++)
		if (c->binds[i].flags & JAIL_DIR)
			err = clone_source(&c->binds[i], &src[n++], e);
	if (err)
		return err;
	if (mount("hvm-jail", JAIL_BUILD_AT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=64k,nr_inodes=64,mode=755") < 0)
		return fail(e, "tmpfs", JAIL_BUILD_AT);
	root = open(JAIL_BUILD_AT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return fail(e, JAIL_BUILD_AT, NULL);
	for (unsigned i = 0; !err && i < n; i++)
		err = attach(root, &src[i], e);
	/* Mounted while the host's /proc is still in view: a user namespace's root may mount a
	 * procfs only where one is fully visible (mount_too_revealing). It shows the PID
	 * namespace the caller is in: jail_fork's, the VMM and its children. */
	if (!err && c->proc && (mkdirat(root, "proc", 0555) < 0 ||
				mount("proc", JAIL_BUILD_AT "/proc", "proc",
				      MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0))
		err = fail(e, "procfs", JAIL_BUILD_AT "/proc");
	if (!err && (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
		     umount2(".", MNT_DETACH) < 0 || chdir("/") < 0))
		err = fail(e, "pivot_root", NULL);
	if (!err && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
			  MS_NODEV | MS_NOEXEC, NULL) < 0)
		err = fail(e, "read-only root", NULL);
	close(root);
	return err;
}

/* ---- limits and privileges -------------------------------------------------------------- */

static int lower_limit(int resource, rlim_t v, const char *what, struct err *e)
{
	struct rlimit r;

	if (getrlimit(resource, &r) < 0)
		return fail(e, "getrlimit", what);
	if (r.rlim_max != RLIM_INFINITY && r.rlim_max < v)
		v = r.rlim_max;
	r.rlim_cur = r.rlim_max = v;
	if (setrlimit(resource, &r) < 0)
		return fail(e, "setrlimit", what);
	return 0;
}

static int set_limits(const struct jail_config *c, struct err *e)
{
	int err = lower_limit(RLIMIT_NOFILE, JAIL_MAX_FILES, "RLIMIT_NOFILE", e);

	/*
	 * Not under ASan (make SANITIZE=1): its shadow reserves terabytes of address space at
	 * start, so any RLIMIT_AS that holds a VM fails every later mmap.
	 */
#ifndef HVM_ASAN
	if (!err && c->max_memory)
		err = lower_limit(RLIMIT_AS, c->max_memory, "RLIMIT_AS", e);
#else
	(void)c;
#endif
	if (!err)	/* a core dump would hold guest memory */
		err = lower_limit(RLIMIT_CORE, 0, "RLIMIT_CORE", e);
	return err;
}

static int drop_privileges(const struct jail_config *c, struct err *e)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int pdeath = 0;

	memset(d, 0, sizeof(d));
	prctl(PR_GET_PDEATHSIG, &pdeath);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail(e, "clearing ambient capabilities", NULL);
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail(e, "dropping capabilities from the bounding set", NULL);
	/* In our own user namespace setgroups is denied, and the groups stay (unmapped). */
	if ((!jail_in_userns && setgroups(0, NULL) < 0) || setresgid(c->gid, c->gid, c->gid) < 0)
		return fail(e, "setting the gid", NULL);
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return fail(e, "setting the uid", NULL);
	/* Leaving uid 0 empties them already; uid 0 kept (--uid 0) still loses them here. */
	if (syscall(SYS_capset, &h, d) < 0)
		return fail(e, "dropping capabilities", NULL);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(e, "no_new_privs", NULL);
	/* The uid change cleared it; jail_fork's child still dies with its parent. */
	if (pdeath && prctl(PR_SET_PDEATHSIG, pdeath) < 0)
		return fail(e, "parent death signal", NULL);
	return 0;
}

int jail_enter(const struct jail_config *c, struct err *e)
{
	static struct jail_src src[JAIL_MAX_BINDS];
	int n, err;

	SANITIZE_LEAK_CHECK_NOW();	/* while there is a /proc */
	if ((n = proc_self_count("task")) != 1) {
		err_set(e, -EBUSY, "jail: the process has %d threads; it must be jailed before it "
			"starts any (credentials and namespaces are per thread)", n);
		return -EBUSY;
	}
	if ((err = jail_privileges(e)))
		return err;
	release_preopened();
	for (unsigned i = 0; !err && i < c->nbinds; i++)
		if (!(c->binds[i].flags & JAIL_DIR))
			err = preopen(&c->binds[i], e);
	if (!err && unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		err = fail(e, "new mount, IPC and UTS namespaces", NULL);
	if (!err && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		err = fail(e, "making mounts private", NULL);
	if (!err && sethostname("hvm", 3) < 0)
		log_debug("jail: sethostname: %s", strerror(errno));
	for (unsigned i = 0; i < JAIL_MAX_BINDS; i++)
		src[i].mnt = -1;
	if (!err)
		err = build_root(c, src, e);
	for (unsigned i = 0; i < JAIL_MAX_BINDS; i++)
		if (src[i].mnt >= 0)
			close(src[i].mnt);
	if (!err)
		err = set_limits(c, e);
	if (!err)
		err = drop_privileges(c, e);
	if (err)
		release_preopened();
	return err;
}
