/*
 * Seccomp allow-lists without KVM: every list builds, every row has a reason that
 * docs/seccomp.md lists, and a forked child per thread kind gets filter mode 2, keeps its
 * allowed calls and dies the documented way on a forbidden one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"
#include "../../core/sanitize.h"
#include "../../core/seccomp.h"

/* What the child does once filtered: 0 when the allowed calls behaved, then the forbidden one. */
typedef int child_fn(void);

struct child {
	pid_t pid;
	int status;		/* from waitpid */
	char seccomp[16];	/* the "Seccomp:" value in /proc/PID/status while it waited */
	char filters[16];	/* "Seccomp_filters:" */
	char err[512];		/* its stderr */
};

static void status_field(pid_t pid, const char *key, char *out, size_t cap)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(out, cap, "?");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	char *p = strstr(buf, key);
	if (p && sscanf(p + strlen(key), " %15s", out) != 1)
		snprintf(out, cap, "?");
}

static void futex_wait_for(atomic_int *word)
{
	while (!atomic_load(word))
		syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0);
}

/*
 * Forks a child that installs kind (exit_status as the violation exit, -1 for SIGSYS), says
 * so, waits while the parent reads its /proc status, then runs fn. Child exit codes of its
 * own: 90 install failed, 91 an allowed call misbehaved, 92 the forbidden call returned.
 */
static void run_child(enum seccomp_kind kind, int exit_status, child_fn *fn, struct child *c)
{
	atomic_int *go = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ready[2], errp[2];
	char byte;

	memset(c, 0, sizeof(*c));
	CHECK(go != MAP_FAILED);
	CHECK_EQ(pipe(ready), 0);
	CHECK_EQ(pipe(errp), 0);
	fflush(stderr);
	c->pid = fork();
	if (c->pid == 0) {
		dup2(errp[1], STDERR_FILENO);
		seccomp_set_violation_exit(exit_status);
		if (seccomp_install(kind))
			_exit(90);
		if (write(ready[1], "r", 1) != 1)
			_exit(91);
		futex_wait_for(go);
		if (fn())
			_exit(91);
		_exit(92);
	}
	close(ready[1]);
	close(errp[1]);
	if (read(ready[0], &byte, 1) == 1) {
		status_field(c->pid, "\nSeccomp:", c->seccomp, sizeof(c->seccomp));
		status_field(c->pid, "\nSeccomp_filters:", c->filters, sizeof(c->filters));
	}
	atomic_store(go, 1);
	syscall(SYS_futex, go, FUTEX_WAKE, 1, NULL, NULL, 0);
	waitpid(c->pid, &c->status, 0);
	ssize_t n = read(errp[0], c->err, sizeof(c->err) - 1);
	c->err[n > 0 ? n : 0] = '\0';
	close(ready[0]);
	close(errp[0]);
	munmap(go, 4096);
}

static void check_exit(const struct child *c, int code, const char *message)
{
	CHECK(WIFEXITED(c->status));
	CHECK_EQ(WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1, code);
	CHECK_STR(c->err, message);
}

static void check_sigsys(const struct child *c, const char *message)
{
	CHECK(WIFSIGNALED(c->status));
	CHECK_EQ(WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0, SIGSYS);
	CHECK_STR(c->err, message);
}

/* ---- what each kind's child does --------------------------------------------------- */

static int vcpu_child(void)
{
	/* The KVM requests it needs pass the filter (and fail on a bad fd); ptrace does not. */
	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		return 1;
	if (ioctl(-1, KVM_GET_REGS, NULL) != -1 || errno != EBADF)
		return 1;
	syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
	return 0;
}

static int vcpu_other_ioctl_child(void)
{
	ioctl(-1, KVM_SET_USER_MEMORY_REGION, NULL);	/* set-up only: not at run time */
	return 0;
}

static int vcpu_open_child(void)
{
	open("/hvm-seccomp-test", O_RDONLY);	/* glibc's open() is openat */
	return 0;
}

static int io_child(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 1;
	close(fd);
	socket(AF_INET, SOCK_STREAM, 0);	/* vsock relays to Unix sockets only */
	return 0;
}

static void *vcpu_under_main(void *arg)
{
	long forbidden = (long)arg;

	if (seccomp_install(SECCOMP_VCPU))
		return (void *)1;
	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		return (void *)1;
	if (forbidden)
		/*
		 * main may unlink; a vCPU may not. Not openat: a SANITIZE=1 build allows it
		 * everywhere, for the reports' symbolizer.
		 */
		syscall(SYS_unlink, "/nonexistent-hvm-test");
	return NULL;
}

static int main_child(void)
{
	pthread_t t;
	void *ret = (void *)1;

	/* vCPU threads are created under the main filter and add their own on top. */
	if (pthread_create(&t, NULL, vcpu_under_main, (void *)0) || pthread_join(t, &ret) || ret)
		return 1;
	ioctl(-1, KVM_CREATE_VM, 0);	/* set-up only */
	return 0;
}

/*
 * A vCPU thread's own malloc arena grows and shrinks: the first shrink makes glibc open
 * /proc/sys/vm/overcommit_memory, which must fail quietly, not end the VMM.
 */
static void *vcpu_arena_shrinks(void *arg)
{
	enum { N = 64, BLOCK = 60000 };	/* under the mmap threshold: from the thread's arena */
	void *block[N];

	(void)arg;
	if (seccomp_install(SECCOMP_VCPU))
		return (void *)1;
#ifndef HVM_ASAN	/* a SANITIZE=1 build allows every open, for the reports' symbolizer */
	errno = 0;
	if (openat(AT_FDCWD, "/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC) != -1 ||
	    errno != EACCES)
		return (void *)1;
#endif
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++)
			if (!(block[i] = malloc(BLOCK)))
				return (void *)1;
		for (int i = N - 1; i >= 0; i--)
			free(block[i]);	/* the arena's top grows past the trim threshold: shrinks */
	}
	return NULL;
}

static int arena_child(void)
{
	pthread_t t;
	void *ret = (void *)1;

	if (pthread_create(&t, NULL, vcpu_arena_shrinks, NULL) || pthread_join(t, &ret) || ret)
		return 1;
	ioctl(-1, KVM_CREATE_VM, 0);	/* then a forbidden call: the child's normal end */
	return 0;
}

static int main_fork_child(void)
{
	fork();	/* threads only */
	return 0;
}

static int stacked_child(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, vcpu_under_main, (void *)1) == 0)
		pthread_join(t, NULL);
	return 0;
}

/* ---- cases ------------------------------------------------------------------------- */

static void every_list_builds(void)
{
	for (int k = 0; k < SECCOMP_NKINDS; k++)
		CHECK_EQ(seccomp_verify((enum seccomp_kind)k), 0);
	CHECK_EQ(seccomp_verify(SECCOMP_NKINDS), -EINVAL);
}

static void every_row_has_a_documented_reason(void)
{
	FILE *f = fopen("docs/seccomp.md", "r");
	static char doc[65536];
	size_t len = f ? fread(doc, 1, sizeof(doc) - 1, f) : 0;
	const char *name, *why;

	CHECK(f != NULL);
	if (f)
		fclose(f);
	doc[len] = '\0';
	for (int k = 0; k < SECCOMP_NKINDS; k++) {
		unsigned i = 0;
		while (seccomp_rule_info((enum seccomp_kind)k, i, &name, &why) == 0) {
			char line[256];
			CHECK(strlen(why) > 10);
			/* docs/seccomp.md has one "| `name` | why |" line per row. */
			snprintf(line, sizeof(line), "| `%s` | %s |", name, why);
			if (!strstr(doc, line))
				fprintf(stderr, "docs/seccomp.md lacks: %s\n", line);
			CHECK(strstr(doc, line) != NULL);
			i++;
		}
		CHECK(i > 5);
	}
}

static void vcpu_forbidden_exits_125(void)
{
	struct child c;

	run_child(SECCOMP_VCPU, 125, vcpu_child, &c);
	CHECK_STR(c.seccomp, "2");
	CHECK_STR(c.filters, "1");
	check_exit(&c, 125, "hvm: error: seccomp: forbidden syscall ptrace (101) in a vCPU thread; "
		   "exiting with status 125\n");
}

static void vcpu_forbidden_ioctl_killed_by_sigsys(void)
{
	struct child c;

	run_child(SECCOMP_VCPU, -1, vcpu_other_ioctl_child, &c);
	CHECK_STR(c.seccomp, "2");
	check_sigsys(&c, "hvm: error: seccomp: forbidden syscall ioctl (16) in a vCPU thread\n");
}

/* A forbidden open says which file: that names the library call that made it. */
static void vcpu_forbidden_open_names_the_path(void)
{
	struct child c;

	run_child(SECCOMP_VCPU, 125, vcpu_open_child, &c);
#ifdef HVM_ASAN	/* a SANITIZE=1 build allows every open, for the reports' symbolizer */
	check_exit(&c, 92, "");
#else
	check_exit(&c, 125, "hvm: error: seccomp: forbidden syscall openat (257) in a vCPU thread "
		   "(path /hvm-seccomp-test); exiting with status 125\n");
#endif
}

static void io_unix_socket_only(void)
{
	struct child c;

	run_child(SECCOMP_IO, 125, io_child, &c);
	CHECK_STR(c.seccomp, "2");
	check_exit(&c, 125, "hvm: error: seccomp: forbidden syscall socket (41) in an I/O thread; "
		   "exiting with status 125\n");
	run_child(SECCOMP_IO, -1, io_child, &c);
	check_sigsys(&c, "hvm: error: seccomp: forbidden syscall socket (41) in an I/O thread\n");
}

static void main_threads_but_no_fork(void)
{
	struct child c;

	run_child(SECCOMP_MAIN, 125, main_child, &c);
	CHECK_STR(c.seccomp, "2");
	check_exit(&c, 125, "hvm: error: seccomp: forbidden syscall ioctl (16) in the main thread; "
		   "exiting with status 125\n");
	run_child(SECCOMP_MAIN, 125, main_fork_child, &c);
	check_exit(&c, 125, "hvm: error: seccomp: forbidden syscall clone (56) in the main thread; "
		   "exiting with status 125\n");
}

/* glibc's malloc opens a /proc file when a thread's arena shrinks: denied, not fatal. */
static void vcpu_malloc_arena_may_shrink(void)
{
	struct child c;

	run_child(SECCOMP_MAIN, 125, arena_child, &c);
	check_exit(&c, 125, "hvm: error: seccomp: forbidden syscall ioctl (16) in the main thread; "
		   "exiting with status 125\n");
}

static void vcpu_stacked_on_main(void)
{
	struct child c;

	run_child(SECCOMP_MAIN, 125, stacked_child, &c);
	check_exit(&c, 125, "hvm: error: seccomp: forbidden syscall unlink (87) in a vCPU thread; "
		   "exiting with status 125\n");
}

static int disabled_child(void)
{
	char mode[16];

	status_field(getpid(), "\nSeccomp:", mode, sizeof(mode));
	return strcmp(mode, "0") != 0;
}

static void disabled_is_loud_and_off(void)
{
	struct child c;
	pid_t pid;
	int errp[2], status = -1;

	CHECK_EQ(pipe(errp), 0);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		dup2(errp[1], STDERR_FILENO);
		seccomp_set_enabled(0);
		_exit(seccomp_enabled() || seccomp_install(SECCOMP_VCPU) || disabled_child());
	}
	close(errp[1]);
	waitpid(pid, &status, 0);
	memset(&c, 0, sizeof(c));
	ssize_t n = read(errp[0], c.err, sizeof(c.err) - 1);
	c.err[n > 0 ? n : 0] = '\0';
	close(errp[0]);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strstr(c.err, "seccomp is OFF (--no-seccomp)") != NULL);
}

HARNESS_MAIN(every_list_builds, every_row_has_a_documented_reason, vcpu_forbidden_exits_125,
	     vcpu_forbidden_ioctl_killed_by_sigsys, vcpu_forbidden_open_names_the_path,
	     io_unix_socket_only, main_threads_but_no_fork,
	     vcpu_malloc_arena_may_shrink, vcpu_stacked_on_main, disabled_is_loud_and_off)
