/* What hvm-run asks the agent to do: command, environment, user, root and volumes. */
#ifndef HVM_RUN_REQUEST_H
#define HVM_RUN_REQUEST_H

#include "../boot/cpio.h"
#include "../image/image.h"
#include "run_flags.h"

#define RUN_ROOT_SERIAL "hvm-root"	/* the image disk; volumes are hvm-vol0, hvm-vol1, ... */

/*
 * Writes the request archive (a second initramfs holding RUN_REQUEST_PATH) into out, from
 * the flags and the image's config (flags win); the image is the disk RUN_ROOT_SERIAL.
 * Returns 0, -EINVAL when there is no command to run (message printed) or -ENOMEM.
 */
int run_request_build(struct cpio *out, const struct run_flags *f, const struct image_config *cfg,
		      int quiet);

/* The serial of volume i ("hvm-vol<i>"), written into buf. */
void run_volume_serial(char *buf, size_t cap, int i);

#endif
