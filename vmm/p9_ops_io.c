/* The share server's requests on open files and single objects: read, write, setattr,
 * fsync, statfs, readlink and the advisory locks (which stay in the guest). */
#include "p9_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define SETATTR_MODE      0x001
#define SETATTR_UID       0x002
#define SETATTR_GID       0x004
#define SETATTR_SIZE      0x008
#define SETATTR_ATIME     0x010
#define SETATTR_MTIME     0x020
#define SETATTR_ATIME_SET 0x080
#define SETATTR_MTIME_SET 0x100
#define SETATTR_CHANGES   (SETATTR_MODE | SETATTR_SIZE | SETATTR_ATIME | SETATTR_MTIME)
#define V9FS_MAGIC        0x01021997
#define LOCK_SUCCESS      0

static struct p9_fid *fid_of(struct p9_server *s, struct p9_in *in)
{
	return p9_fid_get(s, p9_get32(in));
}

int p9_op_read(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = fid_of(s, in);
	uint64_t offset = p9_get64(in);
	uint32_t count = p9_get32(in);
	size_t room = out->cap - out->len - 4;
	ssize_t n;

	if (in->err || !f || f->openfd < 0)
		return in->err ? in->err : -EBADF;
	if (offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	if (count > room)
		count = (uint32_t)room;
	while ((n = pread(f->openfd, out->p + out->len + 4, count, (off_t)offset)) < 0 &&
	       errno == EINTR)
		;
	if (n < 0)
		return -errno;
	p9_put32(out, (uint32_t)n);
	out->len += (size_t)n;	/* the data read in place above */
	return 0;
}

int p9_op_write(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = fid_of(s, in);
	uint64_t offset = p9_get64(in);
	uint32_t count = p9_get32(in);
	const uint8_t *data = p9_get_data(in, count);
	ssize_t n;

	if (in->err || !f || f->openfd < 0)
		return in->err ? in->err : -EBADF;
	if (s->read_only)
		return -EROFS;
	if (offset > (uint64_t)INT64_MAX)
		return -EINVAL;
	while ((n = pwrite(f->openfd, data, count, (off_t)offset)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	p9_put32(out, (uint32_t)n);
	return 0;
}

static struct timespec setattr_time(uint32_t valid, uint32_t now_bit, uint32_t set_bit,
				    uint64_t sec, uint64_t nsec)
{
	if (valid & set_bit)
		return (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = (long)nsec };
	return (struct timespec){ .tv_nsec = valid & now_bit ? UTIME_NOW : UTIME_OMIT };
}

/* Applies mode, size and times through a real descriptor on the object. */
static int setattr_apply(struct p9_fid *f, uint32_t valid, uint32_t mode, uint64_t size,
			 const struct timespec t[2])
{
	int fd = p9_fid_reopen(f, valid & SETATTR_SIZE ? O_WRONLY : O_RDONLY), err = 0;

	if (fd == -ELOOP && !(valid & (SETATTR_MODE | SETATTR_SIZE)))	/* a symlink's times */
		return utimensat(f->dirfd, f->name, t, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (fd == -EACCES && !(valid & SETATTR_SIZE))	/* chmod of a file we may not read */
		fd = p9_fid_reopen(f, O_WRONLY);
	if (fd < 0)
		return fd;
	if ((valid & SETATTR_MODE) && fchmod(fd, mode & 07777) < 0)
		err = -errno;
	if (!err && (valid & SETATTR_SIZE) && ftruncate(fd, (off_t)size) < 0)
		err = -errno;
	if (!err && (valid & (SETATTR_ATIME | SETATTR_MTIME)) && futimens(fd, t) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Ownership is not changed: on the host every file of the share is the server's user's
 * (docs/volumes.md), so a chown is accepted and has no effect. */
int p9_op_setattr(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = fid_of(s, in);
	uint32_t valid = p9_get32(in), mode = p9_get32(in);
	uint64_t size, as, an, ms, mn;
	struct timespec t[2];

	(void)out;
	p9_get32(in);	/* uid */
	p9_get32(in);	/* gid */
	size = p9_get64(in);
	as = p9_get64(in), an = p9_get64(in), ms = p9_get64(in), mn = p9_get64(in);
	if (in->err || !f)
		return in->err ? in->err : -EBADF;
	if (!(valid & SETATTR_CHANGES))
		return 0;
	if (s->read_only)
		return -EROFS;
	if (size > (uint64_t)INT64_MAX || an >= 1000000000 || mn >= 1000000000)
		return -EINVAL;
	t[0] = setattr_time(valid, SETATTR_ATIME, SETATTR_ATIME_SET, as, an);
	t[1] = setattr_time(valid, SETATTR_MTIME, SETATTR_MTIME_SET, ms, mn);
	return setattr_apply(f, valid, mode, size, t);
}

int p9_op_fsync(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = fid_of(s, in);
	uint32_t datasync = p9_get32(in);

	(void)out;
	if (in->err || !f || f->openfd < 0)
		return in->err ? in->err : -EBADF;
	return (datasync ? fdatasync(f->openfd) : fsync(f->openfd)) < 0 ? -errno : 0;
}

int p9_op_statfs(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = fid_of(s, in);
	struct statfs st;

	if (in->err || !f)
		return in->err ? in->err : -EBADF;
	if (fstatfs(f->pathfd, &st) < 0)
		return -errno;
	p9_put32(out, V9FS_MAGIC);
	p9_put32(out, (uint32_t)st.f_bsize);
	p9_put64(out, st.f_blocks);
	p9_put64(out, st.f_bfree);
	p9_put64(out, st.f_bavail);
	p9_put64(out, st.f_files);
	p9_put64(out, st.f_ffree);
	p9_put64(out, (uint64_t)(uint32_t)st.f_fsid.__val[0] |
		      (uint64_t)(uint32_t)st.f_fsid.__val[1] << 32);
	p9_put32(out, (uint32_t)st.f_namelen);
	return 0;
}

/* The link's text, never followed here: the guest resolves it in its own tree. */
int p9_op_readlink(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = fid_of(s, in);
	char buf[PATH_MAX];
	ssize_t n;

	if (in->err || !f)
		return in->err ? in->err : -EBADF;
	if ((n = readlinkat(f->pathfd, "", buf, sizeof(buf))) < 0)
		return -errno;
	if ((size_t)n == sizeof(buf))
		return -ENAMETOOLONG;
	p9_put_str(out, buf, (size_t)n);
	return 0;
}

/* Locks are the guest's business: its kernel already serializes its own processes, and no
 * host process is meant to share a share's files under lock. */
int p9_op_lock(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char client[256];

	if (!fid_of(s, in) && !in->err)
		return -EBADF;
	p9_get8(in);	/* type */
	p9_get32(in);	/* flags */
	p9_get64(in);	/* start */
	p9_get64(in);	/* length */
	p9_get32(in);	/* proc_id */
	p9_get_str(in, client, sizeof(client));
	p9_put8(out, LOCK_SUCCESS);
	return in->err;
}

int p9_op_getlock(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char client[256];
	uint64_t start, length;
	uint32_t proc;

	if (!fid_of(s, in) && !in->err)
		return -EBADF;
	p9_get8(in);
	start = p9_get64(in);
	length = p9_get64(in);
	proc = p9_get32(in);
	p9_get_str(in, client, sizeof(client));
	p9_put8(out, F_UNLCK);
	p9_put64(out, start);
	p9_put64(out, length);
	p9_put32(out, proc);
	p9_put_str(out, client, strlen(client));
	return in->err;
}
