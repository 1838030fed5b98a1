/*
 * hvm-agent: PID 1 of every guest. Mounts the kernel file systems and the image root, runs
 * the requested command, relays its stdout/stderr as console frames, reports its exit
 * status and resets the VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/klog.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../boot/layout.h"
#include "agent.h"
#include "protocol.h"

#define SYSLOG_ACTION_CONSOLE_LEVEL 8
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Tells the VMM's boot timer the agent is ready; skipped where port access is unavailable. */
static void boot_timer_signal(void)
{
	if (ioperm(PORT_BOOT_TIMER, 1, 1) == 0) {
		outb(1, PORT_BOOT_TIMER);
		ioperm(PORT_BOOT_TIMER, 1, 0);
	}
}

/*
 * On nested PVM hosts guest user code sees the host's XCR0 (AVX, AVX-512 enabled) while the
 * guest kernel, which cannot run XSAVE there, saves only x87/SSE state on a context switch:
 * a process using AVX registers gets another's values back. Steer the common runtimes off
 * AVX: glibc's string functions, OpenSSL's assembly, Go's runtime. The image or -e may
 * still override them.
 */
static void child_env_no_avx(void)
{
	setenv("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512BW,-AVX512CD,"
	       "-AVX512DQ,-AVX512VL,-AVX_VNNI,-FMA,-FMA4,-F16C,-VAES,-VPCLMULQDQ", 1);
	/* CPUID(1) OSXSAVE, AVX, FMA : CPUID(7) AVX2, AVX-512 F/DQ/IFMA/CD/BW/VL/VBMI, VAES... */
	setenv("OPENSSL_ia32cap", "~0x1800100000000000:~0x602d0230020", 1);
	setenv("GODEBUG", "cpu.avx=off,cpu.avx2=off", 1);
}

/* Environment: defaults, then the request's NAME=VALUE records in order (later ones win). */
static void child_env(const struct request *req, const char *home)
{
	clearenv();
	setenv("PATH", DEFAULT_PATH, 1);
	setenv("HOME", home, 1);
	if (req->no_avx)
		child_env_no_avx();
	for (int i = 0; i < req->envc; i++) {
		char *eq = strchr(req->env[i], '=');
		if (eq && eq != req->env[i]) {
			*eq = '\0';
			setenv(req->env[i], eq + 1, 1);
			*eq = '=';
		}
	}
}

static void child_exec(const struct request *req, int devnull, int out, int err)
{
	const char *home = "/root";

	setsid();
	dup2(devnull, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	if (req->cwd && mkdir(req->cwd, 0755) < 0 && errno != EEXIST)
		dprintf(STDERR_FILENO, "hvm-agent: creating %s: %s\n", req->cwd, strerror(errno));
	if (req->user && user_switch(req->user, &home) < 0)
		_exit(EXIT_AGENT_ERROR);
	child_env(req, home);
	if (req->cwd && chdir(req->cwd) < 0) {
		dprintf(STDERR_FILENO, "hvm-agent: cd %s: %s\n", req->cwd, strerror(errno));
		_exit(EXIT_AGENT_ERROR);
	}
	execvp(req->argv[0], req->argv);
	int e = errno;
	dprintf(STDERR_FILENO, "hvm-agent: %s: %s\n", req->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* Moves what a pipe holds into frames: 1 data moved, 0 EOF or error, -1 nothing there now. */
static int relay(int fd, int type)
{
	char buf[CFRAME_MAX];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0) {
		frame_send(type, buf, (size_t)n);
		return 1;
	}
	return n < 0 && (errno == EINTR || errno == EAGAIN) ? -1 : 0;
}

static int exit_code(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Reaps every child (PID 1 inherits orphans); returns 1 once `main_pid` has exited. */
static int reap(pid_t main_pid, int *status)
{
	int st, done = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == main_pid) {
			*status = st;
			done = 1;
		}
	return done;
}

static int supervise(pid_t pid, int out, int err, int sigfd)
{
	struct pollfd p[3] = {
		{ .fd = out, .events = POLLIN }, { .fd = err, .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
	};
	int status = 0, exited = 0;

	while (!exited) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			agent_fail("poll", errno);
		if (p[0].revents && !relay(out, CFRAME_STDOUT))
			p[0].fd = -1;
		if (p[1].revents && !relay(err, CFRAME_STDERR))
			p[1].fd = -1;
		if (p[2].revents) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) < 0 && errno != EAGAIN)
				agent_fail("signalfd", errno);
			exited = reap(pid, &status);
		}
	}
	/* The command is gone: forward what it left in the pipes, not what background jobs add. */
	fcntl(out, F_SETFL, O_NONBLOCK);
	fcntl(err, F_SETFL, O_NONBLOCK);
	while (p[0].fd >= 0 && relay(out, CFRAME_STDOUT) == 1)
		;
	while (p[1].fd >= 0 && relay(err, CFRAME_STDERR) == 1)
		;
	return exit_code(status);
}

int main(void)
{
	struct request req;
	int out[2], err[2], sigfd, devnull;
	sigset_t chld;
	pid_t pid;

	rootfs_mount_kernel_fs("");
	console_open();
	request_read(&req);
	if (req.quiet)
		klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, NULL, 1);	/* panics only from here on */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	rootfs_enter(&req);

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigfd = signalfd(-1, &chld, SFD_CLOEXEC);
	if (sigfd < 0 || devnull < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		agent_fail("pipe", errno);

	boot_timer_signal();
	pid = fork();
	if (pid < 0)
		agent_fail("fork", errno);
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		child_exec(&req, devnull, out[1], err[1]);
	}
	close(out[1]);
	close(err[1]);
	agent_finish(supervise(pid, out[0], err[0], sigfd));
}
