#include "virtio_net.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/vm.h"
#include "iov.h"

/* Headers and config go to and from guest memory as they are: x86 is little-endian too. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio-net fields are little-endian");

#define VNET_RXQ         0
#define VNET_TXQ         1
#define VNET_QUEUE_SIZE  256
#define VNET_HDR         ((uint32_t)sizeof(struct virtio_net_hdr_v1))	/* 12 with VERSION_1 */
#define VNET_ETH_HLEN    14u
#define VNET_RX_BATCH    64u	/* frames per wake-up; more_fd brings us back for the rest */
#define VNET_KEY_BACKEND 1u
#define VNET_KEY_TIMER   2u
#define VNET_KEY_MORE    3u

/* One warning per kind of loss (struct vnet.warned). */
#define VNET_WARN_TX_SHORT    1u
#define VNET_WARN_TX_OVERSIZE 2u
#define VNET_WARN_TX_BACKEND  4u
#define VNET_WARN_RX_OVERSIZE 8u
#define VNET_WARN_RX_NOBUF    16u
#define VNET_WARN_GONE        32u

struct vnet_config {	/* virtio 1.2 5.1.4, up to the field of the last feature we offer */
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

/* Relaxed: a counter orders nothing; readers only want an eventually exact number. */
static void vnet_count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void vnet_warn_once(struct vnet *n, unsigned kind, const char *what, const char *why)
{
	if (n->warned & kind)
		return;
	n->warned |= kind;
	log_warn("virtio-net: %s: %s (counted; further ones are not reported)", what, why);
}

/* ---- polling the backend ----------------------------------------------------------- */

/* Makes the inner epoll wait for what the device can use now. */
static void vnet_poll_update(struct vnet *n)
{
	uint32_t want = (n->rx_stalled ? 0 : EPOLLIN) | (n->tx_held || n->be_pending ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = want, .data.u32 = VNET_KEY_BACKEND };

	if (n->be_gone || want == n->be_events)
		return;
	if (epoll_ctl(n->epfd, EPOLL_CTL_MOD, n->be->fd, &ev) < 0)
		log_warn("virtio-net: polling the backend: %s", strerror(errno));
	else
		n->be_events = want;
}

static void vnet_timer_arm(struct vnet *n, unsigned ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (long)(ms % 1000) * 1000000L } };

	if (timerfd_settime(n->timer_fd, 0, &its, NULL) < 0)
		log_warn("virtio-net: stall timer: %s", strerror(errno));
}

/* ---- transmit ---------------------------------------------------------------------- */

/* Adds buf to sum as 16-bit big-endian words (RFC 1071), unfolded. */
static uint64_t vnet_sum(const uint8_t *buf, size_t len, uint64_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)buf[i] << 8 | buf[i + 1];
	if (i < len)
		sum += (uint32_t)buf[i] << 8;
	return sum;
}

/* sum folded to 16 bits, in ones' complement arithmetic. */
static uint16_t vnet_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The Internet checksum of buf, complemented, with 0 sent as 0xffff (as UDP needs). */
static uint16_t vnet_csum(const uint8_t *buf, size_t len)
{
	uint16_t sum = (uint16_t)~vnet_fold(vnet_sum(buf, len, 0));

	return sum ? sum : 0xffff;
}

/*
 * Copies the frame into tx_csum_buf and completes the checksum the guest left to us (csum_start
 * and csum_offset of VIRTIO_NET_F_CSUM); copied first, so the guest cannot change it under the
 * sum. -EINVAL when the checksum field lies outside the frame.
 */
static int vnet_tx_complete_csum(struct vnet *n, const struct virtio_net_hdr_v1 *h, size_t len)
{
	uint8_t *f = n->tx_csum_buf;
	size_t start = h->csum_start, at = start + h->csum_offset;
	uint16_t sum;

	if (at + 2 > len)
		return -EINVAL;
	iov_to_buf(n->tx_chain.iov, n->tx_chain.nread, VNET_HDR, f, len);
	sum = vnet_csum(f + start, len - start);
	f[at] = (uint8_t)(sum >> 8);	/* network byte order */
	f[at + 1] = (uint8_t)sum;
	return 0;
}

/* Hands the frame of tx_chain to the backend; -EAGAIN when it must wait for room. */
static int vnet_tx_one(struct vnet *n)
{
	struct virtq_chain *c = &n->tx_chain;
	struct iovec frame[VIRTQ_MAX_SIZE];
	struct virtio_net_hdr_v1 hdr = { 0 };
	size_t len = iov_size(c->iov, c->nread);	/* the guest's word, bounded below */
	unsigned k;
	int err;

	if (len < VNET_HDR + VNET_ETH_HLEN) {
		vnet_count(&n->tx_dropped_short);
		vnet_warn_once(n, VNET_WARN_TX_SHORT, "transmit", "frame shorter than its headers");
		return 0;
	}
	len -= VNET_HDR;
	if (n->tx_csum)		/* without offloads the header holds nothing to act on */
		iov_to_buf(c->iov, c->nread, 0, &hdr, VNET_HDR);
	/* A TSO segment may exceed the MTU: the host kernel cuts it (HOST_TSO needs vnet_hdr). */
	if (len > (n->tx_tso && hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE ? NET_BACKEND_FRAME_MAX
									  : n->frame_max)) {
		vnet_count(&n->tx_dropped_oversize);
		vnet_warn_once(n, VNET_WARN_TX_OVERSIZE, "transmit", "frame larger than the MTU allows");
		return 0;
	}
	if (n->be->vnet_hdr) {
		/* Our copy of the header, so the guest cannot change it after the checks above. */
		hdr.num_buffers = 0;
		frame[0] = (struct iovec){ &hdr, VNET_HDR };
		k = 1 + iov_slice(c->iov, c->nread, VNET_HDR, len, frame + 1, VIRTQ_MAX_SIZE - 1);
	} else if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (vnet_tx_complete_csum(n, &hdr, len) < 0) {
			vnet_count(&n->tx_dropped_short);
			vnet_warn_once(n, VNET_WARN_TX_SHORT, "transmit",
				       "checksum field beyond the end of the frame");
			return 0;
		}
		frame[0] = (struct iovec){ n->tx_csum_buf, len };
		k = 1;
	} else {
		k = iov_slice(c->iov, c->nread, VNET_HDR, len, frame, VIRTQ_MAX_SIZE);
	}
	err = n->be_gone ? -ENOTCONN : n->be->ops->send(n->be, frame, k);
	if (err == -EAGAIN)
		return err;
	if (err) {
		vnet_count(&n->tx_dropped_backend);
		vnet_warn_once(n, VNET_WARN_TX_BACKEND, n->be->name, strerror(-err));
		return 0;
	}
	vnet_count(&n->tx_frames);
	return 0;
}

static void vnet_broken(struct vnet *n)
{
	n->active = 0;
	n->tx_held = 0;
	n->rx_len = 0;
	virtio_mmio_broken(&n->transport);
}

/* Writes out what the backend batched, and notes whether it has to wait for room. */
static void vnet_flush(struct vnet *n)
{
	int err = 0;

	if (!n->be_gone && n->be->ops->flush)
		err = n->be->ops->flush(n->be);
	n->be_pending = err == -EAGAIN;
	if (err && err != -EAGAIN)
		log_debug("virtio-net: %s: flush: %s", n->be->name, strerror(-err));
	vnet_poll_update(n);
}

/* Sends what the guest queued, until the ring is empty or the backend is full. */
static void vnet_tx_run(struct vnet *n)
{
	struct virtq *vq = &n->transport.vq[VNET_TXQ];
	unsigned pushed = 0;
	int r;

	do {
		for (;;) {
			if (!n->tx_held) {
				r = virtq_pop(vq, &n->transport.vm->mem, &n->tx_chain);
				if (r < 0)
					vnet_broken(n);
				if (r <= 0)
					break;
				n->tx_held = 1;
			}
			if (vnet_tx_one(n) == -EAGAIN)
				goto out;
			n->tx_held = 0;
			virtq_push(vq, n->tx_chain.head, 0);
			pushed++;
		}
	} while (n->active && virtq_enable_notify(vq));
out:
	vnet_flush(n);
	if (pushed)
		virtio_mmio_used(&n->transport, VNET_TXQ);
}

/* ---- receive ----------------------------------------------------------------------- */

/* The backend failed for good: stop polling it (or its error would wake us forever). */
static void vnet_backend_gone(struct vnet *n, int err)
{
	if (n->be_gone)
		return;
	epoll_ctl(n->epfd, EPOLL_CTL_DEL, n->be->fd, NULL);
	n->be_gone = 1;
	n->rx_stalled = 0;
	vnet_timer_arm(n, 0);
	vnet_warn_once(n, VNET_WARN_GONE, n->be->name,
		       err ? strerror(-err) : "closed; the guest's network is down");
	if (n->tx_held)		/* waits for room that will never come: send fails now */
		vnet_tx_run(n);
}

/*
 * Whether f is TCP or UDP over IPv4 or IPv6 (without extension headers or fragments) with a
 * checksum that verifies: then the guest may skip its own check (GUEST_CSUM's DATA_VALID).
 */
static int vnet_rx_csum_valid(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + VNET_ETH_HLEN, *l4;
	unsigned type = len >= VNET_ETH_HLEN ? (unsigned)f[12] << 8 | f[13] : 0, proto;
	size_t l4len;
	uint64_t sum;

	if (type == 0x0800 && len >= VNET_ETH_HLEN + 20) {
		size_t ihl = (ip[0] & 15u) * 4u, total = (size_t)ip[2] << 8 | ip[3];

		if ((ip[0] >> 4) != 4 || ihl < 20 || total < ihl || VNET_ETH_HLEN + total > len ||
		    (ip[6] & 0x3f) || ip[7])	/* more fragments, or not the first */
			return 0;
		proto = ip[9], l4 = ip + ihl, l4len = total - ihl;
		sum = vnet_sum(ip + 12, 8, 0);	/* source and destination */
	} else if (type == 0x86dd && len >= VNET_ETH_HLEN + 40) {
		l4len = (size_t)ip[4] << 8 | ip[5];
		if (VNET_ETH_HLEN + 40 + l4len > len)
			return 0;
		proto = ip[6], l4 = ip + 40;
		sum = vnet_sum(ip + 8, 32, 0);
	} else {
		return 0;
	}
	if (!(proto == 6 && l4len >= 20) && !(proto == 17 && l4len >= 8))
		return 0;
	if (proto == 17 && type == 0x0800 && !l4[6] && !l4[7])
		return 0;	/* UDP over IPv4 without a checksum: nothing to vouch for */
	return vnet_fold(vnet_sum(l4, l4len, sum + proto + l4len)) == 0xffff;
}

/*
 * Pops the next receive buffer into c, checking it can hold at least the header (virtio 1.2
 * 5.1.6.3.1): 1, 0 none posted, -1 the queue broke.
 */
static int vnet_rx_pop(struct vnet *n, struct virtq_chain *c)
{
	int r = virtq_pop(&n->transport.vq[VNET_RXQ], &n->transport.vm->mem, c);

	if (r == 1 && virtq_chain_writable(c) < VNET_HDR) {
		log_warn("virtio-net: receive buffer smaller than the header");
		r = -EINVAL;
	}
	if (r < 0)
		vnet_broken(n);
	return r < 0 ? -1 : r;
}

/*
 * Copies the waiting frame behind its header into as many receive buffers as it needs (one
 * without MRG_RXBUF) and returns them to the driver: 1 done, 0 too few posted yet (none
 * taken), -1 the queue broke. A frame larger than one buffer (or the whole queue) is dropped.
 */
static int vnet_rx_deliver(struct vnet *n)
{
	struct virtq *vq = &n->transport.vq[VNET_RXQ];
	uint16_t heads[VIRTQ_MAX_SIZE];
	uint32_t lens[VIRTQ_MAX_SIZE];
	size_t total = VNET_HDR + (size_t)n->rx_len, done = 0;
	unsigned k = 0, most = n->rx_mergeable ? vq->size : 1;
	struct virtio_net_hdr_v1 hdr = { 0 };

	while (done < total) {
		struct virtq_chain *c = k ? &n->rx_more : &n->rx_first;
		size_t skip = k ? 0 : VNET_HDR, len, room;
		int r = k < most ? vnet_rx_pop(n, c) : 0;

		if (r < 0)
			return -1;
		if (r == 0 && k < most) {
			virtq_unpop(vq, k);
			return 0;
		}
		if (r == 0) {		/* every buffer it may have is too short */
			virtq_unpop(vq, k);
			n->rx_len = 0;
			vnet_count(&n->rx_dropped_oversize);
			vnet_warn_once(n, VNET_WARN_RX_OVERSIZE, "receive",
				       "frame larger than the guest's receive buffers");
			return 1;
		}
		room = virtq_chain_writable(c);
		len = room < total - done ? room : total - done;
		iov_from_buf(c->iov + c->nread, c->nwrite, skip, n->rx_frame + done + skip - VNET_HDR,
			     len - skip);
		heads[k] = c->head;
		lens[k++] = (uint32_t)len;
		done += len;
	}
	if (n->be->vnet_hdr && n->rx_csum)	/* the host kernel's offloads, as the guest took them */
		hdr = n->rx_hdr;
	hdr.num_buffers = (uint16_t)k;	/* 1 without MRG_RXBUF, as the spec wants */
	if (n->rx_csum && !hdr.flags && vnet_rx_csum_valid(n->rx_frame, n->rx_len))
		hdr.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	iov_from_buf(n->rx_first.iov + n->rx_first.nread, n->rx_first.nwrite, 0, &hdr, VNET_HDR);
	for (unsigned i = 0; i < k; i++)
		virtq_push(vq, heads[i], lens[i]);
	n->rx_len = 0;
	n->rx_dropping = 0;
	vnet_count(&n->rx_frames);
	return 1;
}

/* Counts a frame nobody can take. Debug only: hosts send multicast before any driver runs. */
static void vnet_rx_count_drop(struct vnet *n)
{
	vnet_count(&n->rx_dropped_no_buffer);
	if (!(n->warned & VNET_WARN_RX_NOBUF))
		log_debug("virtio-net: receive: too few buffers posted by the guest; dropping");
	n->warned |= VNET_WARN_RX_NOBUF;
}

/*
 * Reads the backend's next frame into rx_frame, or drops it when no buffer can take it:
 * 1 a frame waits, 0 one was dropped, -1 none waiting or the backend is gone.
 */
static int vnet_rx_read(struct vnet *n, int posted)
{
	/* Larger ones report -EMSGSIZE; a TSO segment may exceed the MTU. */
	struct iovec v[2] = { { &n->rx_hdr, VNET_HDR },
			      { n->rx_frame, n->rx_tso ? NET_BACKEND_FRAME_MAX : n->frame_max } };
	int with_hdr = n->be->vnet_hdr;
	ssize_t len = n->be->ops->recv(n->be, v + !with_hdr, 1u + !!with_hdr);

	if (with_hdr && len > 0 && len < (ssize_t)VNET_HDR + VNET_ETH_HLEN)
		len = -EMSGSIZE;	/* no Ethernet frame behind the header: not ours to pass on */
	else if (with_hdr && len > 0)
		len -= VNET_HDR;

	if (len == 0 || len == -EAGAIN)
		return -1;
	if (len < 0 && len != -EMSGSIZE) {
		vnet_backend_gone(n, (int)len);
		return -1;
	}
	if (!posted) {
		vnet_rx_count_drop(n);
		return 0;
	}
	if (len < 0) {
		vnet_count(&n->rx_dropped_oversize);
		vnet_warn_once(n, VNET_WARN_RX_OVERSIZE, "receive", "frame larger than the MTU");
		return 0;
	}
	n->rx_len = (uint32_t)len;
	return 1;
}

/* No buffer: leave frames in the backend (back-pressure) until the guest posts or time is up. */
static void vnet_rx_stall(struct vnet *n)
{
	struct virtq *vq = &n->transport.vq[VNET_RXQ];

	/* The driver may set DRIVER_OK without a ready receive queue: then there is no ring. */
	log_debug("virtio-net: rx stall: last_avail %u avail %u used %u", vq->last_avail,
		  vq->ready ? __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) : 0u, vq->used_idx);
	n->rx_stalled = 1;
	vnet_timer_arm(n, VNET_STALL_MS);
	vnet_poll_update(n);
}

/*
 * One step of receiving: 1 go on, 0 stop (stalled, nothing waiting, or broken). A frame is
 * read only once a buffer is posted (or frames are being dropped), so that a guest that posts
 * none leaves the backend unread; then one that posts too few is waited for the same way.
 */
static int vnet_rx_step(struct vnet *n)
{
	struct virtq *vq = &n->transport.vq[VNET_RXQ];
	int r;

	if (!n->rx_len) {
		int posted = n->active && virtq_enable_notify(vq);

		if (!posted && n->active && !n->rx_dropping) {
			vnet_rx_stall(n);
			return 0;
		}
		r = vnet_rx_read(n, posted);
		if (r <= 0)
			return r == 0;
	}
	r = vnet_rx_deliver(n);
	if (r == 0 && n->rx_dropping) {	/* the guest had its time to post more */
		n->rx_len = 0;
		vnet_rx_count_drop(n);
		return 1;
	}
	if (r == 0 && virtq_enable_notify_more(vq))
		return 1;		/* more came while we looked: try again */
	if (r == 0)
		vnet_rx_stall(n);
	return r > 0;
}

/*
 * After a full batch the rest may already sit in the backend's read-ahead, where the poll of
 * its fd cannot see them: this wakes the loop again once the events waiting now are served.
 */
static void vnet_rx_come_back(struct vnet *n)
{
	uint64_t one = 1;

	if (write(n->more_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("virtio-net: waking for more frames: %s", strerror(errno));
}

/* Moves frames from the backend into receive buffers, at most a batch per call. */
static void vnet_rx_run(struct vnet *n)
{
	/* Only frames handed over need an interrupt: a dropped one pushed no buffer. */
	uint64_t frames = atomic_load(&n->rx_frames);
	unsigned i;

	for (i = 0; i < VNET_RX_BATCH && !n->be_gone && !n->rx_stalled; i++)
		if (!vnet_rx_step(n))
			break;
	if (atomic_load(&n->rx_frames) != frames)
		virtio_mmio_used(&n->transport, VNET_RXQ);
	if (i == VNET_RX_BATCH && !n->be_gone && !n->rx_stalled)
		vnet_rx_come_back(n);
}

/* The guest posted buffers (or the stall timed out): read the backend again. */
static void vnet_rx_resume(struct vnet *n, int dropping)
{
	if (n->rx_stalled) {
		n->rx_stalled = 0;
		n->rx_dropping = dropping;
		if (!dropping)
			vnet_timer_arm(n, 0);
		vnet_poll_update(n);
	}
	vnet_rx_run(n);
}

/* ---- the I/O thread ---------------------------------------------------------------- */

static void vnet_on_backend(struct vnet *n, uint32_t events)
{
	if (events & EPOLLOUT)
		vnet_tx_run(n);
	if (events & EPOLLIN)
		vnet_rx_run(n);
	else if (events & (EPOLLERR | EPOLLHUP))
		vnet_backend_gone(n, 0);	/* reported even while we do not read: it is over */
}

static void vnet_on_ready(void *opaque, int fd, uint32_t events)
{
	struct vnet *n = opaque;
	struct epoll_event ev[3];
	uint64_t expirations;
	int k = epoll_wait(n->epfd, ev, 3, 0);

	(void)fd;
	(void)events;
	for (int i = 0; i < k; i++) {
		if (ev[i].data.u32 == VNET_KEY_BACKEND && !n->be_gone) {
			vnet_on_backend(n, ev[i].events);
		} else if (ev[i].data.u32 == VNET_KEY_TIMER &&
			   read(n->timer_fd, &expirations, sizeof(expirations)) > 0) {
			vnet_rx_resume(n, 1);
		} else if (ev[i].data.u32 == VNET_KEY_MORE &&
			   read(n->more_fd, &expirations, sizeof(expirations)) > 0) {
			vnet_rx_run(n);
		}
	}
}

static void vnet_queue_notify(void *dev, unsigned q)
{
	struct vnet *n = dev;

	if (q == VNET_RXQ)
		vnet_rx_resume(n, 0);
	else if (!n->tx_held)	/* a held frame goes first, once the backend has room */
		vnet_tx_run(n);
}

/*
 * No VIRTIO_NET_F_MTU: it would make the guest's MTU ceiling ours, and then no guest program
 * could send the oversized frames our drop path exists for, so tests could not reach it. The
 * agent sets the backend's MTU itself; a larger frame is dropped and counted here.
 */
static uint64_t vnet_features(void *dev)
{
	struct vnet *n = dev;
	/* TSO only where the backend takes the header along: no segmenting here. */
	uint64_t tso = n->be->vnet_hdr ? (1ULL << VIRTIO_NET_F_HOST_TSO4) |
		(1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_GUEST_TSO4) |
		(1ULL << VIRTIO_NET_F_GUEST_TSO6) : 0;

	/*
	 * CSUM: the guest leaves TCP/UDP checksums to us, which lets it send pages without copies.
	 * GUEST_CSUM: we verify received ones, natively, where the guest's check is emulated.
	 * MRG_RXBUF: a 64 KiB frame spans page-sized buffers (without it Linux would post 64 KiB
	 * per buffer once its MTU is large, or drop large frames).
	 */
	return (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
	       (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
	       (1ULL << VIRTIO_NET_F_MRG_RXBUF) | tso;
}

static void vnet_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vnet *n = dev;
	struct vnet_config cfg = {
		.status = VIRTIO_NET_S_LINK_UP, .max_virtqueue_pairs = 1,
		.mtu = (uint16_t)(n->mtu < 0xffff ? n->mtu : 0xffff),
	};

	memcpy(cfg.mac, n->mac, sizeof(cfg.mac));
	memcpy(data, (uint8_t *)&cfg + off, len);	/* the transport checked off + len */
}

static void vnet_activate(void *dev, uint64_t features)
{
	struct vnet *n = dev;

	n->tx_csum = !!(features & (1ULL << VIRTIO_NET_F_CSUM));
	n->rx_csum = !!(features & (1ULL << VIRTIO_NET_F_GUEST_CSUM));
	n->rx_mergeable = !!(features & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
	n->tx_tso = !!(features & ((1ULL << VIRTIO_NET_F_HOST_TSO4) |
				   (1ULL << VIRTIO_NET_F_HOST_TSO6)));
	n->rx_tso = !!(features & ((1ULL << VIRTIO_NET_F_GUEST_TSO4) |
				   (1ULL << VIRTIO_NET_F_GUEST_TSO6)));
	if (n->be->vnet_hdr && n->be->ops->set_offload && !n->be_gone)
		n->be->ops->set_offload(n->be, features);	/* logs; offloads stay off */
	n->active = 1;
	vnet_rx_run(n);
}

static void vnet_reset(void *dev)
{
	struct vnet *n = dev;

	/* Held chains belong to the old rings; frames now drop until the driver is back. */
	n->active = n->tx_held = 0;
	n->rx_len = 0;
	n->rx_stalled = n->rx_dropping = 0;
	vnet_timer_arm(n, 0);
	vnet_poll_update(n);
}

static unsigned vnet_in_flight(void *dev, unsigned q)
{
	struct vnet *n = dev;

	return q == VNET_TXQ ? (unsigned)n->tx_held : 0;
}

static const struct virtio_dev_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = { [VNET_RXQ] = VNET_QUEUE_SIZE, [VNET_TXQ] = VNET_QUEUE_SIZE },
	.features = vnet_features,
	.config_size = sizeof(struct vnet_config),
	.config_read = vnet_config_read,
	.activate = vnet_activate,
	.queue_notify = vnet_queue_notify,
	.reset = vnet_reset,
	.in_flight = vnet_in_flight,
};

/* ---- set-up ------------------------------------------------------------------------ */

static int vnet_setup_poll(struct vnet *n)
{
	struct epoll_event be_ev = { .events = EPOLLIN, .data.u32 = VNET_KEY_BACKEND };
	struct epoll_event timer_ev = { .events = EPOLLIN, .data.u32 = VNET_KEY_TIMER };
	struct epoll_event more_ev = { .events = EPOLLIN, .data.u32 = VNET_KEY_MORE };

	n->epfd = epoll_create1(EPOLL_CLOEXEC);
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	n->more_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->epfd < 0 || n->timer_fd < 0 || n->more_fd < 0 ||
	    epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->be->fd, &be_ev) < 0 ||
	    epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->timer_fd, &timer_ev) < 0 ||
	    epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->more_fd, &more_ev) < 0) {
		int err = -errno;
		log_err("virtio-net: polling %s: %s", n->be->name, strerror(errno));
		return err;
	}
	n->be_events = EPOLLIN;
	return 0;
}

static void vnet_close_fds(struct vnet *n)
{
	if (n->epfd >= 0)
		close(n->epfd);
	if (n->timer_fd >= 0)
		close(n->timer_fd);
	if (n->more_fd >= 0)
		close(n->more_fd);
	n->epfd = n->timer_fd = n->more_fd = -1;
	if (n->be)
		n->be->ops->close(n->be);
	n->be = NULL;
}

int vnet_attach(struct vnet *n, struct vm *vm, gpa_t base, unsigned irq, const uint8_t mac[6],
		struct net_backend *be)
{
	int err;

	memset(n, 0, sizeof(*n));
	n->epfd = n->timer_fd = n->more_fd = -1;
	n->be = be;
	memcpy(n->mac, mac, sizeof(n->mac));
	if (!be) {
		log_err("virtio-net: no backend");
		return -EINVAL;
	}
	n->mtu = be->mtu >= VNET_MTU_MIN ? be->mtu : NET_BACKEND_MTU_DEFAULT;
	n->frame_max = n->mtu + VNET_ETH_EXTRA;
	if (n->frame_max > NET_BACKEND_FRAME_MAX)
		n->frame_max = NET_BACKEND_FRAME_MAX;	/* passt's 65520 fits untagged */
	err = vnet_setup_poll(n);
	if (err)
		goto fail;
	err = virtio_mmio_attach(&n->transport, vm, base, irq, &vnet_ops, n);
	if (err)
		goto fail;
	/* The backend shares the loop with the queue notifications: one thread owns all state. */
	err = io_thread_watch(&n->transport.io, n->epfd, EPOLLIN, vnet_on_ready, n);
	if (err)
		goto fail_detach;
	return 0;

fail_detach:
	virtio_mmio_detach(&n->transport);
fail:
	vnet_close_fds(n);
	return err;
}

void vnet_detach(struct vnet *n)
{
	virtio_mmio_detach(&n->transport);	/* the I/O thread is gone after this */
	vnet_close_fds(n);
	log_debug("virtio-net: rx %llu frames, dropped %llu without buffer, %llu oversize; "
		  "tx %llu frames, dropped %llu short, %llu oversize, %llu by the backend",
		  (unsigned long long)atomic_load(&n->rx_frames),
		  (unsigned long long)atomic_load(&n->rx_dropped_no_buffer),
		  (unsigned long long)atomic_load(&n->rx_dropped_oversize),
		  (unsigned long long)atomic_load(&n->tx_frames),
		  (unsigned long long)atomic_load(&n->tx_dropped_short),
		  (unsigned long long)atomic_load(&n->tx_dropped_oversize),
		  (unsigned long long)atomic_load(&n->tx_dropped_backend));
}

void vnet_guest_up(struct vnet *n)
{
	int err = n->be && n->be->ops->guest_up ? n->be->ops->guest_up(n->be) : 0;

	if (err)
		log_warn("virtio-net: %s: starting: %s", n->be->name, strerror(-err));
}
