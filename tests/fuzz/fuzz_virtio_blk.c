/*
 * virtio-blk request parsing over hostile rings: the input is guest RAM (fuzz_dev.h's
 * layout, one queue) and the disk is a 64 KiB memfd, emptied for every input. Requests of
 * every type reach vblk_handle_request through the real transport and queue code.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../devices/virtio_blk.h"
#include "fuzz_dev.h"

#define DISK_BYTES (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vblk dev;

static void setup(void)
{
	char path[64];
	int fd = memfd_create("fuzz-disk", MFD_CLOEXEC);

	fuzz_dev_init();
	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (vblk_attach(&dev, &fuzz_vm, FUZZ_MMIO, 5, path, 0, "fuzz-serial", NULL) < 0)
		abort();
	close(fd);	/* the device opened its own */
	fuzz_dev_sync(&dev.transport);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fuzz_ram)
		setup();
	/* Same disk for every input: zeros, and the size the config space announced. */
	if (ftruncate(dev.fd, 0) < 0 || ftruncate(dev.fd, DISK_BYTES) < 0)
		abort();
	fuzz_dev_up(&dev.transport, 1, data, size);
	fuzz_dev_notify(&dev.transport, 0);
	return 0;
}
