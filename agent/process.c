/* The process a session runs: spawned from a RUN frame, with pipes or a pseudo-terminal. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ARGS     4096

/* What a RUN frame asks for; strings point into the parsed JSON. */
struct run_spec {
	char *argv[MAX_ARGS + 1];
	const cJSON *env;
	const char *cwd, *user;
	const cJSON *settings;		/* the whole request: its OCI settings, if any */
	int tty, want_stdin;
	unsigned short rows, cols;
};

/*
 * On nested PVM hosts guest user code sees the host's XCR0 (AVX, AVX-512 enabled) while the
 * guest kernel, which cannot run XSAVE there, saves only x87/SSE state on a context switch:
 * a process using AVX registers gets another's values back. Steer the common runtimes off
 * AVX: glibc's string functions, OpenSSL's assembly, Go's runtime. The image or -e may
 * still override them. See docs/platform.md.
 */
static void env_no_avx(void)
{
	setenv("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512BW,-AVX512CD,"
	       "-AVX512DQ,-AVX512VL,-AVX_VNNI,-FMA,-FMA4,-F16C,-VAES,-VPCLMULQDQ", 1);
	/* CPUID(1) OSXSAVE, AVX, FMA : CPUID(7) AVX2, AVX-512 F/DQ/IFMA/CD/BW/VL/VBMI, VAES... */
	setenv("OPENSSL_ia32cap", "~0x1800100000000000:~0x602d0230020", 1);
	setenv("GODEBUG", "cpu.avx=off,cpu.avx2=off", 1);
}

/* Environment: defaults, then the spec's NAME=VALUE entries in order (later ones win). */
static void child_env(const struct run_spec *rs, const char *home, int no_avx)
{
	const cJSON *e;

	clearenv();
	setenv("PATH", DEFAULT_PATH, 1);
	setenv("HOME", home, 1);
	if (rs->tty)
		setenv("TERM", "xterm", 1);
	if (no_avx)
		env_no_avx();
	cJSON_ArrayForEach(e, rs->env) {
		char *eq = cJSON_IsString(e) ? strchr(e->valuestring, '=') : NULL;
		if (eq && eq != e->valuestring) {
			*eq = '\0';
			setenv(e->valuestring, eq + 1, 1);
			*eq = '=';
		}
	}
}

/* In the child: stdio wired, user namespace (ns, when mapped), user and directory set, then
 * exec. Never returns. */
static void child_exec(const struct run_spec *rs, int in, int out, int err, int no_avx,
		       struct userns_sync *ns)
{
	const char *home = "/root";
	gid_t groups[AGENT_MAX_GROUPS];
	int ngroups;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);	/* the agent blocks SIGCHLD for its signalfd */
	setsid();
	if (rs->tty)
		ioctl(in, TIOCSCTTY, 0);
	dup2(in, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	signal(SIGPIPE, SIG_DFL);
	if (rs->cwd && mkdir(rs->cwd, 0755) < 0 && errno != EEXIST)
		dprintf(STDERR_FILENO, "hvm-agent: creating %s: %s\n", rs->cwd, strerror(errno));
	if (settings_limits(rs->settings) < 0 ||
	    (ns->to_parent[0] >= 0 && userns_child(ns) < 0) ||
	    settings_before_user(rs->settings) < 0)
		_exit(EXIT_AGENT_ERROR);
	ngroups = settings_groups(rs->settings, groups, AGENT_MAX_GROUPS);
	if ((rs->user || ngroups > 0) && user_switch(rs->user ? rs->user : "0", groups, ngroups,
						 &home) < 0)
		_exit(EXIT_AGENT_ERROR);
	if (settings_after_user(rs->settings) < 0)
		_exit(EXIT_AGENT_ERROR);
	child_env(rs, home, no_avx);
	if (rs->cwd && chdir(rs->cwd) < 0) {
		dprintf(STDERR_FILENO, "hvm-agent: cd %s: %s\n", rs->cwd, strerror(errno));
		_exit(EXIT_AGENT_ERROR);
	}
	execvp(rs->argv[0], rs->argv);
	int e = errno;
	dprintf(STDERR_FILENO, "hvm-agent: %s: %s\n", rs->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

static int spec_parse(struct run_spec *rs, const cJSON *j, char *why, size_t cap)
{
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(j, "argv"), *a;
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(j, "cwd");
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(j, "user");
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(j, "cols");
	int n = 0;

	memset(rs, 0, sizeof(*rs));
	cJSON_ArrayForEach(a, (cJSON_IsArray(argv) ? argv : NULL)) {
		if (!cJSON_IsString(a) || n == MAX_ARGS) {
			snprintf(why, cap, "run: argv must be at most %d strings", MAX_ARGS);
			return -EINVAL;
		}
		rs->argv[n++] = a->valuestring;
	}
	if (n == 0) {
		snprintf(why, cap, "run: no argv");
		return -EINVAL;
	}
	rs->settings = j;
	rs->env = cJSON_GetObjectItemCaseSensitive(j, "env");
	rs->cwd = cJSON_IsString(cwd) && *cwd->valuestring ? cwd->valuestring : NULL;
	rs->user = cJSON_IsString(user) && *user->valuestring ? user->valuestring : NULL;
	rs->tty = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "tty"));
	rs->want_stdin = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "stdin"));
	rs->rows = cJSON_IsNumber(rows) && rows->valueint > 0 && rows->valueint < 10000 ? (unsigned short)rows->valueint : 24;
	rs->cols = cJSON_IsNumber(cols) && cols->valueint > 0 && cols->valueint < 10000 ? (unsigned short)cols->valueint : 80;
	return 0;
}

/* Opens a pseudo-terminal of the requested size: master for us, slave for the child. */
static int open_pty(const struct run_spec *rs, int *master, int *slave)
{
	struct winsize ws = { .ws_row = rs->rows, .ws_col = rs->cols };

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0)
		return -errno;
	*slave = open(ptsname(*master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		return -errno;
	ioctl(*master, TIOCSWINSZ, &ws);
	return 0;
}

/* Child-side and parent-side fds for stdio: a tty, or three pipes (stdin maybe /dev/null). */
static int open_stdio(struct process *p, const struct run_spec *rs, int child[3])
{
	int in[2] = { -1, -1 }, out[2], err[2];

	if (rs->tty) {
		int r = open_pty(rs, &p->in_fd, &child[0]);
		p->out_fd = p->in_fd;
		child[1] = child[2] = child[0];
		return r;
	}
	if (rs->want_stdin ? pipe2(in, O_CLOEXEC) < 0 :
	    (in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	child[0] = in[0];
	child[1] = out[1];
	child[2] = err[1];
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = err[0];
	return 0;
}

int process_start(struct process *p, const uint8_t *json, size_t len, int no_avx,
		  char *why, size_t cap)
{
	cJSON *j = cJSON_ParseWithLength((const char *)json, len);
	struct userns_sync ns = USERNS_SYNC_NONE;
	struct run_spec rs;
	int child[3] = { -1, -1, -1 }, err;

	/* p is as session_add left it, but for stdin that may have come before RUN: kept. */
	if (!j) {
		snprintf(why, cap, "run: not valid JSON");
		return -EINVAL;
	}
	err = spec_parse(&rs, j, why, cap);
	if (!err)
		err = settings_apply_vm(j, why, cap);
	if (!err && (err = open_stdio(p, &rs, child)))
		snprintf(why, cap, "run: setting up stdio: %s", strerror(-err));
	if (!err && userns_wanted(j) && (err = userns_prepare(&ns)))
		snprintf(why, cap, "run: a user namespace: %s", strerror(-err));
	if (!err) {
		p->tty = rs.tty;
		p->pid = fork();
		if (p->pid == 0)
			child_exec(&rs, child[0], child[1], child[2], no_avx, &ns);
		if (p->pid < 0) {
			err = -errno;
			snprintf(why, cap, "run: fork: %s", strerror(errno));
		} else if (ns.to_parent[0] >= 0) {
			err = userns_map(&ns, p->pid, j, why, cap);
		}
	}
	userns_close(&ns);
	for (int i = 0; i < 3; i++)
		if (child[i] >= 0 && (i == 0 || child[i] != child[0]))
			close(child[i]);
	for (int *fd = &p->in_fd; fd <= &p->err_fd; fd++)
		if (*fd >= 0)
			fcntl(*fd, F_SETFL, O_NONBLOCK);
	cJSON_Delete(j);
	return err;
}

int process_signal(struct process *p, const uint8_t *json, size_t len)
{
	cJSON *j = cJSON_ParseWithLength((const char *)json, len);
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(j, "signal");
	int err = -EINVAL;

	if (cJSON_IsNumber(sig) && sig->valueint > 0 && sig->valueint < NSIG && p->pid > 0 && !p->exited)
		err = kill(p->pid, sig->valueint) < 0 ? -errno : 0;
	cJSON_Delete(j);
	return err;
}

int process_resize(struct process *p, const uint8_t *json, size_t len)
{
	cJSON *j = cJSON_ParseWithLength((const char *)json, len);
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(j, "cols");
	int err = -EINVAL;

	if (p->tty && p->in_fd >= 0 && cJSON_IsNumber(rows) && cJSON_IsNumber(cols) &&
	    rows->valueint > 0 && rows->valueint < 10000 && cols->valueint > 0 && cols->valueint < 10000) {
		struct winsize ws = { .ws_row = (unsigned short)rows->valueint,
				      .ws_col = (unsigned short)cols->valueint };
		err = ioctl(p->in_fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
	}
	cJSON_Delete(j);
	return err;
}

int process_stdin(struct process *p, const uint8_t *data, size_t len)
{
	if (len == 0) {
		p->stdin_eof = 1;
		return 0;
	}
	/* inlen + consumed is what the host has sent and we have not acknowledged. */
	if (len > AGENT_INBUF - p->inlen - p->consumed)
		return -ENOBUFS;
	if (!p->inbuf && !(p->inbuf = malloc(AGENT_INBUF)))
		return -ENOMEM;
	memcpy(p->inbuf + p->inlen, data, len);
	p->inlen += len;
	return 0;
}

void process_flush_stdin(struct process *p)
{
	if (p->pid > 0 && p->in_fd < 0) {
		/* No pipe (RUN said no "stdin"): the bytes go nowhere, but count as taken. */
		p->consumed += p->inlen;
		p->inlen = 0;
	}
	while (p->inlen && p->in_fd >= 0) {
		ssize_t n = write(p->in_fd, p->inbuf, p->inlen);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			/* The process closed its stdin: drop the rest, and later bytes the same way. */
			p->consumed += p->inlen;
			p->inlen = 0;
		}
		if (n <= 0)
			break;
		memmove(p->inbuf, p->inbuf + n, p->inlen - (size_t)n);
		p->inlen -= (size_t)n;
		p->consumed += (size_t)n;
	}
	/* A tty has no EOF of its own; for pipes, closing is how the process sees it. */
	if (p->stdin_eof && !p->inlen && !p->tty && p->in_fd >= 0) {
		close(p->in_fd);
		p->in_fd = -1;
	}
}

void process_close(struct process *p)
{
	if (p->err_fd >= 0)
		close(p->err_fd);
	if (p->out_fd >= 0 && p->out_fd != p->in_fd)
		close(p->out_fd);
	if (p->in_fd >= 0)
		close(p->in_fd);
	free(p->inbuf);
	*p = (struct process){ .in_fd = -1, .out_fd = -1, .err_fd = -1 };
}
