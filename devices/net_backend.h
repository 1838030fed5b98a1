/*
 * The host side of a virtio-net device: an ops table over one pollable fd, so the device
 * never knows whether frames go to a TAP device, to passt over its length-prefixed stream, or
 * to a socket pair in a test. A backend never blocks: a full host side says -EAGAIN and the
 * device retries once the fd is writable. docs/net.md describes the backends and protocols.
 */
#ifndef HVM_NET_BACKEND_H
#define HVM_NET_BACKEND_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../core/err.h"

/* The largest frame any backend carries (passt's own limit is 65520 + the Ethernet header). */
#define NET_BACKEND_FRAME_MAX 65536u
/* The MTU of a backend that does not know better (a socket pair): plain Ethernet's. */
#define NET_BACKEND_MTU_DEFAULT 1500u
/* passt's own MTU: the largest an IPv4 packet may be after its 64 KiB frames' headers. */
#define NET_BACKEND_MTU_PASST 65520u

struct net_backend;

/* Called on the device's I/O thread only. */
struct net_backend_ops {
	/*
	 * Sends one whole frame: 0 when it was taken (it may sit in a buffer until flush), -EAGAIN
	 * when the host side is full and nothing was taken, any other -errno when it was lost.
	 */
	int (*send)(struct net_backend *be, const struct iovec *iov, unsigned n);
	/*
	 * Receives one frame into iov: its length, 0 when none is waiting, -EMSGSIZE when it did not
	 * fit (the frame is consumed), any other -errno when the backend is gone for good.
	 */
	ssize_t (*recv)(struct net_backend *be, const struct iovec *iov, unsigned n);
	/* Writes out what send buffered: 0 when nothing is left, -EAGAIN, or -errno. May be NULL. */
	int (*flush)(struct net_backend *be);
	/*
	 * The guest's network is configured: a backend that publishes host ports starts to now.
	 * Called once, on the VM's service thread; touches nothing the I/O thread uses. May be NULL.
	 */
	int (*guest_up)(struct net_backend *be);
	/*
	 * With vnet_hdr: the guest negotiated these virtio-net features (VIRTIO_NET_F_GUEST_*
	 * bits), so the host side may hand it frames that use them. May be NULL.
	 */
	int (*set_offload)(struct net_backend *be, uint64_t guest_features);
	/* Closes the fd and frees the backend (and stops a helper process it owns). */
	void (*close)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	int fd;			/* readable: a frame may wait; writable: room again after -EAGAIN */
	char name[32];		/* for messages; a TAP backend's is the interface name */
	unsigned mtu;		/* the largest IP packet the host side carries: the guest's MTU */
	/*
	 * Each frame, both ways, starts with a 12-byte struct virtio_net_hdr_v1 (a TAP opened with
	 * IFF_VNET_HDR): checksum and segmentation offloads pass through to the host kernel.
	 */
	int vnet_hdr;
};

/* One published port: host_port on every host address reaches guest_port in the guest. */
struct net_port_map {
	uint16_t host_port, guest_port;
	int udp;		/* 0: TCP, 1: UDP */
};

/*
 * Attaches to the existing TAP interface ifname, or creates a new one ("hvm%d") when ifname
 * is NULL or empty (needs CAP_NET_ADMIN); the fd is non-blocking and carries plain Ethernet
 * frames. 0 or -errno (why in e, naming the interface).
 */
int net_tap_open(const char *ifname, struct net_backend **out, struct err *e);

/*
 * Wraps a connected SOCK_STREAM socket speaking the passt/QEMU "stream" protocol (each frame
 * preceded by its length as a 32-bit big-endian number); takes ownership of fd. 0 or -errno.
 */
int net_stream_open(int fd, struct net_backend **out);

/*
 * Wraps a SOCK_DGRAM or SOCK_SEQPACKET socket carrying one frame per datagram (a socket pair
 * in tests); takes ownership of fd. 0 or -errno (logged).
 */
int net_dgram_open(int fd, struct net_backend **out);

/*
 * Prepares passt (found on PATH) as a child serving a stream backend over a socket pair, with
 * exactly the given ports published and nothing else reachable from the host. passt itself
 * runs from guest_up on (the ports are closed until then); closing the backend stops it.
 * 0, -ENOENT (passt not installed), -EADDRINUSE (a host port is taken), or -errno; why in e.
 */
int net_passt_start(const struct net_port_map *maps, unsigned nmaps, struct net_backend **out,
		    struct err *e);

#endif
