/*
 * The guest's side of one virtio-mmio device in a unit test, shared by the device tests: the
 * test owns `ram` (its guest memory) and points driver_transport at the device's transport;
 * queue q's rings sit at DRIVER_RING(q) in ram (descriptors, avail +4 KiB, used +8 KiB).
 */
#ifndef HVM_TEST_VIRTIO_DRIVER_H
#define HVM_TEST_VIRTIO_DRIVER_H

#include <linux/virtio_mmio.h>
#include <stdint.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../devices/virtio_mmio.h"
#include "../harness.h"

#define DRIVER_RING(q) (0x1000ULL + (q) * 0x3000ULL)

static uint8_t *ram;
static struct virtio_mmio *driver_transport;

static struct vring_desc *desc(int q) { return (struct vring_desc *)(ram + DRIVER_RING(q)); }
static struct vring_avail *avail(int q) { return (struct vring_avail *)(ram + DRIVER_RING(q) + 0x1000); }
static struct vring_used *used(int q) { return (struct vring_used *)(ram + DRIVER_RING(q) + 0x2000); }

static void reg_write(uint64_t off, uint32_t v)
{
	virtio_mmio_access(driver_transport, off, (uint8_t *)&v, 4, 1);
}

static uint32_t reg_read(uint64_t off)
{
	uint32_t v;

	virtio_mmio_access(driver_transport, off, (uint8_t *)&v, 4, 0);
	return v;
}

static uint64_t deadline_us(int ms)
{
	return clock_now_us() + (uint64_t)ms * 1000;
}

/* Sets queue q up at DRIVER_RING(q) with qsize entries, checking that the device offers
 * num_max, and makes it ready. Needs the test's CHECK_EQ (harness.h). */
static void queue_setup_sized(int q, uint32_t num_max, uint32_t qsize)
{
	reg_write(VIRTIO_MMIO_QUEUE_SEL, (uint32_t)q);
	CHECK_EQ(reg_read(VIRTIO_MMIO_QUEUE_NUM_MAX), num_max);
	reg_write(VIRTIO_MMIO_QUEUE_NUM, qsize);
	reg_write(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DRIVER_RING(q));
	reg_write(VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(DRIVER_RING(q) + 0x1000));
	reg_write(VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(DRIVER_RING(q) + 0x2000));
	reg_write(VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(reg_read(VIRTIO_MMIO_QUEUE_READY), 1);
}

/* Waits until used(q)->idx reaches or passes `want` (16-bit arithmetic); 1 on time. */
static int wait_used(int q, uint16_t want, int ms)
{
	uint64_t end = deadline_us(ms);

	while ((int16_t)(__atomic_load_n(&used(q)->idx, __ATOMIC_ACQUIRE) - want) < 0) {
		if (clock_now_us() > end)
			return 0;
		usleep(100);
	}
	return 1;
}

#endif
