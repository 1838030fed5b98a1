/* Volumes: disk image files, created and formatted on first use, or host directories
 * (shared over 9p: hvm_share.h). */
#ifndef HVM_VOLUME_H
#define HVM_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

#define HVM_VOLUME_DIR 1	/* hvm_volume_prepare: host is a directory */

/*
 * Makes sure host is a disk image holding an ext4 file system: a missing file is created
 * (size_mib, sparse) and formatted with mke2fs, unless read_only. Returns HVM_VOLUME_DIR for
 * a directory; refuses other non-regular files and files that hold no ext2/3/4 file system.
 * Returns 0 or -errno with one line in e naming the file and the cause.
 */
int hvm_volume_prepare(const char *host, int read_only, uint64_t size_mib, struct err *e);

/* 1 when host is a directory now (a share, not a disk). */
int hvm_volume_is_dir(const char *host);

/* The serial of volume i ("hvm-vol<i>"), written into buf. */
void hvm_volume_serial(char *buf, size_t cap, int i);

#endif
