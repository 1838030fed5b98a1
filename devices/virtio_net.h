/*
 * virtio-net (virtio 1.2 section 5.1): one receive and one transmit queue, a MAC, a link that
 * is always up, the backend's MTU (65520 with passt), mergeable receive buffers (a large frame
 * spans several), transmit checksums completed here (VIRTIO_NET_F_CSUM) and receive checksums
 * verified here (VIRTIO_NET_F_GUEST_CSUM), over any struct net_backend; over one that carries
 * the virtio-net header (TAP) also TSO both ways, left to the host kernel. Everything runs on
 * the device's I/O thread, which also polls the backend. The guest can never make the device
 * spin or block: when it posts too few receive buffers the backend is left unread for a moment
 * (back-pressure) and then drained into the drop counter; docs/net.md has the rules.
 */
#ifndef HVM_VIRTIO_NET_H
#define HVM_VIRTIO_NET_H

#include <stdatomic.h>
#include <linux/virtio_net.h>
#include <stdint.h>

#include "net_backend.h"
#include "virtio_mmio.h"

#define VNET_MTU_MIN    68u	/* IPv4's least */
#define VNET_ETH_EXTRA  (14u + 4u)	/* a frame's bytes beyond the MTU: Ethernet header, VLAN tag */
/* No receive buffer this long: frames are dropped (a guest that never refills costs no more). */
#define VNET_STALL_MS   100u

struct vnet {
	struct virtio_mmio transport;
	struct net_backend *be;
	uint8_t mac[6];
	int epfd;			/* inner epoll: backend fd, stall timer, more_fd */
	int timer_fd;
	int more_fd;			/* eventfd: a full batch ended, frames may wait read ahead */
	/* I/O thread only. */
	uint32_t be_events;		/* what epfd waits for on be->fd */
	int active;			/* DRIVER_OK and not broken */
	int be_gone;			/* the backend failed for good; it is no longer polled */
	int be_pending;			/* the backend holds buffered output: wait for EPOLLOUT */
	unsigned mtu;			/* the backend's (the default if it names none) */
	unsigned frame_max;		/* mtu + VNET_ETH_EXTRA, at most a backend frame */
	uint32_t rx_len;		/* a frame waits in rx_frame for receive buffers */
	int rx_stalled;			/* no receive buffer: the backend is not read */
	int rx_dropping;		/* stalled past VNET_STALL_MS: frames are dropped */
	int tx_held;			/* tx_chain waits for room in the backend */
	int tx_csum;			/* VIRTIO_NET_F_CSUM negotiated */
	int rx_csum;			/* VIRTIO_NET_F_GUEST_CSUM negotiated */
	int rx_mergeable;		/* VIRTIO_NET_F_MRG_RXBUF negotiated */
	int tx_tso, rx_tso;		/* HOST_TSO4/6, GUEST_TSO4/6 negotiated (vnet_hdr backends) */
	struct virtio_net_hdr_v1 rx_hdr;	/* the backend's header of the waiting frame */
	unsigned warned;		/* one warning per kind (VNET_WARN_* in virtio_net.c) */
	struct virtq_chain rx_first, rx_more, tx_chain;	/* scratch for the frame at hand */
	uint8_t rx_frame[NET_BACKEND_FRAME_MAX];	/* read whole, to learn how many buffers */
	uint8_t tx_csum_buf[NET_BACKEND_FRAME_MAX];	/* a frame whose checksum we complete */
	/* Counters, readable from any thread. */
	_Atomic uint64_t rx_frames, tx_frames;
	_Atomic uint64_t rx_dropped_no_buffer;	/* the guest posted too few receive buffers */
	_Atomic uint64_t rx_dropped_oversize;	/* larger than the buffers or the MTU */
	_Atomic uint64_t tx_dropped_short;	/* chain shorter than header + Ethernet header */
	_Atomic uint64_t tx_dropped_oversize;	/* frame over frame_max */
	_Atomic uint64_t tx_dropped_backend;	/* the backend failed to take it */
};

/*
 * Attaches a virtio-net device with this MAC at base/irq, moving frames of up to be->mtu
 * through be; takes ownership of be (closed on failure too). 0 or -errno (logged).
 */
int vnet_attach(struct vnet *n, struct vm *vm, gpa_t base, unsigned irq, const uint8_t mac[6],
		struct net_backend *be);

/* Stops the I/O thread, closes the backend and logs the counters at debug level. */
void vnet_detach(struct vnet *n);

/* The guest configured its network: the backend may publish host ports now (passt). */
void vnet_guest_up(struct vnet *n);

/* A random locally administered unicast MAC (from getrandom). */
void net_random_mac(uint8_t mac[6]);

/* Parses "aa:bb:cc:dd:ee:ff" (a unicast, non-zero address); 0 or -EINVAL. */
int net_parse_mac(const char *s, uint8_t mac[6]);

#endif
