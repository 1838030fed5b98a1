/*
 * The virtio-mmio transport, version 2 (virtio 1.2 section 4.2). It owns every register and
 * the status state machine; a device is private state plus a const ops table and never sees
 * a register offset. Queue notifications arrive through ioeventfds and interrupts leave
 * through an irqfd where KVM has them; device work runs on the device's I/O thread.
 */
#ifndef HVM_VIRTIO_MMIO_H
#define HVM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../core/guest_mem.h"
#include "io_thread.h"
#include "virtq.h"

#define VIRTIO_MAX_QUEUES 4

struct virtio_mmio;

/* What a device tells the transport; all callbacks run on the device's I/O thread. */
struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;		/* VIRTIO_ID_* */
	unsigned num_queues;
	uint16_t queue_max[VIRTIO_MAX_QUEUES];	/* each queue's largest size: 1..VIRTQ_MAX_SIZE */
	uint64_t (*features)(void *dev);	/* device-specific feature bits offered */
	uint32_t config_size;
	/* Copies config space bytes [off, off+len) out of / into the device (bounds checked). */
	void (*config_read)(void *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data, uint32_t len);
	/* Driver set DRIVER_OK with these features: queues are live from now on. */
	void (*activate)(void *dev, uint64_t features);
	/* Queue q has new requests. */
	void (*queue_notify)(void *dev, unsigned q);
	/* Back to the power-on state (queues are reset by the transport). */
	void (*reset)(void *dev);
	/* Optional: requests of queue q taken and not yet returned (a snapshot gives them back). */
	unsigned (*in_flight)(void *dev, unsigned q);
	/* Optional: the device is rebuilt from a snapshot (queues loaded, not yet activated); its
	 * back end is new. */
	void (*restored)(void *dev);
};

/* The transport's part of a snapshot: its registers and each queue's layout and indices. */
struct virtio_mmio_state {
	uint32_t status, device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t config_generation, interrupt_status;
	struct virtio_mmio_queue_state {
		uint64_t desc_gpa, avail_gpa, used_gpa;
		uint16_t size, last_avail, used_idx, signalled_used;
		uint32_t ready;
	} q[VIRTIO_MAX_QUEUES];
};

struct vm;

struct virtio_mmio {
	struct vm *vm;
	gpa_t base;
	unsigned irq;
	const struct virtio_dev_ops *ops;
	void *dev;
	struct io_thread io;
	pthread_mutex_t lock;		/* register state, taken by vCPU threads */
	_Atomic uint32_t status;	/* atomic: the I/O thread may set NEEDS_RESET */
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t driver_features;
	uint32_t config_generation;
	_Atomic uint32_t interrupt_status;
	int irqfd;			/* eventfd wired to the irq line (or pulsed by hand) */
	int irqfd_in_kernel;
	int notify_fd[VIRTIO_MAX_QUEUES];
	struct virtq vq[VIRTIO_MAX_QUEUES];
	char vq_name[VIRTIO_MAX_QUEUES][32];
};

/*
 * Creates the transport at `base` (4 KiB) on interrupt line `irq` for a device and starts
 * its I/O thread; 0 or -errno (logged).
 */
int virtio_mmio_attach(struct virtio_mmio *t, struct vm *vm, gpa_t base, unsigned irq,
		       const struct virtio_dev_ops *ops, void *dev);

/* Stops the I/O thread and releases the eventfds. */
void virtio_mmio_detach(struct virtio_mmio *t);

/* From the device (I/O thread): used buffers were pushed on queue q; interrupts if wanted. */
void virtio_mmio_used(struct virtio_mmio *t, unsigned q);

/* From the device: a queue or the device failed; sets DEVICE_NEEDS_RESET and tells the driver. */
void virtio_mmio_broken(struct virtio_mmio *t);

/* Reads the transport's state; its I/O thread held (io_thread_hold), the vCPUs parked. */
void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *s);

/*
 * Puts a saved state into a freshly attached transport before the vCPUs start: registers,
 * queues (checked again like a driver's), then the device activated and told it was
 * restored. 0, or -EINVAL when a queue of the state is invalid here (logged).
 */
int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *s);

/* The kernel command line word announcing this device: "virtio_mmio.device=4K@0x...:IRQ". */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *out, size_t cap);

/* Register access as the bus delivers it (exposed for tests). */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, unsigned len, int is_write);

#endif
