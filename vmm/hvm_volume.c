#include "hvm_volume.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/err.h"

#define EXT_SUPER_MAGIC_OFFSET 1080	/* superblock at 1024, s_magic at +56 */
#define EXT_SUPER_MAGIC        0xef53

static int is_ext_fs(int fd)
{
	uint16_t magic = 0;

	return pread(fd, &magic, sizeof(magic), EXT_SUPER_MAGIC_OFFSET) == sizeof(magic) &&
	       magic == EXT_SUPER_MAGIC;
}

/* Runs mke2fs on path without a shell; 0 or -EIO. */
static int run_mke2fs(const char *path)
{
	const char *mke2fs = access("/sbin/mke2fs", X_OK) == 0 ? "/sbin/mke2fs" : "mke2fs";
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDOUT_FILENO);	/* mke2fs chats on stdout even with -q */
		execlp(mke2fs, "mke2fs", "-q", "-F", "-t", "ext4", "-L", "hvm-volume",
		       "-E", "lazy_itable_init=1,lazy_journal_init=1", path, (char *)NULL);
		dprintf(STDERR_FILENO, "hvm: error: %s: %s (install e2fsprogs)\n", mke2fs,
			strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -EIO;
	return 0;
}

static int volume_create(const char *host, uint64_t size_mib, struct err *e)
{
	int fd = open(host, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int err = 0;

	if (fd < 0) {
		err = -errno;
		err_set(e, err, "volume %s: %s", host, strerror(errno));
		return err;
	}
	if (ftruncate(fd, (off_t)(size_mib << 20)) < 0) {
		err = -errno;
		err_set(e, err, "volume %s: %s", host, strerror(errno));
	}
	close(fd);
	if (!err && (err = run_mke2fs(host)))
		err_set(e, err, "volume %s: formatting the new volume failed", host);
	if (err)
		unlink(host);	/* never leave a half-made volume behind */
	return err;
}

int hvm_volume_prepare(const char *host, int read_only, uint64_t size_mib, struct err *e)
{
	struct stat st;
	int fd, ok;

	if (stat(host, &st) < 0) {
		if (errno != ENOENT) {
			int err = -errno;
			err_set(e, err, "volume %s: %s", host, strerror(-err));
			return err;
		}
		if (read_only) {
			err_set(e, -ENOENT,
				"volume %s: no such file (a read-only volume must exist)", host);
			return -ENOENT;
		}
		return volume_create(host, size_mib, e);
	}
	if (S_ISDIR(st.st_mode))
		return HVM_VOLUME_DIR;	/* shared over 9p (hvm_share.h) */
	if (!S_ISREG(st.st_mode)) {	/* opening a FIFO would block, a device is no image */
		err_set(e, -EINVAL, "volume %s: neither a directory nor a disk image file", host);
		return -EINVAL;
	}
	fd = open(host, O_RDONLY | O_CLOEXEC);
	ok = fd >= 0 && is_ext_fs(fd);
	if (fd >= 0)
		close(fd);
	if (!ok) {
		err_set(e, -EINVAL, "volume %s: %s", host,
			fd < 0 ? strerror(errno) : "not an ext2/3/4 file system (to have hvm create "
			"one, give a path that does not exist yet)");
		return -EINVAL;
	}
	return 0;
}

void hvm_volume_serial(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "hvm-vol%d", i);
}

int hvm_volume_is_dir(const char *host)
{
	struct stat st;

	return stat(host, &st) == 0 && S_ISDIR(st.st_mode);
}
