/* virtio-blk: a disk image file (or block device) as a guest disk, served off the vCPU thread. */
#ifndef HVM_VIRTIO_BLK_H
#define HVM_VIRTIO_BLK_H

#include <linux/virtio_blk.h>
#include <stdint.h>

#include "../core/err.h"
#include "virtio_mmio.h"

struct vblk {
	struct virtio_mmio transport;
	int fd;
	uint64_t sectors;		/* capacity in 512-byte sectors */
	int read_only;
	char serial[VIRTIO_BLK_ID_BYTES];
	char name[48];
	uint64_t io_errors;		/* failed reads and writes; only the first is logged */
	struct virtq_chain chain;	/* the request being served (I/O thread only) */
};

/*
 * Opens path (read-only when asked) and attaches it as a virtio-blk device at base/irq with
 * the given serial (the guest's /sys/block/vdX/serial); 0 or -errno (why in e, naming path).
 */
int vblk_attach(struct vblk *b, struct vm *vm, gpa_t base, unsigned irq, const char *path,
		int read_only, const char *serial, struct err *e);

/* Stops the device and closes the file. */
void vblk_detach(struct vblk *b);

#endif
