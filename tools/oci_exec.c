#include "oci_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../include/hvm.h"
#include "oci_console.h"
#include "oci_log.h"
#include "oci_spec.h"
#include "oci_state.h"
#include "oci_vm.h"

#define EXIT_HVM_ERROR 125
#define EXEC_RETRY_NS  200000000	/* while the guest agent is not up yet */

/* The process from --process, or from the words after ID and --env/--cwd/--user. */
static int exec_process(const struct oci_cli *c, struct oci_process *p)
{
	char err[256], *text;
	int e;

	if (c->process) {
		text = oci_read_file(c->process);
		if (!text) {
			oci_err("process %s: %s", c->process, strerror(errno));
			return -errno;
		}
		e = oci_process_parse(text, p, err, sizeof(err));
		free(text);
		if (e)
			oci_err("%s", err);
		return e;
	}
	*p = (struct oci_process){ .terminal = c->tty };
	p->args = calloc((size_t)c->nargs + 1, sizeof(char *));
	p->env = calloc((size_t)c->nenv + 1, sizeof(char *));
	if (!p->args || !p->env)
		return -ENOMEM;
	for (int i = 0; i < c->nargs; i++)
		p->args[i] = strdup(c->args[i]);
	for (int i = 0; i < c->nenv; i++)
		p->env[i] = strdup(c->env[i]);
	return 0;
}

/* The flags that refine a --process file. */
static void apply_flags(const struct oci_cli *c, struct oci_process *p, char *user, size_t cap)
{
	if (c->cwd) {
		free(p->cwd);
		p->cwd = strdup(c->cwd);
	}
	if (c->tty)
		p->terminal = 1;
	if (c->user)
		snprintf(user, cap, "%s", c->user);
	else
		snprintf(user, cap, "%u:%u", p->uid, p->gid);
}

/* hvm_exec failures that mean "the agent does not take sessions yet": the VM is still
 * booting after `start`, or its bridge is not listening yet. Nothing ran; try again. */
static int not_ready(int e)
{
	return e == -ECONNREFUSED || e == -ENOENT || e == -ECONNRESET || e == -EPIPE ||
	       e == -EAGAIN || e == -EIO || e == -ETIMEDOUT;
}

static int container_running(const char *dir)
{
	struct oci_state st;
	int running;

	if (oci_state_read(dir, &st))
		return 0;
	running = strcmp(oci_state_status(&st), "running") == 0;
	oci_state_free(&st);
	return running;
}

/* Runs p and returns its status; the caller's process from here on. */
static int run(const char *dir, const char *api, const struct oci_process *p, const char *user,
	       int tty_fd)
{
	int in = tty_fd >= 0 ? tty_fd : STDIN_FILENO, out = tty_fd >= 0 ? tty_fd : STDOUT_FILENO;
	int errfd = tty_fd >= 0 ? tty_fd : STDERR_FILENO, status = EXIT_HVM_ERROR, e;

	for (;;) {
		e = hvm_exec(api, (const char *const *)p->args, (const char *const *)p->env,
			     p->cwd ? p->cwd : "/", user, p->terminal, in, out, errfd, &status);
		if (!e || !not_ready(e) || !container_running(dir))
			break;
		nanosleep(&(struct timespec){ .tv_nsec = EXEC_RETRY_NS }, NULL);
	}
	if (e) {
		oci_err("exec: %s", strerror(-e));
		return EXIT_HVM_ERROR;
	}
	return status;
}

/* --detach: a child runs the process (and is what the pid file names); we return at once. */
static int detach(const struct oci_cli *c, const char *dir, const char *api,
		  const struct oci_process *p, const char *user, int tty_fd)
{
	pid_t pid = fork();

	if (pid < 0) {
		oci_err("fork: %s", strerror(errno));
		return EXIT_HVM_ERROR;
	}
	if (pid == 0) {
		setsid();
		if (tty_fd >= 0)
			ioctl(tty_fd, TIOCSCTTY, 0);
		exit(run(dir, api, p, user, tty_fd));
	}
	if (c->pid_file && oci_write_pid_file(c->pid_file, pid)) {
		oci_err("pid file %s: %s", c->pid_file, strerror(errno));
		return EXIT_HVM_ERROR;
	}
	return 0;
}

int oci_exec(const struct oci_cli *c, const char *dir)
{
	struct oci_process p = { 0 };
	struct oci_state st;
	char user[64], api[256];
	int tty_fd = -1, dirfd = -1, status = EXIT_HVM_ERROR, err;

	err = oci_state_read(dir, &st);
	if (err) {
		oci_err("container \"%s\" does not exist", c->id);
		return EXIT_HVM_ERROR;
	}
	if (strcmp(oci_state_status(&st), "running") != 0) {
		/* runc's words ("cannot exec in a paused container"): engines and users know them */
		oci_err("cannot exec in a %s container: %s", oci_state_status(&st), c->id);
		goto out;
	}
	if (exec_process(c, &p))
		goto out;
	apply_flags(c, &p, user, sizeof(user));
	if (c->console_socket && (tty_fd = oci_console_open(c->console_socket, p.rows, p.cols)) < 0)
		goto out;
	if (oci_sock_path(dir, OCI_API_SOCKET, api, sizeof(api), &dirfd))
		goto out;
	if (!c->detach && c->pid_file && oci_write_pid_file(c->pid_file, getpid())) {
		oci_err("pid file %s: %s", c->pid_file, strerror(errno));
		goto out;	/* runc writes it for a foreground exec too */
	}
	status = c->detach ? detach(c, dir, api, &p, user, tty_fd) : run(dir, api, &p, user, tty_fd);
out:
	if (tty_fd >= 0)
		close(tty_fd);
	if (dirfd >= 0)
		close(dirfd);
	oci_process_free(&p);
	oci_state_free(&st);
	return status;
}
