/*
 * The guest root: the image's disk mounted read-only with a tmpfs overlay on top (writes
 * stay in the VM), volumes (disks, or 9p shares of host directories) mounted where asked,
 * then the agent moves into it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/mkdir_p.h"
#include "agent.h"

#define ROOT_LOWER "/hvm/lower"
#define ROOT_RW    "/hvm/rw"
#define ROOT_NEW   "/hvm/root"
/* The largest 9p message: the host server's bound (vmm/p9_wire.h), under trans=fd's 1 MiB. */
#define SHARE_MSIZE (512 * 1024)

static char mounted_volumes[AGENT_MAX_MOUNTS][PATH_MAX];
static int nmounted;

/* Finds /dev/vdX whose virtio-blk serial is `serial`; 0 or -ENODEV. */
static int disk_by_serial(const char *serial, char *dev, size_t cap)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	char path[PATH_MAX], got[32];

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "vd", 2) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/serial", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, got, sizeof(got) - 1) : -1;
		if (fd >= 0)
			close(fd);
		got[n > 0 ? n : 0] = '\0';
		got[strcspn(got, "\n")] = '\0';
		if (strcmp(got, serial) == 0) {
			snprintf(dev, cap, "/dev/%s", e->d_name);
			closedir(d);
			return 0;
		}
	}
	if (d)
		closedir(d);
	return -ENODEV;
}

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		    const char *opts, char *why, size_t cap)
{
	int err = mkdir_p(dst, 0755, 0755);

	if (!err && mount(src, dst, type, flags, opts) < 0)
		err = -errno;
	if (err)
		snprintf(why, cap, "mount %s on %s: %s", src, dst, strerror(-err));
	return err;
}

static int mount_disk(const char *serial, const char *dst, int read_only, unsigned long flags,
		      char *why, size_t cap)
{
	char dev[PATH_MAX];
	int err;

	if (disk_by_serial(serial, dev, sizeof(dev))) {
		snprintf(why, cap, "no disk with serial %s", serial);
		return -ENODEV;
	}
	if (!read_only)
		return do_mount(dev, dst, "ext4", flags, NULL, why, cap);
	/* A journal left to replay (its VM was killed, or its disk ran full) cannot be replayed
	 * on a read-only disk: ext4 refuses with EROFS. Then the last checkpointed state is
	 * what a read-only reader can have: mount it without the journal. */
	err = do_mount(dev, dst, "ext4", flags | MS_RDONLY, NULL, why, cap);
	return err != -EROFS ? err :
	       do_mount(dev, dst, "ext4", flags | MS_RDONLY, "noload", why, cap);
}

/*
 * A directory volume: the kernel's 9p client over a vsock connection to the host port of
 * its server (trans=fd; the kernel takes its own reference to the socket). cache=mmap: no
 * page cache for reads and writes, so host and guest see each other's changes at once, but
 * mmap works (shared writable maps included), which programs such as compilers and
 * databases need (docs/volumes.md).
 */
static int mount_share(unsigned port, const char *dst, int read_only, unsigned long flags,
		       char *why, size_t cap)
{
	int fd = vsock_connect_host(port), err;
	char opts[160];

	if (fd < 0) {
		snprintf(why, cap, "share on vsock port %u: %s", port, strerror(-fd));
		return fd;
	}
	snprintf(opts, sizeof(opts), "trans=fd,rfdno=%d,wfdno=%d,version=9p2000.L,msize=%d,"
		 "cache=mmap,access=client", fd, fd, SHARE_MSIZE);
	err = do_mount("hvm", dst, "9p", flags | (read_only ? MS_RDONLY : 0), opts, why, cap);
	close(fd);
	return err;
}

void rootfs_mount_kernel_fs(const char *dir)
{
	static const struct { const char *path, *type; unsigned long flags; } fs[] = {
		{ "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC },
		{ "dev", "devtmpfs", MS_NOSUID },
		{ "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC },
		{ "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV },
	};
	char path[PATH_MAX];

	/* Best effort: a read-only image without /proc simply has none. */
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, fs[i].path);
		mkdir(path, 0755);
		if (mount(fs[i].type, path, fs[i].type, fs[i].flags, NULL) < 0 && errno != EBUSY &&
		    errno != ENOENT)
			console_print("mount %s: %s", path, strerror(errno));
	}
}

static int rootfs_stack(const struct boot_request *req, const char **root, char *why, size_t cap)
{
	int err = mount_disk(req->root_serial, ROOT_LOWER, 1, 0, why, cap);

	*root = ROOT_LOWER;
	if (err || !req->overlay)
		return err;
	*root = ROOT_NEW;
	err = do_mount("tmpfs", ROOT_RW, "tmpfs", MS_NOSUID, "mode=0755", why, cap);
	if (!err && (mkdir_p(ROOT_RW "/upper", 0755, 0755) || mkdir_p(ROOT_RW "/work", 0755, 0755)))
		err = -errno;
	if (!err)
		err = do_mount("overlay", ROOT_NEW, "overlay", 0,
			       "lowerdir=" ROOT_LOWER ",upperdir=" ROOT_RW "/upper,workdir=" ROOT_RW "/work",
			       why, cap);
	return err;
}

int rootfs_enter(const struct boot_request *req, char *why, size_t cap)
{
	const char *root = "";
	char path[PATH_MAX];
	int err = 0;

	if (req->root_serial)
		err = rootfs_stack(req, &root, why, cap);
	for (int i = 0; !err && i < req->nmounts; i++) {
		const struct agent_mount *m = &req->mounts[i];
		snprintf(path, sizeof(path), "%s/%s", root, m->path);
		err = m->port ? mount_share(m->port, path, m->read_only, m->flags, why, cap) :
				mount_disk(m->serial, path, m->read_only, m->flags, why, cap);
		if (!err)
			snprintf(mounted_volumes[nmounted++], PATH_MAX, "%s", req->mounts[i].path);
	}
	if (err || !req->root_serial)
		return err;	/* without a root disk the initramfs stays the root */
	rootfs_mount_kernel_fs(root);
	/* switch_root: the initramfs cannot be pivoted away, so move the new root over it. */
	if (chdir(root) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		err = -errno;
		snprintf(why, cap, "switching to the image root: %s", strerror(errno));
	}
	return err;
}

void rootfs_release(void)
{
	sync();
	for (int i = nmounted - 1; i >= 0; i--)
		if (umount(mounted_volumes[i]) < 0)
			umount2(mounted_volumes[i], MNT_DETACH);
	nmounted = 0;
}
