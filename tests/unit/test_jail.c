/*
 * The self-jail without a guest (core/jail.c): path folding, jail_open's hand-over, and, as
 * root, jail_enter and jail_fork in forked children: the uid/gid, capabilities, no_new_privs,
 * rlimits, the minimal root, symlinks refused, threads refused, PID 1 of a new namespace,
 * signals forwarded once as records and the exit status returned; as a user, the same in
 * a user namespace of its own, and hvm_set_jail refusing any ids but the caller's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "../../include/hvm.h"
#include "../../core/jail.h"
#include "../../core/sanitize.h"

static char dir[64], file[128], link_path[128], sockdir[128];

static void test_abspath(void)
{
	char out[PATH_MAX], cwd[PATH_MAX], want[PATH_MAX + 8];

	CHECK_EQ(jail_abspath("/a/./b/../c", out, sizeof(out)), 0);
	CHECK_STR(out, "/a/c");
	CHECK_EQ(jail_abspath("/", out, sizeof(out)), 0);
	CHECK_STR(out, "/");
	CHECK_EQ(jail_abspath("/../..//x/", out, sizeof(out)), 0);
	CHECK_STR(out, "/x");
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	snprintf(want, sizeof(want), "%s/x/y", strcmp(cwd, "/") ? cwd : "");
	CHECK_EQ(jail_abspath("x//y", out, sizeof(out)), 0);
	CHECK_STR(out, want);
	CHECK_EQ(jail_abspath("/abc/def", out, 5), -ENAMETOOLONG);
}

/* Not jailed: jail_open is open(2). */
static void test_open_plain(void)
{
	int fd = jail_open(file, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	errno = 0;
	CHECK_EQ(jail_open("/nonexistent/hvm-jail", O_RDONLY), -1);
	CHECK_EQ(errno, ENOENT);
}

/* Runs fn in a forked child; its exit status (the child's failed checks, or 100+). */
static int in_child(int (*fn)(void))
{
	int ws;
	pid_t pid = fork();

	if (pid == 0) {
		int r = fn();
		fflush(stderr);
		_exit(r ? r : harness_failures);
	}
	if (pid < 0 || waitpid(pid, &ws, 0) != pid)
		return 200;
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static struct jail_config config(void)
{
	struct jail_config c = { .uid = 65534, .gid = 65534, .max_memory = 1ULL << 32 };

	jail_add(&c, file, 0, NULL);
	jail_add(&c, sockdir, JAIL_DIR | JAIL_RW, NULL);
	return c;
}

static int caps_all_zero(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return !d[0].effective && !d[1].effective && !d[0].permitted && !d[1].permitted &&
	       prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0;
}

/* "/" has exactly one entry, name. */
static int root_is_only(const char *name)
{
	DIR *d = opendir("/");
	struct dirent *e;
	int n = 0, found = 0;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			n++;
			found |= strcmp(e->d_name, name) == 0;
		}
	if (d)
		closedir(d);
	return n == 1 && found;
}

static int jailed(void)
{
	struct jail_config c = config();
	struct rlimit r;
	char buf[16] = "", path[160];
	int fd;

	CHECK_EQ(jail_enter(&c, NULL), 0);
	CHECK_EQ(getuid(), 65534);
	CHECK_EQ(getgid(), 65534);
	CHECK_EQ(geteuid(), 65534);
	CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	CHECK(caps_all_zero());
	CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_max == JAIL_MAX_FILES);
	CHECK(getrlimit(RLIMIT_CORE, &r) == 0 && r.rlim_max == 0);
#ifndef HVM_ASAN	/* a SANITIZE=1 build sets no RLIMIT_AS (core/jail.c) */
	CHECK(getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_max == 1ULL << 32);
#endif
	/* The root holds the bound directory (under /tmp), nothing else, and is read-only. */
	CHECK(root_is_only("tmp"));
	CHECK(access("/proc/self", F_OK) < 0);
	CHECK(access("/dev", F_OK) < 0);
	CHECK(mkdir("/x", 0755) < 0);
	CHECK(access(file, F_OK) < 0);		/* the file itself is not in the jail... */
	fd = jail_open(file, O_RDONLY | O_CLOEXEC);	/* ...but was opened before */
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 4);
	CHECK_STR(buf, "data");
	CHECK_EQ(jail_open(file, O_RDONLY | O_CLOEXEC), -1);	/* handed out once */
	snprintf(path, sizeof(path), "%s/made-in-jail", sockdir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);	/* the directory is writable */
	CHECK(fd >= 0);
	return 0;
}

/* As a user: a user namespace mapping only the caller's ids, then the same confinement. */
static int jailed_unprivileged(void)
{
	struct jail_config c = { .uid = 1234, .gid = 1234 };
	struct rlimit r;
	DIR *d;
	int n = 0;

	if (geteuid() == 0 && (setresgid(1234, 1234, 1234) < 0 || setresuid(1234, 1234, 1234) < 0))
		return 100;
	prctl(PR_SET_DUMPABLE, 1);	/* as a user's own process is: it owns its /proc files */
	CHECK_EQ(jail_unprivileged(), 1);
	CHECK_EQ(jail_enter(&c, NULL), 0);
	CHECK_EQ(getuid(), 1234);
	CHECK_EQ(getgid(), 1234);
	CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
	CHECK(caps_all_zero());
	CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_max == JAIL_MAX_FILES);
	CHECK(access("/proc/self", F_OK) < 0);
	d = opendir("/");
	for (struct dirent *e; d && (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	CHECK(d != NULL && n == 0);			/* an empty root */
	CHECK(access(file, F_OK) < 0);		/* a host file we were not handed */
	return 0;
}

static int symlink_refused(void)
{
	struct jail_config c = { .uid = 65534, .gid = 65534 };

	jail_add(&c, link_path, 0, NULL);
	CHECK_EQ(jail_enter(&c, NULL), -ELOOP);
	return 0;
}

static void *idle(void *arg)
{
	pause();
	return arg;
}

static int threads_refused(void)
{
	struct jail_config c = config();
	pthread_t t;

	CHECK_EQ(pthread_create(&t, NULL, idle, NULL), 0);
	CHECK_EQ(jail_enter(&c, NULL), -EBUSY);
	return 0;
}

static void test_enter(void)
{
	char path[160];
	struct stat st;

	CHECK_EQ(in_child(jailed_unprivileged), 0);
	if (geteuid() != 0) {
		fprintf(stderr, "test_jail: not root: jail_enter as root and jail_fork not exercised\n");
		return;
	}
	CHECK_EQ(in_child(jailed), 0);
	snprintf(path, sizeof(path), "%s/made-in-jail", sockdir);
	CHECK(stat(path, &st) == 0 && st.st_uid == 65534);
	CHECK_EQ(in_child(symlink_refused), 0);
	CHECK_EQ(in_child(threads_refused), 0);
}

/* hvm_set_jail as a user: as the caller or with the default ids, yes; as anyone else, -EPERM
 * and hvm_error names the cause; turning it off works. */
static int api_not_root(void)
{
	struct hvm *vm;

	if (geteuid() == 0 && (setresgid(1234, 1234, 1234) < 0 || setresuid(1234, 1234, 1234) < 0))
		return 100;
	CHECK_EQ(hvm_create(&vm), 0);
	CHECK_EQ(hvm_set_jail(vm, 1, 65534, 65534), 0);		/* the default: runs as the caller */
	CHECK_EQ(hvm_set_jail(vm, 1, 1234, 1234), 0);
	CHECK_EQ(hvm_set_jail(vm, 1, 1000, 1234), -EPERM);
	CHECK(strstr(hvm_error(vm), "jail: uid 1000, gid 1234: an unprivileged jail runs as its "
		     "caller (uid 1234, gid 1234)") != NULL);
	CHECK_EQ(hvm_set_jail(vm, 1, 1234, 0), -EPERM);
	CHECK_EQ(hvm_set_jail(vm, 0, 0, 0), 0);
	hvm_destroy(vm);
	return 0;
}

static void test_api(void)
{
	struct hvm *vm;

	CHECK_EQ(in_child(api_not_root), 0);
	if (geteuid() != 0 || hvm_create(&vm) != 0)
		return;
	CHECK_EQ(hvm_set_jail(vm, 1, 65534, 65534), 0);	/* recorded; hvm_start would jail */
	hvm_destroy(vm);
}

/* The pipe the jailed child writes to once it waits for a forwarded signal. */
static int ready[2];

/* The process that calls jail_fork: its child is PID 1 and exits with 100 + the signal
 * it was forwarded; we exit with what jail_fork reported. */
static int forking(void)
{
	struct signalfd_siginfo si;
	sigset_t fwd;
	int sig_fd = -1, status = -1, r;

	sigemptyset(&fwd);
	sigaddset(&fwd, SIGUSR1);
	r = jail_fork(&fwd, &sig_fd, &status);
	if (r == 0) {
		if (getpid() != 1)
			_exit(3);
		if (write(ready[1], "r", 1) != 1 || read(sig_fd, &si, sizeof(si)) != sizeof(si))
			_exit(4);
		_exit(100 + (int)si.ssi_signo);
	}
	return r == 1 ? status : 5;
}

static void test_fork(void)
{
	pid_t pid;
	int ws = 0;
	char b;

	if (geteuid() != 0)
		return;
	CHECK(pipe(ready) == 0);
	pid = fork();
	if (pid == 0)
		_exit(forking());
	CHECK(read(ready[0], &b, 1) == 1);
	kill(pid, SIGUSR1);		/* to the parent outside: forwarded as a record */
	CHECK(waitpid(pid, &ws, 0) == pid);
	CHECK(WIFEXITED(ws));
	CHECK_EQ(WEXITSTATUS(ws), 100 + SIGUSR1);
}

/* jail_probe says yes where the jail works (these tests run as root), and the caller's
 * namespaces and mounts are as they were: everything happened in its child. */
static void test_probe(void)
{
	char before[2][64] = { "", "" }, after[2][64] = { "", "" };
	const char *ns[2] = { "/proc/self/ns/mnt", "/proc/self/ns/user" }, *step = "unset";

	for (int i = 0; i < 2; i++)
		CHECK(readlink(ns[i], before[i], sizeof(before[i]) - 1) > 0);
	if (geteuid() == 0)
		CHECK_EQ(jail_probe(&step), 0);
	for (int i = 0; i < 2; i++) {
		CHECK(readlink(ns[i], after[i], sizeof(after[i]) - 1) > 0);
		CHECK_STR(after[i], before[i]);
	}
}

static void setup(void)
{
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/hvm-test-jail.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	snprintf(sockdir, sizeof(sockdir), "%s/sock", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);	/* root's only */
	CHECK(fd >= 0 && write(fd, "data", 4) == 4);
	close(fd);
	CHECK(symlink(file, link_path) == 0);
	CHECK(mkdir(sockdir, 0700) == 0);
	if (geteuid() == 0)
		CHECK(chown(sockdir, 65534, 65534) == 0);
}

static void cleanup(void)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/made-in-jail", sockdir);
	unlink(path);
	rmdir(sockdir);
	unlink(link_path);
	unlink(file);
	CHECK(rmdir(dir) == 0);
}

HARNESS_MAIN(setup, test_abspath, test_open_plain, test_probe, test_enter, test_fork, test_api,
	     cleanup)
