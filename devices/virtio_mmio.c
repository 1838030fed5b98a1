#include "virtio_mmio.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../core/layout.h"
#include "../core/bus.h"
#include "../core/log.h"
#include "../core/vm.h"

#define VIRTIO_MMIO_MAGIC   0x74726976	/* "virt" */
#define VIRTIO_MMIO_VENDOR  0x004d5648	/* "HVM" */
/* Ring features the transport implements for every device (virtq.c). */
#define VIRTIO_TRANSPORT_FEATURES ((1ULL << VIRTIO_F_VERSION_1) |		\
				   (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |	\
				   (1ULL << VIRTIO_RING_F_EVENT_IDX))

static uint64_t vmmio_offered(struct virtio_mmio *t)
{
	return t->ops->features(t->dev) | VIRTIO_TRANSPORT_FEATURES;
}

static void vmmio_raise(struct virtio_mmio *t, uint32_t why)
{
	uint64_t one = 1;

	atomic_fetch_or(&t->interrupt_status, why);
	if (t->irqfd_in_kernel) {
		if (write(t->irqfd, &one, sizeof(one)) < 0)
			log_warn("%s: irqfd: %s", t->ops->name, strerror(errno));
	} else {
		/* An edge on the line: the guest's handler reads InterruptStatus. */
		vm_irq_line(t->vm, t->irq, 1);
		vm_irq_line(t->vm, t->irq, 0);
	}
}

void virtio_mmio_used(struct virtio_mmio *t, unsigned q)
{
	if (virtq_should_interrupt(&t->vq[q]))
		vmmio_raise(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_broken(struct virtio_mmio *t)
{
	/* Atomic, no lock: called on the I/O thread while a vCPU may hold t->lock. */
	if (atomic_fetch_or(&t->status, VIRTIO_CONFIG_S_NEEDS_RESET) &
	    VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	log_warn("%s: device needs reset", t->ops->name);
	vmmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

/* ---- work moved onto the I/O thread with io_thread_call ---------------------------- */

static void vmmio_do_reset(void *arg)
{
	struct virtio_mmio *t = arg;

	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		virtq_reset(&t->vq[q]);
	t->ops->reset(t->dev);
}

struct vmmio_queue_call {
	struct virtio_mmio *t;
	unsigned q;
	int ready;
};

static void vmmio_do_queue_ready(void *arg)
{
	struct vmmio_queue_call *c = arg;
	struct virtio_mmio *t = c->t;
	struct virtq *vq = &t->vq[c->q];
	int event_idx = !!(t->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX));

	if (!c->ready) {
		vq->ready = 0;
		return;
	}
	vq->ready = virtq_enable(vq, &t->vm->mem, event_idx) == 0;
	if (!vq->ready)
		virtio_mmio_broken(t);
}

static void vmmio_do_activate(void *arg)
{
	struct virtio_mmio *t = arg;

	t->ops->activate(t->dev, t->driver_features);
}

/* ---- registers (vCPU threads, t->lock held) ------------------------------------------ */

static void vmmio_set_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = atomic_load(&t->status);

	if (v == 0) {
		io_thread_call(&t->io, vmmio_do_reset, t);
		atomic_store(&t->status, 0);
		t->driver_features = 0;
		atomic_store(&t->interrupt_status, 0);
		return;
	}
	/* FEATURES_OK sticks only for a subset of what we offer that includes VERSION_1. */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    ((t->driver_features & ~vmmio_offered(t)) ||
	     !(t->driver_features & (1ULL << VIRTIO_F_VERSION_1))))
		v &= ~(uint32_t)VIRTIO_CONFIG_S_FEATURES_OK;
	atomic_store(&t->status, v | (old & VIRTIO_CONFIG_S_NEEDS_RESET));
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		io_thread_call(&t->io, vmmio_do_activate, t);
}

static struct virtq *vmmio_sel_queue(struct virtio_mmio *t)
{
	return t->queue_sel < t->ops->num_queues ? &t->vq[t->queue_sel] : NULL;
}

/* Queue layout registers: only while the queue is off, as the spec requires of drivers. */
static void vmmio_write_queue(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
	struct virtq *vq = vmmio_sel_queue(t);

	if (!vq)
		return;
	if (reg == VIRTIO_MMIO_QUEUE_READY) {
		struct vmmio_queue_call c = { .t = t, .q = t->queue_sel, .ready = v == 1 };
		if ((v == 1) != !!vq->ready)
			io_thread_call(&t->io, vmmio_do_queue_ready, &c);
		return;
	}
	if (vq->ready)
		return;
	switch (reg) {
	case VIRTIO_MMIO_QUEUE_NUM: vq->size = (uint16_t)(v <= t->ops->queue_max[t->queue_sel] ? v : 0); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: vq->desc_gpa = (vq->desc_gpa & ~0xffffffffULL) | v; break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: vq->desc_gpa = (vq->desc_gpa & 0xffffffffULL) | (uint64_t)v << 32; break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: vq->avail_gpa = (vq->avail_gpa & ~0xffffffffULL) | v; break;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: vq->avail_gpa = (vq->avail_gpa & 0xffffffffULL) | (uint64_t)v << 32; break;
	case VIRTIO_MMIO_QUEUE_USED_LOW: vq->used_gpa = (vq->used_gpa & ~0xffffffffULL) | v; break;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: vq->used_gpa = (vq->used_gpa & 0xffffffffULL) | (uint64_t)v << 32; break;
	}
}

static void vmmio_write(struct virtio_mmio *t, uint64_t reg, uint32_t v)
{
	uint64_t one = 1;

	switch (reg) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->device_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->driver_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Features are fixed once FEATURES_OK is set. */
		if (t->driver_features_sel < 2 &&
		    !(atomic_load(&t->status) & VIRTIO_CONFIG_S_FEATURES_OK)) {
			unsigned shift = 32 * t->driver_features_sel;
			t->driver_features = (t->driver_features & ~(0xffffffffULL << shift)) |
					     ((uint64_t)v << shift);
		}
		break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:	/* only reached without an in-kernel ioeventfd */
		if (v < t->ops->num_queues && write(t->notify_fd[v], &one, sizeof(one)) < 0)
			log_debug("%s: notify: %s", t->ops->name, strerror(errno));
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK: atomic_fetch_and(&t->interrupt_status, ~v); break;
	case VIRTIO_MMIO_STATUS: vmmio_set_status(t, v); break;
	default: vmmio_write_queue(t, reg, v); break;
	}
}

static uint32_t vmmio_read(struct virtio_mmio *t, uint64_t reg)
{
	struct virtq *vq = vmmio_sel_queue(t);

	switch (reg) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->device_features_sel < 2 ?
		       (uint32_t)(vmmio_offered(t) >> (32 * t->device_features_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return vq ? t->ops->queue_max[t->queue_sel] : 0;
	case VIRTIO_MMIO_QUEUE_READY: return vq ? (uint32_t)vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return atomic_load(&t->interrupt_status);
	case VIRTIO_MMIO_STATUS: return atomic_load(&t->status);
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	default: return 0;
	}
}

static void vmmio_config(struct virtio_mmio *t, uint64_t off, uint8_t *data, unsigned len,
			 int is_write)
{
	/* Out-of-range config accesses read zeros and write nothing. */
	if (off >= t->ops->config_size || len > t->ops->config_size - off) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write && t->ops->config_write)
		t->ops->config_write(t->dev, (uint32_t)off, data, len);
	else if (!is_write)
		t->ops->config_read(t->dev, (uint32_t)off, data, len);
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, unsigned len, int is_write)
{
	struct virtio_mmio *t = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&t->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		vmmio_config(t, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len != 4 || (offset & 3)) {
		/* Registers are 32 bits wide and aligned; anything else is ignored. */
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		memcpy(&v, data, 4);
		vmmio_write(t, offset, v);
	} else {
		v = vmmio_read(t, offset);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&t->lock);
}

/* ---- set-up ------------------------------------------------------------------------ */

static void vmmio_on_notify(void *opaque, int fd, uint32_t events)
{
	struct virtio_mmio *t = opaque;
	uint64_t count;

	(void)events;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	for (unsigned q = 0; q < t->ops->num_queues; q++)
		if (t->notify_fd[q] == fd)
			t->ops->queue_notify(t->dev, q);
}

/* One eventfd per queue; in-kernel (ioeventfd) when KVM can match writes of the queue index. */
static int vmmio_setup_notify(struct virtio_mmio *t, unsigned q)
{
	struct kvm_ioeventfd io = {
		.datamatch = q, .addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY, .len = 4,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	t->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->notify_fd[q] < 0)
		return -errno;
	io.fd = t->notify_fd[q];
	if (ioctl(t->vm->fd, KVM_IOEVENTFD, &io) < 0)
		log_debug("%s: no ioeventfd (%s): notifications go through userspace",
			  t->ops->name, strerror(errno));
	snprintf(t->vq_name[q], sizeof(t->vq_name[q]), "%s queue %u", t->ops->name, q);
	t->vq[q].name = t->vq_name[q];
	return io_thread_watch(&t->io, t->notify_fd[q], EPOLLIN, vmmio_on_notify, t);
}

static int vmmio_setup_irqfd(struct virtio_mmio *t)
{
	struct kvm_irqfd irqfd = { .gsi = t->irq };

	t->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irqfd < 0)
		return -errno;
	irqfd.fd = (uint32_t)t->irqfd;
	t->irqfd_in_kernel = ioctl(t->vm->fd, KVM_IRQFD, &irqfd) == 0;
	if (!t->irqfd_in_kernel)
		log_debug("%s: no irqfd (%s): interrupts go through KVM_IRQ_LINE", t->ops->name,
			  strerror(errno));
	return 0;
}

int virtio_mmio_attach(struct virtio_mmio *t, struct vm *vm, gpa_t base, unsigned irq,
		       const struct virtio_dev_ops *ops, void *dev)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->vm = vm;
	t->base = base;
	t->irq = irq;
	t->ops = ops;
	t->dev = dev;
	t->irqfd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->notify_fd[q] = -1;
	pthread_mutex_init(&t->lock, NULL);
	if (ops->num_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	for (unsigned q = 0; q < ops->num_queues; q++)
		if (!ops->queue_max[q] || ops->queue_max[q] > VIRTQ_MAX_SIZE)
			return -EINVAL;
	err = io_thread_init(&t->io, ops->name);
	for (unsigned q = 0; !err && q < ops->num_queues; q++)
		err = vmmio_setup_notify(t, q);
	if (!err)
		err = vmmio_setup_irqfd(t);
	if (!err)
		err = bus_register(&vm->mmio, base, LAYOUT_VIRTIO_MMIO_SIZE, virtio_mmio_access, t,
				   ops->name);
	if (!err)
		err = io_thread_start(&t->io);
	if (err) {
		log_err("%s: virtio-mmio set-up: %s", ops->name, strerror(-err));
		virtio_mmio_detach(t);
	}
	return err;
}

void virtio_mmio_detach(struct virtio_mmio *t)
{
	io_thread_destroy(&t->io);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (t->notify_fd[q] >= 0)
			close(t->notify_fd[q]);
	if (t->irqfd >= 0)
		close(t->irqfd);
	t->irqfd = -1;
	pthread_mutex_destroy(&t->lock);
}

/* ---- snapshots --------------------------------------------------------------------- */

void virtio_mmio_save(struct virtio_mmio *t, struct virtio_mmio_state *s)
{
	memset(s, 0, sizeof(*s));
	s->status = atomic_load(&t->status);
	s->device_features_sel = t->device_features_sel;
	s->driver_features_sel = t->driver_features_sel;
	s->queue_sel = t->queue_sel;
	s->driver_features = t->driver_features;
	s->config_generation = t->config_generation;
	s->interrupt_status = atomic_load(&t->interrupt_status);
	for (unsigned q = 0; q < t->ops->num_queues; q++) {
		const struct virtq *vq = &t->vq[q];
		/* Requests the device holds go back to the driver's side: taken again later. */
		unsigned held = t->ops->in_flight ? t->ops->in_flight(t->dev, q) : 0;
		s->q[q] = (struct virtio_mmio_queue_state){
			.desc_gpa = vq->desc_gpa, .avail_gpa = vq->avail_gpa, .used_gpa = vq->used_gpa,
			.size = vq->size, .last_avail = (uint16_t)(vq->last_avail - held),
			.used_idx = vq->used_idx, .signalled_used = vq->signalled_used,
			.ready = (uint32_t)vq->ready,
		};
	}
}

struct vmmio_load_call {
	struct virtio_mmio *t;
	const struct virtio_mmio_state *s;
	int err;
};

/* On the I/O thread, like every queue and activation change. */
static void vmmio_do_load(void *arg)
{
	struct vmmio_load_call *c = arg;
	struct virtio_mmio *t = c->t;
	int event_idx = !!(c->s->driver_features & (1ULL << VIRTIO_RING_F_EVENT_IDX));

	for (unsigned q = 0; q < t->ops->num_queues && !c->err; q++) {
		const struct virtio_mmio_queue_state *qs = &c->s->q[q];
		struct virtq *vq = &t->vq[q];
		vq->size = qs->size <= t->ops->queue_max[q] ? qs->size : 0;
		vq->desc_gpa = qs->desc_gpa;
		vq->avail_gpa = qs->avail_gpa;
		vq->used_gpa = qs->used_gpa;
		if (!qs->ready)
			continue;
		if (virtq_enable(vq, &t->vm->mem, event_idx)) {
			log_err("%s: queue %u of the snapshot is invalid", t->ops->name, q);
			c->err = -EINVAL;
			break;
		}
		vq->ready = 1;
		vq->last_avail = qs->last_avail;
		vq->used_idx = qs->used_idx;
		vq->signalled_used = qs->signalled_used;
	}
	if (c->err || !(c->s->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	/* Before activation, which may already serve the queues the guest left filled. */
	if (t->ops->restored)
		t->ops->restored(t->dev);
	t->ops->activate(t->dev, t->driver_features);
}

int virtio_mmio_load(struct virtio_mmio *t, const struct virtio_mmio_state *s)
{
	struct vmmio_load_call c = { .t = t, .s = s };

	if (s->driver_features & ~vmmio_offered(t)) {
		log_err("%s: the snapshot's features 0x%llx are not all offered here", t->ops->name,
			(unsigned long long)s->driver_features);
		return -EINVAL;
	}
	pthread_mutex_lock(&t->lock);
	atomic_store(&t->status, s->status);
	t->device_features_sel = s->device_features_sel;
	t->driver_features_sel = s->driver_features_sel;
	t->queue_sel = s->queue_sel;
	t->driver_features = s->driver_features;
	t->config_generation = s->config_generation;
	atomic_store(&t->interrupt_status, s->interrupt_status);
	pthread_mutex_unlock(&t->lock);
	io_thread_call(&t->io, vmmio_do_load, &c);
	return c.err;
}

int virtio_mmio_cmdline(const struct virtio_mmio *t, char *out, size_t cap)
{
	int n = snprintf(out, cap, "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)t->base,
			 t->irq);

	return n < 0 || (size_t)n >= cap ? -E2BIG : 0;
}
