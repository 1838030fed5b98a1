#include "oci_cli.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../include/hvm.h"

const char oci_cli_usage[] =
	"Usage: hvm-oci [GLOBAL FLAGS] COMMAND [FLAGS] ID [ARGS]\n"
	"\n"
	"An OCI runtime with runc's command line: each container is a KVM micro-VM.\n"
	"\n"
	"Commands:\n"
	"  create --bundle DIR --pid-file FILE [--console-socket SOCK] ID\n"
	"  start ID            run the container's process\n"
	"  run --bundle DIR ID create, start and wait for the container\n"
	"  state ID            the OCI state as JSON\n"
	"  kill [--all] ID [SIGNAL]\n"
	"  delete [--force] ID\n"
	"  pause ID            stop the VM's vCPUs; resume ID lets them run again\n"
	"  exec [--process FILE | ID ARGS...] [--detach] [--pid-file FILE] [--tty]\n"
	"       [--console-socket SOCK] [--cwd DIR] [--env K=V] [--user UID[:GID]] ID\n"
	"  list, features\n"
	"  update [--memory N] [--memory-swap N] [--cpu-shares N] [--cpu-quota N] [--cpu-period N]\n"
	"       [--cpuset-cpus L] [--cpuset-mems L] [--pids-limit N] [--blkio-weight N]\n"
	"       [-r FILE|-] ID    change the container's host cgroup limits\n"
	"  events --stats ID   the container's cgroup statistics as one JSON line\n"
	"  ps [--format table|json] ID [PS ARGS]   the host processes in the container's cgroup\n"
	"\n"
	"Global flags: --root DIR (default " OCI_DEFAULT_ROOT "), --log FILE,\n"
	"  --log-format text|json, --debug, --systemd-cgroup (cgroupsPath as slice:prefix:name),\n  --version\n"
	"  --no-jail   as root, each container's VMM jails itself (docs/jail.md); not with this\n"
	"  --uid N, --gid N  the jail's user and group (default 65534, nobody/nogroup)\n";

enum kind { BOOL, STR, INT, IGNORE_BOOL, IGNORE_STR, ENV };

struct flag {
	const char *name;
	char short_name;
	enum kind kind;
	size_t off;
};

#define F(name, s, kind, field) { name, s, kind, offsetof(struct oci_cli, field) }
#define IGN(name, kind) { name, 0, kind, 0 }

static const struct flag global_flags[] = {
	F("root", 0, STR, root), F("log", 0, STR, log), F("log-format", 0, STR, verb_name),
	F("debug", 0, BOOL, debug), F("version", 'v', BOOL, version), F("help", 'h', BOOL, help),
	F("no-jail", 0, BOOL, no_jail), F("uid", 0, INT, jail_uid), F("gid", 0, INT, jail_gid),
	F("systemd-cgroup", 0, BOOL, systemd_cgroup), IGN("rootless", IGNORE_STR), IGN("criu", IGNORE_STR),
	{ 0 },
};

static const struct flag create_flags[] = {
	F("bundle", 'b', STR, bundle), F("pid-file", 0, STR, pid_file),
	F("console-socket", 0, STR, console_socket), F("preserve-fds", 0, INT, preserve_fds),
	F("detach", 'd', BOOL, detach),
	IGN("no-pivot", IGNORE_BOOL), IGN("no-new-keyring", IGNORE_BOOL),
	IGN("no-subreaper", IGNORE_BOOL), IGN("keep", IGNORE_BOOL),
	{ 0 },
};

static const struct flag exec_flags[] = {
	F("process", 'p', STR, process), F("detach", 'd', BOOL, detach), F("tty", 't', BOOL, tty),
	F("pid-file", 0, STR, pid_file), F("console-socket", 0, STR, console_socket),
	F("cwd", 0, STR, cwd), F("user", 'u', STR, user), F("env", 'e', ENV, env),
	F("preserve-fds", 0, INT, preserve_fds),
	IGN("process-label", IGNORE_STR), IGN("apparmor", IGNORE_STR), IGN("cap", IGNORE_STR),
	IGN("no-new-privs", IGNORE_BOOL), IGN("additional-gids", IGNORE_STR), IGN("cgroup", IGNORE_STR),
	{ 0 },
};

static const struct flag kill_flags[] = { F("all", 'a', BOOL, all), { 0 } };
static const struct flag delete_flags[] = { F("force", 'f', BOOL, force), { 0 } };
static const struct flag list_flags[] = {
	F("format", 'f', STR, verb_name), IGN("quiet", IGNORE_BOOL), { 0 },
};
static const struct flag update_flags[] = {
	F("resources", 'r', STR, upd.resources), F("memory", 0, STR, upd.memory),
	F("memory-swap", 0, STR, upd.memory_swap), F("cpu-shares", 0, STR, upd.cpu_shares),
	F("cpu-quota", 0, STR, upd.cpu_quota), F("cpu-period", 0, STR, upd.cpu_period),
	F("cpuset-cpus", 0, STR, upd.cpuset_cpus), F("cpuset-mems", 0, STR, upd.cpuset_mems),
	F("pids-limit", 0, STR, upd.pids_limit), F("blkio-weight", 0, STR, upd.blkio_weight),
	IGN("memory-reservation", IGNORE_STR), IGN("kernel-memory", IGNORE_STR),
	IGN("kernel-memory-tcp", IGNORE_STR), IGN("cpu-rt-period", IGNORE_STR),
	IGN("cpu-rt-runtime", IGNORE_STR), IGN("l3-cache-schema", IGNORE_STR),
	IGN("mem-bw-schema", IGNORE_STR), IGN("cpu-idle", IGNORE_STR),
	{ 0 },
};
static const struct flag events_flags[] = {
	F("stats", 0, BOOL, stats), IGN("interval", IGNORE_STR), { 0 },
};
static const struct flag no_flags[] = { { 0 } };

struct verb {
	const char *name;
	enum oci_verb verb;
	const struct flag *flags;
	int needs_id;
};

static const struct verb verbs[] = {
	{ "create", OCI_CREATE, create_flags, 1 }, { "run", OCI_RUN, create_flags, 1 },
	{ "start", OCI_START, no_flags, 1 }, { "state", OCI_STATE, no_flags, 1 },
	{ "kill", OCI_KILL, kill_flags, 1 }, { "delete", OCI_DELETE, delete_flags, 1 },
	{ "exec", OCI_EXEC, exec_flags, 1 }, { "features", OCI_FEATURES, no_flags, 0 },
	{ "list", OCI_LIST, list_flags, 0 }, { "pause", OCI_PAUSE, no_flags, 1 },
	{ "resume", OCI_RESUME, no_flags, 1 }, { "ps", OCI_PS, list_flags, 1 },
	{ "update", OCI_UPDATE, update_flags, 1 }, { "events", OCI_EVENTS, events_flags, 1 },
	{ 0 },
};

int oci_signal_parse(const char *s)
{
	char *end;
	long n;

	if (!s || !*s)
		return -EINVAL;
	n = strtol(s, &end, 10);
	if (*end == '\0')
		return n > 0 && n < NSIG ? (int)n : -EINVAL;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev && strcasecmp(abbrev, s) == 0)
			return sig;
	}
	return -EINVAL;
}

/* "--name", "--name=value", "-n": the flag of the table it names, and an inline value. */
static const struct flag *lookup(const struct flag *t, const char *arg, const char **inline_val)
{
	const char *name = arg + (arg[1] == '-' ? 2 : 1);
	size_t len = strcspn(name, "=");

	*inline_val = name[len] == '=' ? name + len + 1 : NULL;
	for (; t->name; t++) {
		if (arg[1] == '-' || len > 1) {
			if (strlen(t->name) == len && strncmp(t->name, name, len) == 0)
				return t;
		} else if (t->short_name == name[0]) {
			return t;
		}
	}
	return NULL;
}

static int bool_value(const char *v, int *out)
{
	if (!v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

/* Stores one flag's value; *i moves past a separate value argument. */
static int set_flag(struct oci_cli *c, const struct flag *f, const char *v, int argc, char **argv,
		    int *i, char *err, int errcap)
{
	int b;

	if (f->kind != BOOL && f->kind != IGNORE_BOOL && !v) {
		if (*i + 1 >= argc) {
			snprintf(err, (size_t)errcap, "flag needs an argument: --%s", f->name);
			return -EINVAL;
		}
		v = argv[++*i];
	}
	switch (f->kind) {
	case BOOL:
	case IGNORE_BOOL:
		if (bool_value(v, &b)) {
			snprintf(err, (size_t)errcap, "invalid boolean value %s for --%s", v, f->name);
			return -EINVAL;
		}
		if (f->kind == BOOL)
			*(int *)((char *)c + f->off) = b;
		return 0;
	case STR:
		*(const char **)((char *)c + f->off) = v;
		return 0;
	case INT:
		*(int *)((char *)c + f->off) = atoi(v);
		return 0;
	case ENV:
		if (c->nenv >= OCI_MAX_ENV) {
			snprintf(err, (size_t)errcap, "too many --env flags");
			return -EINVAL;
		}
		c->env[c->nenv++] = v;
		return 0;
	case IGNORE_STR:
		return 0;
	}
	return 0;
}

/* Parses flags from argv[*i] on until the first word that is not one; "--" ends them too. */
static int parse_flags(struct oci_cli *c, const struct flag *t, int argc, char **argv, int *i,
		       char *err, int errcap)
{
	for (; *i < argc; ++*i) {
		const char *a = argv[*i], *v;
		const struct flag *f;

		if (strcmp(a, "--") == 0) {
			++*i;
			return 0;
		}
		if (a[0] != '-' || a[1] == '\0')
			return 0;
		f = lookup(t, a, &v);
		if (!f) {
			snprintf(err, (size_t)errcap, "flag provided but not defined: %s", a);
			return -EINVAL;
		}
		if (set_flag(c, f, v, argc, argv, i, err, errcap))
			return -EINVAL;
	}
	return 0;
}

/* Global flags; --log-format parks its value in verb_name until it is checked here. */
static int parse_global(struct oci_cli *c, int argc, char **argv, int *i, char *err, int errcap)
{
	if (parse_flags(c, global_flags, argc, argv, i, err, errcap))
		return -EINVAL;
	if (c->verb_name) {
		if (strcmp(c->verb_name, "json") != 0 && strcmp(c->verb_name, "text") != 0) {
			snprintf(err, (size_t)errcap, "invalid log-format: %s", c->verb_name);
			return -EINVAL;
		}
		c->log_json = strcmp(c->verb_name, "json") == 0;
		c->verb_name = NULL;
	}
	return 0;
}

/* The words after the verb's flags: ID, then kill's signal or exec's command. */
static int parse_positional(struct oci_cli *c, const struct verb *v, int argc, char **argv, int i,
			    char *err, int errcap)
{
	if (v->needs_id) {
		if (i >= argc) {
			snprintf(err, (size_t)errcap, "\"%s\" requires a container id", v->name);
			return -EINVAL;
		}
		c->id = argv[i++];
	}
	if (c->verb == OCI_KILL) {
		c->signal = oci_signal_parse(i < argc ? argv[i++] : "TERM");
		if (c->signal < 0) {
			snprintf(err, (size_t)errcap, "invalid signal: %s", argv[i - 1]);
			return -EINVAL;
		}
	}
	if (c->verb == OCI_EXEC) {
		c->args = argv + i;
		c->nargs = argc - i;
		if (!c->process && c->nargs == 0) {
			snprintf(err, (size_t)errcap, "exec: neither --process nor a command given");
			return -EINVAL;
		}
		return 0;
	}
	if (c->verb == OCI_PS) {	/* ps's own arguments, as runc passes them to ps(1) */
		c->args = argv + i;
		c->nargs = argc - i;
		return 0;
	}
	if (i < argc) {
		snprintf(err, (size_t)errcap, "%s: unexpected argument: %s", v->name, argv[i]);
		return -EINVAL;
	}
	return 0;
}

int oci_cli_parse(struct oci_cli *c, int argc, char **argv, char *err, int errcap)
{
	const struct verb *v;
	int i = 1;

	*c = (struct oci_cli){ .root = OCI_DEFAULT_ROOT, .bundle = ".",
			       .jail_uid = HVM_JAIL_DEFAULT_ID, .jail_gid = HVM_JAIL_DEFAULT_ID };
	err[0] = '\0';
	if (parse_global(c, argc, argv, &i, err, errcap))
		return -EINVAL;
	if (c->jail_uid < 0 || c->jail_gid < 0) {
		snprintf(err, (size_t)errcap, "invalid --uid or --gid: ids are 0 or more");
		return -EINVAL;
	}
	if (i >= argc) {
		if (c->version || c->help)
			return 0;
		snprintf(err, (size_t)errcap, "no command given (see --help)");
		return -EINVAL;
	}
	for (v = verbs; v->name && strcmp(v->name, argv[i]) != 0; v++)
		;
	if (!v->name) {
		snprintf(err, (size_t)errcap, "No help topic for '%s'", argv[i]);
		return -EINVAL;
	}
	c->verb = v->verb;
	i++;
	if (parse_flags(c, v->flags, argc, argv, &i, err, errcap))
		return -EINVAL;
	if (c->verb_name) {	/* list/ps --format */
		c->list_json = strcmp(c->verb_name, "json") == 0;
	}
	c->verb_name = v->name;
	return parse_positional(c, v, argc, argv, i, err, errcap);
}
