/* A writer for newc cpio archives, the format of Linux initramfs images. */
#ifndef HVM_BOOT_CPIO_H
#define HVM_BOOT_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cpio {
	uint8_t *buf;
	size_t len, cap;
	uint32_t next_ino;
};

/* Starts an empty archive. */
void cpio_init(struct cpio *c);

/*
 * Appends one entry: mode carries the file type (S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR) and
 * permissions; data is the file contents or the symlink target. Leading '/' in name is
 * dropped. Returns 0, -EINVAL (empty or over-long name, data on a non-file) or -ENOMEM.
 */
int cpio_add(struct cpio *c, const char *name, mode_t mode, const void *data, size_t len,
	     unsigned rdev_major, unsigned rdev_minor);

/* Appends the TRAILER!!! entry that ends an archive; 0 or -ENOMEM. */
int cpio_finish(struct cpio *c);

/* Frees the buffer. */
void cpio_free(struct cpio *c);

#endif
