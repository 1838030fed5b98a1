/* The share server's requests on directories: readdir and the ones that make, remove,
 * rename or link a name in one. Names are single components (p9_get_name), used with the
 * *at calls on the directory fid's descriptor, none of which follows a final symlink. */
#include "p9_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DIRENT_BUF (64 * 1024)

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static struct p9_fid *fid_of(struct p9_server *s, struct p9_in *in)
{
	return p9_fid_get(s, p9_get32(in));
}

/* Appends the entries of buf[0..n) that fit in limit bytes of out; 1 when one did not. */
static int put_dirents(struct p9_out *out, const char *buf, long n, size_t limit)
{
	for (long pos = 0; pos < n;) {
		const struct linux_dirent64 *d = (const void *)(buf + pos);
		size_t len = strlen(d->d_name);
		if (out->len + 13 + 8 + 1 + 2 + len > limit)
			return 1;
		p9_put_qid(out, d->d_type == DT_DIR ? 0x80 : d->d_type == DT_LNK ? 0x02 : 0,
			   d->d_ino);
		p9_put64(out, (uint64_t)d->d_off);
		p9_put8(out, d->d_type);
		p9_put_str(out, d->d_name, len);
		pos += d->d_reclen;
	}
	return 0;
}

int p9_op_readdir(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = fid_of(s, in);
	uint64_t offset = p9_get64(in);
	uint32_t count = p9_get32(in);
	size_t count_at = out->len, limit;
	char *buf;
	long n;

	if (in->err || !f || f->openfd < 0)
		return in->err ? in->err : -EBADF;
	if (lseek(f->openfd, (off_t)offset, SEEK_SET) < 0)	/* offsets are d_off cookies */
		return -errno;
	limit = out->len + 4 + (count < out->cap - out->len - 4 ? count : out->cap - out->len - 4);
	if (!(buf = malloc(DIRENT_BUF)))
		return -ENOMEM;
	p9_put32(out, 0);
	/* Ask for little more than fits: an entry left over is read again next time. */
	n = syscall(SYS_getdents64, f->openfd, buf, count < DIRENT_BUF ? count : DIRENT_BUF);
	if (n < 0 && errno == EINVAL)
		n = syscall(SYS_getdents64, f->openfd, buf, DIRENT_BUF);
	if (n >= 0)
		put_dirents(out, buf, n, limit);
	free(buf);
	if (n < 0)
		return -errno;
	uint32_t got = (uint32_t)(out->len - count_at - 4);
	for (int i = 0; i < 4; i++)
		out->p[count_at + i] = (uint8_t)(got >> (8 * i));
	return 0;
}

/* Reads "dfid name" and checks the share may change; the directory fid or NULL (*err). */
static struct p9_fid *dir_and_name(struct p9_server *s, struct p9_in *in, char *name, int *err)
{
	struct p9_fid *d = fid_of(s, in);

	*err = p9_get_name(in, name, NAME_MAX + 1);
	if (!*err && !d)
		*err = -EBADF;
	if (!*err && s->read_only)
		*err = -EROFS;
	return *err ? NULL : d;
}

int p9_op_mkdir(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1];
	int err;
	struct p9_fid *d = dir_and_name(s, in, name, &err);
	unsigned mode = p9_get32(in) & 07777;

	p9_get32(in);	/* gid */
	if (in->err || err)
		return in->err ? in->err : err;
	if (mkdirat(d->pathfd, name, mode) < 0)
		return -errno;
	return p9_put_qid_of(out, d->pathfd, name);
}

int p9_op_symlink(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1], target[PATH_MAX];
	int err;
	struct p9_fid *d = dir_and_name(s, in, name, &err);

	p9_get_str(in, target, sizeof(target));
	p9_get32(in);	/* gid */
	if (in->err || err)
		return in->err ? in->err : err;
	if (symlinkat(target, d->pathfd, name) < 0)
		return -errno;
	return p9_put_qid_of(out, d->pathfd, name);
}

/* FIFOs and sockets only: a device node made here would be a host device. */
int p9_op_mknod(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1];
	int err;
	struct p9_fid *d = dir_and_name(s, in, name, &err);
	uint32_t mode = p9_get32(in);

	p9_get32(in);	/* major */
	p9_get32(in);	/* minor */
	p9_get32(in);	/* gid */
	if (in->err || err)
		return in->err ? in->err : err;
	if (!S_ISFIFO(mode) && !S_ISSOCK(mode))
		return -EPERM;
	if (mknodat(d->pathfd, name, mode & (S_IFMT | 07777), 0) < 0)
		return -errno;
	return p9_put_qid_of(out, d->pathfd, name);
}

int p9_op_unlinkat(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char name[NAME_MAX + 1];
	int err;
	struct p9_fid *d = dir_and_name(s, in, name, &err);
	uint32_t flags = p9_get32(in);

	(void)out;
	if (in->err || err)
		return in->err ? in->err : err;
	return unlinkat(d->pathfd, name, flags & AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* After a rename the fids that named the old entry name the new one (the client keeps
 * using a dentry's fid across renames). */
static void follow_rename(struct p9_server *s, int olddir, const char *oldname, int newdir,
			  const char *newname)
{
	struct stat od, fd;

	if (fstat(olddir, &od) < 0)
		return;
	for (int b = 0; b < P9_FID_BUCKETS; b++)
		for (struct p9_fid *f = s->fids[b]; f; f = f->next) {
			if (!f->name || strcmp(f->name, oldname) || fstat(f->dirfd, &fd) < 0 ||
			    fd.st_ino != od.st_ino || fd.st_dev != od.st_dev)
				continue;
			int nd = fcntl(newdir, F_DUPFD_CLOEXEC, 0);
			char *nn = strdup(newname);
			if (nd < 0 || !nn) {
				if (nd >= 0)
					close(nd);
				free(nn);
				continue;	/* the fid goes stale: ESTALE on open */
			}
			close(f->dirfd);
			free(f->name);
			f->dirfd = nd;
			f->name = nn;
		}
}

int p9_op_renameat(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	char oldname[NAME_MAX + 1], newname[NAME_MAX + 1];
	int err, err2;
	struct p9_fid *od = dir_and_name(s, in, oldname, &err);
	struct p9_fid *nd = dir_and_name(s, in, newname, &err2);

	(void)out;
	if (in->err || err || err2)
		return in->err ? in->err : err ? err : err2;
	if (renameat(od->pathfd, oldname, nd->pathfd, newname) < 0)
		return -errno;
	follow_rename(s, od->pathfd, oldname, nd->pathfd, newname);
	return 0;
}

/* A hard link to f, by its name in its directory (not followed if it is a symlink): both
 * ends are in the share. */
int p9_op_link(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *d = fid_of(s, in), *f = fid_of(s, in);
	char name[NAME_MAX + 1];
	int err = p9_get_name(in, name, sizeof(name));

	(void)out;
	if (in->err || err || !d || !f)
		return in->err ? in->err : err ? err : -EBADF;
	if (s->read_only)
		return -EROFS;
	if (!f->name)
		return -EPERM;	/* the share's root */
	return linkat(f->dirfd, f->name, d->pathfd, name, 0) < 0 ? -errno : 0;
}
