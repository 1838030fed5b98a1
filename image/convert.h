/*
 * Image conversion, in the hvm-image process only: untrusted archives in, a cache entry out.
 * Every function returns 0, CONVERT_BAD for a bad image (after convert_bad() said why, which
 * makes hvm-image exit 125) or another -errno for a failure of our own (after convert_err(),
 * exit 1). Nothing is written outside the private work directory until the finished entry is
 * renamed into the cache.
 */
#ifndef HVM_IMAGE_CONVERT_H
#define HVM_IMAGE_CONVERT_H

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "dir.h"
#include "sha256.h"

#define CONVERT_BAD (-EINVAL)

struct convert {
	const char *src;		/* as the user gave it, for messages */
	char path[PATH_MAX];		/* its real path: the work changes directories */
	const char *cache_dir;
	char work[PATH_MAX - 64];	/* private work directory under CACHE/tmp */
	char stage[PATH_MAX];		/* the root file system: assembled, or the source itself */
	char digest[SHA256_HEX];	/* content digest: the cache entry's name */
	int cached;			/* images/<digest> is already there: build nothing */
	char *config;			/* "key=value\0" records */
	size_t config_len;
	int layers, layer;		/* progress: total and current */
	int progress;			/* stderr is a terminal */
	int noted;			/* the not-root note was printed */
};

/* Converts src into CACHE/images/<digest> and CACHE/index/<quick key>; see image.h. */
int convert_image(const char *src, const char *cache_dir);

/* ---- convert_common.c: what every convert_*.c file uses ---------------------------------- */

/* Asks a running conversion to stop soon (async-signal-safe: for signal handlers). */
void convert_stop(int sig);

/* The signal that stopped the conversion, or 0. */
int convert_stopped(void);

/* Reports a problem with the image ("hvm-image: SRC: ..."); returns CONVERT_BAD. */
int convert_bad(const struct convert *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reports a failure of our own; returns err (a -errno, never CONVERT_BAD). */
int convert_err(const struct convert *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints a one-off note ("hvm-image: note: ..."), above the progress line. */
void convert_note(const struct convert *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Shows what is being done on a terminal: "converting SRC: layer i/n". */
void convert_progress(const struct convert *c, const char *what);

/* Sets c->digest from the format and the hex digest of its canonical content; sets c->cached. */
void convert_set_digest(struct convert *c, const char *kind, const char *hex);

/* Whether rel is a plain relative path (no leading '/', no ".." part): safe below a root. */
int convert_path_ok(const char *rel);

/* ---- convert_layer.c: tar layers (any compression libarchive reads) --------------------- */

/* What one pass over a layer found; filled by convert_layer_scan. */
struct convert_scan {
	char digest[SHA256_HEX];	/* sha256 of the file's bytes */
	char diff_id[SHA256_HEX];	/* sha256 of its decompressed stream */
	uint64_t size;			/* the file's bytes */
	uint64_t entries;
	char **whiteouts;		/* normalised paths of the .wh. entries */
	size_t nwhiteouts;
	char *manifest, *oci_layout;	/* top-level manifest.json and oci-layout, when small */
	size_t manifest_len;
};

/*
 * Reads the archive at fd once: both digests, every entry name checked (absolute paths, ".."
 * and hard links out of the root make the image bad), whiteouts collected.
 */
int convert_layer_scan(struct convert *c, int fd, const char *what, struct convert_scan *scan);

/* Frees what convert_layer_scan allocated. */
void convert_layer_scan_free(struct convert_scan *scan);

/*
 * Writes the archive at fd into dir (which must exist). With scan, it is a layer: the scan's
 * whiteouts are applied to what lower layers left first, and whiteout entries are not written.
 */
int convert_layer_extract(struct convert *c, int fd, const char *what, const char *dir,
			  const struct convert_scan *scan);

/* ---- convert_manifest.c: docker-save and OCI layouts ---------------------------------- */

/* Whether buf holds a docker-save manifest.json: an array whose first entry has Layers. */
int convert_manifest_is_docker(const char *buf, size_t len);

/* Converts a docker-save image unpacked in dir: config, verified layers, run defaults. */
int convert_manifest_docker(struct convert *c, const char *dir);

/* Converts an OCI image layout in dir: index, manifest, config and layers, all verified. */
int convert_manifest_oci(struct convert *c, const char *dir);

/* ---- convert_tree.c: root file system trees ------------------------------------------- */

/* Content digest of a root file system directory: names, metadata, file contents, xattrs. */
int convert_tree_digest(struct convert *c, const char *dir, char hex[SHA256_HEX]);

/* Makes the ext4 file out (a new file) holding the tree at dir, sized from the tree. */
int convert_tree_ext4(struct convert *c, const char *dir, const char *out);

#endif
