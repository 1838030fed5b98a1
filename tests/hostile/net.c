/* A virtio-net over a datagram socket pair, as the first program drove it (net.h). */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "net.h"
#include "hrun.h"
#include "victim.h"

struct vnet net;
struct hdrv nd;
int net_host = -1;

void net_up(void)
{
	static const uint8_t mac[6] = { 0x02, 0x68, 0x76, 0x6d, 0x00, 0x01 };
	struct net_backend *be = NULL;
	int sv[2];

	EXPECT(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
	net_host = sv[1];
	EXPECT(net_dgram_open(sv[0], &be) == 0);
	EXPECT(vnet_attach(&net, &hdrv_vm, MMIO_BASE + 0x2000, 7, mac, be) == 0);
	drv_init(&nd, &net.transport, SLOT(2), 2, (1ULL << VIRTIO_NET_F_MAC) | F_BASE);
	bystander_up();
}

/* Sends one TX chain of `len` bytes (header included) in one descriptor; waits until used. */
int net_tx(uint32_t len)
{
	gpa_t buf = BUF(nd.slot) + 0x20000;

	memset(hdrv_ptr(buf), 0, NET_HDR);
	memset(hdrv_ptr(buf) + NET_HDR, 0x42, len > NET_HDR ? len - NET_HDR : 0);
	hdrv_desc(&nd, NTX)[0] = (struct vring_desc){ .addr = buf, .len = len };
	hdrv_publish(&nd, NTX, 0);
	if (hdrv_wait_idx(&nd, NTX, nd.avail[NTX], WAIT_MS) != HDRV_USED)
		return 0;
	hdrv_take(&nd, NTX);
	return 1;
}

int host_got_frame(int ms)
{
	struct pollfd p = { .fd = net_host, .events = POLLIN };
	uint8_t buf[65536];

	if (poll(&p, 1, ms) != 1)
		return 0;
	return recv(net_host, buf, sizeof(buf), MSG_DONTWAIT) > 0;
}
