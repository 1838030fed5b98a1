/*
 * The share server's requests on fids: attach, walk, attributes, open, create, read, write.
 * Every guest name is one component checked by p9_get_name and opened with openat2's
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS and O_NOFOLLOW, so no walk or open follows a symlink
 * or leaves the share; a symlink fid can be read (readlink) but never opened.
 */
#include "p9_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define QID_DIR     0x80
#define QID_SYMLINK 0x02
#define GETATTR_BASIC 0x7ffULL
#define OPEN_FLAGS  (O_ACCMODE | O_TRUNC | O_APPEND | O_DSYNC | O_SYNC)

int p9_open_beneath(int dirfd, const char *name, int flags, unsigned mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.mode = flags & O_CREAT ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

int p9_get_name(struct p9_in *in, char *buf, size_t cap)
{
	p9_get_str(in, buf, cap);
	if (in->err)
		return in->err;
	if (!buf[0] || strchr(buf, '/') || !strcmp(buf, ".") || !strcmp(buf, ".."))
		return -EINVAL;
	return strlen(buf) > NAME_MAX ? -ENAMETOOLONG : 0;
}

static uint8_t qid_type(mode_t m)
{
	return S_ISDIR(m) ? QID_DIR : S_ISLNK(m) ? QID_SYMLINK : 0;
}

int p9_put_qid_of(struct p9_out *out, int pathfd, const char *name)
{
	struct stat st;

	if (fstatat(pathfd, name ? name : "", &st, name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH) < 0)
		return -errno;
	p9_put_qid(out, qid_type(st.st_mode), st.st_ino);
	return 0;
}

int p9_op_attach(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	uint32_t id = p9_get32(in);
	char name[256];
	struct p9_fid *f;
	int err = 0;	/* set on every path; a sanitized build's -O1 cannot see that */

	p9_get32(in);			/* afid: no authentication, the VM is the only client */
	p9_get_str(in, name, sizeof(name));	/* uname */
	p9_get_str(in, name, sizeof(name));	/* aname: there is one tree */
	p9_get32(in);			/* n_uname: files are the server's user's */
	if (in->err || (err = p9_fid_new(s, id, &f)))
		return in->err ? in->err : err;
	f->pathfd = fcntl(s->rootfd, F_DUPFD_CLOEXEC, 0);
	if (f->pathfd < 0 || (err = p9_put_qid_of(out, f->pathfd, NULL))) {
		err = f->pathfd < 0 ? -errno : err;
		p9_fid_drop(s, id);
	}
	return err;
}

/* newfid as a copy of f (a walk of no names). */
static int fid_clone(struct p9_fid *nf, const struct p9_fid *f)
{
	nf->pathfd = fcntl(f->pathfd, F_DUPFD_CLOEXEC, 0);
	nf->dirfd = f->dirfd < 0 ? -1 : fcntl(f->dirfd, F_DUPFD_CLOEXEC, 0);
	nf->name = f->name ? strdup(f->name) : NULL;
	return nf->pathfd < 0 || (f->dirfd >= 0 && nf->dirfd < 0) || (f->name && !nf->name) ?
	       -ENOMEM : 0;
}

/* Walks names[0..n) from f, one component at a time; the qids go to out. On success newfid
 * holds the last object, with its directory and name. Returns the steps done or -errno. */
static int walk_names(struct p9_fid *f, char names[][NAME_MAX + 1], int n, struct p9_fid *nf,
		      struct p9_out *out)
{
	int cur = fcntl(f->pathfd, F_DUPFD_CLOEXEC, 0), dir = -1, i, err = 0;

	for (i = 0; i < n && cur >= 0 && !err; i++) {
		int next = p9_open_beneath(cur, names[i], O_PATH, 0);
		if (next < 0 || (err = p9_put_qid_of(out, next, NULL))) {
			err = next < 0 ? next : err;
			if (next >= 0)
				close(next);
			break;
		}
		if (dir >= 0)
			close(dir);
		dir = cur;
		cur = next;
	}
	if (i == n && !err) {
		nf->pathfd = cur;
		nf->dirfd = dir;
		nf->name = strdup(names[n - 1]);
		return nf->name ? n : -ENOMEM;
	}
	if (cur >= 0)
		close(cur);
	if (dir >= 0)
		close(dir);
	return i ? i : (err ? err : -ENOMEM);
}

/* Moves the walked place of tmp into f (a walk onto its own fid). */
static void fid_take(struct p9_fid *f, struct p9_fid *tmp)
{
	if (f->pathfd >= 0)
		close(f->pathfd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->name);
	f->pathfd = tmp->pathfd;
	f->dirfd = tmp->dirfd;
	f->name = tmp->name;
}

int p9_op_walk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	uint32_t id = p9_get32(in), newid = p9_get32(in);
	uint16_t n = p9_get16(in);
	char names[P9_MAXWELEM][NAME_MAX + 1];
	struct p9_fid *f = p9_fid_get(s, id), tmp = { .pathfd = -1, .dirfd = -1, .openfd = -1 };
	struct p9_fid *nf = &tmp;
	size_t count_at;
	int err = n > P9_MAXWELEM ? -EINVAL : 0, done;

	for (int i = 0; i < n && !err; i++)
		err = p9_get_name(in, names[i], sizeof(names[i]));
	if (in->err || err || !f)
		return in->err ? in->err : err ? err : -EBADF;
	if (newid != id && (err = p9_fid_new(s, newid, &nf)))
		return err;
	count_at = out->len;
	p9_put16(out, 0);
	done = n ? walk_names(f, names, n, nf, out) : (fid_clone(nf, f) ? -ENOMEM : 0);
	if (done == n && newid == id)
		fid_take(f, &tmp);
	else if (done != n && newid != id)
		p9_fid_drop(s, newid);	/* a partial walk makes no fid */
	else if (done != n)
		fid_take(&tmp, &(struct p9_fid){ .pathfd = -1, .dirfd = -1 });
	if (done < 0)
		return done;
	out->p[count_at] = (uint8_t)done;
	out->p[count_at + 1] = 0;
	return 0;
}

int p9_op_getattr(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = p9_fid_get(s, p9_get32(in));
	struct stat st;

	p9_get64(in);	/* request_mask: the basic set is always there */
	if (in->err || !f)
		return in->err ? in->err : -EBADF;
	if (fstatat(f->pathfd, "", &st, AT_EMPTY_PATH) < 0)
		return -errno;
	p9_put64(out, GETATTR_BASIC);
	p9_put_qid(out, qid_type(st.st_mode), st.st_ino);
	p9_put32(out, st.st_mode);
	p9_put32(out, st.st_uid);
	p9_put32(out, st.st_gid);
	p9_put64(out, st.st_nlink);
	p9_put64(out, st.st_rdev);
	p9_put64(out, (uint64_t)st.st_size);
	p9_put64(out, (uint64_t)st.st_blksize);
	p9_put64(out, (uint64_t)st.st_blocks);
	const struct timespec *t[] = { &st.st_atim, &st.st_mtim, &st.st_ctim };
	for (int i = 0; i < 3; i++) {
		p9_put64(out, (uint64_t)t[i]->tv_sec);
		p9_put64(out, (uint64_t)t[i]->tv_nsec);
	}
	for (int i = 0; i < 4; i++)	/* btime, gen, data_version: not kept */
		p9_put64(out, 0);
	return 0;
}

int p9_fid_reopen(const struct p9_fid *f, int flags)
{
	struct stat want, got;
	int fd;

	if (fstatat(f->pathfd, "", &want, AT_EMPTY_PATH) < 0)
		return -errno;
	if (S_ISDIR(want.st_mode))
		return (flags & O_ACCMODE) != O_RDONLY ? -EISDIR :
		       p9_open_beneath(f->pathfd, ".", O_RDONLY | O_DIRECTORY, 0);
	if (!S_ISREG(want.st_mode) || !f->name)
		return S_ISLNK(want.st_mode) ? -ELOOP : -EPERM;	/* no host FIFOs or devices */
	fd = p9_open_beneath(f->dirfd, f->name, flags | O_NONBLOCK, 0);
	if (fd >= 0 && (fstat(fd, &got) < 0 || got.st_ino != want.st_ino ||
			got.st_dev != want.st_dev)) {
		close(fd);
		return -ESTALE;	/* renamed away under the fid */
	}
	if (fd >= 0)
		fcntl(fd, F_SETFL, flags & (O_APPEND | O_DSYNC | O_SYNC));
	return fd;
}

int p9_op_lopen(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = p9_fid_get(s, p9_get32(in));
	int flags = (int)p9_get32(in) & OPEN_FLAGS, fd;

	if (in->err || !f)
		return in->err ? in->err : -EBADF;
	if (f->openfd >= 0)
		return -EBUSY;
	if (s->read_only && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	if ((fd = p9_fid_reopen(f, flags)) < 0)
		return fd;
	f->openfd = fd;
	p9_put_qid_of(out, f->pathfd, NULL);
	p9_put32(out, 0);	/* iounit: msize bounds every read and write */
	return 0;
}

int p9_op_lcreate(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	struct p9_fid *f = p9_fid_get(s, p9_get32(in));
	char name[NAME_MAX + 1];
	int err = p9_get_name(in, name, sizeof(name));
	int flags = (int)p9_get32(in) & (OPEN_FLAGS | O_EXCL);
	unsigned mode = p9_get32(in) & 07777;
	char *copy;
	int fd, pathfd;

	p9_get32(in);	/* gid: files belong to the server's user */
	if (in->err || err || !f)
		return in->err ? in->err : err ? err : -EBADF;
	if (s->read_only)
		return -EROFS;
	if (f->openfd >= 0)
		return -EBUSY;
	if ((fd = p9_open_beneath(f->pathfd, name, flags | O_CREAT | O_NONBLOCK, mode)) < 0)
		return fd;
	fcntl(fd, F_SETFL, flags & (O_APPEND | O_DSYNC | O_SYNC));
	pathfd = p9_open_beneath(f->pathfd, name, O_PATH, 0);
	copy = pathfd >= 0 ? strdup(name) : NULL;
	if (!copy) {
		close(fd);
		if (pathfd >= 0)
			close(pathfd);
		return pathfd < 0 ? pathfd : -ENOMEM;
	}
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f->name);
	f->dirfd = f->pathfd;	/* the fid now names the new file in the directory it was */
	f->pathfd = pathfd;
	f->name = copy;
	f->openfd = fd;
	p9_put_qid_of(out, pathfd, NULL);
	p9_put32(out, 0);
	return 0;
}
