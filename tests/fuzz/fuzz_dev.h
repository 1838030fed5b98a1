/*
 * The one header the virtio fuzzers share: a small guest RAM that is the fuzz input, a VM
 * without KVM, and a driver that brings a device up through its registers. The device's I/O
 * thread is stopped right after attach: transport calls then run inline (io_thread_call) and
 * fuzz_dev_pump() runs the thread's callbacks on this thread, so each input is handled
 * synchronously and deterministically.
 *
 * Guest RAM layout (FUZZ_RAM bytes, copied from the start of the input):
 *   queue q: avail ring at q*0x200, descriptors at +0x40, used ring at +0x140 (FUZZ_QSIZE
 *   entries; the avail ring first so that short inputs publish requests)
 *   0x600..FUZZ_RAM: buffers the descriptors may point at
 * Bytes of the input past FUZZ_RAM are the host side's part (frames, socket bytes).
 */
#ifndef HVM_FUZZ_DEV_H
#define HVM_FUZZ_DEV_H

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/virtio_mmio.h"
#include "../../core/log.h"
#include "../../core/seccomp.h"
#include "../../core/vm.h"

#define FUZZ_RAM      0x2000u
#define FUZZ_QSIZE    16u
#define FUZZ_RING(q)  (0x200ull * (q))
#define FUZZ_AVAIL(q) FUZZ_RING(q)
#define FUZZ_DESC(q)  (FUZZ_RING(q) + 0x40)
#define FUZZ_USED(q)  (FUZZ_RING(q) + 0x140)
#define FUZZ_BUFS     0x600u
#define FUZZ_MMIO     0xd0000000ull

static uint8_t *fuzz_ram;
static struct vm fuzz_vm;

/* Once per process: RAM, a VM with no KVM behind it (no irqchip: interrupts are no-ops). */
static inline void fuzz_dev_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	seccomp_set_enabled(0);		/* the filters are per thread; this one is libFuzzer's */
	log_set_level(LOG_ERROR);	/* hostile inputs make devices warn on every run */
	fuzz_ram = calloc(1, FUZZ_RAM);
	memset(&fuzz_vm, 0, sizeof(fuzz_vm));
	fuzz_vm.fd = -1;
	guest_mem_init(&fuzz_vm.mem, fuzz_ram, FUZZ_RAM);
}

/* After attach: stop the I/O thread; from now on everything runs on the caller's thread. */
static inline void fuzz_dev_sync(struct virtio_mmio *t)
{
	io_thread_destroy(&t->io);
}

static inline void fuzz_reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, 1);
}

static inline uint32_t fuzz_reg_read(struct virtio_mmio *t, uint64_t off)
{
	uint32_t v;

	virtio_mmio_access(t, off, (uint8_t *)&v, 4, 0);
	return v;
}

/*
 * Resets the device, loads RAM from the input and drives it to DRIVER_OK the way Linux
 * does, offering every feature the device has (so EVENT_IDX and INDIRECT are in play).
 */
static inline void fuzz_dev_up(struct virtio_mmio *t, unsigned nq, const uint8_t *data, size_t size)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	fuzz_reg_write(t, VIRTIO_MMIO_STATUS, 0);
	memset(fuzz_ram, 0, FUZZ_RAM);
	memcpy(fuzz_ram, data, size < FUZZ_RAM ? size : FUZZ_RAM);
	fuzz_reg_write(t, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	fuzz_reg_write(t, VIRTIO_MMIO_STATUS, s);
	for (uint32_t sel = 0; sel < 2; sel++) {
		fuzz_reg_write(t, VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		uint32_t f = fuzz_reg_read(t, VIRTIO_MMIO_DEVICE_FEATURES);
		fuzz_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		fuzz_reg_write(t, VIRTIO_MMIO_DRIVER_FEATURES, f);
	}
	fuzz_reg_write(t, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < nq; q++) {
		fuzz_reg_write(t, VIRTIO_MMIO_QUEUE_SEL, q);
		fuzz_reg_write(t, VIRTIO_MMIO_QUEUE_NUM, FUZZ_QSIZE);
		fuzz_reg_write(t, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)FUZZ_DESC(q));
		fuzz_reg_write(t, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)FUZZ_AVAIL(q));
		fuzz_reg_write(t, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)FUZZ_USED(q));
		fuzz_reg_write(t, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	fuzz_reg_write(t, VIRTIO_MMIO_STATUS,
		       s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* What a notification of queue q would make the I/O thread do. */
static inline void fuzz_dev_notify(struct virtio_mmio *t, unsigned q)
{
	t->ops->queue_notify(t->dev, q);
}

/* One turn of the stopped I/O thread's loop: every watched fd that is readable, once. */
static inline void fuzz_dev_pump(struct virtio_mmio *t)
{
	for (unsigned i = 0; i < t->io.nwatch; i++) {
		struct io_watch *w = &t->io.watch[i];
		struct pollfd p = { .fd = w->fd, .events = POLLIN };

		if (w->fd >= 0 && poll(&p, 1, 0) == 1)
			w->fn(w->opaque, w->fd, (uint32_t)p.revents);
	}
}

#endif
