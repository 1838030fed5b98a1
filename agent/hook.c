#include "hook.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOOK_POLL_NS 5000000L	/* how often a hook with a timeout is checked on */

/* A JSON array of strings as a NULL-terminated vector (first: the default first entry when
 * the array is absent). The strings stay the JSON's. */
static char **vector(const cJSON *a, const char *first)
{
	int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0, i = 0;
	char **v = calloc((size_t)n + 2, sizeof(*v));
	const cJSON *e;

	if (!v)
		return NULL;
	if (!cJSON_IsArray(a) && first)
		v[i++] = (char *)first;
	cJSON_ArrayForEach(e, a)
		if (cJSON_IsString(e))
			v[i++] = e->valuestring;
	return v;
}

/* In the child: state on stdin, output where asked, then the program; reports exec's errno
 * on err_fd (close-on-exec, so silence means it ran). */
static void child(const char *path, char **argv, char **envp, int in_fd, int out_fd, int err_fd)
{
	sigset_t none;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);	/* a timeout kills the hook with everything it started */
	dup2(in_fd, STDIN_FILENO);
	if (out_fd >= 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
	}
	execve(path, argv, envp);
	e = errno;
	_exit(write(err_fd, &e, sizeof(e)) < 0 ? 126 : 127);
}

/* Waits for pid, killing it once timeout_s (0: never) passes. 0 with *status, or -ETIMEDOUT. */
static int wait_hook(pid_t pid, unsigned timeout_s, int *status)
{
	struct timespec start, now;
	long long limit_ns = (long long)timeout_s * 1000000000LL;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t r = waitpid(pid, status, timeout_s ? WNOHANG : 0);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (timeout_s && (now.tv_sec - start.tv_sec) * 1000000000LL +
					 (now.tv_nsec - start.tv_nsec) >= limit_ns) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -ETIMEDOUT;
		}
		if (r == 0)
			nanosleep(&(struct timespec){ .tv_nsec = HOOK_POLL_NS }, NULL);
	}
}

/* Feeds state to the hook without ever blocking on one that does not read it. */
static void feed(int fd, const char *state)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	size_t len = state ? strlen(state) : 0;

	sigaction(SIGPIPE, &ign, &old);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (len && write(fd, state, len) < 0) {
		/* a hook that exits without reading its stdin is its own business */
	}
	close(fd);
	sigaction(SIGPIPE, &old, NULL);
}

/* Starts the hook and waits for it; *status and *exec_err describe the end. */
static int spawn(const char *path, char **argv, char **envp, const char *state, int out_fd,
		 unsigned timeout_s, int *status, int *exec_err)
{
	int in[2], ep[2], err;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		err = -errno;
		close(in[0]);
		close(in[1]);
		return err;
	}
	pid = fork();
	if (pid == 0)
		child(path, argv, envp, in[0], out_fd, ep[1]);
	err = pid < 0 ? -errno : 0;
	close(in[0]);
	close(ep[1]);
	if (!err) {
		feed(in[1], state);
		err = wait_hook(pid, timeout_s, status);
		if (read(ep[0], exec_err, sizeof(*exec_err)) != sizeof(*exec_err))
			*exec_err = 0;
	} else {
		close(in[1]);
	}
	close(ep[0]);
	return err;
}

int hook_run(const cJSON *hook, const char *kind, int index, const char *state, int out_fd,
	     char *why, size_t cap)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(hook, "path");
	const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(hook, "timeout");
	const char *p = cJSON_IsString(path) ? path->valuestring : "";
	unsigned secs = cJSON_IsNumber(timeout) && timeout->valuedouble >= 1
				? (unsigned)timeout->valuedouble : 0;
	char **argv = vector(cJSON_GetObjectItemCaseSensitive(hook, "args"), p);
	char **envp = vector(cJSON_GetObjectItemCaseSensitive(hook, "env"), NULL);
	int status = 0, exec_err = 0, err = -ENOMEM;

	if (argv && envp)
		err = spawn(p, argv, envp, state, out_fd, secs, &status, &exec_err);
	free(argv);
	free(envp);
	if (err == -ETIMEDOUT)
		snprintf(why, cap, "hooks.%s[%d] %s: timed out after %u s", kind, index, p, secs);
	else if (err)
		snprintf(why, cap, "hooks.%s[%d] %s: %s", kind, index, p, strerror(-err));
	else if (exec_err)
		snprintf(why, cap, "hooks.%s[%d] %s: %s", kind, index, p, strerror(exec_err));
	else if (WIFSIGNALED(status))
		snprintf(why, cap, "hooks.%s[%d] %s: killed by signal %d", kind, index, p,
			 WTERMSIG(status));
	else if (WEXITSTATUS(status))
		snprintf(why, cap, "hooks.%s[%d] %s: exit status %d", kind, index, p,
			 WEXITSTATUS(status));
	else
		return 0;
	return err == -ENOMEM ? err : -EIO;
}
