/* A virtio-net over a datagram socket pair at slot 2, checked both ways (hnet.h). */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "hnet.h"
#include "hblk.h"

static const uint8_t hnet_mac[6] = { 0x02, 0x68, 0x76, 0x6d, 0x00, 0x07 };
struct vnet hnet;
struct hdrv hnet_g = { .slot = H_SLOT(2) };
int hnet_host = -1;		/* the host end of the datagram backend */

/* A virtio-net over a datagram socket pair at slot 2; the driver brought up. */
int hnet_up(void)
{
	struct net_backend *be = NULL;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) || net_dgram_open(sv[0], &be))
		return 0;
	hnet_host = sv[1];
	if (vnet_attach(&hnet, &hdrv_vm, H_MMIO(2), 7, hnet_mac, be))
		return 0;
	hnet_g = (struct hdrv){ .t = &hnet.transport, .slot = H_SLOT(2), .rings = H_SLOT(2),
			    .nq = 2, .qsize = 16 };
	return hdrv_init(&hnet_g, HDRV_ALL_FEATURES);
}

void hnet_frame(uint8_t *f, size_t len)
{
	memcpy(f, hnet_mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)i;
}

/* One frame each way through a freshly initialised device; 1 when both arrive intact. */
int hnet_works(void)
{
	uint8_t f[60], got[128];
	struct pollfd p = { .fd = hnet_host, .events = POLLIN };
	uint8_t *buf = hdrv_ptr(H_BUF(&hnet_g));
	int ok;

	hnet_frame(f, sizeof(f));
	hdrv_set_desc(&hnet_g, 0, 0, H_BUF(&hnet_g), 2048, VRING_DESC_F_WRITE, 0);
	hdrv_publish(&hnet_g, 0, 0);
	if (send(hnet_host, f, sizeof(f), 0) != (ssize_t)sizeof(f) || hdrv_wait_next(&hnet_g, 0, H_WAIT_MS) != HDRV_USED)
		return 0;
	ok = hdrv_take(&hnet_g, 0).len == NET_HDR + sizeof(f) && memcmp(buf + NET_HDR, f, sizeof(f)) == 0;
	memset(hdrv_ptr(H_BUF(&hnet_g) + 0x1000), 0, NET_HDR);
	memcpy(hdrv_ptr(H_BUF(&hnet_g) + 0x1000 + NET_HDR), f, sizeof(f));
	hdrv_set_desc(&hnet_g, 1, 0, H_BUF(&hnet_g) + 0x1000, NET_HDR + sizeof(f), 0, 0);
	hdrv_publish(&hnet_g, 1, 0);
	ok &= hdrv_wait_next(&hnet_g, 1, H_WAIT_MS) == HDRV_USED;
	ok &= poll(&p, 1, H_WAIT_MS) == 1 && recv(hnet_host, got, sizeof(got), 0) == (ssize_t)sizeof(f);
	return ok && memcmp(got, f, sizeof(f)) == 0;
}
