/*
 * Split virtqueues (virtio 1.2 section 2.7), shared by every device. Everything the guest
 * controls (ring addresses, indices, descriptors) is validated here: addresses through
 * guest_ptr(), walks bounded by the queue size, indirect tables checked the same way. A
 * malformed queue marks itself broken; it never takes the VMM down.
 */
#ifndef HVM_VIRTQ_H
#define HVM_VIRTQ_H

#include <linux/virtio_ring.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../core/guest_mem.h"

#define VIRTQ_MAX_SIZE 256	/* the largest queue devices offer; also bounds any chain */

struct virtq {
	/* Set by the driver through the transport while the queue is not ready. */
	uint16_t size;
	gpa_t desc_gpa, avail_gpa, used_gpa;
	int ready;
	/* Resolved by virtq_enable(). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */
	uint16_t last_avail;		/* next available entry to take */
	uint16_t used_idx;		/* next used entry to fill (what used->idx will say) */
	uint16_t signalled_used;	/* used_idx at the last interrupt */
	int broken;
	const char *name;		/* for messages */
};

/* One request: readable buffers first, then writable ones, as host pointers. */
struct virtq_chain {
	uint16_t head;
	unsigned nread, nwrite;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Checks size and ring addresses and resolves them; 0 or -EINVAL (queue marked broken). */
int virtq_enable(struct virtq *vq, const struct guest_mem *mem, int event_idx);

/* Back to the state of a reset device (addresses and indices cleared). */
void virtq_reset(struct virtq *vq);

/*
 * Takes the next available request: 1 when chain is filled, 0 when none is pending,
 * -EINVAL when the driver published something malformed (the queue is then broken).
 */
int virtq_pop(struct virtq *vq, const struct guest_mem *mem, struct virtq_chain *chain);

/*
 * Gives back the last `count` requests taken and not yet returned: the driver cannot tell,
 * and the next virtq_pop takes them again (a device that needs several at once, and found too
 * few, waits without holding any).
 */
void virtq_unpop(struct virtq *vq, unsigned count);

/* Returns a request to the driver with `len` bytes written into its writable buffers. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* After pushes: whether the driver wants an interrupt now (honours its suppression). */
int virtq_should_interrupt(struct virtq *vq);

/*
 * Before sleeping: asks the driver to notify for anything newer than what was taken, then
 * returns 1 if requests slipped in meanwhile (process again), else 0.
 */
int virtq_enable_notify(struct virtq *vq);

/*
 * Like virtq_enable_notify, for a device that saw requests but too few to go on: asks for a
 * notification once the driver adds to what it has published now, then returns 1 if it added
 * meanwhile, else 0.
 */
int virtq_enable_notify_more(struct virtq *vq);

/* Total bytes of the writable buffers of a chain. */
uint64_t virtq_chain_writable(const struct virtq_chain *chain);

#endif
