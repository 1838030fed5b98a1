/* What hvm-run asks of the guest: boot settings (in the initramfs) and the process (by vsock). */
#ifndef HVM_RUN_REQUEST_H
#define HVM_RUN_REQUEST_H

#include "../boot/cpio.h"
#include "../image/image.h"
#include "run_flags.h"

#define RUN_ROOT_SERIAL "hvm-root"	/* the image disk; volumes are hvm-vol0, hvm-vol1, ... */

/*
 * Writes the boot archive (a second initramfs holding RUN_REQUEST_PATH): root disk, overlay,
 * volumes, eth0's addresses, console level and platform workarounds. Returns 0 or -ENOMEM.
 */
int run_request_boot(struct cpio *out, const struct run_flags *f, const struct run_net_guest *net,
		     int quiet);

/*
 * Composes the process spec (a RUN frame's JSON) from the flags and the image's config,
 * with docker's rules; *json is malloc'd. rows/cols: our terminal's size for -t.
 * Returns 0, -EINVAL when there is no command to run (message printed) or -ENOMEM.
 */
int run_request_process(const struct run_flags *f, const struct image_config *cfg,
			unsigned rows, unsigned cols, char **json);

/* The serial of volume i ("hvm-vol<i>"), written into buf. */
void run_volume_serial(char *buf, size_t cap, int i);

#endif
