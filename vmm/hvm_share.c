/* Starting, confining and reaping the 9P server process of a directory volume (hvm_share.h). */
#include "hvm_share.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/seccomp.h"
#include "../core/unix_addr.h"
#include "hvm_internal.h"
#include "p9_server.h"

#define SHARE_FD_FLOOR 64	/* where the child moves its two descriptors before closing the rest */

void hvm_share_init(struct hvm_share *sh)
{
	*sh = (struct hvm_share){ .dirfd = -1, .listen_fd = -1, .lifeline = -1 };
}

int hvm_share_open(struct hvm_share *sh, const char *dir, struct err *e)
{
	sh->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sh->dirfd < 0) {
		int err = -errno;
		err_set(e, err, "volume %s: %s", dir, strerror(errno));
		return err;
	}
	return 0;
}

/* Keeps only stderr and the n descriptors the server needs, moved up to SHARE_FD_FLOOR on. */
static int child_fds(int *fds[], int n)
{
	int moved[4];

	for (int i = 0; i < n; i++)
		if ((moved[i] = fcntl(*fds[i], F_DUPFD_CLOEXEC, SHARE_FD_FLOOR + i)) !=
		    SHARE_FD_FLOOR + i)
			return -1;
	close(0);	/* the run's stdin and stdout: never held past the VMM */
	close(1);
	close_range(3, SHARE_FD_FLOOR - 1, 0);
	close_range(SHARE_FD_FLOOR + (unsigned)n, ~0U, 0);
	for (int i = 0; i < n; i++)
		*fds[i] = moved[i];
	return 0;
}

/* Signals as a fresh process has them, in a group of its own: the terminal's ^C is for the
 * command, and hvm-run's handlers write to descriptors the child does not have. */
static void child_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, sig == SIGPIPE ? &ign : &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
}

/* The VMM's vsock device is the only client: on an abstract name anyone could connect.
 * The connection, or -1 when the VMM went away first. */
static int accept_vmm(int listen_fd, int lifeline, pid_t vmm)
{
	struct pollfd p[2] = { { .fd = listen_fd, .events = POLLIN }, { .fd = lifeline, .events = POLLIN } };
	struct ucred cred;
	socklen_t len = sizeof(cred);

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return -1;
		if (p[1].revents)
			return -1;
		int fd = p[0].revents ? accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC) : -1;
		if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		    cred.pid == vmm)
			return fd;
		if (fd >= 0)
			close(fd);
	}
}

static void share_child(struct hvm_share *sh, int lifeline, int read_only, pid_t vmm)
	__attribute__((noreturn));
static void share_child(struct hvm_share *sh, int lifeline, int read_only, pid_t vmm)
{
	struct rlimit nofile;
	struct p9_server srv;
	int l = sh->listen_fd, d = sh->dirfd, fd, err;

	/* Ends with the VMM, killed or not: its end of the lifeline closes then. (Not
	 * PR_SET_PDEATHSIG: that follows the forking thread, which may end before the VM.) */
	close(sh->lifeline);
	child_signals();
	if (child_fds((int *[]){ &l, &d, &lifeline }, 3) < 0)
		_exit(1);
	umask(0);	/* the guest's modes arrive with its umask applied */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;	/* a fid is up to three descriptors */
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	fd = accept_vmm(l, lifeline, vmm);
	close(l);
	if (fd < 0)
		_exit(0);
	err = seccomp_install(SECCOMP_SHARE);
	if (!err) {
		p9_server_init(&srv, d, read_only);
		err = p9_server_run(&srv, fd, lifeline);
	}
	if (err && err != -ECONNRESET)
		dprintf(STDERR_FILENO, "hvm: warning: 9p share %s: %s\n", sh->path, strerror(-err));
	_exit(err ? 1 : 0);
}

int hvm_share_start(struct hvm_share *sh, const char *uds, unsigned port, int read_only,
		    uid_t owner_uid, gid_t owner_gid, struct err *e)
{
	pid_t vmm = getpid();
	int pipe[2];

	snprintf(sh->path, sizeof(sh->path), "%s_%u", uds, port);
	sh->listen_fd = hvm_listen_unix(sh->path, e);
	if (sh->listen_fd < 0)
		return sh->listen_fd;
	if (owner_uid != (uid_t)-1 && !unix_is_abstract(sh->path) &&
	    chown(sh->path, owner_uid, owner_gid) < 0) {
		int err = -errno;
		err_set(e, err, "%s: %s", sh->path, strerror(errno));
		return err;
	}
	if (pipe2(pipe, O_CLOEXEC) < 0) {
		int err = -errno;
		err_set(e, err, "9p share server: pipe: %s", strerror(errno));
		return err;
	}
	sh->lifeline = pipe[1];
	sh->pid = fork();
	if (sh->pid == 0)
		share_child(sh, pipe[0], read_only, vmm);
	close(pipe[0]);
	if (sh->pid < 0) {
		int err = -errno;
		sh->pid = 0;
		err_set(e, err, "9p share server: fork: %s", strerror(errno));
		return err;
	}
	close(sh->listen_fd);	/* the server's now: the guest's connection goes to it */
	sh->listen_fd = -1;
	return 0;
}

void hvm_share_stop(struct hvm_share *sh)
{
	if (sh->lifeline >= 0)
		close(sh->lifeline);	/* ends the server even where a jailed VMM may not kill it */
	if (sh->pid > 0) {
		kill(sh->pid, SIGKILL);
		while (waitpid(sh->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (sh->listen_fd >= 0)
		close(sh->listen_fd);
	if (sh->path[0] && !unix_is_abstract(sh->path))
		unlink(sh->path);
	if (sh->dirfd >= 0)
		close(sh->dirfd);
	hvm_share_init(sh);
}
