/*
 * hvm-oci: an OCI runtime with runc's command line over libhvm; each container is a micro-VM.
 * parse flags -> read the bundle or the container's state -> one verb -> exit status.
 * Exit status: 0, or 125 with the reason on stderr and in --log; `exec` returns the
 * process's own status.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/mkdir_p.h"
#include "../include/hvm.h"
#include "oci_cgroup.h"
#include "oci_cgroup_cmd.h"
#include "oci_cli.h"
#include "oci_exec.h"
#include "oci_hooks.h"
#include "oci_log.h"
#include "oci_spec.h"
#include "oci_state.h"
#include "oci_vm.h"

#ifndef HVM_VERSION
#define HVM_VERSION "0.1.0"
#endif

#define EXIT_HVM_ERROR 125
#define EXIT_INVALID   1	/* runc's status for a config.json it refuses */
#define DELETE_WAIT_MS 10000	/* a killed supervisor tears its VM down within this */

static const char features_json[] =
	"{\n"
	"  \"ociVersionMin\": \"1.0.0\",\n"
	"  \"ociVersionMax\": \"" OCI_SPEC_VERSION "\",\n"
	"  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\", \"startContainer\",\n"
	"            \"poststart\", \"poststop\"],\n"
	"  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\"],\n"
	"  \"linux\": {\n"
	"    \"namespaces\": [\"pid\", \"network\", \"ipc\", \"uts\", \"mount\"],\n"
	"    \"capabilities\": [],\n"
	"    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": false, \"systemdUser\": false,\n"
	"               \"rdma\": false},\n"
	"    \"seccomp\": {\"enabled\": false},\n"
	"    \"apparmor\": {\"enabled\": false},\n"
	"    \"selinux\": {\"enabled\": false}\n"
	"  },\n"
	"  \"annotations\": {\n"
	"    \"io.github.hvm.runtime\": \"micro-VM\",\n"
	"    \"io.github.hvm.version\": \"" HVM_VERSION "\",\n"
	"    \"io.github.hvm.cgroup.systemd\": \"slice:prefix:name is made on cgroupfs, no unit\"\n"
	"  }\n"
	"}\n";

/* Reads the state of c->id into st; reports a missing container the way runc does. */
static int load(const struct oci_cli *c, char *dir, size_t cap, struct oci_state *st)
{
	int err = oci_state_dir(c->root, c->id, dir, cap);

	if (err) {
		oci_err("invalid container id: %s", c->id);
		return err;
	}
	err = oci_state_read(dir, st);
	if (err == -ENOENT)
		oci_err("container \"%s\" does not exist", c->id);
	else if (err)
		oci_err("%s/%s: %s", dir, OCI_STATE_FILE, strerror(-err));
	return err;
}

/* The image cache needs a home: engines may run us with neither HOME nor XDG_CACHE_HOME. */
static void cache_home(void)
{
	if (!getenv("XDG_CACHE_HOME") && !getenv("HOME"))
		setenv("XDG_CACHE_HOME", "/var/cache", 0);
}

static int make_state_dir(const struct oci_cli *c, char *dir, size_t cap)
{
	int err = oci_state_dir(c->root, c->id, dir, cap);

	if (err) {
		oci_err("invalid container id: %s", c->id);
		return err;
	}
	err = mkdir_p(c->root, 0755, 0711);	/* engines pass a --root whose parents may not exist yet */
	if (err) {
		oci_err("root %s: %s", c->root, strerror(-err));
		return err;
	}
	if (mkdir(dir, 0711) < 0) {
		if (errno == EEXIST)
			oci_err("container with id exists: %s", c->id);
		else
			oci_err("%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (dir[0] != '/') {	/* the supervisor leaves our working directory */
		char abs[PATH_MAX];
		if (!realpath(dir, abs) || strlen(abs) >= cap) {
			oci_err("%s: %s", dir, strerror(errno ? errno : ENAMETOOLONG));
			rmdir(dir);
			return -ENAMETOOLONG;
		}
		strcpy(dir, abs);
	}
	return 0;
}

/* Removes the state directory and the few files the supervisor and we put in it, and the
 * host cgroup create made (the supervisor is gone by now). */
static void remove_state_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;

	oci_cgroup_remove(dir);
	d = opendir(dir);
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* The state document hooks get on stdin, with status as the lifecycle step says; NULL when
 * the record cannot be read (said why). */
static char *hook_state(const char *dir, const char *status)
{
	struct oci_state st;
	char *json;
	int err = oci_state_read(dir, &st);

	if (err) {
		oci_err("%s/%s: %s", dir, OCI_STATE_FILE, strerror(-err));
		return NULL;
	}
	json = oci_state_json(&st, status);
	oci_state_free(&st);
	if (!json)
		oci_err("state: out of memory");
	return json;
}

/* The host hooks of kind for the container in dir; hooks NULL: none. 0 or -EIO. */
static int run_hooks(const char *dir, const char *hooks, const char *kind, const char *status,
		     int fatal)
{
	char *state;
	int err;

	if (!hooks)
		return 0;
	state = hook_state(dir, status);
	err = state ? oci_hooks_run(hooks, kind, state, fatal) : -EIO;
	free(state);
	return fatal ? err : 0;
}

static int cmd_start_request(const struct oci_cli *c, const char *dir)
{
	char msg[1024], *hooks;

	if (oci_vm_request(dir, "start", msg, sizeof(msg))) {
		oci_err("cannot start container %s: %s", c->id, msg);
		return EXIT_HVM_ERROR;
	}
	hooks = oci_hooks_load(dir);	/* poststart: after the process runs, warnings only */
	run_hooks(dir, hooks, "poststart", "running", 0);
	free(hooks);
	return 0;
}

/* delete's last steps: the state goes, then the poststop hooks run (warnings only). */
static void delete_state(const char *dir)
{
	char *hooks = oci_hooks_load(dir);
	char *state = hooks ? hook_state(dir, "stopped") : NULL;

	remove_state_dir(dir);
	if (state)
		oci_hooks_run(hooks, "poststop", state, 0);
	free(state);
	free(hooks);
}

/* prestart, then createRuntime (runc's order), once the supervisor is ready. A failure
 * stops the container, runs poststop (the lifecycle goes on at its destruction) and
 * removes the state: nothing is left. Returns 0 or -EIO. */
static int create_hooks(const char *dir, const struct oci_spec *spec, pid_t pid)
{
	char msg[256], *state;
	int err = run_hooks(dir, spec->hooks, "prestart", "creating", 1);

	if (!err)
		err = run_hooks(dir, spec->hooks, "createRuntime", "creating", 1);
	if (!err)
		return 0;
	state = hook_state(dir, "stopped");
	if (oci_vm_request(dir, "kill 9", msg, sizeof(msg)))
		kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (state)
		oci_hooks_run(spec->hooks, "poststop", state, 0);
	free(state);
	remove_state_dir(dir);
	return err;
}

/* The container's host cgroup, made before its supervisor, which joins it. 0 or -errno,
 * said as "linux.cgroupsPath: PATH: why" (no cgroupsPath: none, the VMM stays where the
 * engine runs it). */
static int create_cgroup(const struct oci_cli *c, const char *dir, const struct oci_spec *spec)
{
	char path[PATH_MAX], err[512];

	if (!spec->cgroups_path)
		return 0;
	if (oci_cgroup_resolve(spec->cgroups_path, c->systemd_cgroup, path, sizeof(path), err,
			       sizeof(err))) {
		oci_err("%s", err);
		return -EINVAL;
	}
	return oci_cgroup_setup(dir, spec->cgroups_path, path, &spec->res,
				spec->mem_mib ? spec->mem_mib : HVM_MEMORY_MIB_DEFAULT);
}

static int cmd_create(const struct oci_cli *c)
{
	char bundle[PATH_MAX], path[PATH_MAX + 16], dir[PATH_MAX], err[512], *json;
	struct oci_spec spec;
	struct stat st;
	int status;
	pid_t pid;

	if (!realpath(c->bundle, bundle)) {
		oci_err("bundle %s: %s", c->bundle, strerror(errno));
		return EXIT_HVM_ERROR;
	}
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	if (!(json = oci_read_file(path))) {
		oci_err("%s: %s", path, strerror(errno));
		return EXIT_HVM_ERROR;
	}
	status = oci_spec_parse(json, bundle, &spec, err, sizeof(err));
	free(json);
	if (!status && stat(spec.root, &st) < 0) {	/* runc's "rootfs does not exist" */
		snprintf(err, sizeof(err), "root.path: %s: %s", spec.root, strerror(errno));
		oci_spec_free(&spec);
		status = -EINVAL;
	}
	if (status) {
		oci_err("%s", err);
		return status == -EINVAL ? EXIT_INVALID : EXIT_HVM_ERROR;
	}
	cache_home();
	if (make_state_dir(c, dir, sizeof(dir))) {
		oci_spec_free(&spec);
		return EXIT_HVM_ERROR;
	}
	pid = create_cgroup(c, dir, &spec) ? -EINVAL : oci_hooks_save(dir, spec.hooks) ? -EIO
		: oci_vm_create(c, dir, bundle, &spec);
	if (pid > 0 && create_hooks(dir, &spec, pid)) {
		oci_spec_free(&spec);
		return EXIT_INVALID;	/* runc's status when a hook fails */
	}
	if (pid > 0 && c->pid_file && oci_write_pid_file(c->pid_file, pid)) {
		oci_err("pid file %s: %s", c->pid_file, strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);	/* its cgroup is removed next */
		pid = -EIO;
	}
	if (pid < 0)
		remove_state_dir(dir);
	oci_spec_free(&spec);
	if (pid < 0)	/* -EINVAL: the configuration's cgroup was refused, runc's status 1 */
		return pid == -EINVAL ? EXIT_INVALID : EXIT_HVM_ERROR;
	if (c->verb != OCI_RUN)
		return 0;
	if (cmd_start_request(c, dir)) {
		waitpid(pid, NULL, 0);
		return EXIT_HVM_ERROR;
	}
	if (c->detach)
		return 0;
	status = EXIT_HVM_ERROR;
	waitpid(pid, &status, 0);
	delete_state(dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmd_start(const struct oci_cli *c)
{
	struct oci_state st;
	char dir[PATH_MAX];
	const char *status;
	int rc = EXIT_HVM_ERROR;

	if (load(c, dir, sizeof(dir), &st))
		return EXIT_HVM_ERROR;
	status = oci_state_status(&st);
	if (strcmp(status, "created") == 0)
		rc = cmd_start_request(c, dir);
	else if (strcmp(status, "running") == 0)
		oci_err("cannot start an already running container");
	else if (strcmp(status, "stopped") == 0)
		oci_err("cannot start a container that has stopped");
	else
		oci_err("cannot start a container in the %s state", status);
	oci_state_free(&st);
	return rc;
}

static int cmd_state(const struct oci_cli *c)
{
	struct oci_state st;
	char dir[PATH_MAX], *json;

	if (load(c, dir, sizeof(dir), &st))
		return EXIT_HVM_ERROR;
	json = oci_state_json(&st, oci_state_status(&st));
	oci_state_free(&st);
	if (!json) {
		oci_err("state: out of memory");
		return EXIT_HVM_ERROR;
	}
	puts(json);
	free(json);
	return 0;
}

static int cmd_kill(const struct oci_cli *c)
{
	struct oci_state st;
	char dir[PATH_MAX], req[32], msg[1024];
	int rc = 0;

	if (load(c, dir, sizeof(dir), &st))
		return EXIT_HVM_ERROR;
	if (strcmp(oci_state_status(&st), "stopped") == 0) {
		oci_err("container not running");
		rc = EXIT_HVM_ERROR;
	} else {
		snprintf(req, sizeof(req), "kill %d", c->signal);
		if (oci_vm_request(dir, req, msg, sizeof(msg))) {
			/* the supervisor is unreachable: the signal still reaches the VM's owner */
			if (kill(st.pid, c->signal) < 0) {
				oci_err("kill %s: %s", c->id, msg);
				rc = EXIT_HVM_ERROR;
			}
		}
	}
	oci_state_free(&st);
	return rc;
}

/* pause (pause 1) or resume: the container must be running, or paused, as runc wants it;
 * its supervisor stops or restarts the VM's vCPUs and records the new status. */
static int cmd_pause(const struct oci_cli *c, int pause)
{
	const char *verb = pause ? "pause" : "resume", *want = pause ? "running" : "paused";
	struct oci_state st;
	char dir[PATH_MAX], msg[1024];
	int rc = 0;

	if (load(c, dir, sizeof(dir), &st))
		return EXIT_HVM_ERROR;
	if (strcmp(oci_state_status(&st), want) != 0) {
		oci_err("cannot %s container %s that is not %s: %s", verb, c->id, want,
			oci_state_status(&st));
		rc = EXIT_HVM_ERROR;
	} else if (oci_vm_request(dir, verb, msg, sizeof(msg))) {
		oci_err("cannot %s container %s: %s", verb, c->id, msg);
		rc = EXIT_HVM_ERROR;
	}
	oci_state_free(&st);
	return rc;
}

/* Waits until the supervisor is gone (a zombie counts: its parent reaps it, not us). */
static int wait_gone(const struct oci_state *st, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (strcmp(oci_state_status(st), "stopped") == 0)
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	return -ETIMEDOUT;
}

static int cmd_delete(const struct oci_cli *c)
{
	struct oci_state st;
	char dir[PATH_MAX];
	const char *status;
	int err = oci_state_dir(c->root, c->id, dir, sizeof(dir));

	if (!err && c->force) {
		int read = oci_state_read(dir, &st);
		if (read == -ENOENT)
			return 0;	/* runc: delete --force of what is not there succeeds */
		if (!read)
			oci_state_free(&st);	/* load reads it again, with its errors */
	}
	if (load(c, dir, sizeof(dir), &st))
		return EXIT_HVM_ERROR;
	status = oci_state_status(&st);
	if (strcmp(status, "stopped") != 0 && !c->force) {
		oci_err("cannot delete container %s that is not stopped: %s", c->id, status);
		oci_state_free(&st);
		return EXIT_HVM_ERROR;
	}
	if (strcmp(status, "stopped") != 0) {
		char msg[256];
		if (oci_vm_request(dir, "kill 9", msg, sizeof(msg)) || wait_gone(&st, DELETE_WAIT_MS))
			kill(st.pid, SIGKILL);
		wait_gone(&st, DELETE_WAIT_MS);
	}
	delete_state(dir);
	oci_state_free(&st);
	return 0;
}

static int cmd_list(const struct oci_cli *c)
{
	DIR *d = opendir(c->root);
	struct dirent *e;
	int first = 1;

	if (c->list_json)
		fputs("[", stdout);
	else
		printf("%-12s %-10s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
	while (d && (e = readdir(d))) {
		char dir[PATH_MAX];
		struct oci_state st;
		const char *status;

		if (e->d_name[0] == '.' || oci_state_dir(c->root, e->d_name, dir, sizeof(dir)) ||
		    oci_state_read(dir, &st))
			continue;
		status = oci_state_status(&st);
		if (c->list_json) {
			char *json = oci_state_json(&st, status);
			printf("%s%s", first ? "" : ",", json ? json : "{}");
			free(json);
		} else {
			printf("%-12s %-10d %-10s %-40s %s\n", st.id,
			       strcmp(status, "stopped") ? st.pid : 0, status, st.bundle,
			       st.created ? st.created : "");
		}
		first = 0;
		oci_state_free(&st);
	}
	if (d)
		closedir(d);
	if (c->list_json)
		puts("]");
	return 0;
}

static int cmd_exec(const struct oci_cli *c)
{
	char dir[PATH_MAX];

	if (oci_state_dir(c->root, c->id, dir, sizeof(dir))) {
		oci_err("invalid container id: %s", c->id);
		return EXIT_HVM_ERROR;
	}
	cache_home();
	return oci_exec(c, dir);
}

/* update, events and ps: they read or change the container's host cgroup. */
static int cmd_cgroup(const struct oci_cli *c)
{
	struct oci_state st;
	char dir[PATH_MAX];
	int rc;

	if (load(c, dir, sizeof(dir), &st))
		return EXIT_HVM_ERROR;
	rc = oci_cgroup_cmd(c, dir, oci_state_status(&st));
	oci_state_free(&st);
	return rc;
}

static int dispatch(const struct oci_cli *c)
{
	switch (c->verb) {
	case OCI_CREATE:
	case OCI_RUN:
		return cmd_create(c);
	case OCI_START:
		return cmd_start(c);
	case OCI_STATE:
		return cmd_state(c);
	case OCI_KILL:
		return cmd_kill(c);
	case OCI_DELETE:
		return cmd_delete(c);
	case OCI_EXEC:
		return cmd_exec(c);
	case OCI_LIST:
		return cmd_list(c);
	case OCI_PAUSE:
	case OCI_RESUME:
		return cmd_pause(c, c->verb == OCI_PAUSE);
	case OCI_FEATURES:
		fputs(features_json, stdout);
		return 0;
	case OCI_UPDATE:
	case OCI_EVENTS:
	case OCI_PS:
		return cmd_cgroup(c);
	default:
		oci_err("%s: not supported by hvm-oci", c->verb_name);
		return EXIT_HVM_ERROR;
	}
}

int main(int argc, char **argv)
{
	struct oci_cli c;
	char err[512];
	int perr = oci_cli_parse(&c, argc, argv, err, sizeof(err));

	if (oci_log_open(c.log, c.log_json, c.debug) < 0)
		fprintf(stderr, "hvm-oci: --log %s: %s\n", c.log, strerror(errno));
	if (perr) {
		oci_err("%s", err);
		return EXIT_HVM_ERROR;
	}
	if (c.help) {
		fputs(oci_cli_usage, stdout);
		return 0;
	}
	if (c.version) {
		printf("hvm-oci version %s\ncommit: hvm-oci-%s\nspec: %s\n", HVM_VERSION,
		       HVM_VERSION, OCI_SPEC_VERSION);
		return 0;
	}
	oci_debug("%s %s", c.verb_name, c.id ? c.id : "");
	return dispatch(&c);
}
