/* The image cache's shared internals: keys and entries, used by hvm-run and hvm-image alike. */
#ifndef HVM_IMAGE_CACHE_H
#define HVM_IMAGE_CACHE_H

#include "image.h"
#include "sha256.h"

/*
 * Mixed into every quick key and content digest. Bump it whenever the conversion's output
 * changes (mke2fs options, layer rules, config records): old entries then never match.
 */
#define IMAGE_FORMAT_VERSION "hvm-image-2"

/* Largest config record file hvm-run will read; the converter refuses to write more. */
#define IMAGE_CONFIG_MAX (1 << 20)

/*
 * The quick key of src: sha256 over its real path and what lstat says about it (every entry,
 * for a directory). No file contents are read, and any change to the source changes it.
 * Returns 0, -ENOENT (in e: "SRC: No such file or directory") or another -errno (why in e).
 */
int image_quick_key(const char *src, char key[SHA256_HEX], struct err *e);

/*
 * The names in directory dfd (not "." and ".."), sorted, since readdir order differs between
 * copies of a tree: 0 or -errno. Free them with image_cache_names_free.
 */
int image_cache_names(int dfd, char ***names, size_t *n);

/* Frees what image_cache_names returned. */
void image_cache_names_free(char **names, size_t n);

/* Fills out from CACHE/index/<key> and its images/<digest> entry; 0 or -ENOENT (silent). */
int image_cache_lookup(const char *cache_dir, const char *key, struct image *out);

/* Loads CACHE/images/<digest> (rootfs.ext4 + config) into out; 0 or -ENOENT/-errno (silent). */
int image_cache_load(const char *cache_dir, const char *digest, struct image *out);

#endif
