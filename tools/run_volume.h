/* -v volumes: disk image files, created and formatted on first use. */
#ifndef HVM_RUN_VOLUME_H
#define HVM_RUN_VOLUME_H

#include <stdint.h>

#include "run_flags.h"

/*
 * Makes sure v->host is a disk image holding an ext4 file system: a missing file is created
 * (size_mib, sparse) and formatted with mke2fs. Refuses directories and files that hold no
 * ext2/3/4 file system. Returns 0 or -errno after one message naming the file and the cause.
 */
int run_volume_prepare(const struct run_volume *v, uint64_t size_mib);

#endif
