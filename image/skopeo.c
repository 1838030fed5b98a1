/*
 * skopeo in a child process, both its outputs read through pipes until it ends. Its error
 * is a logrus line, time="..." level=fatal msg="...": the msg is what the user needs.
 */
#include "skopeo.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


extern char **environ;

struct skopeo_buf {
	char *p;
	size_t cap, len;
};

/* Appends what fd has (keeping the first cap-1 bytes); 0 at EOF, 1 more may come. */
static int drain(int fd, struct skopeo_buf *b)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	size_t room = b->cap - 1 - b->len;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	memcpy(b->p + b->len, tmp, (size_t)n < room ? (size_t)n : room);
	b->len += (size_t)n < room ? (size_t)n : room;
	b->p[b->len] = '\0';
	return 1;
}

/* Un-escapes msg="..." from a logrus line into why; the whole last line when there is none. */
static void skopeo_why(const char *err, char *why, size_t cap)
{
	const char *m = strstr(err, "msg=\""), *end;
	size_t o = 0;

	if (!m) {
		end = err + strlen(err);
		while (end > err && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		for (m = end; m > err && m[-1] != '\n'; m--)
			;
		snprintf(why, cap, "%.*s", (int)(end - m), m);
		return;
	}
	for (m += 5; *m && *m != '"' && o + 1 < cap; m++) {
		if (*m == '\\' && m[1])
			m++;
		why[o++] = *m;
	}
	why[o] = '\0';
}

static int spawn(char *const argv[], int out[2], int err[2], pid_t *pid, char *why, size_t cap)
{
	const char *prog = getenv("HVM_SKOPEO");
	posix_spawn_file_actions_t fa;
	int e;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	e = posix_spawnp(pid, prog && *prog ? prog : "skopeo", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e)
		snprintf(why, cap, "%s: %s (install it: sh mk/deps.sh run)",
			 prog && *prog ? prog : "skopeo", strerror(e));
	return -e;
}

/* Reads both pipes until EOF, ticking every ~200 ms; the bytes of stdout kept. */
static size_t collect(int out, int err, struct skopeo_run *r, struct skopeo_buf *eb)
{
	struct skopeo_buf ob = { r->out, sizeof(r->out), 0 };
	struct pollfd pf[2] = { { .fd = out, .events = POLLIN }, { .fd = err, .events = POLLIN } };

	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		int n = poll(pf, 2, 200);
		if (n <= 0 && r->tick)
			r->tick(r->tick_arg);
		if (n <= 0)
			continue;
		if (pf[0].revents && !drain(out, &ob))
			pf[0].fd = -1;
		if (pf[1].revents && !drain(err, eb))
			pf[1].fd = -1;
	}
	return ob.len;
}

int skopeo_exec(char *const argv[], struct skopeo_run *r)
{
	char errbuf[8192] = "";
	struct skopeo_buf eb = { errbuf, sizeof(errbuf), 0 };
	int out[2], err[2], status, e;
	pid_t pid;

	r->out[0] = r->why[0] = '\0';
	r->out_len = 0;
	if (pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		e = -errno;
		close(out[0]);
		close(out[1]);
		return e;
	}
	e = spawn(argv, out, err, &pid, r->why, sizeof(r->why));
	close(out[1]);
	close(err[1]);
	if (!e)
		r->out_len = collect(out[0], err[0], r, &eb);
	close(out[0]);
	close(err[0]);
	if (e)
		return e;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (status)
		skopeo_why(errbuf, r->why, sizeof(r->why));
	return status;
}
