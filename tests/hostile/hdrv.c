/* The hostile suites' guest RAM and virtio-mmio driver (hdrv.h). */
#include "hdrv.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../core/clock.h"

uint8_t *hdrv_ram;
uint64_t hdrv_ram_size;
struct vm hdrv_vm;

void hdrv_ram_init(uint64_t size)
{
	uint8_t *m = mmap(NULL, HDRV_GUARD + size + HDRV_GUARD, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED || mprotect(m + HDRV_GUARD, size, PROT_READ | PROT_WRITE) < 0) {
		perror("hostile: guest RAM");
		_exit(2);
	}
	hdrv_ram = m + HDRV_GUARD;
	hdrv_ram_size = size;
	memset(&hdrv_vm, 0, sizeof(hdrv_vm));
	hdrv_vm.fd = -1;
	guest_mem_init(&hdrv_vm.mem, hdrv_ram, size);
}

uint8_t *hdrv_ptr(uint64_t gpa)
{
	return hdrv_ram + gpa;
}

void hdrv_reg_write(struct hdrv *g, uint64_t off, uint32_t v)
{
	virtio_mmio_access(g->t, off, (uint8_t *)&v, 4, 1);
}

uint32_t hdrv_reg_read(struct hdrv *g, uint64_t off)
{
	uint32_t v;

	virtio_mmio_access(g->t, off, (uint8_t *)&v, 4, 0);
	return v;
}

struct vring_desc *hdrv_desc(struct hdrv *g, unsigned q)
{
	return (void *)hdrv_ptr(g->rings + q * 0x3000ULL);
}

struct vring_avail *hdrv_avail(struct hdrv *g, unsigned q)
{
	return (void *)hdrv_ptr(g->rings + q * 0x3000ULL + 0x1000);
}

struct vring_used *hdrv_used(struct hdrv *g, unsigned q)
{
	return (void *)hdrv_ptr(g->rings + q * 0x3000ULL + 0x2000);
}

void hdrv_set_desc(struct hdrv *g, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		   uint16_t flags, uint16_t next)
{
	hdrv_desc(g, q)[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags,
						  .next = next };
}

int hdrv_needs_reset(struct hdrv *g)
{
	return !!(hdrv_reg_read(g, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

void hdrv_publish(struct hdrv *g, unsigned q, uint16_t head)
{
	hdrv_avail(g, q)->ring[g->avail[q] % g->qsize] = head;
	/* Release: ring entry and descriptors before the index that publishes them. */
	__atomic_store_n(&hdrv_avail(g, q)->idx, ++g->avail[q], __ATOMIC_RELEASE);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Polls queue q's used index until done(idx, arg), the device breaks, or ms pass. */
static int wait_used(struct hdrv *g, unsigned q, int ms, int (*done)(uint16_t, uint16_t),
		     uint16_t arg)
{
	uint64_t end = clock_now_us() + (uint64_t)ms * 1000;

	for (;;) {
		/* Acquire: the used entries the device wrote before it moved the index. */
		if (done(__atomic_load_n(&hdrv_used(g, q)->idx, __ATOMIC_ACQUIRE), arg))
			return HDRV_USED;
		if (hdrv_needs_reset(g))
			return HDRV_BROKEN;
		if (clock_now_us() > end)
			return HDRV_TIMEOUT;
		usleep(100);
	}
}

static int reached(uint16_t idx, uint16_t want)
{
	return (int16_t)(idx - want) >= 0;
}

static int moved(uint16_t idx, uint16_t seen)
{
	return idx != seen;
}

int hdrv_wait_idx(struct hdrv *g, unsigned q, uint16_t want, int ms)
{
	return wait_used(g, q, ms, reached, want);
}

int hdrv_wait_next(struct hdrv *g, unsigned q, int ms)
{
	return wait_used(g, q, ms, moved, g->seen[q]);
}

struct vring_used_elem hdrv_take(struct hdrv *g, unsigned q)
{
	return hdrv_used(g, q)->ring[g->seen[q]++ % g->qsize];
}

uint64_t hdrv_device_features(struct hdrv *g)
{
	hdrv_reg_write(g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = hdrv_reg_read(g, VIRTIO_MMIO_DEVICE_FEATURES);
	hdrv_reg_write(g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)hdrv_reg_read(g, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

void hdrv_features_write(struct hdrv *g, uint64_t f)
{
	hdrv_reg_write(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	hdrv_reg_write(g, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	hdrv_reg_write(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	hdrv_reg_write(g, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

int hdrv_queue_setup(struct hdrv *g, unsigned q, uint32_t size)
{
	uint64_t r = g->rings + q * 0x3000ULL;

	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_SEL, q);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_NUM, size);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)r);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(r + 0x1000));
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(r + 0x2000));
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_READY, 1);
	return hdrv_reg_read(g, VIRTIO_MMIO_QUEUE_READY) == 1;
}

void hdrv_reset(struct hdrv *g)
{
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, 0);
	memset(hdrv_ptr(g->slot), 0, 0x10000);
	memset(g->avail, 0, sizeof(g->avail));
	memset(g->seen, 0, sizeof(g->seen));
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
}

int hdrv_finish(struct hdrv *g, uint64_t f)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int ok = 1;

	hdrv_features_write(g, f);
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	ok &= !!(hdrv_reg_read(g, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < g->nq; q++)
		ok &= hdrv_queue_setup(g, q, g->qsize);
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	return ok;
}

int hdrv_init(struct hdrv *g, uint64_t want)
{
	hdrv_reset(g);
	return hdrv_finish(g, (hdrv_device_features(g) & want) | (1ULL << VIRTIO_F_VERSION_1)) &&
	       !hdrv_needs_reset(g);
}
