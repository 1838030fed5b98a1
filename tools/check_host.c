/*
 * `hvm-run check`'s host items: the files hvm boots, the image cache, networking, what
 * --jail and hvm-oci need of the kernel, and whether container engines know hvm-oci.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/mkdir_p.h"
#include "../image/image.h"
#include "../vmm/hvm_internal.h"
#include "run_check.h"

static const char data_fix[] =
	"run make (or make install), or point HVM_DATA_DIR at the directory holding it";

/* Reads len bytes at off of the data file name; its path in path. 0, or -errno (said why). */
static int data_peek(struct check_item *it, const char *name, char *path, size_t cap, off_t off,
		     void *buf, size_t len)
{
	int fd, err = hvm_data_path(path, cap, name);

	if (err) {
		check_set(it, CHECK_FAIL, "%s: %s", name, strerror(-err));
		return err;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, buf, len, off) != (ssize_t)len) {
		err = fd < 0 ? -errno : -ENOEXEC;
		check_set(it, CHECK_FAIL, "%s: %s", path, fd < 0 ? strerror(errno) : "too short");
		check_fix(it, "%s", data_fix);
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/* The guest kernel among the data files: an x86-64 ELF or a bzImage. */
void check_kernel(struct check_ctx *c, struct check_item *it)
{
	unsigned char h[0x206];
	char path[PATH_MAX];

	(void)c;
	if (data_peek(it, "vmlinux", path, sizeof(path), 0, h, sizeof(h)))
		return;
	if (!memcmp(h, "\177ELF", 4) && h[4] == 2 && h[18] == 62)	/* ELFCLASS64, EM_X86_64 */
		check_set(it, CHECK_OK, "%s: x86-64 ELF kernel", path);
	else if (!memcmp(h + 0x202, "HdrS", 4))
		check_set(it, CHECK_OK, "%s: bzImage kernel", path);
	else
		check_set(it, CHECK_FAIL, "%s: neither an x86-64 ELF nor a bzImage", path);
	if (it->status == CHECK_FAIL)
		check_fix(it, "%s", data_fix);
}

/* The initramfs among the data files: a newc cpio. */
void check_initramfs(struct check_ctx *c, struct check_item *it)
{
	char path[PATH_MAX], magic[6];

	(void)c;
	if (data_peek(it, "hvm-initramfs.cpio", path, sizeof(path), 0, magic, sizeof(magic)))
		return;
	if (memcmp(magic, "070701", 6) != 0) {
		check_set(it, CHECK_FAIL, "%s: not a newc cpio archive", path);
		check_fix(it, "%s", data_fix);
		return;
	}
	check_set(it, CHECK_OK, "%s: cpio (the guest agent)", path);
}

/* The default image among the data files: an ext4 file system. */
void check_rootfs(struct check_ctx *c, struct check_item *it)
{
	unsigned char magic[2];
	char path[PATH_MAX];

	(void)c;
	if (data_peek(it, "hvm-rootfs.ext4", path, sizeof(path), 1024 + 56, magic, sizeof(magic)))
		return;
	if (magic[0] != 0x53 || magic[1] != 0xef) {
		check_set(it, CHECK_FAIL, "%s: not an ext4 file system", path);
		check_fix(it, "%s", data_fix);
		return;
	}
	check_set(it, CHECK_OK, "%s: the default (busybox) image", path);
}

/* hvm-image, which --image needs, is executable where hvm looks for it. */
void check_helper(struct check_ctx *c, struct check_item *it)
{
	char path[PATH_MAX];
	int err = hvm_data_path(path, sizeof(path), "hvm-image");

	(void)c;
	if (err || access(path, X_OK) < 0) {
		check_set(it, CHECK_FAIL, "%s: %s", err ? "hvm-image" : path,
			  strerror(err ? -err : errno));
		check_fix(it, "%s (--image needs it)", data_fix);
		return;
	}
	check_set(it, CHECK_OK, "%s: converts --image images", path);
}

static unsigned long long cache_bytes;

static int cache_add(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)p; (void)ftw;
	if (flag == FTW_F)
		cache_bytes += (unsigned long long)st->st_blocks * 512;
	return 0;
}

/* The cache directory can be created and written; its size and the free space. */
void check_cache(struct check_ctx *c, struct check_item *it)
{
	char dir[PATH_MAX], probe[PATH_MAX + 16];
	struct statvfs vfs;
	int fd, err;

	(void)c;
	if (image_cache_dir(dir, sizeof(dir))) {
		check_set(it, CHECK_FAIL, "no cache directory: HOME and XDG_CACHE_HOME are unset");
		check_fix(it, "set HOME or XDG_CACHE_HOME (an absolute path)");
		return;
	}
	snprintf(probe, sizeof(probe), "%s/.check-XXXXXX", dir);
	if ((err = mkdir_p(dir, 0700, 0700)) || (fd = mkstemp(probe)) < 0) {
		check_set(it, CHECK_FAIL, "%s: %s", dir, strerror(err ? -err : errno));
		check_fix(it, "make it writable, or set XDG_CACHE_HOME to a writable directory");
		return;
	}
	close(fd);
	unlink(probe);
	cache_bytes = 0;
	nftw(dir, cache_add, 16, FTW_PHYS);
	if (statvfs(dir, &vfs) < 0)
		vfs.f_bavail = vfs.f_frsize = 0;
	check_set(it, CHECK_OK, "%s: writable, %.1f MiB used, %.1f GiB free", dir,
		  cache_bytes / 1048576.0, (double)vfs.f_bavail * vfs.f_frsize / 1073741824.0);
}

/* An optional program: ok with what it is for, else a warning with the package. */
static void optional_program(struct check_item *it, const char *prog, const char *use,
			     const char *pkg)
{
	if (check_on_path(prog)) {
		check_set(it, CHECK_OK, "%s: %s", prog, use);
		return;
	}
	check_set(it, CHECK_WARN, "%s: not found: no %s", prog, use);
	check_fix(it, "apt-get install %s (sh mk/deps.sh run)", pkg);
}

/* skopeo, for registry and transport images. */
void check_skopeo(struct check_ctx *c, struct check_item *it)
{
	(void)c;
	optional_program(it, "skopeo", "--image docker://, oci:, oci-archive:, docker-archive:",
			 "skopeo");
}

/* passt, for --net user and -p. */
void check_passt(struct check_ctx *c, struct check_item *it)
{
	(void)c;
	optional_program(it, "passt", "--net user, -p (rootless networking)", "passt");
}

/* /dev/net/tun opens, for --net tap. */
void check_tun(struct check_ctx *c, struct check_item *it)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	(void)c;
	if (fd >= 0) {
		close(fd);
		check_set(it, CHECK_OK, "/dev/net/tun: usable (--net tap)");
		return;
	}
	check_set(it, CHECK_WARN, "/dev/net/tun: %s: no --net tap", strerror(errno));
	check_fix(it, errno == ENOENT ? "modprobe tun" : "--net tap is for root; --net user works "
		  "without");
}

/* The jail can be had (hvm_jail_probe: the namespaces and tmpfs it makes): root's --jail and
 * hvm-oci's, an unprivileged run's default. */
void check_userns(struct check_ctx *c, struct check_item *it)
{
	int root = geteuid() == 0;
	char why[256];

	(void)c;
	if (hvm_jail_probe(why, sizeof(why)) == 0) {
		check_set(it, CHECK_OK, "the jail's namespaces can be made (%s)", root ?
			  "--jail, hvm-oci" : "your runs are jailed by default, in a user namespace");
		return;
	}
	check_set(it, CHECK_WARN, "no jail: the host refuses %s%s", why,
		  root ? "" : "; runs go unjailed, with a warning");
	check_fix(it, root ? "a kernel with namespaces, outside a container that forbids them" :
		  "sysctl user.max_user_namespaces=15000 (and kernel.unprivileged_userns_clone=1)");
}

/* cgroup v2 and its controllers, which engines use to limit hvm-oci containers. */
void check_cgroups(struct check_ctx *c, struct check_item *it)
{
	char buf[256] = "";
	FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "re");

	(void)c;
	if (!f) {
		check_set(it, CHECK_WARN, "no cgroup v2 at /sys/fs/cgroup: engines may not limit "
			  "hvm-oci containers");
		check_fix(it, "boot with systemd.unified_cgroup_hierarchy=1, or mount cgroup2");
		return;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	check_set(it, CHECK_OK, "cgroup v2, controllers: %s", buf[0] ? buf : "(none)");
}

/* Whether any file matching pattern mentions hvm-oci. */
static int registered(const char *pattern)
{
	char line[512];
	int found = 0;
	glob_t g;

	if (glob(pattern, 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; !found && i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "re");
		while (f && !found && fgets(line, sizeof(line), f))
			found = strstr(line, "hvm-oci") && line[strspn(line, " \t")] != '#';
		if (f)
			fclose(f);
	}
	globfree(&g);
	return found;
}

/* Whether installed podman and containerd have hvm-oci registered. */
void check_engines(struct check_ctx *c, struct check_item *it)
{
	const char *home = getenv("HOME");
	char user[PATH_MAX];
	int podman = check_on_path("podman"), containerd = check_on_path("containerd");
	int pr, cr;

	(void)c;
	snprintf(user, sizeof(user), "%s/.config/containers/containers.conf*", home ? home : "/");
	pr = registered("/etc/containers/containers.conf*") || registered(user) ||
	     registered("/etc/containers/containers.conf.d/*.conf");
	cr = registered("/etc/containerd/config.toml");
	check_set(it, (podman && !pr) || (containerd && !cr) ? CHECK_WARN : CHECK_OK,
		  "podman: %s; containerd: %s", !podman ? "not installed" : pr ? "hvm-oci registered" :
		  "hvm-oci not registered", !containerd ? "not installed" : cr ?
		  "hvm-oci registered" : "hvm-oci not registered");
	if (it->status == CHECK_WARN)
		check_fix(it, "optional: register it in %s (docs/embedding.md); podman --runtime "
			  "PATH/hvm-oci works without", podman && !pr ?
			  "/etc/containers/containers.conf [engine.runtimes]" :
			  "/etc/containerd/config.toml");
}
