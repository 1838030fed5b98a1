/* no_userns CMD [ARG...]: runs CMD on a host that refuses user namespaces, the way Docker's
 * default seccomp profile does: unshare and clone with CLONE_NEWUSER fail with EPERM and clone3
 * (whose flags a filter cannot read) with ENOSYS, so that libc falls back to clone. The e2e
 * tests use it where the user.max_user_namespaces sysctl is not theirs to change (a container
 * runs them), and everywhere else the same, so that one path is tested. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define ARG0_LOW offsetof(struct seccomp_data, args[0]) /* little endian: the low 32 bits */

static const struct sock_filter deny_userns[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 1, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LOW),
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

int main(int argc, char **argv)
{
	struct sock_fprog prog = {
		.len = sizeof(deny_userns) / sizeof(deny_userns[0]),
		.filter = (struct sock_filter *)deny_userns,
	};

	if (argc < 2) {
		fprintf(stderr, "usage: no_userns CMD [ARG...]\n");
		return 125;
	}
	/* Without no_new_privs only root may load a filter; the jail sets it anyway. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "no_userns: seccomp filter: %s\n", strerror(errno));
		return 125;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "no_userns: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
