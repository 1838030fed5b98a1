/*
 * Tar layers with libarchive, in two passes. The scan reads the file once, hashing its bytes
 * and its decompressed stream (digest and diff_id) while checking every entry name, so a bad
 * layer is refused before anything is written. The extraction then writes each entry at its
 * real path below the root: a symlink in the way is resolved inside the root by openat2
 * (RESOLVE_IN_ROOT, as a container sees it), so no entry can land outside, and libarchive gets
 * a path without symlinks, checked again by its SECURE flags.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "convert.h"

#define WHITEOUT        ".wh."
#define WHITEOUT_META   ".wh..wh."	/* reserved prefix; only the opaque marker is defined */
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define READ_BLOCK      (64 * 1024)
#define MARKER_MAX      (1 << 20)

/* Prefix for messages about a part of the image: "WHAT: ", or nothing for the image itself. */
#define WHAT(w) (w) ? (w) : "", (w) ? ": " : ""

/* ---- names ------------------------------------------------------------------------------- */

enum { NAME_OK, NAME_ROOT, NAME_ESCAPES, NAME_TOO_LONG };

/* Normalises an entry name into out ("./a//b/" -> "a/b"), refusing any way out of the root. */
static int name_normalize(const char *name, char *out, size_t cap)
{
	size_t len = 0;

	if (!name || name[0] == '/')
		return NAME_ESCAPES;
	while (*name) {
		size_t n = strcspn(name, "/");
		if (n == 2 && name[0] == '.' && name[1] == '.')
			return NAME_ESCAPES;
		if (n && !(n == 1 && name[0] == '.')) {
			if (len + n + 2 > cap)
				return NAME_TOO_LONG;
			if (len)
				out[len++] = '/';
			memcpy(out + len, name, n);
			len += n;
		}
		name += n + (name[n] == '/');
	}
	out[len] = '\0';
	return len ? NAME_OK : NAME_ROOT;
}

/* Checks an entry's name and hard-link target (normalised into rel and link); 0 or bad. */
static int entry_names(struct convert *c, const char *what, struct archive_entry *e, char *rel,
		       char *link)
{
	const char *name = archive_entry_pathname(e), *target = archive_entry_hardlink(e);
	int kind = name_normalize(name, rel, PATH_MAX);

	if (kind == NAME_ESCAPES)
		return convert_bad(c, "%s%sentry %s escapes the image root", WHAT(what),
				   name ? name : "(unreadable name)");
	if (kind == NAME_TOO_LONG)
		return convert_bad(c, "%s%sentry name too long: %.64s...", WHAT(what), name);
	if (target && name_normalize(target, link, PATH_MAX) != NAME_OK)
		return convert_bad(c, "%s%shard link %s -> %s points outside the image", WHAT(what),
				   name, target);
	if (kind == NAME_ROOT)
		rel[0] = '\0';
	return 0;
}

/* Splits rel into its directory (copied into dir) and its last component (returned). */
static const char *split_path(const char *rel, char *dir, size_t cap)
{
	const char *slash = strrchr(rel, '/');

	snprintf(dir, cap, "%.*s", slash ? (int)(slash - rel) : 0, rel);
	return slash ? slash + 1 : rel;
}

/* ---- the scan ---------------------------------------------------------------------------- */

/* Two readers stacked: raw (decompresses any filter) feeding tar; each byte hashed on the way. */
struct scan_io {
	int fd;
	struct archive *raw;
	struct sha256 file, plain;
	uint64_t size;
	int plain_is_file;		/* no compression: one stream, hashed once */
	int broken;			/* the decompressor failed: truncated, not unknown */
	char buf[READ_BLOCK];
};

static la_ssize_t scan_read_file(struct archive *a, void *p, const void **out)
{
	struct scan_io *io = p;
	ssize_t n;

	do
		n = read(io->fd, io->buf, sizeof(io->buf));
	while (n < 0 && errno == EINTR && !convert_stopped());
	if (n < 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	sha256_update(&io->file, io->buf, (size_t)n);
	io->size += (uint64_t)n;
	*out = io->buf;
	return n;
}

static la_ssize_t scan_read_plain(struct archive *a, void *p, const void **out)
{
	struct scan_io *io = p;
	const void *buf;
	size_t len;
	la_int64_t off;
	int r = archive_read_data_block(io->raw, &buf, &len, &off);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN || convert_stopped()) {
		io->broken = 1;
		archive_set_error(a, EIO, "%s", convert_stopped() ? "interrupted" :
				  archive_error_string(io->raw));
		return -1;
	}
	if (!io->plain_is_file)
		sha256_update(&io->plain, buf, len);
	*out = buf;
	return (la_ssize_t)len;
}

/* Keeps a small top-level file's bytes (the format markers of docker-save and OCI tars). */
static int scan_marker(struct archive *a, struct archive_entry *e, char **buf, size_t *len)
{
	la_int64_t size = archive_entry_size(e);
	la_ssize_t n;

	if (*buf || archive_entry_filetype(e) != AE_IFREG || size > MARKER_MAX)
		return archive_read_data_skip(a);
	*buf = malloc((size_t)size + 1);
	if (!*buf)
		return ARCHIVE_FATAL;
	n = archive_read_data(a, *buf, (size_t)size);
	*len = n > 0 ? (size_t)n : 0;
	(*buf)[*len] = '\0';
	return n < 0 ? (int)n : ARCHIVE_OK;
}

static int scan_add_whiteout(struct convert *c, const char *what, struct convert_scan *scan,
			     const char *rel, const char *base)
{
	const char *target = base + strlen(WHITEOUT);
	char **more;

	if (!strcmp(target, "") || !strcmp(target, ".") || !strcmp(target, ".."))
		return convert_bad(c, "%s%sinvalid whiteout %s", WHAT(what), rel);
	more = realloc(scan->whiteouts, (scan->nwhiteouts + 1) * sizeof(*more));
	if (!more || !(more[scan->nwhiteouts] = strdup(rel))) {
		if (more)
			scan->whiteouts = more;
		return convert_err(c, -ENOMEM, "%s", strerror(ENOMEM));
	}
	scan->whiteouts = more;
	scan->nwhiteouts++;
	return 0;
}

/* One entry of the scan: names checked, whiteouts and format markers noted, data read past. */
static int scan_entry(struct convert *c, const char *what, struct convert_scan *scan,
		      struct archive *a, struct archive_entry *e)
{
	char rel[PATH_MAX], link[PATH_MAX], dir[PATH_MAX];
	const char *base;
	int err = entry_names(c, what, e, rel, link), r;

	if (err)
		return err;
	scan->entries++;
	base = split_path(rel, dir, sizeof(dir));
	if (*rel && !strncmp(base, WHITEOUT, strlen(WHITEOUT)) &&
	    (!strcmp(base, WHITEOUT_OPAQUE) || strncmp(base, WHITEOUT_META, strlen(WHITEOUT_META))))
		err = scan_add_whiteout(c, what, scan, rel, base);
	if (err)
		return err;
	if (!strcmp(rel, "manifest.json"))
		r = scan_marker(a, e, &scan->manifest, &scan->manifest_len);
	else if (!strcmp(rel, "oci-layout"))
		r = scan_marker(a, e, &scan->oci_layout, &(size_t){ 0 });
	else
		r = archive_read_data_skip(a);
	return r < ARCHIVE_WARN ? convert_bad(c, "%s%struncated or corrupt archive (%s)",
					      WHAT(what), archive_error_string(a)) : 0;
}

/* Reads what is left after the tar's end marker, so that both digests cover everything. */
static int scan_drain(struct scan_io *io)
{
	const void *out;
	la_ssize_t n;

	while ((n = scan_read_plain(io->raw, io, &out)) > 0)
		;
	if (n < 0)
		return -1;
	while ((n = scan_read_file(io->raw, io, &out)) > 0)
		;
	return (int)n;
}

static int scan_unknown(struct convert *c, const char *what, struct archive *a)
{
	if (what)
		return convert_bad(c, "%s: not a tar archive (%s)", what, archive_error_string(a));
	return convert_bad(c, "unknown format: not a root file system directory, tar archive, "
			   "docker-save tarball or OCI layout (%s)", archive_error_string(a));
}

static int scan_entries(struct convert *c, const char *what, struct convert_scan *scan,
			struct scan_io *io, struct archive *tar)
{
	struct archive_entry *e;
	int r, err = 0;

	if (archive_read_open(tar, io, NULL, scan_read_plain, NULL) != ARCHIVE_OK ||
	    (r = archive_read_next_header(tar, &e)) == ARCHIVE_FATAL) {
		if (io->broken)
			return convert_bad(c, "%s%struncated or corrupt archive (%s)", WHAT(what),
					   archive_error_string(io->raw));
		return scan_unknown(c, what, tar);
	}
	for (; !err && r == ARCHIVE_OK; r = archive_read_next_header(tar, &e))
		err = scan_entry(c, what, scan, tar, e);
	if (err)
		return err;
	if (convert_stopped())
		return convert_err(c, -EINTR, "interrupted");
	if (r != ARCHIVE_EOF || scan_drain(io) < 0)
		return convert_bad(c, "%s%struncated or corrupt archive (%s)", WHAT(what),
				   archive_error_string(r != ARCHIVE_EOF ? tar : io->raw));
	return 0;
}

int convert_layer_scan(struct convert *c, int fd, const char *what, struct convert_scan *scan)
{
	struct scan_io *io = calloc(1, sizeof(*io));
	struct archive *tar = archive_read_new();
	struct archive_entry *e;
	int err;

	memset(scan, 0, sizeof(*scan));
	if (!io || !tar || !(io->raw = archive_read_new()) || lseek(fd, 0, SEEK_SET) < 0) {
		err = convert_err(c, -ENOMEM, "libarchive: %s", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	io->fd = fd;
	sha256_init(&io->file);
	sha256_init(&io->plain);
	archive_read_support_filter_all(io->raw);
	archive_read_support_format_raw(io->raw);
	archive_read_support_format_tar(tar);
	if (archive_read_open(io->raw, io, NULL, scan_read_file, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(io->raw, &e) != ARCHIVE_OK)
		/* libarchive says EILSEQ for a format it does not know; anything else means it
		 * knew the compression and the stream is broken. */
		err = archive_errno(io->raw) != EILSEQ ?
		      convert_bad(c, "%s%struncated or corrupt archive (%s)", WHAT(what),
				  archive_error_string(io->raw)) : scan_unknown(c, what, io->raw);
	else {
		/* An uncompressed tar (every docker-save layer) is its own decompressed stream:
		 * its diff_id is its digest, and the same bytes need not be hashed twice. */
		io->plain_is_file = archive_filter_code(io->raw, 0) == ARCHIVE_FILTER_NONE;
		err = scan_entries(c, what, scan, io, tar);
	}
	if (!err) {
		sha256_final_hex(&io->file, scan->digest);
		if (io->plain_is_file)
			memcpy(scan->diff_id, scan->digest, sizeof(scan->diff_id));
		else
			sha256_final_hex(&io->plain, scan->diff_id);
		scan->size = io->size;
	}
out:
	if (tar)
		archive_read_free(tar);
	if (io && io->raw)
		archive_read_free(io->raw);
	free(io);
	if (err)
		convert_layer_scan_free(scan);
	return err;
}

void convert_layer_scan_free(struct convert_scan *scan)
{
	for (size_t i = 0; i < scan->nwhiteouts; i++)
		free(scan->whiteouts[i]);
	free(scan->whiteouts);
	free(scan->manifest);
	free(scan->oci_layout);
	memset(scan, 0, sizeof(*scan));
}

/* ---- resolving paths inside the root ------------------------------------------------- */

static int openat2_dir(int root, const char *rel, int flags, unsigned long long resolve)
{
	struct open_how how = { .flags = (unsigned)flags | O_DIRECTORY | O_CLOEXEC, .resolve = resolve };
	int fd = (int)syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/*
 * Opens directory rel the way the container will see it: symlinks are followed but resolve
 * inside the root (an absolute target means the image's /, ".." stops at the root).
 */
static int root_dir_open(int root, const char *rel)
{
	return openat2_dir(root, rel, O_RDONLY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* Like root_dir_open, creating missing directories (mode 0755) on the way. */
static int root_dir_make(int root, const char *rel, int depth)
{
	char parent[PATH_MAX];
	const char *base;
	int fd = root_dir_open(root, rel), pfd;

	if (fd != -ENOENT || depth > 64)
		return fd;
	base = split_path(rel, parent, sizeof(parent));
	pfd = root_dir_make(root, parent, depth + 1);
	if (pfd < 0)
		return pfd;
	if (mkdirat(pfd, base, 0755) < 0 && errno != EEXIST) {
		int err = -errno;
		close(pfd);
		return err;
	}
	close(pfd);
	return root_dir_open(root, rel);
}

/* Where the parent directory of the entries being written really is. */
struct place {
	int root;
	char root_path[PATH_MAX];	/* the root's real path, to read resolved fds back */
	char dir[PATH_MAX];		/* the last directory resolved, as the archive named it */
	char real[PATH_MAX];		/* ... and its real path below the root */
	int fd;				/* ... open, or -1 */
};

/* The real path below the root of the directory open at fd. */
static int place_real(const struct place *pl, int fd, char *real, size_t cap)
{
	char proc[64], path[PATH_MAX];
	size_t n = strlen(pl->root_path);
	ssize_t len;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	len = readlink(proc, path, sizeof(path) - 1);
	if (len < 0)
		return -errno;
	path[len] = '\0';
	if (strncmp(path, pl->root_path, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return -EXDEV;	/* cannot happen with RESOLVE_IN_ROOT */
	snprintf(real, cap, "%s", path[n] ? path + n + 1 : "");
	return 0;
}

/* Opens directory dir below the root into *fd and its real path into real; -errno on failure. */
static int place_dir(const struct place *pl, const char *dir, int create, char *real, int *fd)
{
	int err = 0;

	/* The common case: no symlink on the way, so the path is already the real one. */
	*fd = openat2_dir(pl->root, dir, O_PATH,
			  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (*fd >= 0 || (*fd == -ENOENT && create)) {
		if (*fd < 0)
			*fd = root_dir_make(pl->root, dir, 0);	/* no symlink before the gap */
		snprintf(real, PATH_MAX, "%s", dir);
	} else if (*fd == -ELOOP) {
		*fd = create ? root_dir_make(pl->root, dir, 0) : root_dir_open(pl->root, dir);
		if (*fd >= 0 && (err = place_real(pl, *fd, real, PATH_MAX))) {
			close(*fd);
			*fd = err;
		}
	}
	return *fd < 0 ? *fd : 0;
}

/* ---- extraction ------------------------------------------------------------------------ */

static int write_failed(struct convert *c, struct archive *w, const char *rel)
{
	int e = archive_errno(w);
	const char *why = archive_error_string(w) ? archive_error_string(w) : strerror(e);

	/* The host's trouble is ours (exit 1); anything else is the entry's. */
	if (e == ENOSPC || e == EDQUOT || e == EIO || e == ENOMEM || e == EROFS || e == EMFILE ||
	    e == ENFILE)
		return convert_err(c, -e, "writing %s: %s", rel, why);
	return convert_bad(c, "entry %s: %s", rel, why);
}

/* A later layer's entry wins over what is there, whatever the types. */
static void clear_conflict(int pfd, const char *base, struct archive_entry *e)
{
	struct stat st;
	int is_dir = archive_entry_filetype(e) == AE_IFDIR;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st.st_mode) && !is_dir)
		dir_remove_at(pfd, base);
	else if (!S_ISDIR(st.st_mode) && is_dir)
		unlinkat(pfd, base, 0);
}

/* Rewrites the entry's path (and hard-link target) to real paths below the root. */
static int entry_place(struct convert *c, struct place *pl, struct archive_entry *e,
		       const char *rel, const char *link)
{
	char dir[PATH_MAX], real[PATH_MAX], path[2 * PATH_MAX];
	const char *base = split_path(rel, dir, sizeof(dir));
	int err = 0, tfd;

	if (pl->fd < 0 || strcmp(pl->dir, dir) != 0) {
		if (pl->fd >= 0)
			close(pl->fd);
		pl->fd = -1;
		if ((err = place_dir(pl, dir, 1, pl->real, &pl->fd)))
			return convert_bad(c, "entry %s: %s", rel, strerror(-err));
		snprintf(pl->dir, sizeof(pl->dir), "%s", dir);
	}
	clear_conflict(pl->fd, base, e);
	snprintf(path, sizeof(path), "%s%s%s", pl->real, *pl->real ? "/" : "", base);
	archive_entry_set_pathname(e, path);
	if (!link)
		return 0;
	base = split_path(link, dir, sizeof(dir));
	if ((err = place_dir(pl, dir, 0, real, &tfd)))
		return convert_bad(c, "hard link %s -> %s: %s", rel, link, strerror(-err));
	close(tfd);
	snprintf(path, sizeof(path), "%s%s%s", real, *real ? "/" : "", base);
	archive_entry_set_hardlink(e, path);
	return 0;
}

static int entry_data(struct convert *c, const char *what, struct archive *a, struct archive *w,
		      const char *rel)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(w, buf, len, off) < ARCHIVE_WARN)
			return write_failed(c, w, rel);
	if (r < ARCHIVE_WARN)
		return convert_bad(c, "%s%struncated or corrupt archive (%s)", WHAT(what),
				   archive_error_string(a));
	return 0;
}

/*
 * Entries a non-root converter cannot reproduce: device nodes are skipped (1), owners left as
 * they come; said once for the image's layers (an outer tarball's owners do not matter).
 */
static int entry_unprivileged(struct convert *c, struct archive_entry *e, int layer)
{
	int dev = archive_entry_filetype(e) == AE_IFCHR || archive_entry_filetype(e) == AE_IFBLK;

	if (geteuid() == 0)
		return 0;
	if (layer && !c->noted && (dev || archive_entry_uid(e) != geteuid())) {
		convert_note(c, "not running as root: file owners are not kept, device nodes are left out");
		c->noted = 1;
	}
	return dev;
}

static int entry_write(struct convert *c, const char *what, struct place *pl, struct archive *a,
		       struct archive *w, struct archive_entry *e, int layer)
{
	char rel[PATH_MAX], link[PATH_MAX], dir[PATH_MAX];
	const char *base;
	int err = entry_names(c, what, e, rel, link);

	if (err || !*rel)
		return err;	/* the root itself keeps what the stage has */
	base = split_path(rel, dir, sizeof(dir));
	if (layer && !strncmp(base, WHITEOUT, strlen(WHITEOUT)))
		return 0;	/* applied before this layer's entries, never written */
	if (entry_unprivileged(c, e, layer))
		return 0;
	err = entry_place(c, pl, e, rel, archive_entry_hardlink(e) ? link : NULL);
	if (err)
		return err;
	if (archive_write_header(w, e) < ARCHIVE_WARN)
		return write_failed(c, w, rel);
	err = entry_data(c, what, a, w, rel);
	if (!err && archive_write_finish_entry(w) < ARCHIVE_WARN)
		err = write_failed(c, w, rel);
	return err;
}

static struct archive *writer_new(void)
{
	struct archive *w = archive_write_disk_new();
	int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL |
		    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_UNLINK |
		    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;

	/* Numeric ids only (no user lookup): the host's names mean nothing in the image. */
	if (w && geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	if (w)
		archive_write_disk_set_options(w, flags);
	return w;
}

/* ---- whiteouts ------------------------------------------------------------------------- */

/*
 * `.wh.NAME` deletes NAME from the lower layers; `.wh..wh..opq` empties its directory of what
 * lower layers put there. Applied before any entry of the layer is written, so the layer's own
 * entries survive wherever the marker sits in the archive.
 */
static void apply_whiteout(int root, const char *rel)
{
	char dir[PATH_MAX], parent[PATH_MAX];
	const char *base = split_path(rel, dir, sizeof(dir)), *name;
	int pfd, fd;

	if (strcmp(base, WHITEOUT_OPAQUE) == 0) {
		/* The opaque directory itself is not followed if it is a symlink: the layer's
		 * directory replaces the link, and the link's target is left alone. */
		name = split_path(dir, parent, sizeof(parent));
		pfd = *dir ? root_dir_open(root, parent) : -1;
		fd = *dir ? (pfd < 0 ? -1 : openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
						   O_CLOEXEC)) : dup(root);
		if (fd >= 0)
			dir_empty(fd);
	} else {
		pfd = root_dir_open(root, dir);
		if (pfd >= 0)
			dir_remove_at(pfd, base + strlen(WHITEOUT));
	}
	if (pfd >= 0)
		close(pfd);
}

/* ---- the whole layer ----------------------------------------------------------------- */

static int extract_entries(struct convert *c, const char *what, struct place *pl, int fd,
			   int layer)
{
	struct archive *a = archive_read_new(), *w = writer_new();
	struct archive_entry *e;
	int err = 0, r = ARCHIVE_FATAL;

	if (!a || !w || lseek(fd, 0, SEEK_SET) < 0)
		err = convert_err(c, -ENOMEM, "libarchive: %s", strerror(errno ? errno : ENOMEM));
	if (!err) {
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
		if (archive_read_open_fd(a, fd, READ_BLOCK) != ARCHIVE_OK)
			err = convert_bad(c, "%s%snot a tar archive (%s)", WHAT(what),
					  archive_error_string(a));
	}
	while (!err && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		err = convert_stopped() ? convert_err(c, -EINTR, "interrupted") :
		      entry_write(c, what, pl, a, w, e, layer);
	if (!err && r != ARCHIVE_EOF)
		err = convert_bad(c, "%s%struncated or corrupt archive (%s)", WHAT(what),
				  archive_error_string(a));
	/* Directory times and modes are fixed up here, relative to the root (our cwd). */
	if (!err && archive_write_close(w) < ARCHIVE_WARN)
		err = write_failed(c, w, "(directory metadata)");
	if (w)
		archive_write_free(w);
	if (a)
		archive_read_free(a);
	return err;
}

int convert_layer_extract(struct convert *c, int fd, const char *what, const char *dir,
			  const struct convert_scan *scan)
{
	struct place pl = { .fd = -1 };
	int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), err;

	pl.root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (here < 0 || pl.root < 0 || !realpath(dir, pl.root_path) || fchdir(pl.root) < 0) {
		err = convert_err(c, -errno, "%s: %s", dir, strerror(errno));
	} else {
		for (size_t i = 0; scan && i < scan->nwhiteouts; i++)
			apply_whiteout(pl.root, scan->whiteouts[i]);
		err = extract_entries(c, what, &pl, fd, scan != NULL);
		if (fchdir(here) < 0 && !err)
			err = convert_err(c, -errno, "returning to the working directory: %s",
					  strerror(errno));
	}
	if (pl.fd >= 0)
		close(pl.fd);
	if (pl.root >= 0)
		close(pl.root);
	if (here >= 0)
		close(here);
	return err;
}
