/*
 * Container images as bootable disks. An image (a rootfs directory, a tar or tar.gz as from
 * `docker export`, a `docker save` tarball, or an OCI image layout as directory or tar) is
 * converted once into an ext4 file system image plus its run defaults, and cached by content
 * digest. Conversion parses untrusted archives, so it runs in a separate helper process
 * (hvm-image); this library side only looks the cache up and starts that helper on a miss.
 *
 * Cache layout under cache_dir (normally $XDG_CACHE_HOME/hvm, else ~/.cache/hvm):
 *   images/<digest>/rootfs.ext4   the file system (read-only in the guest)
 *   images/<digest>/config        run defaults: "key=value\0" records (IMAGE_KEY_*)
 *   index/<quick key>             "<digest>\n": maps what the source looks like now
 *                                 (path + stat of every file) to the content digest
 *   tmp/                          work areas; entries appear in images/ and index/ only
 *                                 by rename(2) once complete
 */
#ifndef HVM_IMAGE_H
#define HVM_IMAGE_H

#include <limits.h>
#include <stddef.h>

#include "../core/err.h"

#define IMAGE_DIGEST_HEX 64		/* sha256, lower-case hex */

/* Keys of the config records; each may repeat where it is a list, in order. */
#define IMAGE_KEY_ENTRYPOINT "entrypoint"	/* one record per element */
#define IMAGE_KEY_CMD        "cmd"		/* one record per element */
#define IMAGE_KEY_ENV        "env"		/* one record per NAME=VALUE */
#define IMAGE_KEY_WORKDIR    "workdir"
#define IMAGE_KEY_USER       "user"		/* as in the image config: "name", "uid:gid", ... */

/* Exit status of hvm-image, and what image_resolve returns for it. */
#define IMAGE_EXIT_BAD_IMAGE 125

struct image_config {
	char **entrypoint;	/* NULL-terminated; empty when the image sets none */
	char **cmd;
	char **env;
	char *workdir;		/* NULL when unset */
	char *user;		/* NULL when unset */
};

struct image {
	char digest[IMAGE_DIGEST_HEX + 1];
	char rootfs[PATH_MAX];		/* the cached ext4 file */
	struct image_config config;
};

/*
 * Writes the cache directory for this user into buf: $XDG_CACHE_HOME/hvm when set and
 * absolute, else $HOME/.cache/hvm. Returns 0 or -ENAMETOOLONG / -ENOENT (no HOME).
 */
int image_cache_dir(char *buf, size_t cap);

/*
 * Resolves src to a cached image: computes the quick key, and when the index has no valid
 * entry runs `helper convert SRC CACHE_DIR` (the hvm-image program) and looks again.
 * Returns 0, -ENOENT (src missing), -EINVAL (conversion refused the image: the helper has
 * printed why) or another -errno; every other failure is explained once, in e.
 */
int image_resolve(const char *src, const char *cache_dir, const char *helper, struct image *out,
		  struct err *e);

/* Frees what image_resolve allocated in out. */
void image_free(struct image *img);

/* Parses a config record file's bytes (len bytes, "key=value\0" records) into cfg; 0 or -ENOMEM/-EINVAL. */
int image_config_parse(const char *buf, size_t len, struct image_config *cfg);

/* Frees a parsed config. */
void image_config_free(struct image_config *cfg);

#endif
