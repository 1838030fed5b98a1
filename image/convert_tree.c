/*
 * Root file system trees: the content digest of a rootfs directory (so the same tree at
 * another path, or copied with cp -a, maps to the same cache entry), and the ext4 file made
 * from a tree with mke2fs -d.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cache.h"
#include "convert.h"

#define EXT4_BLOCK   4096ULL
#define EXT4_INODE   256ULL
#define READ_CHUNK   (128 * 1024)

extern char **environ;

/* A walk over a tree in name order, never following symlinks. */
struct tree_walk {
	int (*visit)(struct tree_walk *w, int dfd, const char *name, const struct stat *st);
	const char *root;
	char rel[PATH_MAX];		/* the entry's path below root, "a/b" */
	struct sha256 sha;		/* digest walk */
	char *buf;			/* digest walk: READ_CHUNK bytes */
	unsigned long long bytes, inodes;	/* size walk */
};

/* Walks the directory dfd, whose path below the root is w->rel; 0 or -errno (w->rel names where). */
static int tree_walk_dir(struct tree_walk *w, int dfd)
{
	size_t len = strlen(w->rel), n = 0;
	char **names = NULL;
	int err = image_cache_names(dfd, &names, &n);

	for (size_t i = 0; !err && i < n; i++) {
		struct stat st;
		if (len + 1 + strlen(names[i]) >= sizeof(w->rel)) {
			err = -ENAMETOOLONG;
			break;
		}
		snprintf(w->rel + len, sizeof(w->rel) - len, "%s%s", len ? "/" : "", names[i]);
		if (convert_stopped())
			err = -EINTR;
		else if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			err = -errno;
		else
			err = w->visit(w, dfd, names[i], &st);
		if (!err && S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			err = sub < 0 ? -errno : tree_walk_dir(w, sub);
			if (sub >= 0)
				close(sub);
		}
		if (!err)
			w->rel[len] = '\0';
	}
	image_cache_names_free(names, n);
	return err;
}

static int tree_walk(struct tree_walk *w, const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	w->root = root;
	w->rel[0] = '\0';
	if (fd < 0)
		return -errno;
	err = tree_walk_dir(w, fd);
	close(fd);
	return err;
}

/* ---- the content digest ------------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Extended attributes, by sorted name (listxattr's order is the file system's). */
static int digest_xattrs(struct tree_walk *w)
{
	char path[2 * PATH_MAX], *names[256], list[16384];
	ssize_t len, vlen;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", w->root, w->rel);
	len = llistxattr(path, list, sizeof(list));
	if (len < 0)
		return errno == ENOTSUP ? 0 : -errno;
	for (char *p = list; p < list + len && n < 256; p += strlen(p) + 1)
		names[n++] = p;
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		vlen = lgetxattr(path, names[i], w->buf, READ_CHUNK);
		if (vlen < 0)
			return -errno;
		uint64_t vlen64 = (uint64_t)vlen;
		sha256_update(&w->sha, names[i], strlen(names[i]) + 1);
		sha256_update(&w->sha, &vlen64, sizeof(vlen64));
		sha256_update(&w->sha, w->buf, (size_t)vlen);
	}
	return 0;
}

/* The sha256 of a regular file's bytes, folded in as 32 bytes. */
static int digest_contents(struct tree_walk *w, int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	uint8_t sum[SHA256_BYTES];
	struct sha256 s;
	ssize_t n;

	if (fd < 0)
		return -errno;
	sha256_init(&s);
	while ((n = read(fd, w->buf, READ_CHUNK)) > 0)
		sha256_update(&s, w->buf, (size_t)n);
	close(fd);
	if (n < 0)
		return -errno;
	sha256_final(&s, sum);
	sha256_update(&w->sha, sum, sizeof(sum));
	return 0;
}

/*
 * What the ext4 will hold for one entry. Directory sizes and link counts are left out: they
 * differ between host file systems holding the same tree.
 */
static int digest_visit(struct tree_walk *w, int dfd, const char *name, const struct stat *st)
{
	int dir = S_ISDIR(st->st_mode);
	uint64_t rec[] = {
		st->st_mode, st->st_uid, st->st_gid, dir ? 0 : (uint64_t)st->st_size, st->st_rdev,
		dir ? 0 : st->st_nlink, (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec,
	};

	sha256_update(&w->sha, w->rel, strlen(w->rel) + 1);
	sha256_update(&w->sha, rec, sizeof(rec));
	if (S_ISLNK(st->st_mode)) {
		ssize_t n = readlinkat(dfd, name, w->buf, READ_CHUNK - 1);
		if (n < 0)
			return -errno;
		w->buf[n] = '\0';
		sha256_update(&w->sha, w->buf, (size_t)n + 1);
	} else if (S_ISREG(st->st_mode)) {
		int err = digest_contents(w, dfd, name);
		if (err)
			return err;
	}
	return digest_xattrs(w);
}

int convert_tree_digest(struct convert *c, const char *dir, char hex[SHA256_HEX])
{
	struct tree_walk w = { .visit = digest_visit, .buf = malloc(READ_CHUNK) };

	struct stat st;
	int err;

	if (!w.buf)
		return convert_err(c, -ENOMEM, "hashing the directory: %s", strerror(ENOMEM));
	sha256_init(&w.sha);
	w.root = dir;
	err = lstat(dir, &st) < 0 ? -errno : digest_visit(&w, AT_FDCWD, dir, &st);	/* the root */
	if (!err)
		err = tree_walk(&w, dir);
	free(w.buf);
	if (err == -EINTR)
		return convert_err(c, err, "interrupted");
	if (err)
		return convert_bad(c, "%s%s%s: %s", dir, *w.rel ? "/" : "", w.rel, strerror(-err));
	sha256_final_hex(&w.sha, hex);
	return 0;
}

/* ---- the ext4 file ------------------------------------------------------------------------ */

static unsigned long long round_up(unsigned long long v, unsigned long long to)
{
	return (v + to - 1) / to * to;
}

/* Blocks the entry needs in ext4, and an inode and a directory entry for it. */
static int size_visit(struct tree_walk *w, int dfd, const char *name, const struct stat *st)
{
	unsigned long long data = 0, alloc = (unsigned long long)st->st_blocks * 512;

	(void)dfd;
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
		data = round_up((unsigned long long)st->st_size, EXT4_BLOCK);
		if (alloc < data)	/* sparse, or stored inline by the host file system */
			data = round_up(alloc, EXT4_BLOCK) + (alloc ? 0 : EXT4_BLOCK);
		if (S_ISREG(st->st_mode) && st->st_nlink > 1)
			data /= st->st_nlink;	/* counted once over all its names */
	} else if (S_ISLNK(st->st_mode) && st->st_size >= 60) {
		data = EXT4_BLOCK;	/* shorter targets live in the inode */
	}
	w->bytes += data + EXT4_INODE + round_up(8 + strlen(name), 4);
	w->inodes++;
	return 0;
}

/* mke2fs's stderr, cut to one line: the last line (its summary) and the first (the detail). */
static void mke2fs_why(char *buf, size_t len, char *out, size_t cap)
{
	char *first, *last;

	buf[len] = '\0';
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	first = buf;
	last = strrchr(buf, '\n') ? strrchr(buf, '\n') + 1 : buf;
	first[strcspn(first, "\n")] = '\0';
	if (!*last)
		snprintf(out, cap, "failed without a message");
	else if (last == first)
		snprintf(out, cap, "%.800s", last);
	else
		snprintf(out, cap, "%.400s (%.400s)", last, first);
}

/* Runs argv with stdout to /dev/null and stderr into err; its exit status, or -errno. */
static int run_captured(char *const argv[], char *err, size_t cap, size_t *len)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status, rc;
	pid_t pid;
	ssize_t n;

	*len = 0;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while (!rc && (n = read(pipefd[0], err + *len, cap - 1 - *len)) != 0) {
		if (n > 0 && (*len += (size_t)n) == cap - 1)
			*len = 0;	/* too long: keep the end, where the summary is */
		if (n < 0 && errno == EINTR && convert_stopped())
			kill(pid, SIGTERM);
		else if (n < 0 && errno != EINTR)
			break;
	}
	close(pipefd[0]);
	if (rc)
		return -rc;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* mke2fs lives in /sbin, which a user's PATH often lacks. */
static const char *mke2fs_path(void)
{
	static const char *const where[] = { "/sbin/mke2fs", "/usr/sbin/mke2fs" };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return "mke2fs";
}

int convert_tree_ext4(struct convert *c, const char *dir, const char *out)
{
	struct tree_walk w = { .visit = size_visit };
	char size[32], inodes[32], uuid[40], ext[80], errbuf[4096], why[1024];
	int err = tree_walk(&w, dir), status;
	size_t len;

	if (err)
		return err == -EINTR ? convert_err(c, err, "interrupted") :
		       convert_err(c, err, "sizing %s/%s: %s", dir, w.rel, strerror(-err));
	/* Read-only in the guest under an overlay: a fifth more than the tree and 16 MiB spare. */
	unsigned long long n_inodes = w.inodes + w.inodes / 4 + 1024;
	unsigned long long bytes = w.bytes + (n_inodes - w.inodes) * EXT4_INODE;
	snprintf(size, sizeof(size), "%lluM", (bytes + bytes / 5) / (1 << 20) + 16);
	snprintf(inodes, sizeof(inodes), "%llu", n_inodes);
	/* The UUID and hash seed come from the digest: the same image makes the same file. */
	snprintf(uuid, sizeof(uuid), "%.8s-%.4s-%.4s-%.4s-%.12s", c->digest, c->digest + 8,
		 c->digest + 12, c->digest + 16, c->digest + 20);
	snprintf(ext, sizeof(ext), "root_owner=0:0,hash_seed=%s", uuid);
	char *argv[] = { (char *)mke2fs_path(), "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-N", inodes,
			 "-L", "hvm-rootfs", "-O", "^has_journal", "-U", uuid, "-E", ext, "-d",
			 (char *)dir, (char *)out, size, NULL };
	status = run_captured(argv, errbuf, sizeof(errbuf), &len);
	if (status == -ENOENT)
		return convert_err(c, status, "mke2fs: not found (install e2fsprogs)");
	if (status < 0)
		return convert_err(c, status, "mke2fs: %s", strerror(-status));
	if (convert_stopped())
		return convert_err(c, -EINTR, "interrupted");
	if (status != 0) {
		mke2fs_why(errbuf, len, why, sizeof(why));
		return convert_err(c, -EIO, "mke2fs: %s", why);
	}
	return 0;
}
