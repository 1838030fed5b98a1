/*
 * hvm-image's conversion: detect the format, assemble the root file system in a private work
 * directory, make the ext4 image, and publish the cache entry and the index record by rename,
 * so that a reader sees a whole entry or none.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/mkdir_p.h"
#include "cache.h"
#include "convert.h"
#include "pull.h"

/* A work directory without a lock file this old is a crashed run's (ours lock at once). */
#define STALE_SECONDS 600

static void remove_path(const char *path)
{
	dir_remove_at(AT_FDCWD, path);
}

/* Writes a small file and makes it durable before it is renamed into view. */
static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

static int sync_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0 || fsync(fd) < 0)
		err = -errno;
	if (fd >= 0)
		close(fd);
	return err;
}

/* ---- the work directory ---------------------------------------------------------------- */

/* Removes work directories of conversions that died (killed, power loss) before cleaning up. */
static void sweep_stale(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;
	char lock[PATH_MAX + 300];

	while (d && (e = readdir(d))) {
		struct stat st;
		if (strncmp(e->d_name, "work.", 5) != 0 || fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue;
		snprintf(lock, sizeof(lock), "%s/%s/lock", tmp, e->d_name);
		int fd = open(lock, O_RDONLY | O_CLOEXEC);
		int dead = fd >= 0 ? flock(fd, LOCK_EX | LOCK_NB) == 0 :
			   time(NULL) - st.st_mtime > STALE_SECONDS;
		if (fd >= 0)
			close(fd);	/* drops the lock we may have taken */
		if (dead)
			dir_remove_at(dirfd(d), e->d_name);
	}
	if (d)
		closedir(d);
}

/* Creates CACHE/{images,index,tmp} and our locked work directory in tmp/. */
static int work_open(struct convert *c, int *lock_fd)
{
	char path[PATH_MAX + 16];
	int err = 0;

	for (const char *sub = "images\0index\0tmp\0"; *sub && !err; sub += strlen(sub) + 1) {
		snprintf(path, sizeof(path), "%s/%s", c->cache_dir, sub);
		if ((err = mkdir_p(path, 0700, 0700)))
			return convert_err(c, err, "%s: %s", path, strerror(-err));
	}
	snprintf(path, sizeof(path), "%s/tmp", c->cache_dir);
	sweep_stale(path);
	snprintf(c->work, sizeof(c->work), "%s/tmp/work.XXXXXX", c->cache_dir);
	if (!mkdtemp(c->work))
		return convert_err(c, -errno, "%s: %s", c->work, strerror(errno));
	snprintf(path, sizeof(path), "%s/lock", c->work);
	*lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX) < 0) {
		err = convert_err(c, -errno, "%s: %s", path, strerror(errno));
		remove_path(c->work);
	}
	return err;
}

/* ---- publishing ------------------------------------------------------------------------ */

/* Renames our finished entry into images/; an equal entry published meanwhile wins. */
static int entry_rename(struct convert *c, const char *entry, const char *final)
{
	char old[PATH_MAX];
	struct image img;

	if (rename(entry, final) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY)
		return convert_err(c, -errno, "%s: %s", final, strerror(errno));
	if (image_cache_load(c->cache_dir, c->digest, &img) == 0) {
		image_free(&img);
		return 0;	/* someone else's identical entry: ours goes with the work dir */
	}
	/* A damaged entry (say, an older hvm-image crashed): moved aside, ours replaces it. */
	snprintf(old, sizeof(old), "%s/damaged", c->work);
	if (rename(final, old) < 0 || rename(entry, final) < 0)
		return convert_err(c, -errno, "%s: %s", final, strerror(errno));
	return 0;
}

/* Builds images/<digest>/ (rootfs.ext4 + config) in the work directory and renames it in. */
static int publish_entry(struct convert *c)
{
	char entry[PATH_MAX], final[PATH_MAX], path[PATH_MAX + 16];
	int err;

	snprintf(final, sizeof(final), "%s/images/%s", c->cache_dir, c->digest);
	snprintf(entry, sizeof(entry), "%s/entry", c->work);
	if (mkdir(entry, 0700) < 0)
		return convert_err(c, -errno, "%s: %s", entry, strerror(errno));
	c->layers = 0;
	convert_progress(c, "making the file system");
	snprintf(path, sizeof(path), "%s/rootfs.ext4", entry);
	err = convert_tree_ext4(c, c->stage, path);
	if (!err && (err = sync_file(path)))
		return convert_err(c, err, "%s: %s", path, strerror(-err));
	snprintf(path, sizeof(path), "%s/config", entry);
	if (!err && c->config_len > IMAGE_CONFIG_MAX)
		return convert_bad(c, "the image config's run defaults exceed %d bytes", IMAGE_CONFIG_MAX);
	if (!err && (err = write_file(path, c->config ? c->config : "", c->config_len)))
		return convert_err(c, err, "%s: %s", path, strerror(-err));
	return err ? err : entry_rename(c, entry, final);
}

/* index/<key> -> digest, written aside and renamed: readers never see half a record. */
static int publish_index(struct convert *c, const char *key)
{
	char tmp[PATH_MAX], final[PATH_MAX], line[SHA256_HEX + 1];
	int err;

	snprintf(tmp, sizeof(tmp), "%s/index.tmp", c->work);
	snprintf(final, sizeof(final), "%s/index/%s", c->cache_dir, key);
	snprintf(line, sizeof(line), "%s\n", c->digest);
	err = write_file(tmp, line, strlen(line));
	if (!err && rename(tmp, final) < 0)
		err = -errno;
	return err ? convert_err(c, err, "%s: %s", final, strerror(-err)) : 0;
}

/* ---- formats ------------------------------------------------------------------------- */

static int exists_in(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* A docker-save manifest.json at the top of dir (not just any file of that name). */
static int dir_is_docker(const char *dir)
{
	char path[PATH_MAX + 32], *buf = malloc(IMAGE_CONFIG_MAX);
	ssize_t n = -1;
	int fd, yes;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && buf)
		n = read(fd, buf, IMAGE_CONFIG_MAX);
	if (fd >= 0)
		close(fd);
	yes = n > 0 && convert_manifest_is_docker(buf, (size_t)n);
	free(buf);
	return yes;
}

static int convert_dir(struct convert *c, const char *dir)
{
	char hex[SHA256_HEX];
	int err;

	if (exists_in(dir, "oci-layout") && exists_in(dir, "index.json"))
		return convert_manifest_oci(c, dir);
	if (dir_is_docker(dir))
		return convert_manifest_docker(c, dir);
	/* A root file system as it is: mke2fs reads it in place, nothing is copied. */
	snprintf(c->stage, sizeof(c->stage), "%s", dir);
	convert_progress(c, "hashing the directory");
	err = convert_tree_digest(c, dir, hex);
	if (!err)
		convert_set_digest(c, "dir", hex);
	return err;
}

/* A docker-save or OCI tarball: unpacked into the work directory, then read as a directory. */
static int convert_unpacked(struct convert *c, int fd, int oci)
{
	char dir[PATH_MAX];
	int err;

	snprintf(dir, sizeof(dir), "%s/unpacked", c->work);
	if (mkdir(dir, 0700) < 0)
		return convert_err(c, -errno, "%s: %s", dir, strerror(errno));
	convert_progress(c, "unpacking");
	err = convert_layer_extract(c, fd, NULL, dir, NULL);
	if (err)
		return err;
	return oci ? convert_manifest_oci(c, dir) : convert_manifest_docker(c, dir);
}

static int convert_archive(struct convert *c, int fd)
{
	struct convert_scan scan;
	int err;

	convert_progress(c, "reading");
	err = convert_layer_scan(c, fd, NULL, &scan);
	int oci = !err && scan.oci_layout;
	if (oci || (!err && scan.manifest && convert_manifest_is_docker(scan.manifest,
									 scan.manifest_len))) {
		convert_layer_scan_free(&scan);
		return convert_unpacked(c, fd, oci);
	}
	if (!err && scan.entries == 0)
		err = convert_bad(c, "the archive holds no files");
	/* A `docker export`: one layer, the archive's bytes are its content. */
	if (!err)
		convert_set_digest(c, "tar", scan.digest);
	if (!err && !c->cached) {
		snprintf(c->stage, sizeof(c->stage), "%s/rootfs", c->work);
		if (mkdir(c->stage, 0755) < 0)
			err = convert_err(c, -errno, "%s: %s", c->stage, strerror(errno));
		convert_progress(c, "unpacking");
		if (!err)
			err = convert_layer_extract(c, fd, NULL, c->stage, &scan);
	}
	convert_layer_scan_free(&scan);
	return err;
}

static int convert_source(struct convert *c)
{
	struct stat st;
	int fd, err;

	if (stat(c->path, &st) < 0)
		return convert_bad(c, "%s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return convert_dir(c, c->path);
	if (!S_ISREG(st.st_mode))
		return convert_bad(c, "not a directory or a regular file");
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return convert_bad(c, "%s", strerror(errno));
	err = convert_archive(c, fd);
	close(fd);
	return err;
}

/* Converts and publishes; the quick key is taken before and checked after reading src. */
static int convert_in_work(struct convert *c)
{
	char before[SHA256_HEX], after[SHA256_HEX];
	int err = image_quick_key(c->path, before, NULL);

	if (err)
		return err == -ENOENT || err == -EINVAL ? CONVERT_BAD : -EIO;
	err = convert_source(c);
	if (!err && !c->cached)
		err = publish_entry(c);
	if (!err && convert_stopped())
		err = convert_err(c, -EINTR, "interrupted");
	if (!err && (image_quick_key(c->path, after, NULL) != 0 || strcmp(before, after) != 0))
		return convert_err(c, -EAGAIN, "changed while it was being converted; try again");
	return err ? err : publish_index(c, before);
}

int convert_image(const char *src, const char *cache_dir)
{
	struct convert c = { .src = src, .cache_dir = cache_dir,
			     .progress = image_progress_wanted() };
	int lock_fd = -1, err;

	if (!realpath(src, c.path))
		return convert_bad(&c, "%s", strerror(errno));
	err = work_open(&c, &lock_fd);
	if (!err) {
		err = convert_in_work(&c);
		remove_path(c.work);	/* on success and failure alike: nothing half-made stays */
		close(lock_fd);
	}
	if (c.progress)
		fputs("\r\033[K", stderr);
	free(c.config);
	return err;
}
