#include "oci_cgroup_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci_cgroup.h"
#include "oci_cgroup_stats.h"
#include "oci_log.h"
#include "oci_spec.h"
#include "oci_update.h"

#define EXIT_INVALID 1
#define EXIT_FAIL    125
#define PIDS_MAX     4096	/* the VMM, its threads are not processes: passt, share servers */
#define PS_LINES_MAX 100000	/* a bounded read of ps(1)'s output */

static int cmd_update(const struct oci_cli *c, const char *dir)
{
	struct oci_resources r;
	char err[512], *json = NULL;
	int e;

	if (c->upd.resources) {
		const char *f = strcmp(c->upd.resources, "-") == 0 ? "/dev/stdin" : c->upd.resources;
		if (!(json = oci_read_file(f))) {
			oci_err("update: --resources %s: %s", c->upd.resources, strerror(errno));
			return EXIT_FAIL;
		}
	}
	e = oci_update_parse(&c->upd, json, &r, err, sizeof(err));
	free(json);
	if (e) {
		oci_err("%s", err);
		return EXIT_INVALID;
	}
	e = oci_cgroup_update(dir, &r);
	if (e == -ENOENT)
		oci_err("update %s: the container has no host cgroup (no linux.cgroupsPath)", c->id);
	return e == -EINVAL ? EXIT_INVALID : e ? EXIT_FAIL : 0;
}

static int cmd_stats(const struct oci_cli *c, const char *path)
{
	char *json;

	if (!c->stats) {
		oci_err("events: only --stats is supported: podman and containerd read no stream");
		return EXIT_FAIL;
	}
	if (!(json = oci_cgroup_stats(c->id, path))) {
		oci_err("events: out of memory");
		return EXIT_FAIL;
	}
	puts(json);
	free(json);
	return 0;
}

static int has_pid(const pid_t *pids, int n, long pid)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* The index of line's whitespace-separated word col (-1: the index of the word "PID");
 * *value gets that word as a number. -1 when there is none. */
static int column(const char *line, int col, long *value)
{
	char copy[4096], *save = NULL, *w;
	int i = 0;

	snprintf(copy, sizeof(copy), "%s", line);
	for (w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save), i++) {
		if (col < 0 ? strcmp(w, "PID") == 0 : i == col) {
			*value = strtol(w, NULL, 10);
			return i;
		}
	}
	return -1;
}

/* ps(1) with c's arguments (runc's default -ef), as runc does: its header, then its lines
 * whose PID column is one of pids. */
static int ps_table(const struct oci_cli *c, const pid_t *pids, int n)
{
	char *argv[64] = { "ps", "-ef" }, line[4096];
	int fd[2], pid_col = -1, status = 0, nargs = c->nargs < 62 ? c->nargs : 62;
	long pid;
	FILE *out;
	pid_t child;

	for (int i = 0; i < nargs; i++)
		argv[i + 1] = c->args[i];
	if (nargs)
		argv[nargs + 1] = NULL;
	if (pipe(fd) < 0 || (child = fork()) < 0) {
		oci_err("ps: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (child == 0) {
		dup2(fd[1], STDOUT_FILENO);
		execvp("ps", argv);
		_exit(127);
	}
	close(fd[1]);
	out = fdopen(fd[0], "r");
	for (int i = 0; out && i < PS_LINES_MAX && fgets(line, sizeof(line), out); i++) {
		if (i == 0)
			pid_col = column(line, -1, &pid);
		if (i == 0 || (pid_col >= 0 && column(line, pid_col, &pid) >= 0 &&
			       has_pid(pids, n, pid)))
			fputs(line, stdout);
	}
	if (out)
		fclose(out);
	waitpid(child, &status, 0);
	if (pid_col < 0)
		oci_err("ps: no PID column in ps's output");
	return pid_col < 0 || !WIFEXITED(status) || WEXITSTATUS(status) ? EXIT_FAIL : 0;
}

static int cmd_ps(const struct oci_cli *c, const char *path)
{
	static pid_t pids[PIDS_MAX];
	int n = oci_cgroup_pids(path, pids, PIDS_MAX);

	if (n < 0) {
		oci_err("ps: %s: %s", path, strerror(-n));
		return EXIT_FAIL;
	}
	if (!c->list_json)
		return ps_table(c, pids, n);
	fputs("[", stdout);
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", pids[i]);
	puts("]");
	return 0;
}

int oci_cgroup_cmd(const struct oci_cli *c, const char *dir, const char *status)
{
	char path[PATH_MAX];

	if (strcmp(status, "stopped") == 0) {
		oci_err("container %s is not running", c->id);
		return EXIT_FAIL;
	}
	if (c->verb == OCI_UPDATE)
		return cmd_update(c, dir);
	if (oci_cgroup_path(dir, path, sizeof(path))) {
		oci_err("%s %s: the container has no host cgroup (no linux.cgroupsPath)",
			c->verb_name, c->id);
		return EXIT_FAIL;
	}
	return c->verb == OCI_EVENTS ? cmd_stats(c, path) : cmd_ps(c, path);
}
