#include "virtq.h"

#include <errno.h>
#include <string.h>

#include "../core/log.h"

/* Ring sizes from virtio 1.2 2.7: the trailing event word exists with EVENT_IDX. */
#define VIRTQ_DESC_BYTES(n)  (16ULL * (n))
#define VIRTQ_AVAIL_BYTES(n) (6ULL + 2ULL * (n))
#define VIRTQ_USED_BYTES(n)  (6ULL + 8ULL * (n))

static int virtq_fail(struct virtq *vq, const char *why)
{
	if (!vq->broken)
		log_warn("%s: %s; queue disabled until the driver resets the device", vq->name, why);
	vq->broken = 1;
	return -EINVAL;
}

int virtq_enable(struct virtq *vq, const struct guest_mem *mem, int event_idx)
{
	uint16_t n = vq->size;

	vq->event_idx = event_idx;
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return virtq_fail(vq, "queue size is 0, too large or not a power of two");
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return virtq_fail(vq, "misaligned ring");
	vq->desc = guest_ptr(mem, vq->desc_gpa, VIRTQ_DESC_BYTES(n));
	vq->avail = guest_ptr(mem, vq->avail_gpa, VIRTQ_AVAIL_BYTES(n));
	vq->used = guest_ptr(mem, vq->used_gpa, VIRTQ_USED_BYTES(n));
	if (!vq->desc || !vq->avail || !vq->used)
		return virtq_fail(vq, "ring outside guest RAM");
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->broken = 0;
	return 0;
}

void virtq_reset(struct virtq *vq)
{
	const char *name = vq->name;

	memset(vq, 0, sizeof(*vq));
	vq->name = name;
}

/* Adds one descriptor's buffer to the chain, checking it and the readable-then-writable order. */
static int virtq_add_buf(struct virtq *vq, const struct guest_mem *mem,
			 const struct vring_desc *d, struct virtq_chain *c)
{
	unsigned n = c->nread + c->nwrite;
	void *p = guest_ptr(mem, d->addr, d->len);

	if (!p)
		return virtq_fail(vq, "buffer outside guest RAM");
	if (n == VIRTQ_MAX_SIZE)
		return virtq_fail(vq, "chain longer than the queue");
	if (d->flags & VRING_DESC_F_WRITE)
		c->nwrite++;
	else if (c->nwrite)
		return virtq_fail(vq, "readable buffer after a writable one");
	else
		c->nread++;
	c->iov[n] = (struct iovec){ .iov_base = p, .iov_len = d->len };
	return 0;
}

/* Switches the walk into an indirect table, which may not nest or chain onward. */
static int virtq_enter_indirect(struct virtq *vq, const struct guest_mem *mem,
				const struct vring_desc *d, const struct vring_desc **table,
				unsigned *table_size)
{
	if (d->flags & VRING_DESC_F_NEXT)
		return virtq_fail(vq, "indirect descriptor with NEXT set");
	if (d->len == 0 || d->len % 16 || d->len / 16 > VIRTQ_MAX_SIZE)
		return virtq_fail(vq, "indirect table size is 0, not a multiple of 16 or too large");
	*table = guest_ptr(mem, d->addr, d->len);
	if (!*table)
		return virtq_fail(vq, "indirect table outside guest RAM");
	*table_size = d->len / 16;
	return 0;
}

static int virtq_walk(struct virtq *vq, const struct guest_mem *mem, uint16_t head,
		      struct virtq_chain *c)
{
	const struct vring_desc *table = vq->desc;
	unsigned table_size = vq->size, idx = head, hops = 0;
	int indirect = 0;

	c->head = head;
	c->nread = c->nwrite = 0;
	for (;;) {
		struct vring_desc d;

		/* Every table holds at most table_size entries: more hops means a cycle. */
		if (idx >= table_size || ++hops > table_size)
			return virtq_fail(vq, "descriptor index out of range or chain loops");
		memcpy(&d, &table[idx], sizeof(d));	/* one read: the guest may be rewriting it */
		if (d.flags & VRING_DESC_F_INDIRECT) {
			/*
			 * A flag, not table != vq->desc: an indirect table placed at the ring's own
			 * address would pass as "not nested" and restart the walk forever.
			 */
			if (indirect)
				return virtq_fail(vq, "nested indirect table");
			if (virtq_enter_indirect(vq, mem, &d, &table, &table_size))
				return -EINVAL;
			indirect = 1;
			idx = 0;
			hops = 0;
			continue;
		}
		if (virtq_add_buf(vq, mem, &d, c))
			return -EINVAL;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int virtq_pop(struct virtq *vq, const struct guest_mem *mem, struct virtq_chain *chain)
{
	uint16_t avail_idx, head;

	if (!vq->ready || vq->broken)
		return 0;
	/*
	 * Acquire: the ring entry and descriptors read below were written by the driver
	 * before it published this index.
	 */
	avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return virtq_fail(vq, "available index ran more than a queue ahead");
	head = __atomic_load_n(&vq->avail->ring[vq->last_avail % vq->size], __ATOMIC_RELAXED);
	if (virtq_walk(vq, mem, head, chain))
		return -EINVAL;
	vq->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *vq, unsigned count)
{
	vq->last_avail -= (uint16_t)count;	/* popping wrote nothing the driver sees */
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	/*
	 * A device may still hold a chain popped before the driver cleared QUEUE_READY; since
	 * then the driver may have changed QUEUE_NUM (to 0: a division by zero; larger: an
	 * index past the used ring that virtq_enable checked). The queue is gone: drop it.
	 */
	if (!vq->ready)
		return;
	e = &vq->used->ring[vq->used_idx % vq->size];
	e->id = head;
	e->len = len;
	vq->used_idx++;
	/* Release: the element above is visible to the driver before the new index is. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

int virtq_should_interrupt(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx;

	/*
	 * A queue that never became ready has no rings (NULL pointers): a guest may notify it
	 * anyway, and nothing was pushed on it, so there is nothing to signal.
	 */
	if (!vq->ready)
		return 0;
	/*
	 * Full barrier: our used->idx store must be visible before we read the driver's
	 * suppression state, or a driver re-enabling interrupts right now could be missed.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	/* used_event lives after the avail ring: interrupt once used passes it. */
	uint16_t event = __atomic_load_n(&vq->avail->ring[vq->size], __ATOMIC_RELAXED);
	vq->signalled_used = now;
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

int virtq_enable_notify(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return 0;
	if (vq->event_idx) {
		/* avail_event lives after the used ring: notify us for entry last_avail. */
		uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->size];
		__atomic_store_n(avail_event, vq->last_avail, __ATOMIC_RELAXED);
	}
	/* Full barrier: publish avail_event before re-reading avail->idx for late arrivals. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) != vq->last_avail;
}

int virtq_enable_notify_more(struct virtq *vq)
{
	uint16_t seen;

	if (!vq->ready || vq->broken)
		return 0;
	/* Acquire: pairs with the driver's release of the index, like virtq_pop's load. */
	seen = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (vq->event_idx) {
		/* A driver notifies when its new index passes avail_event: from `seen` on. */
		uint16_t *avail_event = (uint16_t *)&vq->used->ring[vq->size];
		__atomic_store_n(avail_event, seen, __ATOMIC_RELAXED);
	}
	/* Full barrier: publish avail_event before re-reading avail->idx for late arrivals. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) != seen;
}

uint64_t virtq_chain_writable(const struct virtq_chain *chain)
{
	uint64_t n = 0;

	for (unsigned i = chain->nread; i < chain->nread + chain->nwrite; i++)
		n += chain->iov[i].iov_len;
	return n;
}
