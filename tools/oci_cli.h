/* hvm-oci's command line, in runc's shape: global flags, a verb, its flags, the container id. */
#ifndef HVM_OCI_CLI_H
#define HVM_OCI_CLI_H

#define OCI_MAX_ENV 256
#define OCI_DEFAULT_ROOT "/run/hvm-oci"

enum oci_verb {
	OCI_NONE, OCI_CREATE, OCI_START, OCI_RUN, OCI_STATE, OCI_KILL, OCI_DELETE, OCI_EXEC,
	OCI_FEATURES, OCI_LIST, OCI_PAUSE, OCI_RESUME, OCI_PS, OCI_UPDATE, OCI_EVENTS,
};

/* update's flags as given (NULL: not given); oci_update.h turns them into resources. */
struct oci_update_args {
	const char *resources;		/* -r FILE, "-" for stdin: linux.resources JSON */
	const char *memory, *memory_swap, *cpu_shares, *cpu_quota, *cpu_period;
	const char *cpuset_cpus, *cpuset_mems, *pids_limit, *blkio_weight;
};

struct oci_cli {
	/* global */
	const char *root;		/* --root: state directories live in ROOT/ID */
	const char *log;		/* --log FILE: errors as JSON lines (or text) */
	int log_json;			/* --log-format json */
	int debug;
	int version, help;
	int systemd_cgroup;		/* --systemd-cgroup: cgroupsPath may be slice:prefix:name */
	int no_jail;			/* --no-jail: no self-jail even as root (docs/jail.md) */
	int jail_uid, jail_gid;		/* --uid, --gid: the jail's ids (default 65534) */
	/* the verb */
	enum oci_verb verb;
	const char *verb_name;
	const char *id;
	const char *bundle;		/* create/run: --bundle (default ".") */
	const char *pid_file;
	const char *console_socket;
	const char *process;		/* exec --process FILE */
	int detach, tty, force, all;
	int signal;			/* kill: parsed signal number (default SIGTERM) */
	const char *cwd;		/* exec --cwd */
	const char *user;		/* exec --user UID[:GID] */
	const char *env[OCI_MAX_ENV];	/* exec --env */
	int nenv;
	char **args;			/* exec: the command after ID, NULL-terminated (may be empty) */
	int nargs;
	int preserve_fds;
	int list_json;			/* list/ps --format json */
	int stats;			/* events --stats */
	struct oci_update_args upd;
};

/*
 * Parses argv into c. Returns 0, or -EINVAL with the reason written into err (as runc
 * would word it). Flags may be given as "--flag value", "--flag=value" or "-f value".
 */
int oci_cli_parse(struct oci_cli *c, int argc, char **argv, char *err, int errcap);

/* "KILL", "SIGKILL", "kill" or "9": the signal number, or -EINVAL. */
int oci_signal_parse(const char *s);

/* The usage text. */
extern const char oci_cli_usage[];

#endif
