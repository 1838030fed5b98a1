/*
 * run_two: two micro-VMs at once in one process, each running its own command, with their
 * outputs collected through pipes and printed when both are done. Shows the whole libhvm
 * lifecycle: create, configure, start, wait, destroy (docs/libhvm.md).
 *
 *   build/examples/run_two ['COMMAND ONE' ['COMMAND TWO']]
 *
 * The kernel, initramfs and default image are looked up in $HVM_DATA_DIR; when unset, this
 * program sets it to its own directory's parent (build/, where make puts them).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../include/hvm.h"

struct job {
	const char *command;
	struct hvm *vm;
	int out[2];		/* the command's stdout and stderr both end up here */
	char text[65536];
	size_t len;
	int status;
};

static void default_data_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);

	if (getenv("HVM_DATA_DIR") || n <= 0)
		return;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';	/* .../build/examples */
	strcat(exe, "/..");
	setenv("HVM_DATA_DIR", exe, 0);
}

static int start(struct job *j)
{
	int err = pipe2(j->out, O_CLOEXEC);

	if (!err)
		err = hvm_create(&j->vm);
	if (!err)
		err = hvm_set_shell_command(j->vm, j->command);
	if (!err)
		err = hvm_set_stdio(j->vm, -1, j->out[1], j->out[1]);
	if (!err)
		err = hvm_start(j->vm);
	if (err)
		fprintf(stderr, "run_two: %s: %s\n", j->command,
			j->vm && hvm_error(j->vm)[0] ? hvm_error(j->vm) : strerror(-err));
	return err;
}

/* Reads both pipes until both VMs ended (the library writes them from its own threads). */
static void collect(struct job *jobs, int n)
{
	int running = n;

	while (running) {
		struct pollfd pf[4];
		for (int i = 0; i < n; i++) {
			pf[2 * i] = (struct pollfd){ .fd = jobs[i].out[0], .events = POLLIN };
			pf[2 * i + 1] = (struct pollfd){ .fd = hvm_wait_fd(jobs[i].vm), .events = POLLIN };
		}
		poll(pf, (nfds_t)(2 * n), -1);
		running = 0;
		for (int i = 0; i < n; i++) {
			struct job *j = &jobs[i];
			if ((pf[2 * i].revents & POLLIN) && j->len < sizeof(j->text) - 1) {
				ssize_t got = read(j->out[0], j->text + j->len, sizeof(j->text) - 1 - j->len);
				j->len += got > 0 ? (size_t)got : 0;
			}
			running += hvm_wait(j->vm, 0, &j->status) == -ETIMEDOUT;
		}
	}
}

int main(int argc, char **argv)
{
	struct job jobs[2] = {
		{ .command = argc > 1 ? argv[1] : "echo one from $(uname -s); sleep 1; echo one done" },
		{ .command = argc > 2 ? argv[2] : "echo two says $((6 * 7)); exit 3" },
	};
	int rc = 0;

	default_data_dir();
	for (int i = 0; i < 2; i++)
		if (start(&jobs[i]))
			return 125;
	collect(jobs, 2);
	for (int i = 0; i < 2; i++) {
		struct job *j = &jobs[i];
		ssize_t got;
		/* The VM ended: nobody writes any more, so the rest of the pipe ends in EOF. */
		close(j->out[1]);
		while (j->len < sizeof(j->text) - 1 &&
		       (got = read(j->out[0], j->text + j->len, sizeof(j->text) - 1 - j->len)) > 0)
			j->len += (size_t)got;
		j->text[j->len] = '\0';
		printf("--- VM %d: %s (exit %d)\n%s", i + 1, j->command, j->status, j->text);
		hvm_destroy(j->vm);
		close(j->out[0]);
		rc |= j->status != (i == 0 ? 0 : 3) && argc < 2;
	}
	return rc;
}
