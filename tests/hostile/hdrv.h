/*
 * The hostile-guest suites' guest: RAM between PROT_NONE guard areas, the fake VM the devices
 * attach to, and a virtio-mmio driver over any number of devices that may break every rule.
 *
 * Why not tests/unit/virtio_driver.h: that one drives a single device whose rings sit at fixed
 * places in a test-owned `ram`, through globals. The hostile programs drive several devices at
 * once (victim, bystander, net, vsock), each with its own slot, queue size and ring indices,
 * and re-map RAM per class (above 4 GiB for one); folding that in would turn every unit test's
 * calls into per-device ones for no gain there.
 */
#ifndef HVM_TEST_HOSTILE_HDRV_H
#define HVM_TEST_HOSTILE_HDRV_H

#include <linux/virtio_ring.h>
#include <stdint.h>

#include "../../core/vm.h"
#include "../../devices/virtio_mmio.h"

#define HDRV_RAM   (8ULL << 20)		/* the RAM every class starts with */
#define HDRV_GUARD (16ULL << 20)	/* PROT_NONE on each side of RAM */

extern uint8_t *hdrv_ram;
extern uint64_t hdrv_ram_size;
extern struct vm hdrv_vm;		/* no KVM: fd -1, so ioeventfd/irqfd fall back */

/* Maps `size` bytes of zeroed guest RAM between guard areas and points hdrv_vm at it. */
void hdrv_ram_init(uint64_t size);

/* The host address of guest address gpa (no bounds check: the guards catch strays). */
uint8_t *hdrv_ptr(uint64_t gpa);

/* One device as the guest sees it: rings of queue q at rings + q * 0x3000 (desc; avail
 * +0x1000; used +0x2000), its buffers somewhere in its slot. */
struct hdrv {
	struct virtio_mmio *t;
	uint64_t slot;			/* gpa of this device's RAM; reset clears its first 64 KiB */
	uint64_t rings;			/* gpa of queue 0's descriptor table */
	unsigned nq;
	uint16_t qsize;
	uint16_t avail[VIRTIO_MAX_QUEUES], seen[VIRTIO_MAX_QUEUES];
};

/* What a wait saw: nothing in time, a used entry, or DEVICE_NEEDS_RESET. */
enum { HDRV_TIMEOUT, HDRV_USED, HDRV_BROKEN };

/* A 4-byte register write at offset off of g's window. */
void hdrv_reg_write(struct hdrv *g, uint64_t off, uint32_t v);
/* A 4-byte register read at offset off of g's window. */
uint32_t hdrv_reg_read(struct hdrv *g, uint64_t off);

/* Queue q's descriptor table in guest RAM. */
struct vring_desc *hdrv_desc(struct hdrv *g, unsigned q);
/* Queue q's avail ring in guest RAM. */
struct vring_avail *hdrv_avail(struct hdrv *g, unsigned q);
/* Queue q's used ring in guest RAM. */
struct vring_used *hdrv_used(struct hdrv *g, unsigned q);
/* Fills descriptor i of queue q. */
void hdrv_set_desc(struct hdrv *g, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		   uint16_t flags, uint16_t next);

/* Whether the device set DEVICE_NEEDS_RESET. */
int hdrv_needs_reset(struct hdrv *g);

/* Puts head in q's avail ring, publishes it and notifies q. */
void hdrv_publish(struct hdrv *g, unsigned q, uint16_t head);
/* Waits until q's used idx reaches or passes `want` (16-bit arithmetic), or the device broke. */
int hdrv_wait_idx(struct hdrv *g, unsigned q, uint16_t want, int ms);
/* Waits until q's used idx differs from the entries taken so far, or the device broke. */
int hdrv_wait_next(struct hdrv *g, unsigned q, int ms);
/* Takes the next used element of q (after a wait said HDRV_USED). */
struct vring_used_elem hdrv_take(struct hdrv *g, unsigned q);

/* The 64 feature bits the device offers. */
uint64_t hdrv_device_features(struct hdrv *g);
/* Writes both driver feature words. */
void hdrv_features_write(struct hdrv *g, uint64_t f);
/* Lays queue q out at its rings with `size` entries and asks for READY; 1 when it is ready. */
int hdrv_queue_setup(struct hdrv *g, unsigned q, uint32_t size);

/* Resets the device, clears the slot's rings and the driver's indices; ACKNOWLEDGE, DRIVER. */
void hdrv_reset(struct hdrv *g);
/* After hdrv_reset: features f, FEATURES_OK, every queue, DRIVER_OK; 1 when all stuck. */
int hdrv_finish(struct hdrv *g, uint64_t f);

#define HDRV_ALL_FEATURES (~0ULL)

/*
 * Resets the device and brings it up the way Linux does, accepting `want` of what it offers
 * (VERSION_1 always); 1 when FEATURES_OK stuck, every queue is ready and the device is fine.
 */
int hdrv_init(struct hdrv *g, uint64_t want);

#endif
