#include "oci_files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci_log.h"

static int open_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC), .mode = mode,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* The parent directory of dest inside the root, created as needed; its fd, and the last
 * component of dest in *name. */
static int parent_dir(int rootfd, char *dest, char **name)
{
	char *slash = strrchr(dest, '/');
	int fd = dup(rootfd);

	*name = slash ? slash + 1 : dest;
	if (!slash || fd < 0)
		return fd;
	*slash = '\0';
	for (char *comp = strtok(dest, "/"); comp && fd >= 0; comp = strtok(NULL, "/")) {
		int next = open_in_root(fd, comp, O_PATH | O_DIRECTORY, 0);
		if (next < 0 && errno == ENOENT && mkdirat(fd, comp, 0755) == 0)
			next = open_in_root(fd, comp, O_PATH | O_DIRECTORY, 0);
		close(fd);
		fd = next;
	}
	return fd;
}

/* 1 when the file at dirfd/name already holds exactly buf. */
static int same_content(int dirfd, const char *name, const char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *have = malloc(len + 1);
	ssize_t n = fd >= 0 && have ? read(fd, have, len + 1) : -1;
	int same = n == (ssize_t)len && memcmp(have, buf, len) == 0;

	free(have);
	if (fd >= 0)
		close(fd);
	return same;
}

static int write_at(int dirfd, const char *name, const char *buf, size_t len, mode_t mode)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
	    unlinkat(dirfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return -errno;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int copy_one(int rootfd, const struct oci_mount *m, const struct stat *src)
{
	char *buf = malloc((size_t)src->st_size + 1), *dest = strdup(m->destination), *name;
	int fd = open(m->source, O_RDONLY | O_CLOEXEC), dirfd = -1, err = 0;
	ssize_t n = fd >= 0 && buf ? read(fd, buf, (size_t)src->st_size + 1) : -1;

	if (n < 0 || !dest)
		err = fd < 0 ? -errno : -EIO;
	if (!err && (dirfd = parent_dir(rootfd, dest, &name)) < 0)
		err = -errno;
	if (!err && !same_content(dirfd, name, buf, (size_t)n))
		err = write_at(dirfd, name, buf, (size_t)n, src->st_mode & 0777);
	if (err)
		oci_err("mount %s to %s: %s", m->source, m->destination, strerror(-err));
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(buf);
	free(dest);
	return err;
}

/* The destinations the guest kernel and agent mount themselves (agent/rootfs.c), or that an
 * engine's default config names and a VM does without. */
static const char *const guest_own[] = { "/proc", "/sys", "/sys/fs/cgroup", "/dev", "/dev/pts",
					 "/dev/shm", "/dev/mqueue" };

int oci_files_guest_mounts(const char *type, const char *destination)
{
	static const char *const types[] = { "proc", "sysfs", "tmpfs", "devpts", "mqueue",
					     "cgroup", "cgroup2", "devtmpfs" };
	int known = 0;

	for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
		known |= strcmp(type, types[i]) == 0;
	if (!known)
		return 0;
	for (size_t i = 0; destination && i < sizeof(guest_own) / sizeof(guest_own[0]); i++)
		if (strcmp(destination, guest_own[i]) == 0)
			return 1;
	/* cgroup and devtmpfs elsewhere: the guest's own are where they belong */
	return strncmp(type, "cgroup", 6) == 0 || strcmp(type, "devtmpfs") == 0 ? 1 : 2;
}

int oci_files_is_share(const struct oci_mount *m)
{
	struct stat st;

	return m->bind && m->source && stat(m->source, &st) == 0 && S_ISDIR(st.st_mode);
}

int oci_files_copy(const struct oci_spec *s)
{
	int rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (rootfd < 0) {
		oci_err("rootfs %s: %s", s->root, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < s->nmounts && !err; i++) {
		const struct oci_mount *m = &s->mounts[i];
		struct stat st;

		if (oci_files_is_share(m))
			continue;	/* a volume of the VM (oci_vm.c) */
		if (!m->bind || !m->source || stat(m->source, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (!oci_files_guest_mounts(m->type, m->destination))
				oci_warn("mount %s (%s): not supported in a micro-VM, left out",
					 m->destination, m->type ? m->type : "bind");
			continue;
		}
		if ((uint64_t)st.st_size > OCI_FILE_MAX) {
			oci_warn("mount %s: file larger than %u bytes, left out", m->destination,
				 OCI_FILE_MAX);
			continue;
		}
		err = copy_one(rootfd, m, &st);
	}
	close(rootfd);
	return err;
}
