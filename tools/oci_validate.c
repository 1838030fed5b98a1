#include "oci_validate.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "oci_names.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define GET(obj, key) cJSON_GetObjectItemCaseSensitive(obj, key)

static const struct {
	const char *name;
	int type;
} ns_types[] = {
	{ "pid", CLONE_NEWPID },	{ "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
	{ "ipc", CLONE_NEWIPC },	{ "uts", CLONE_NEWUTS },     { "user", CLONE_NEWUSER },
	{ "cgroup", CLONE_NEWCGROUP }, { "time", CLONE_NEWTIME },
};

/* Mount options that are flags (mount(8)'s words); "key=value" ones are file system data. */
static const char *const mount_flags[] = {
	"ro", "rw", "bind", "rbind", "suid", "nosuid", "dev", "nodev", "exec", "noexec",
	"sync", "async", "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime",
	"nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime", "lazytime",
	"nolazytime", "silent", "loud", "private", "rprivate", "shared", "rshared", "slave",
	"rslave", "unbindable", "runbindable", "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev",
	"rnoexec", "rexec", "rnoatime", "ratime", "rrelatime", "rnorelatime", "rstrictatime",
	"rnostrictatime", "rnodiratime", "rdiratime", "tmpcopyup", "idmap", "ridmap", "newinstance",
	"nosymfollow", "rnosymfollow", "notmpcopyup", "defaults", "noacl", "acl", "user_xattr",
};

/* linux.rootfsPropagation: runc's words (the r- ones recursive). */
static const char *const propagations[] = {
	"private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
};

static const char *const cap_sets[] = { "bounding", "effective", "inheritable", "permitted",
					"ambient" };

#define OCI_MAPPINGS_MAX 340	/* lines of one /proc/PID/uid_map the kernel accepts */

/* 1 when word is one of the n in list. */
static int in_list(const char *word, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], word) == 0)
			return 1;
	return 0;
}

#define IN_LIST(word, array) in_list(word, array, sizeof(array) / sizeof(array[0]))

__attribute__((format(printf, 3, 4)))
static int refuse(char *err, int errcap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, (size_t)errcap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int oci_validate_ns_type(const char *name)
{
	for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
		if (strcmp(ns_types[i].name, name) == 0)
			return ns_types[i].type;
	return 0;
}

static const char *ns_name(int type)
{
	for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
		if (ns_types[i].type == type)
			return ns_types[i].name;
	return "unknown";
}

/* A number that is a whole, non-negative value (JSON has only doubles). */
static int is_count(const cJSON *n)
{
	double v = cJSON_IsNumber(n) ? n->valuedouble : -1;

	return v >= 0 && (v >= 9.0e15 || v == (double)(long long)v);	/* 2^64-1 is unlimited */
}

static int check_rlimits(const cJSON *a, char *err, int errcap)
{
	const cJSON *r;
	unsigned seen = 0;

	if (a && !cJSON_IsArray(a))
		return refuse(err, errcap, "process.rlimits: must be an array");
	cJSON_ArrayForEach(r, a) {
		const cJSON *type = GET(r, "type"), *soft = GET(r, "soft"), *hard = GET(r, "hard");
		int n = cJSON_IsString(type) ? oci_names_rlimit(type->valuestring) : -1;

		if (!cJSON_IsString(type))
			return refuse(err, errcap, "process.rlimits: an entry without a type");
		if (n < 0)
			return refuse(err, errcap, "process.rlimits: unknown rlimit type %s",
				      type->valuestring);
		if (seen & (1u << n))
			return refuse(err, errcap, "process.rlimits: %s given twice", type->valuestring);
		seen |= 1u << n;
		if (!is_count(soft) || !is_count(hard))
			return refuse(err, errcap, "process.rlimits: %s needs numeric soft and hard "
				      "limits", type->valuestring);
		if (soft->valuedouble > hard->valuedouble)
			return refuse(err, errcap, "process.rlimits: %s soft limit %.0f is above the "
				      "hard limit %.0f", type->valuestring, soft->valuedouble,
				      hard->valuedouble);
	}
	return 0;
}

static int check_caps(const cJSON *caps, char *err, int errcap)
{
	if (caps && !cJSON_IsObject(caps))
		return refuse(err, errcap, "process.capabilities: must be an object");
	for (size_t i = 0; caps && i < sizeof(cap_sets) / sizeof(cap_sets[0]); i++) {
		const cJSON *set = GET(caps, cap_sets[i]), *c;

		if (set && !cJSON_IsArray(set))
			return refuse(err, errcap, "process.capabilities.%s: must be an array",
				      cap_sets[i]);
		cJSON_ArrayForEach(c, set)
			if (!cJSON_IsString(c) || oci_names_cap(c->valuestring) < 0)
				return refuse(err, errcap, "process.capabilities.%s: unknown "
					      "capability %s", cap_sets[i],
					      cJSON_IsString(c) ? c->valuestring : "(not a string)");
	}
	return 0;
}

/* A path must name a namespace of the kind it is given for (NS_GET_NSTYPE, Linux 4.11). */
static int check_ns_path(const char *name, int type, const char *path, char *err, int errcap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), got;

	if (fd < 0)
		return refuse(err, errcap, "linux.namespaces: %s path %s: %s", name, path,
			      strerror(errno));
	got = ioctl(fd, NS_GET_NSTYPE);
	close(fd);
	if (got < 0)
		return refuse(err, errcap, "linux.namespaces: %s path %s is not a namespace", name,
			      path);
	if (got != type)
		return refuse(err, errcap, "linux.namespaces: %s path %s is a %s namespace, not %s",
			      name, path, ns_name(got), name);
	return 0;
}

static int check_namespaces(const cJSON *a, char *err, int errcap)
{
	const cJSON *ns;
	int seen = 0;

	if (a && !cJSON_IsArray(a))
		return refuse(err, errcap, "linux.namespaces: must be an array");
	cJSON_ArrayForEach(ns, a) {
		const cJSON *type = GET(ns, "type"), *path = GET(ns, "path");
		int t = cJSON_IsString(type) ? oci_validate_ns_type(type->valuestring) : 0;

		if (!t)
			return refuse(err, errcap, "linux.namespaces: unknown namespace type %s",
				      cJSON_IsString(type) ? type->valuestring : "(none)");
		if (seen & t)
			return refuse(err, errcap, "linux.namespaces: %s given twice",
				      type->valuestring);
		seen |= t;
		if (path && (!cJSON_IsString(path)))
			return refuse(err, errcap, "linux.namespaces: %s path must be a string",
				      type->valuestring);
		if (cJSON_IsString(path) && path->valuestring[0] &&
		    check_ns_path(type->valuestring, t, path->valuestring, err, errcap))
			return -EINVAL;
	}
	return 0;
}


static int check_mounts(const cJSON *a, char *err, int errcap)
{
	const cJSON *m;
	int i = 0;

	if (a && !cJSON_IsArray(a))
		return refuse(err, errcap, "mounts: must be an array");
	cJSON_ArrayForEach(m, a) {
		const cJSON *dst = GET(m, "destination"), *opts = GET(m, "options"), *o;

		if (!cJSON_IsString(dst) || dst->valuestring[0] != '/')
			return refuse(err, errcap, "mounts[%d].destination: %s", i,
				      cJSON_IsString(dst) ? "must be an absolute path" : "missing");
		if (opts && !cJSON_IsArray(opts))
			return refuse(err, errcap, "mounts[%d].options: must be an array", i);
		cJSON_ArrayForEach(o, opts) {
			const char *v = cJSON_IsString(o) ? o->valuestring : NULL;
			const char *eq = v ? strchr(v, '=') : NULL;
			if (!v || !v[0] || (eq ? eq == v : !IN_LIST(v, mount_flags)))
				return refuse(err, errcap, "mounts[%d].options: invalid mount option "
					      "%s for %s", i, v ? v : "(not a string)",
					      dst->valuestring);
		}
		i++;
	}
	return 0;
}

/* cgroupfs wants an absolute path; systemd's form is "slice:prefix:name". */
static int check_cgroups_path(const cJSON *p, char *err, int errcap)
{
	const char *s = cJSON_IsString(p) ? p->valuestring : NULL, *c1;

	if (p && !s)
		return refuse(err, errcap, "linux.cgroupsPath: must be a string");
	if (!s || !s[0] || s[0] == '/')
		return 0;
	c1 = strchr(s, ':');
	if (c1 && strchr(c1 + 1, ':') && !strchr(strchr(c1 + 1, ':') + 1, ':'))
		return 0;
	return refuse(err, errcap, "linux.cgroupsPath: %s is relative; it must be absolute, or "
		      "slice:prefix:name with --systemd-cgroup", s);
}

static int strings_only(const cJSON *a)
{
	const cJSON *s;

	if (a && !cJSON_IsArray(a))
		return 0;
	cJSON_ArrayForEach(s, a)
		if (!cJSON_IsString(s))
			return 0;
	return 1;
}

static int check_hook(const char *kind, int i, const cJSON *h, char *err, int errcap)
{
	const cJSON *path = GET(h, "path"), *timeout = GET(h, "timeout");

	if (!cJSON_IsString(path) || path->valuestring[0] != '/')
		return refuse(err, errcap, "hooks.%s[%d].path: %s", kind, i,
			      cJSON_IsString(path) ? "must be an absolute path" : "missing");
	if (!strings_only(GET(h, "args")) || !strings_only(GET(h, "env")))
		return refuse(err, errcap, "hooks.%s[%d]: args and env must be arrays of strings",
			      kind, i);
	if (timeout && (!is_count(timeout) || timeout->valuedouble < 1))
		return refuse(err, errcap, "hooks.%s[%d].timeout: must be a positive number of "
			      "seconds", kind, i);
	return 0;
}

static int check_hooks(const cJSON *hooks, char *err, int errcap)
{
	const cJSON *kind;

	if (hooks && !cJSON_IsObject(hooks))
		return refuse(err, errcap, "hooks: must be an object");
	cJSON_ArrayForEach(kind, hooks) {
		const cJSON *h;
		int i = 0;

		if (!cJSON_IsArray(kind))
			return refuse(err, errcap, "hooks.%s: must be an array", kind->string);
		cJSON_ArrayForEach(h, kind)
			if (check_hook(kind->string, i++, h, err, errcap))
				return -EINVAL;
	}
	return 0;
}

/* A whole number in [0, max] (JSON has only doubles). */
static int is_id(const cJSON *n, double max)
{
	return is_count(n) && n->valuedouble <= max;
}

/* linux.devices as runc takes them: an absolute path, type c, b, u or p, numbers for the
 * node, a mode of permission bits, 32-bit owner ids. */
static int check_device(int i, const cJSON *d, char *err, int errcap)
{
	const cJSON *path = GET(d, "path"), *type = GET(d, "type");
	const char *t = cJSON_IsString(type) ? type->valuestring : "";
	int fifo = !strcmp(t, "p");

	if (!cJSON_IsString(path) || path->valuestring[0] != '/' || strstr(path->valuestring, ".."))
		return refuse(err, errcap, "linux.devices[%d].path: %s", i, cJSON_IsString(path) ?
			      "must be an absolute path without .." : "missing");
	if (!fifo && strcmp(t, "c") && strcmp(t, "b") && strcmp(t, "u"))
		return refuse(err, errcap, "linux.devices[%d].type: %s: must be c, b, u or p", i,
			      t[0] ? t : "missing");
	if (!fifo && (!is_id(GET(d, "major"), 4095) || !is_id(GET(d, "minor"), 1048575)))
		return refuse(err, errcap, "linux.devices[%d] %s: major (0-4095) and minor "
			      "(0-1048575) are required for type %s", i, path->valuestring, t);
	if (GET(d, "fileMode") && !is_id(GET(d, "fileMode"), 07777))
		return refuse(err, errcap, "linux.devices[%d].fileMode: must be permission bits "
			      "(0-07777)", i);
	if ((GET(d, "uid") && !is_id(GET(d, "uid"), 4294967294.0)) ||
	    (GET(d, "gid") && !is_id(GET(d, "gid"), 4294967294.0)))
		return refuse(err, errcap, "linux.devices[%d]: uid and gid must be 32-bit ids", i);
	return 0;
}

static int check_devices(const cJSON *a, char *err, int errcap)
{
	const cJSON *d;
	int i = 0;

	if (a && !cJSON_IsArray(a))
		return refuse(err, errcap, "linux.devices: must be an array");
	cJSON_ArrayForEach(d, a)
		if (check_device(i++, d, err, errcap))
			return -EINVAL;
	return 0;
}

/* One of linux.uidMappings / gidMappings: 32-bit ids, sizes of at least 1, at most as many
 * lines as the kernel takes. */
static int check_mappings(const char *name, const cJSON *a, char *err, int errcap)
{
	const cJSON *m;
	int i = 0;

	if (a && !cJSON_IsArray(a))
		return refuse(err, errcap, "linux.%s: must be an array", name);
	if (cJSON_GetArraySize(a) > OCI_MAPPINGS_MAX)
		return refuse(err, errcap, "linux.%s: %d mappings, the kernel takes at most %d",
			      name, cJSON_GetArraySize(a), OCI_MAPPINGS_MAX);
	cJSON_ArrayForEach(m, a) {
		if (!is_id(GET(m, "containerID"), 4294967294.0) ||
		    !is_id(GET(m, "hostID"), 4294967294.0) || !is_id(GET(m, "size"), 4294967295.0) ||
		    GET(m, "size")->valuedouble < 1)
			return refuse(err, errcap, "linux.%s[%d]: containerID, hostID and size must "
				      "be 32-bit numbers, size at least 1", name, i);
		i++;
	}
	return 0;
}

static int check_linux(const cJSON *l, char *err, int errcap)
{
	const cJSON *sysctl = GET(l, "sysctl"), *s, *ns = GET(l, "namespaces"), *n;
	const cJSON *prop = GET(l, "rootfsPropagation");
	int userns = 0;

	if (check_namespaces(ns, err, errcap) || check_cgroups_path(GET(l, "cgroupsPath"), err,
								   errcap))
		return -EINVAL;
	if (prop && !(cJSON_IsString(prop) && (!prop->valuestring[0] ||
						 IN_LIST(prop->valuestring, propagations))))
		return refuse(err, errcap, "linux.rootfsPropagation: %s: not one of private, "
			      "slave, shared, unbindable (or r- before each)",
			      cJSON_IsString(prop) ? prop->valuestring : "not a string");
	if (sysctl && !cJSON_IsObject(sysctl))
		return refuse(err, errcap, "linux.sysctl: must be an object");
	cJSON_ArrayForEach(s, sysctl)
		if (!cJSON_IsString(s) || !s->string[0] || strstr(s->string, ".."))
			return refuse(err, errcap, "linux.sysctl: %s: the name must be a sysctl and "
				      "the value a string", s->string);
	cJSON_ArrayForEach(n, ns)
		userns |= cJSON_IsString(GET(n, "type")) &&
			  strcmp(GET(n, "type")->valuestring, "user") == 0;
	if (!userns && (cJSON_GetArraySize(GET(l, "uidMappings")) > 0 ||
			cJSON_GetArraySize(GET(l, "gidMappings")) > 0))
		return refuse(err, errcap, "linux.uidMappings: mappings need a user namespace in "
			      "linux.namespaces");
	if (check_mappings("uidMappings", GET(l, "uidMappings"), err, errcap) ||
	    check_mappings("gidMappings", GET(l, "gidMappings"), err, errcap))
		return -EINVAL;
	if (!strings_only(GET(l, "maskedPaths")) || !strings_only(GET(l, "readonlyPaths")))
		return refuse(err, errcap, "linux.maskedPaths, readonlyPaths: must be arrays of "
			      "strings");
	return check_devices(GET(l, "devices"), err, errcap);
}

int oci_validate(const cJSON *doc, char *err, int errcap)
{
	const cJSON *p = GET(doc, "process");

	if (!cJSON_IsObject(doc))
		return refuse(err, errcap, "config.json: not a JSON object");
	if (check_rlimits(GET(p, "rlimits"), err, errcap) ||
	    check_caps(GET(p, "capabilities"), err, errcap) ||
	    check_mounts(GET(doc, "mounts"), err, errcap) ||
	    check_hooks(GET(doc, "hooks"), err, errcap) ||
	    check_linux(GET(doc, "linux"), err, errcap))
		return -EINVAL;
	return 0;
}
