/* What libhvm asks of the guest: boot settings (in the initramfs) and the process (by vsock). */
#ifndef HVM_REQUEST_H
#define HVM_REQUEST_H

#include "../boot/cpio.h"
#include "../image/image.h"
#include "hvm_net.h"

#define HVM_DEFAULT_HOSTNAME "hvm"	/* the guest's host name unless the run sets one */
#define HVM_ROOT_SERIAL "hvm-root"	/* the image disk; volumes are hvm-vol0, hvm-vol1, ... */

struct hvm_config;

/*
 * Writes the boot archive (a second initramfs holding RUN_REQUEST_PATH): root disk, overlay,
 * volumes, eth0's addresses, host name, console level and platform workarounds; with warm
 * (a run that may make a template), the shell and warm's entrypoint for the agent to read
 * ahead, and the default host name (the run's comes with REFRESH). Returns 0 or -ENOMEM.
 */
int hvm_request_boot(struct cpio *out, const struct hvm_config *c, const struct hvm_net_guest *net,
		     int quiet, const struct image_config *warm);

/*
 * Composes the process spec (a RUN frame's JSON) from the configuration and the image's,
 * with docker's rules; *json is malloc'd. Returns 0, -EINVAL when there is no command to
 * run (why in e) or -ENOMEM.
 */
int hvm_request_process(const struct hvm_config *c, const struct image_config *img, char **json,
			struct err *e);

#endif
