/*
 * `--image docker://...` and friends: skopeo copies the image into a private work directory
 * of the cache as an OCI layout, which is renamed to oci/<manifest hex> once complete.
 */
#include "pull.h"

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

#include <cjson/cJSON.h>

#include "../core/err.h"
#include "../core/mkdir_p.h"
#include "dir.h"
#include "image.h"
#include "sha256.h"
#include "skopeo.h"

#define PULL_ARGS 16

struct pull_progress {
	const char *name;
	char dir[PATH_MAX];		/* the layout being written */
	struct timespec start;
	int layers;
	int shown;
};

int image_progress_wanted(void)
{
	const char *p = getenv("HVM_PROGRESS");

	return isatty(STDERR_FILENO) && !(p && strcmp(p, "0") == 0);
}

/* ---- cache records ------------------------------------------------------------------- */

static int layout_path(const char *cache, const char *hex, char *out, size_t cap)
{
	return snprintf(out, cap, "%s/oci/%s", cache, hex) < (int)cap ? 0 : -ENAMETOOLONG;
}

static int layout_cached(const char *cache, const char *hex, char *out, size_t cap)
{
	char index[PATH_MAX];
	struct stat st;

	if (layout_path(cache, hex, out, cap) ||
	    snprintf(index, sizeof(index), "%s/index.json", out) >= (int)sizeof(index))
		return 0;
	return stat(index, &st) == 0 && S_ISREG(st.st_mode);
}

static void ref_record_path(const char *cache, const struct image_ref *ref, char *out, size_t cap)
{
	char key[SHA256_HEX];

	sha256_hex(ref->name, strlen(ref->name), key);
	snprintf(out, cap, "%s/refs/%s", cache, key);
}

/* The digest hex the reference had when last pulled; 0 or -ENOENT. */
static int ref_record_read(const char *cache, const struct image_ref *ref, char hex[SHA256_HEX])
{
	char path[PATH_MAX], buf[SHA256_HEX + 1] = "";
	int fd, n;

	ref_record_path(cache, ref, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -ENOENT;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n != SHA256_HEX || buf[SHA256_HEX - 1] != '\n' || strspn(buf, "0123456789abcdef") != 64)
		return -ENOENT;
	memcpy(hex, buf, 64);
	hex[64] = '\0';
	return 0;
}

/* Written aside and renamed: a reader sees the old record or the new one. */
static int ref_record_write(const char *cache, const struct image_ref *ref, const char *hex)
{
	char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 16], line[SHA256_HEX + 1];
	int fd, err;

	snprintf(dir, sizeof(dir), "%s/refs", cache);
	if ((err = mkdir_p(dir, 0700, 0700)))
		return err;
	ref_record_path(cache, ref, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/.new-XXXXXX", dir);
	if ((fd = mkstemp(tmp)) < 0)
		return -errno;
	snprintf(line, sizeof(line), "%s\n", hex);
	errno = EIO;
	if (write(fd, line, 65) != 65 || fsync(fd) < 0 || rename(tmp, path) < 0)
		err = -errno;
	close(fd);
	if (err)
		unlink(tmp);
	return err;
}

/* ---- work areas ---------------------------------------------------------------------- */

/* Removes the work areas of pulls that were killed: their lock is no longer held. */
static void sweep(const char *tmpdir)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[PATH_MAX + NAME_MAX + 8];
	int fd;

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "pull.", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/lock", tmpdir, e->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue;	/* a pull in progress */
		}
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		dir_remove_at(AT_FDCWD, path);
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
}

/* A fresh work area under CACHE/tmp, locked while we live; returns the lock fd or -errno. */
static int work_create(const char *cache, char *work, size_t cap)
{
	char tmpdir[PATH_MAX], lock[PATH_MAX + 8];
	int fd, err;

	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", cache);
	if ((err = mkdir_p(tmpdir, 0700, 0700)) < 0)
		return err;
	sweep(tmpdir);
	if (snprintf(work, cap, "%s/pull.XXXXXX", tmpdir) >= (int)cap || !mkdtemp(work))
		return -errno ? -errno : -ENAMETOOLONG;
	snprintf(lock, sizeof(lock), "%s/lock", work);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		dir_remove_at(AT_FDCWD, work);
		return err;
	}
	return fd;
}

/* ---- progress ------------------------------------------------------------------------ */

/* Bytes written so far and blobs complete, from what the layout holds now. */
static void layout_count(const char *dir, unsigned long long *bytes, int *blobs)
{
	const char *subs[] = { "", "/blobs/sha256" };
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;

	*bytes = 0;
	*blobs = 0;
	for (int i = 0; i < 2; i++) {
		DIR *d;
		snprintf(path, sizeof(path), "%s%s", dir, subs[i]);
		if (!(d = opendir(path)))
			continue;
		while ((e = readdir(d))) {
			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode)) {
				*bytes += (unsigned long long)st.st_blocks * 512;
				*blobs += i;
			}
		}
		closedir(d);
	}
}

/* "pulling REF: 1/2 layers, 3.4 MiB, 1.2 MiB/s", rewritten in place. */
static void progress_tick(void *arg)
{
	struct pull_progress *p = arg;
	struct timespec now;
	unsigned long long bytes;
	double secs, mib;
	int blobs;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - p->start.tv_sec) + (now.tv_nsec - p->start.tv_nsec) / 1e9;
	layout_count(p->dir, &bytes, &blobs);
	mib = (double)bytes / (1 << 20);
	if (p->layers > 0)	/* an index names no layers: then blobs are what we can count */
		fprintf(stderr, "\r\033[Khvm: pulling %s: %d/%d layers, %.1f MiB, %.1f MiB/s",
			p->name, blobs < p->layers ? blobs : p->layers, p->layers, mib,
			secs > 0 ? mib / secs : 0);
	else
		fprintf(stderr, "\r\033[Khvm: pulling %s: %d blobs, %.1f MiB, %.1f MiB/s", p->name,
			blobs, mib, secs > 0 ? mib / secs : 0);
	p->shown = 1;
}

/* ---- skopeo -------------------------------------------------------------------------- */

/* skopeo's message, less the prefix that repeats the reference we print anyway. */
static const char *pull_why(const struct skopeo_run *r)
{
	static const char *const prefixes[] = { "Error parsing image name \"", "initializing source " };
	const char *w = r->why, *cut;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++)
		if (strncmp(w, prefixes[i], strlen(prefixes[i])) == 0 && (cut = strstr(w, ": ")))
			return cut + 2;
	return w;
}

/* Adds the registry options, named as the skopeo subcommand wants them ("" or "src-"). */
static int add_opts(const struct image_ref *ref, const struct image_pull_opts *o, const char *pre,
		    char *argv[], int n, char bufs[3][64])
{
	if (!ref->remote)
		return n;
	snprintf(bufs[0], 64, "--%stls-verify=%s", pre, o->tls_verify ? "true" : "false");
	argv[n++] = bufs[0];
	if (o->creds) {
		snprintf(bufs[1], 64, "--%screds", pre);
		argv[n++] = bufs[1];
		argv[n++] = (char *)o->creds;
	}
	if (o->authfile) {
		snprintf(bufs[2], 64, "--%sauthfile", pre);
		argv[n++] = bufs[2];
		argv[n++] = (char *)o->authfile;
	}
	return n;
}

/* Layers of a raw image manifest; 0 for an index (the platform's manifest is not fetched). */
static int manifest_layers(const char *raw)
{
	cJSON *m = cJSON_Parse(raw);
	int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "layers"));

	cJSON_Delete(m);
	return n;
}

/*
 * The manifest digest (hex) and layer count the reference names now. --raw: the manifest
 * alone, hashed here as the registry does; plain inspect would fetch the config blob too.
 */
static int pull_inspect(const struct image_ref *ref, const struct image_pull_opts *o,
			char hex[SHA256_HEX], int *layers, struct err *e)
{
	char *argv[PULL_ARGS], bufs[3][64];
	struct skopeo_run *r = malloc(sizeof(*r));
	int n = 0, st;

	if (!r)
		return -ENOMEM;
	argv[n++] = "skopeo";
	argv[n++] = "inspect";
	argv[n++] = "--raw";
	n = add_opts(ref, o, "", argv, n, bufs);
	argv[n++] = (char *)ref->name;
	argv[n] = NULL;
	*r = (struct skopeo_run){ .tick = NULL };
	st = skopeo_exec(argv, r);
	if (st < 0)
		err_set(e, st, "%s", r->why);
	if (st > 0)
		err_set(e, -EIO, "%s: %s", ref->name, pull_why(r));
	if (st == 0 && (r->out_len == 0 || r->out_len >= sizeof(r->out) - 1)) {
		err_set(e, -EIO, "%s: skopeo inspect gave %s manifest", ref->name,
			r->out_len ? "too big a" : "no");
		st = -EIO;
	}
	if (st == 0) {
		sha256_hex(r->out, r->out_len, hex);
		*layers = manifest_layers(r->out);
	}
	free(r);
	return st > 0 ? -EIO : st;
}

/* skopeo copy REF (pinned to hex when from a registry) oci:DIR:latest. */
static int pull_copy(const struct image_ref *ref, const struct image_pull_opts *o,
		     const char *hex, struct pull_progress *p, struct err *e)
{
	char *argv[PULL_ARGS], bufs[3][64], src[PATH_MAX + 80], dst[PATH_MAX + 16], digest[80];
	struct skopeo_run *r;
	int n = 0, st;

	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	if (image_ref_pinned(ref, digest, src, sizeof(src)) ||
	    snprintf(dst, sizeof(dst), "oci:%s:latest", p->dir) >= (int)sizeof(dst))
		return -ENAMETOOLONG;
	if (!(r = malloc(sizeof(*r))))
		return -ENOMEM;
	*r = (struct skopeo_run){ .tick = o->progress ? progress_tick : NULL, .tick_arg = p };
	argv[n++] = "skopeo";
	argv[n++] = "copy";
	argv[n++] = "--quiet";
	n = add_opts(ref, o, "src-", argv, n, bufs);
	argv[n++] = src;
	argv[n++] = dst;
	argv[n] = NULL;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	if (r->tick)
		progress_tick(p);	/* at once: a small pull ends before the first tick */
	st = skopeo_exec(argv, r);
	if (p->shown)
		fputs("\r\033[K", stderr);	/* gone when done */
	if (st < 0)
		err_set(e, st, "%s", r->why);
	if (st > 0)
		err_set(e, -EIO, "%s: %s", ref->name, pull_why(r));
	free(r);
	return st > 0 ? -EIO : st;
}

/* ---- the pull ------------------------------------------------------------------------ */

/* Copies into a work area and renames it to oci/<hex>; an equal one there already wins. */
static int pull_fetch(const struct image_ref *ref, const struct image_pull_opts *o,
		      const char *cache, const char *hex, int layers, char *layout, size_t cap,
		      struct err *e)
{
	struct pull_progress p = { .name = ref->name, .layers = layers };
	char work[PATH_MAX - 16], oci[PATH_MAX];
	int lock, err;

	if ((lock = work_create(cache, work, sizeof(work))) < 0) {
		err_set(e, lock, "%s/tmp: %s", cache, strerror(-lock));
		return lock;
	}
	snprintf(p.dir, sizeof(p.dir), "%s/layout", work);
	snprintf(oci, sizeof(oci), "%s/oci", cache);
	err = pull_copy(ref, o, hex, &p, e);
	if (!err && (err = mkdir_p(oci, 0700, 0700)))
		err_set(e, err, "%s: %s", oci, strerror(-err));
	layout_path(cache, hex, layout, cap);
	if (!err && rename(p.dir, layout) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		err = -errno;
		err_set(e, err, "%s: %s", layout, strerror(errno));
	}
	dir_remove_at(AT_FDCWD, work);
	close(lock);
	return err;
}

int image_pull(const struct image_ref *ref, const struct image_pull_opts *o,
	       const char *cache, char *layout, size_t cap, struct err *e)
{
	char hex[SHA256_HEX] = "";
	int layers = 0, err;

	if (ref->digest[0] && layout_cached(cache, ref->digest + 7, layout, cap))
		return 0;	/* pinned and here: nothing can have changed */
	if (ref->remote && !o->always && !ref->digest[0] && ref_record_read(cache, ref, hex) == 0 &&
	    layout_cached(cache, hex, layout, cap))
		return 0;	/* docker's rule: a tag pulled once is used until pulled again */
	if ((err = pull_inspect(ref, o, hex, &layers, e)))
		return err;
	if (!layout_cached(cache, hex, layout, cap) &&
	    (err = pull_fetch(ref, o, cache, hex, layers, layout, cap, e)))
		return err;
	if (ref->remote && (err = ref_record_write(cache, ref, hex)))
		err_set(e, err, "%s/refs: %s", cache, strerror(-err));
	return err;
}
