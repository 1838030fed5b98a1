/*
 * The OCI settings a RUN request may carry beside its command (docs/agent-protocol.md):
 * whole-VM ones applied by the agent before it forks (the root's propagation, sysctl, domain
 * name, mounts, device nodes, masked and read-only paths, then the createContainer and
 * startContainer hooks), and the process's own applied in the child around its user
 * namespace and user switch (rlimits, OOM score, umask, capabilities, supplementary groups,
 * no_new_privs). A request without them changes nothing.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/mkdir_p.h"
#include "agent.h"
#include "hook.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT       47
#define PR_CAP_AMBIENT_RAISE 2
#endif

#define GET(obj, key) cJSON_GetObjectItemCaseSensitive(obj, key)

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = -errno;
	close(fd);
	return err;
}

/* linux.sysctl: "net.ipv4.ip_forward" is /proc/sys/net/ipv4/ip_forward. */
static int apply_sysctl(const cJSON *sysctl, char *why, size_t cap)
{
	const cJSON *s;
	char path[512];

	cJSON_ArrayForEach(s, sysctl) {
		int err;
		if (!cJSON_IsString(s) || strstr(s->string, ".."))
			continue;
		snprintf(path, sizeof(path), "/proc/sys/%s", s->string);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		err = write_file(path, s->valuestring);
		if (err) {
			snprintf(why, cap, "linux.sysctl %s=%s: %s", s->string, s->valuestring,
				 strerror(-err));
			return err;
		}
	}
	return 0;
}

/* linux.rootfsPropagation on the guest's root, as runc sets it on the container's before any
 * other mount; the r- words recursive. Absent or "": left as the agent mounted it (private). */
static int apply_propagation(const cJSON *prop, char *why, size_t cap)
{
	static const struct {
		const char *word;
		unsigned long flags;
	} kinds[] = {
		{ "private", MS_PRIVATE }, { "slave", MS_SLAVE }, { "shared", MS_SHARED },
		{ "unbindable", MS_UNBINDABLE },
	};
	const char *w = cJSON_IsString(prop) ? prop->valuestring : "";
	int rec = w[0] == 'r';

	if (!w[0])
		return 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(w + rec, kinds[i].word) != 0)
			continue;
		int err = mount(NULL, "/", NULL, kinds[i].flags | (rec ? MS_REC : 0), NULL) < 0
			  ? -errno : 0;
		if (err)
			snprintf(why, cap, "linux.rootfsPropagation %s: %s", w, strerror(-err));
		return err;
	}
	snprintf(why, cap, "linux.rootfsPropagation %s: unknown", w);
	return -EINVAL;
}

/* The mount(8) words of an OCI mount's options, as flags to set or clear. */
static const struct {
	const char *word;
	unsigned long set, clear;
} mount_words[] = {
	{ "ro", MS_RDONLY, 0 },		 { "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },	 { "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },	 { "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },	 { "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },	 { "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },	 { "mand", MS_MANDLOCK, 0 },
	{ "nomand", 0, MS_MANDLOCK },	 { "noatime", MS_NOATIME, 0 },
	{ "atime", 0, MS_NOATIME },	 { "nodiratime", MS_NODIRATIME, 0 },
	{ "diratime", 0, MS_NODIRATIME }, { "relatime", MS_RELATIME, 0 },
	{ "norelatime", 0, MS_RELATIME }, { "strictatime", MS_STRICTATIME, 0 },
};

/* options into flags and the file system's data ("key=value" ones, comma-separated); other
 * words (defaults, propagation, tmpcopyup, ...) change nothing here. -E2BIG past cap. */
static int mount_options(const cJSON *options, unsigned long *flags, char *data, size_t cap)
{
	const cJSON *o;
	size_t used = 0;

	*flags = 0;
	data[0] = '\0';
	cJSON_ArrayForEach(o, options) {
		const char *w = cJSON_IsString(o) ? o->valuestring : "";
		int n;
		for (size_t i = 0; i < sizeof(mount_words) / sizeof(mount_words[0]); i++)
			if (strcmp(w, mount_words[i].word) == 0)
				*flags = (*flags & ~mount_words[i].clear) | mount_words[i].set;
		if (!strchr(w, '='))
			continue;
		n = snprintf(data + used, cap - used, "%s%s", used ? "," : "", w);
		if (n < 0 || (size_t)n >= cap - used)
			return -E2BIG;
		used += (size_t)n;
	}
	return 0;
}

/* The config's tmpfs, proc, sysfs, devpts and mqueue mounts the guest lacks (hvm-oci sends
 * only those), each at its destination, made first if missing. */
static int apply_mounts(const cJSON *mounts, char *why, size_t cap)
{
	const cJSON *m;
	char data[1024];

	cJSON_ArrayForEach(m, mounts) {
		const cJSON *dst = GET(m, "destination"), *type = GET(m, "type");
		const cJSON *src = GET(m, "source");
		unsigned long flags;
		int err;
		if (!cJSON_IsString(dst) || !cJSON_IsString(type))
			continue;
		err = mount_options(GET(m, "options"), &flags, data, sizeof(data));
		if (!err)
			err = mkdir_p(dst->valuestring, 0755, 0755);
		if (!err && mount(cJSON_IsString(src) ? src->valuestring : type->valuestring,
				  dst->valuestring, type->valuestring, flags, data) < 0)
			err = -errno;
		if (err) {
			snprintf(why, cap, "mounts %s (%s): %s", dst->valuestring,
				 type->valuestring, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* runc's masking: /dev/null over a file, an empty read-only tmpfs over a directory. */
static int mask_path(const char *path, char *why, size_t cap)
{
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		return 0;	/* nothing there to hide */
	if (S_ISDIR(st.st_mode))
		r = mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0,mode=0555");
	else
		r = mount("/dev/null", path, NULL, MS_BIND, NULL);
	if (r < 0) {
		snprintf(why, cap, "linux.maskedPaths %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* A read-only bind of the path over itself (what is below stays as it is elsewhere). */
static int read_only_path(const char *path, char *why, size_t cap)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount(path, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0) {
		snprintf(why, cap, "linux.readonlyPaths %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int apply_paths(const cJSON *run, char *why, size_t cap)
{
	const cJSON *p;
	int err = 0;

	cJSON_ArrayForEach(p, GET(run, "maskedPaths"))
		if (!err && cJSON_IsString(p))
			err = mask_path(p->valuestring, why, cap);
	cJSON_ArrayForEach(p, GET(run, "readonlyPaths"))
		if (!err && cJSON_IsString(p))
			err = read_only_path(p->valuestring, why, cap);
	return err;
}

/* createContainer, then startContainer: the VM boots at start, so both run there. */
static int run_guest_hooks(const cJSON *run, char *why, size_t cap)
{
	static const char *const kinds[] = { "createContainer", "startContainer" };
	const cJSON *hooks = GET(run, "hooks"), *state = GET(run, "state"), *h;

	for (int k = 0; k < 2; k++) {
		int i = 0;
		cJSON_ArrayForEach(h, GET(hooks, kinds[k])) {
			int err = hook_run(h, kinds[k], i++, cJSON_IsString(state) ?
					   state->valuestring : "", -1, why, cap);
			if (err)
				return err;
		}
	}
	return 0;
}

int settings_apply_vm(const cJSON *run, char *why, size_t cap)
{
	const cJSON *domain = GET(run, "domainname");
	int err = apply_propagation(GET(run, "rootfsPropagation"), why, cap);

	if (!err)
		err = apply_sysctl(GET(run, "sysctl"), why, cap);

	if (!err && cJSON_IsString(domain) &&
	    setdomainname(domain->valuestring, strlen(domain->valuestring)) < 0) {
		err = -errno;
		snprintf(why, cap, "domainname %s: %s", domain->valuestring, strerror(errno));
	}
	if (!err)
		err = apply_mounts(GET(run, "mounts"), why, cap);
	if (!err)
		err = devices_create(GET(run, "devices"), why, cap);
	if (!err)
		err = apply_paths(run, why, cap);
	return err ? err : run_guest_hooks(run, why, cap);
}

/* A limit sent as decimal text (exact past 2^53): RLIM_INFINITY is 18446744073709551615. */
static rlim_t limit_value(const cJSON *v)
{
	return cJSON_IsString(v) ? (rlim_t)strtoull(v->valuestring, NULL, 10) : RLIM_INFINITY;
}

static int apply_rlimits(const cJSON *a)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, a) {
		const cJSON *type = GET(r, "type");
		struct rlimit l = { limit_value(GET(r, "soft")), limit_value(GET(r, "hard")) };
		if (!cJSON_IsNumber(type))
			continue;
		if (setrlimit(type->valueint, &l) < 0) {
			dprintf(STDERR_FILENO, "hvm-agent: rlimit %d: %s\n", type->valueint,
				strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static unsigned long long cap_mask(const cJSON *caps, const char *set)
{
	const cJSON *m = GET(caps, set);

	return cJSON_IsNumber(m) && m->valuedouble > 0 ? (unsigned long long)m->valuedouble : 0;
}

int settings_limits(const cJSON *run)
{
	const cJSON *oom = GET(run, "oomScoreAdj"), *mask = GET(run, "umask");
	char text[16];
	int err = apply_rlimits(GET(run, "rlimits"));

	if (!err && cJSON_IsNumber(oom)) {
		snprintf(text, sizeof(text), "%d", oom->valueint);
		if ((err = write_file("/proc/self/oom_score_adj", text)))
			dprintf(STDERR_FILENO, "hvm-agent: oomScoreAdj %d: %s\n", oom->valueint,
				strerror(-err));
	}
	if (cJSON_IsNumber(mask))
		umask((mode_t)mask->valueint & 0777);
	return err;
}

int settings_before_user(const cJSON *run)
{
	const cJSON *caps = GET(run, "caps");

	if (!cJSON_IsObject(caps))
		return 0;
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (!(cap_mask(caps, "bounding") >> c & 1) && prctl(PR_CAPBSET_DROP, c) < 0 &&
		    errno != EINVAL) {
			dprintf(STDERR_FILENO, "hvm-agent: dropping capability %d: %s\n", c,
				strerror(errno));
			return -errno;
		}
	/* the user switch keeps the permitted set; capset then sets all three */
	return prctl(PR_SET_KEEPCAPS, 1) < 0 ? -errno : 0;
}

static int set_caps(const cJSON *caps)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	unsigned long long eff = cap_mask(caps, "effective"), prm = cap_mask(caps, "permitted");
	unsigned long long inh = cap_mask(caps, "inheritable"), amb = cap_mask(caps, "ambient");

	for (int i = 0; i < 2; i++)
		d[i] = (struct __user_cap_data_struct){ (unsigned)(eff >> 32 * i),
							(unsigned)(prm >> 32 * i),
							(unsigned)(inh >> 32 * i) };
	if (syscall(SYS_capset, &h, d) < 0) {
		dprintf(STDERR_FILENO, "hvm-agent: capabilities: %s\n", strerror(errno));
		return -errno;
	}
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if ((amb >> c & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) {
			dprintf(STDERR_FILENO, "hvm-agent: ambient capability %d: %s\n", c,
				strerror(errno));
			return -errno;
		}
	return 0;
}

int settings_after_user(const cJSON *run)
{
	const cJSON *caps = GET(run, "caps");
	int err = cJSON_IsObject(caps) ? set_caps(caps) : 0;

	if (!err && cJSON_IsTrue(GET(run, "noNewPrivileges")) &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		err = -errno;
		dprintf(STDERR_FILENO, "hvm-agent: noNewPrivileges: %s\n", strerror(errno));
	}
	return err;
}

int settings_groups(const cJSON *run, gid_t *gids, int max)
{
	const cJSON *g;
	int n = 0;

	if (!cJSON_IsArray(GET(run, "groups")))
		return -1;

	cJSON_ArrayForEach(g, GET(run, "groups"))
		if (cJSON_IsNumber(g) && g->valuedouble >= 0 && n < max)
			gids[n++] = (gid_t)g->valuedouble;
	return n;
}
