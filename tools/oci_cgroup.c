#include "oci_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../include/hvm.h"
#include "oci_log.h"

#define HIER_MAX     16		/* cgroup mounts looked at: v1's dozen controllers and v2 */
#define DEPTH_MAX    64		/* path components of a cgroup path */
#define RMDIR_TRIES  100	/* 10 ms apart: a dead supervisor's last threads leave */
#define CTL_TEXT_MAX 512

struct hier {
	char mount[PATH_MAX];
	char ctls[CTL_TEXT_MAX];	/* v1: the mount's super options ("rw,cpu,cpuacct") */
	int v2;
};

/* The cgroup mounts of /proc/self/mountinfo, one per mount point. */
static int hierarchies(struct hier *h, int cap)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[2 * PATH_MAX], mnt[PATH_MAX], type[64], opts[CTL_TEXT_MAX];
	int n = 0;

	while (f && n < cap && fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - ");
		int dup = 0;

		if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %*s %511s", type, opts) != 2)
			continue;
		if (strcmp(type, "cgroup") != 0 && strcmp(type, "cgroup2") != 0)
			continue;
		for (int i = 0; i < n; i++)
			dup |= strcmp(h[i].mount, mnt) == 0;
		if (dup)
			continue;
		h[n].v2 = strcmp(type, "cgroup2") == 0;
		snprintf(h[n].mount, sizeof(h[n].mount), "%s", mnt);
		snprintf(h[n].ctls, sizeof(h[n].ctls), "%s", h[n].v2 ? "" : opts);
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* Whether word is one of list's sep-separated words. */
static int has_word(const char *list, const char *word, char sep)
{
	size_t len = strlen(word);

	for (const char *p = list; p && *p; p = strchr(p, sep) ? strchr(p, sep) + 1 : NULL)
		if (strncmp(p, word, len) == 0 && (p[len] == sep || p[len] == '\0' ||
						   p[len] == '\n'))
			return 1;
	return 0;
}

/* A small file's text (first line), or "" when it cannot be read. */
static void read_text(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (f && !fgets(buf, (int)cap, f))
		buf[0] = '\0';
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* Writes text to path, as one write(2) as cgroup files want. 0 or -errno. */
static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int hier_has(const struct hier *h, const char *ctl)
{
	char file[PATH_MAX + 32], list[CTL_TEXT_MAX];

	if (!h->v2)
		return has_word(h->ctls, ctl, ',');
	if ((size_t)snprintf(file, sizeof(file), "%s/cgroup.controllers", h->mount) >= sizeof(file))
		return 0;
	read_text(file, list, sizeof(list));
	return ctl[0] == '\0' || has_word(list, ctl, ' ');
}

int oci_cgroup_dir(const char *path, const char *controller, char *buf, size_t cap, int *v2)
{
	struct hier h[HIER_MAX];
	int n = hierarchies(h, HIER_MAX);

	for (int pass = 0; pass < 2; pass++)	/* v1's own hierarchy first: a hybrid host's */
		for (int i = 0; i < n; i++) {
			if (h[i].v2 != pass || !hier_has(&h[i], controller))
				continue;
			*v2 = h[i].v2;
			return (size_t)snprintf(buf, cap, "%s%s", h[i].mount, path) < cap
				       ? 0 : -ENAMETOOLONG;
		}
	return -ENOENT;
}

int oci_cgroup_resolve(const char *spec_path, int systemd, char *path, size_t cap, char *err,
		       size_t errcap)
{
	if (systemd && spec_path[0] != '/') {
		if (!oci_res_systemd_path(spec_path, path, cap))
			return 0;
		snprintf(err, errcap, "linux.cgroupsPath: %s: not a systemd slice:prefix:name "
			 "(the slice ends in .slice)", spec_path);
		return -EINVAL;
	}
	if (spec_path[0] != '/' || strstr(spec_path, "/../") || strlen(spec_path) >= cap) {
		snprintf(err, errcap, "linux.cgroupsPath: %s: not an absolute cgroupfs path%s",
			 spec_path, spec_path[0] == '/' ? "" : " (slice:prefix:name needs "
			 "--systemd-cgroup)");
		return -EINVAL;
	}
	snprintf(path, cap, "%s", spec_path);
	return 0;
}

/* v1 cpuset: a new cgroup's empty cpus and mems take no process; copies its parent's. */
static void cpuset_inherit(const char *dir)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char file[PATH_MAX + 32], parent[PATH_MAX + 32], text[CTL_TEXT_MAX];

	for (size_t i = 0; i < 2; i++) {
		snprintf(file, sizeof(file), "%s/%s", dir, files[i]);
		read_text(file, text, sizeof(text));
		if (text[0])
			continue;
		snprintf(parent, sizeof(parent), "%s/../%s", dir, files[i]);
		read_text(parent, text, sizeof(text));
		write_text(file, text);
	}
}

/* v2: the controllers a parent has, given to its children (as runc and systemd do); where
 * the kernel refuses one its files are missing later, which apply() reports. */
static void subtree_enable(const char *dir)
{
	char file[PATH_MAX + 32], list[CTL_TEXT_MAX], word[80];
	const char *p = list;
	int used;

	snprintf(file, sizeof(file), "%s/cgroup.controllers", dir);
	read_text(file, list, sizeof(list));
	snprintf(file, sizeof(file), "%s/cgroup.subtree_control", dir);
	for (int i = 0; i < DEPTH_MAX && sscanf(p, "%78s%n", word + 1, &used) == 1; i++) {
		word[0] = '+';
		write_text(file, word);
		p += used;
	}
}

/* mkdir -p of path under h; *made says whether the last level is new. 0 or -errno. */
static int make_in(const struct hier *h, const char *path, int *made)
{
	char dir[PATH_MAX];
	size_t base = strlen(h->mount);
	char *p;

	*made = 0;
	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", h->mount, path) >= sizeof(dir))
		return -ENAMETOOLONG;
	p = dir + base;
	for (int depth = 0; depth < DEPTH_MAX && p; depth++) {
		char *next = strchr(p + 1, '/'), saved = next ? *next : '\0';
		if (h->v2) {
			*p = '\0';
			subtree_enable(dir);
			*p = '/';
		}
		if (next)
			*next = '\0';
		*made = mkdir(dir, 0755) == 0;
		if (!*made && errno != EEXIST)
			return -errno;
		if (*made && has_word(h->ctls, "cpuset", ','))
			cpuset_inherit(dir);
		if (next)
			*next = saved;
		p = next;
	}
	return 0;
}

/* The controller's v1 name: how a warning names it whichever hierarchy lacks it. */
static const char *v1_name(const char *ctl)
{
	return strcmp(ctl, "io") == 0 ? "blkio" : ctl;
}

/* Writes one resource file; a file the kernel lacks (memsw without swap accounting, io.weight
 * without a weight-aware scheduler) is a warning, as runc skips what a host cannot do. */
static int write_res(const char *what, const char *dir, const struct oci_res_file *f)
{
	char file[PATH_MAX + 64];
	int err;

	snprintf(file, sizeof(file), "%s/%s", dir, f->file);
	err = write_text(file, f->value);
	if (err == -ENOENT) {
		oci_warn("%s: %s: not applied: this host's kernel has no such file", what, file);
		return 0;
	}
	if (err && err != -EINVAL && err != -EBUSY)
		oci_err("%s: %s %s: %s", what, file, f->value, strerror(-err));
	return err;
}

/* The files of r with v1 (v2 0) or v2 names, into the hierarchies holding their controllers
 * with those names; placed collects the controllers written ("memory,cpu,"). A write the
 * kernel refuses for the order (v1's memory limit above memsw) is tried again after the rest. */
static int write_pass(const char *what, const char *path, const struct oci_resources *r, int v2,
		      char *placed, size_t cap)
{
	struct oci_res_file f[OCI_RES_MAX_FILES];
	char err[256], dir[PATH_MAX];
	int n = oci_res_files(r, v2, f, OCI_RES_MAX_FILES, err, sizeof(err)), isv2, e = 0;
	int later[OCI_RES_MAX_FILES], nlater = 0;

	if (n < 0 && !oci_cgroup_dir(path, "memory", dir, sizeof(dir), &isv2) && isv2 == v2) {
		oci_err("%s", err);
		return n;
	}
	for (int i = 0; i < n; i++) {
		if (oci_cgroup_dir(path, f[i].controller, dir, sizeof(dir), &isv2) || isv2 != v2)
			continue;
		e = write_res(what, dir, &f[i]);
		if (e == -EINVAL || e == -EBUSY)
			later[nlater++] = i;
		else if (e)
			return e;
		if (strlen(placed) + strlen(f[i].controller) + 2 < cap)
			strcat(strcat(placed, v1_name(f[i].controller)), ",");
	}
	for (int i = 0; i < nlater; i++) {
		oci_cgroup_dir(path, f[later[i]].controller, dir, sizeof(dir), &isv2);
		if ((e = write_res(what, dir, &f[later[i]])) == -EINVAL || e == -EBUSY)
			oci_err("%s: %s/%s %s: %s", what, dir, f[later[i]].file, f[later[i]].value,
				strerror(-e));
		if (e)
			return e;
	}
	return 0;
}

/* r into path's cgroup. A controller no hierarchy has is one warning and the rest goes on,
 * as runc does on hosts that lack one (a hybrid host's v1 set may miss some). */
static int apply(const char *what, const char *path, const struct oci_resources *r)
{
	struct oci_res_file f[OCI_RES_MAX_FILES];
	char placed[128] = "", err[256];
	int n = oci_res_files(r, 0, f, OCI_RES_MAX_FILES, err, sizeof(err)), e;

	e = write_pass(what, path, r, 0, placed, sizeof(placed));
	if (!e)
		e = write_pass(what, path, r, 1, placed, sizeof(placed));
	for (int i = 0; !e && i < n; i++) {
		if (has_word(placed, f[i].controller, ','))
			continue;
		oci_warn("%s: %s: not applied: no %s controller on this host", what, f[i].file,
			 f[i].controller);
		strcat(strcat(placed, f[i].controller), ",");	/* once per controller */
	}
	return e;
}

/* The record's path (first line), the guest's RAM in MiB (second; guest_mib may be NULL)
 * and, when mounts is not NULL, the hierarchies where create made the cgroup (the lines
 * after). The count of mounts, or -ENOENT. */
static int read_record(const char *dir, char *path, size_t cap, unsigned long long *guest_mib,
		       char (*mounts)[PATH_MAX], int max)
{
	char file[PATH_MAX + 16], line[PATH_MAX];
	unsigned long long mib = 0;
	FILE *f;
	int n = 0;

	snprintf(file, sizeof(file), "%s/%s", dir, OCI_CGROUP_FILE);
	if (!(f = fopen(file, "re")))
		return -ENOENT;
	if (!fgets(line, sizeof(line), f) || fscanf(f, "%llu\n", &mib) != 1) {
		fclose(f);
		return -ENOENT;
	}
	line[strcspn(line, "\n")] = '\0';
	snprintf(path, cap, "%s", line);
	if (guest_mib)
		*guest_mib = mib;
	while (mounts && n < max && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(mounts[n++], PATH_MAX, "%s", line);
	}
	fclose(f);
	return n;
}

int oci_cgroup_path(const char *dir, char *path, size_t cap)
{
	int n = read_record(dir, path, cap, NULL, NULL, 0);

	return n < 0 ? n : 0;
}

void oci_cgroup_remove(const char *dir)
{
	char path[PATH_MAX], mounts[HIER_MAX][PATH_MAX], cg[2 * PATH_MAX];
	int n = read_record(dir, path, sizeof(path), NULL, mounts, HIER_MAX);

	for (int i = 0; i < n; i++) {
		int err = 0;
		if ((size_t)snprintf(cg, sizeof(cg), "%s%s", mounts[i], path) >= sizeof(cg))
			continue;
		for (int t = 0; t < RMDIR_TRIES; t++) {
			err = rmdir(cg) < 0 ? -errno : 0;
			if (err != -EBUSY)
				break;
			nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
		}
		if (err && err != -ENOENT)
			oci_warn("cgroup %s: not removed: %s", cg, strerror(-err));
	}
}

/* Whether err is a refusal an unprivileged caller gets where it may not make cgroups. */
static int rootless_refusal(int err)
{
	return geteuid() != 0 && (err == -EACCES || err == -EPERM || err == -EROFS);
}

/* Makes path in each hierarchy, recording where it made it. 0 or -errno (said); 1 when an
 * unprivileged caller may not make it: warned, and the container goes on without, as runc's
 * rootless fs driver does. */
static int make_all(FILE *rec, const char *spec_path, const char *path)
{
	struct hier h[HIER_MAX];
	int n = hierarchies(h, HIER_MAX), made, err;

	if (n == 0) {
		oci_err("linux.cgroupsPath: %s: no cgroup file system is mounted", spec_path);
		return -ENOENT;
	}
	for (int i = 0; i < n; i++) {
		err = make_in(&h[i], path, &made);
		if (made)
			fprintf(rec, "%s\n", h[i].mount);
		if (err && rootless_refusal(err)) {
			oci_warn("linux.cgroupsPath: %s: not joined: mkdir %s%s: %s (not root: the "
				 "container runs without it, as runc's)", spec_path, h[i].mount, path,
				 strerror(-err));
			return 1;
		}
		if (err) {
			oci_err("linux.cgroupsPath: %s: mkdir %s%s: %s", spec_path, h[i].mount, path,
				strerror(-err));
			return err;
		}
	}
	return 0;
}

int oci_cgroup_setup(const char *dir, const char *spec_path, const char *path,
		     const struct oci_resources *r, unsigned long long guest_mib)
{
	char file[PATH_MAX + 16];
	FILE *rec;
	int err;

	snprintf(file, sizeof(file), "%s/%s", dir, OCI_CGROUP_FILE);
	if (!(rec = fopen(file, "we"))) {
		oci_err("%s: %s", file, strerror(errno));
		return -errno;
	}
	fprintf(rec, "%s\n%llu\n", path, guest_mib);
	err = make_all(rec, spec_path, path);
	if (fclose(rec) && !err) {
		oci_err("%s: %s", file, strerror(errno));
		err = -errno;
	}
	if (!err)
		err = apply("linux.resources", path, r);
	if (err) {	/* 1: none for this unprivileged caller */
		oci_cgroup_remove(dir);
		unlink(file);
	}
	return err > 0 ? 0 : err;
}

int oci_cgroup_enter(const char *dir)
{
	struct hier h[HIER_MAX];
	char path[PATH_MAX], file[2 * PATH_MAX];
	int n, err;

	if (oci_cgroup_path(dir, path, sizeof(path)))
		return 0;
	n = hierarchies(h, HIER_MAX);
	for (int i = 0; i < n; i++) {
		if ((size_t)snprintf(file, sizeof(file), "%s%s/cgroup.procs", h[i].mount, path) >=
		    sizeof(file))
			err = -ENAMETOOLONG;
		else
			err = write_text(file, "0");
		if (err) {
			oci_err("linux.cgroupsPath: %s: %s: %s", path, file, strerror(-err));
			return err;
		}
	}
	return 0;
}

int oci_cgroup_update(const char *dir, const struct oci_resources *r)
{
	char path[PATH_MAX];
	unsigned long long mib = 0, need;

	if (read_record(dir, path, sizeof(path), &mib, NULL, 0) < 0)
		return -ENOENT;
	need = (mib + HVM_VMM_OVERHEAD_MIB) << 20;	/* what libhvm checks at start */
	if (r->mem_limit >= 0 && (unsigned long long)r->mem_limit < need) {
		oci_err("update: memory limit %lld: the VM's %llu MiB of RAM and the VMM's %u MiB "
			"need %llu bytes; the host would OOM-kill the VM once the guest used its RAM",
			(long long)r->mem_limit, mib, HVM_VMM_OVERHEAD_MIB, need);
		return -EINVAL;
	}
	return apply("update", path, r);
}
