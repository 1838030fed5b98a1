/*
 * The cache lookup that hvm-run does on every --image run: a quick key from stat data only,
 * the index record it names, and the converter helper started on a miss. Plain libc: this is
 * linked into the static hvm-run, and the hit path must cost well under a millisecond.
 */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/err.h"

extern char **environ;

int image_cache_dir(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	/* The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/hvm", xdg);
	else if (home && *home)
		n = snprintf(buf, cap, "%s/.cache/hvm", home);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* ---- the quick key ------------------------------------------------------------------- */

/* One entry: its path, then a fixed layout of what stat says, so any change changes the key. */
static void key_add(struct sha256 *s, const char *rel, const struct stat *st)
{
	uint64_t rec[] = {
		st->st_mode, st->st_uid, st->st_gid, (uint64_t)st->st_size, st->st_ino, st->st_dev,
		st->st_rdev, (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec,
		(uint64_t)st->st_ctim.tv_sec, (uint64_t)st->st_ctim.tv_nsec,
	};

	sha256_update(s, rel, strlen(rel) + 1);
	sha256_update(s, rec, sizeof(rec));
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void image_cache_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int image_cache_names(int dfd, char ***out, size_t *count)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int err = 0;

	if (!d) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (!err && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			char **more = realloc(names, (cap = cap ? 2 * cap : 32) * sizeof(*names));
			if (!more)
				break;
			names = more;
		}
		if (!(names[n] = strdup(e->d_name)))
			break;
		n++;
	}
	if (e)
		err = -ENOMEM;	/* the loop stopped early */
	closedir(d);
	if (err) {
		image_cache_names_free(names, n);
		return err;
	}
	if (n)	/* names is NULL for an empty directory: qsort must not see it */
		qsort(names, n, sizeof(*names), key_cmp);
	*out = names;
	*count = n;
	return 0;
}

/* Hashes every entry under dfd (rel[0..len) names it), in name order, not following links. */
static int key_dir(struct sha256 *s, int dfd, char *rel, size_t len)
{
	char **names = NULL, target[PATH_MAX];
	size_t n = 0;
	int err = image_cache_names(dfd, &names, &n);

	for (size_t i = 0; !err && i < n; i++) {
		struct stat st;
		size_t nlen = strlen(names[i]);
		if (len + 1 + nlen >= PATH_MAX) {
			err = -ENAMETOOLONG;
			break;
		}
		rel[len] = '/';
		memcpy(rel + len + 1, names[i], nlen + 1);
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			err = -errno;
			break;
		}
		key_add(s, rel, &st);
		if (S_ISLNK(st.st_mode)) {
			ssize_t t = readlinkat(dfd, names[i], target, sizeof(target) - 1);
			target[t > 0 ? t : 0] = '\0';
			sha256_update(s, target, strlen(target) + 1);
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			err = sub < 0 ? -errno : key_dir(s, sub, rel, len + 1 + nlen);
			if (sub >= 0)
				close(sub);
		}
	}
	if (!err)
		rel[len] = '\0';	/* on failure rel names the culprit */
	image_cache_names_free(names, n);
	return err;
}

int image_quick_key(const char *src, char key[SHA256_HEX], struct err *e)
{
	char real[PATH_MAX], rel[PATH_MAX] = "";
	struct sha256 s;
	struct stat st;
	int err = 0, fd;

	if (!realpath(src, real) || lstat(real, &st) < 0) {
		err = -errno;
		err_set(e, err, "%s: %s", src, strerror(-err));
		return err;
	}
	sha256_init(&s);
	sha256_update(&s, IMAGE_FORMAT_VERSION, sizeof(IMAGE_FORMAT_VERSION));
	sha256_update(&s, real, strlen(real) + 1);
	key_add(&s, "", &st);
	if (S_ISDIR(st.st_mode)) {
		fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		err = fd < 0 ? -errno : key_dir(&s, fd, rel, 0);
		if (fd >= 0)
			close(fd);
		if (err)
			err_set(e, err, "%s%s: %s", src, rel, strerror(-err));
	} else if (!S_ISREG(st.st_mode)) {
		err_set(e, -EINVAL, "%s: not a directory or a regular file", src);
		err = -EINVAL;
	}
	sha256_final_hex(&s, key);
	return err;
}

/* ---- entries --------------------------------------------------------------------------- */

/* Reads a whole small file (at most max bytes) into a NUL-terminated buffer. */
static int read_small(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
		err = -EINVAL;
	*buf = err ? NULL : malloc((size_t)st.st_size + 1);
	if (!err && !*buf)
		err = -ENOMEM;
	while (!err && got < (size_t)st.st_size) {
		ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;	/* shrank under us */
		got += n > 0 ? (size_t)n : 0;
	}
	close(fd);
	if (err) {
		free(*buf);
		*buf = NULL;
		return err;
	}
	(*buf)[got] = '\0';
	*len = got;
	return 0;
}

int image_cache_load(const char *cache_dir, const char *digest, struct image *out)
{
	char path[PATH_MAX], *buf = NULL;
	struct stat st;
	size_t len = 0;
	int err, n;

	memset(out, 0, sizeof(*out));
	n = snprintf(out->rootfs, sizeof(out->rootfs), "%s/images/%s/rootfs.ext4", cache_dir, digest);
	if (n < 0 || (size_t)n >= sizeof(out->rootfs))
		return -ENAMETOOLONG;
	if (strlen(digest) != IMAGE_DIGEST_HEX || stat(out->rootfs, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/images/%s/config", cache_dir, digest);
	err = read_small(path, IMAGE_CONFIG_MAX, &buf, &len);
	if (err)
		return err;
	err = image_config_parse(buf, len, &out->config);
	free(buf);
	memcpy(out->digest, digest, IMAGE_DIGEST_HEX + 1);
	return err;
}

int image_cache_lookup(const char *cache_dir, const char *key, struct image *out)
{
	char path[PATH_MAX], digest[IMAGE_DIGEST_HEX + 2] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/index/%s", cache_dir, key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, digest, sizeof(digest) - 1);
	close(fd);
	/* "<64 hex>\n"; anything else is a damaged record, treated as a miss. */
	if (n != IMAGE_DIGEST_HEX + 1 || digest[IMAGE_DIGEST_HEX] != '\n' ||
	    strspn(digest, "0123456789abcdef") != IMAGE_DIGEST_HEX)
		return -ENOENT;
	digest[IMAGE_DIGEST_HEX] = '\0';
	return image_cache_load(cache_dir, digest, out);
}

/* ---- the converter ------------------------------------------------------------------- */

/* Runs `helper convert src cache_dir` with our stdio; its exit status, 128+N, or -errno. */
static int run_helper(const char *helper, const char *src, const char *cache_dir,
		      struct err *e)
{
	char *argv[] = { (char *)helper, "convert", (char *)src, (char *)cache_dir, NULL };
	int status, err;
	pid_t pid;

	/* posix_spawn reports a failed exec as its own error: one message, ours. */
	err = posix_spawn(&pid, helper, NULL, NULL, argv, environ);
	if (err) {
		err_set(e, -err, "%s: %s", helper, strerror(err));
		return -err;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			err = -errno;
			err_set(e, err, "waiting for %s: %s", helper, strerror(errno));
			return err;
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int image_resolve(const char *src, const char *cache_dir, const char *helper, struct image *out,
		  struct err *e)
{
	char key[SHA256_HEX];
	int err = image_quick_key(src, key, e), status;

	if (err)
		return err;
	if (image_cache_lookup(cache_dir, key, out) == 0)
		return 0;
	status = run_helper(helper, src, cache_dir, e);
	if (status < 0)
		return status;
	if (status == IMAGE_EXIT_BAD_IMAGE)
		return -EINVAL;	/* hvm-image has said why */
	if (status > 128)
		return err_set(e, status - 128 == SIGINT ? -EINTR : -EIO,
			       "%s: image conversion stopped by %s", src, strsignal(status - 128));
	if (status != 0) {
		err_set(e, -EIO, "%s: image conversion failed (hvm-image exit status %d)", src,
			status);
		return -EIO;
	}
	if (image_cache_lookup(cache_dir, key, out) != 0) {
		err_set(e, -EIO, "%s: converted, but no usable cache entry appeared in %s", src,
			cache_dir);
		return -EIO;
	}
	return 0;
}

void image_free(struct image *img)
{
	image_config_free(&img->config);
}
