/*
 * hvm-agent: PID 1 of every guest. Mounts the kernel filesystems, runs the requested command,
 * relays its stdout/stderr as console frames, reports its exit status and resets the VM.
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
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../boot/layout.h"
#include "console_frame.h"

#define AGENT_MAX_ARGS 1024
#define AGENT_REQUEST_MAX (256 * 1024)
#define EXIT_AGENT_ERROR 125
#define BUSYBOX "/bin/busybox"
#define BUSYBOX_APPLETS "/etc/busybox.applets"
#define SYSLOG_ACTION_CONSOLE_LEVEL 8

static int console_fd = -1;

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* nowhere else to report a broken console */
		p += n;
		len -= (size_t)n;
	}
}

static void frame_send(int type, const void *data, size_t len)
{
	unsigned char hdr[CFRAME_HEADER] = { CFRAME_MARK, (unsigned char)type };

	do {
		size_t chunk = len > CFRAME_MAX ? CFRAME_MAX : len;
		hdr[2] = chunk & 0xff;
		hdr[3] = (unsigned char)(chunk >> 8);
		write_all(console_fd, hdr, sizeof(hdr));
		write_all(console_fd, data, chunk);
		data = (const char *)data + chunk;
		len -= chunk;
	} while (len);
}

/* Reports status to the host, lets the UART drain and resets the VM. Never returns. */
static void agent_finish(int status)
{
	unsigned char code = (unsigned char)status;

	frame_send(CFRAME_EXIT, &code, 1);
	tcdrain(console_fd);
	sync();
	reboot(RB_AUTOBOOT);	/* reboot=k: the i8042 reset the VMM turns into a stop */
	for (;;)
		pause();
}

static void agent_fail(const char *what, int err)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "%s: %s", what, strerror(err));

	frame_send(CFRAME_ERROR, msg, n > 0 ? (size_t)n : 0);
	agent_finish(EXIT_AGENT_ERROR);
}

static void agent_mount(const char *src, const char *dst, const char *type, unsigned long flags)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, NULL) < 0 && errno != EBUSY)
		agent_fail(dst, errno);
}

static void console_open(void)
{
	struct termios t;

	console_fd = open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (console_fd < 0)
		console_fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (console_fd < 0)
		exit(EXIT_AGENT_ERROR);	/* the kernel panics and the host reports it */
	/* Raw: frames carry binary data; no \n -> \r\n, no echo, no signals. */
	if (tcgetattr(console_fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(console_fd, TCSANOW, &t);
	}
}

/* Tells the VMM's boot timer the agent is ready; skipped where port access is unavailable. */
static void boot_timer_signal(void)
{
	if (ioperm(PORT_BOOT_TIMER, 1, 1) == 0) {
		outb(1, PORT_BOOT_TIMER);
		ioperm(PORT_BOOT_TIMER, 1, 0);
	}
}

struct request {
	char *buf;
	char *argv[AGENT_MAX_ARGS + 1];
	int argc;
	int quiet;
};

static void request_read(struct request *req)
{
	int fd = open(RUN_REQUEST_PATH, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	memset(req, 0, sizeof(*req));
	req->buf = malloc(AGENT_REQUEST_MAX + 1);
	if (fd < 0 || !req->buf)
		agent_fail(RUN_REQUEST_PATH, fd < 0 ? errno : ENOMEM);
	len = read(fd, req->buf, AGENT_REQUEST_MAX);
	close(fd);
	if (len < 0)
		agent_fail(RUN_REQUEST_PATH, errno);
	req->buf[len] = '\0';
	for (char *p = req->buf; p < req->buf + len; p += strlen(p) + 1) {
		if (strncmp(p, RUN_KEY_ARG "=", sizeof(RUN_KEY_ARG)) == 0 && req->argc < AGENT_MAX_ARGS)
			req->argv[req->argc++] = p + sizeof(RUN_KEY_ARG);
		else if (strcmp(p, RUN_KEY_QUIET "=1") == 0)
			req->quiet = 1;
	}
	if (req->argc == 0)
		agent_fail(RUN_REQUEST_PATH, EINVAL);
}

/* The applet names busybox offers, one per line, written by mkinitramfs. */
static int busybox_has_applet(const char *name)
{
	char line[64];
	int found = 0;
	FILE *f = fopen(BUSYBOX_APPLETS, "re");

	while (f && !found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = strcmp(line, name) == 0;
	}
	if (f)
		fclose(f);
	return found;
}

static void child_exec(struct request *req, int out, int err)
{
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setsid();
	dup2(devnull, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/root", 1);
	execvp(req->argv[0], req->argv);
	int e = errno;
	/* The built-in root has busybox without applet links: let it run the applet by name. */
	if (e == ENOENT && !strchr(req->argv[0], '/') && busybox_has_applet(req->argv[0])) {
		execv(BUSYBOX, req->argv);
		e = errno;
	}
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
	int out[2], err[2], sigfd;
	sigset_t chld;
	pid_t pid;

	agent_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	agent_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
	agent_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID);
	agent_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC);
	console_open();
	request_read(&req);
	if (req.quiet)
		klogctl(SYSLOG_ACTION_CONSOLE_LEVEL, NULL, 1);	/* panics only from here on */

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sigfd = signalfd(-1, &chld, SFD_CLOEXEC);
	if (sigfd < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		agent_fail("pipe", errno);

	boot_timer_signal();
	pid = fork();
	if (pid < 0)
		agent_fail("fork", errno);
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		child_exec(&req, out[1], err[1]);
	}
	close(out[1]);
	close(err[1]);
	agent_finish(supervise(pid, out[0], err[0], sigfd));
}
