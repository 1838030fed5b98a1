/*
 * A TAP interface as network backend: one read() or write() per Ethernet frame behind a
 * 12-byte virtio-net header (IFF_VNET_HDR), without the packet-information prefix, so the
 * guest's checksum and TSO offloads reach the host kernel as they are. When the interface is
 * deleted under us, reads and writes fail from then on; the device counts the lost frames and
 * keeps running.
 */
#include "net_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/log.h"
#include "iov.h"

struct net_tap {
	struct net_backend be;
	/* Catches the tail of a frame larger than the buffer offered, to tell it apart. */
	uint8_t overflow[NET_BACKEND_FRAME_MAX + sizeof(struct virtio_net_hdr_v1)];
};

static int net_tap_send(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	ssize_t w;

	do
		w = writev(be->fd, iov, (int)n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static ssize_t net_tap_recv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct net_tap *t = (struct net_tap *)be;
	struct iovec v[n + 1];
	size_t room = iov_size(iov, n);
	ssize_t r;

	memcpy(v, iov, n * sizeof(*iov));
	v[n] = (struct iovec){ t->overflow, sizeof(t->overflow) };
	do
		r = readv(be->fd, v, (int)n + 1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? 0 : -errno;
	return (size_t)r > room ? -EMSGSIZE : r;
}

/* Tells the TAP what the guest takes: checksums left to it, TCP segments up to 64 KiB. */
static int net_tap_set_offload(struct net_backend *be, uint64_t guest_features)
{
	unsigned flags = 0;

	if (guest_features & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) {
		flags |= TUN_F_CSUM;	/* the TSO flags are refused without it */
		if (guest_features & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
			flags |= TUN_F_TSO4;
		if (guest_features & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
			flags |= TUN_F_TSO6;
	}
	if (ioctl(be->fd, TUNSETOFFLOAD, flags) < 0) {
		int err = -errno;
		log_warn("tap %s: offloads: %s", be->name, strerror(errno));
		return err;
	}
	return 0;
}

static void net_tap_close(struct net_backend *be)
{
	close(be->fd);
	free(be);
}

static const struct net_backend_ops net_tap_ops = {
	.send = net_tap_send,
	.recv = net_tap_recv,
	.set_offload = net_tap_set_offload,
	.close = net_tap_close,
};

/* The interface's MTU, which the guest must share; plain Ethernet's if it cannot be read. */
static unsigned net_tap_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	r = fd < 0 ? -1 : ioctl(fd, SIOCGIFMTU, &ifr);
	if (fd >= 0)
		close(fd);
	if (r < 0 || ifr.ifr_mtu < 68) {
		log_debug("tap %s: MTU unknown, using %u", ifname, NET_BACKEND_MTU_DEFAULT);
		return NET_BACKEND_MTU_DEFAULT;
	}
	return (unsigned)ifr.ifr_mtu;
}

/* Why TUNSETIFF failed, in words a user can act on. */
static const char *net_tap_why(int err, int create)
{
	switch (err) {
	case EPERM:
		return create ? "creating a TAP interface needs CAP_NET_ADMIN (run as root)"
			      : "not permitted (create it with 'ip tuntap add NAME mode tap user USER')";
	case EBUSY:
		return "in use by another process";
	case EINVAL:
		return "exists but is not a plain TAP interface (multi-queue, or not a TAP)";
	default:
		return strerror(err);
	}
}

int net_tap_open(const char *ifname, struct net_backend **out, struct err *e)
{
	int create = !ifname || !*ifname;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = (int)sizeof(struct virtio_net_hdr_v1);
	struct net_tap *t;
	int fd, err;

	if (!create && strlen(ifname) >= IFNAMSIZ) {
		err_set(e, -EINVAL, "tap %s: interface names have at most %d characters", ifname,
			IFNAMSIZ - 1);
		return -EINVAL;
	}
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", create ? "hvm%d" : ifname);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		err_set(e, err, "/dev/net/tun: %s", strerror(errno));
		return err;
	}
	/* TUNSETIFF attaches to an existing interface of that name or creates one. */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		err_set(e, err, "tap %s: %s", create ? "(new)" : ifname,
			net_tap_why(errno, create));
		close(fd);
		return err;
	}
	/* The 12-byte header of VIRTIO_F_VERSION_1; no offloads until the guest takes them. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0) < 0) {
		err = -errno;
		err_set(e, err, "tap %s: virtio-net header: %s", ifr.ifr_name, strerror(errno));
		close(fd);
		return err;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err_set(e, -ENOMEM, "tap %s: out of memory", ifr.ifr_name);
		close(fd);
		return -ENOMEM;
	}
	t->be = (struct net_backend){ .ops = &net_tap_ops, .fd = fd,
				      .mtu = net_tap_mtu(ifr.ifr_name), .vnet_hdr = 1 };
	snprintf(t->be.name, sizeof(t->be.name), "%s", ifr.ifr_name);
	*out = &t->be;
	return 0;
}
