/*
 * virtio-net TX and RX handling over hostile rings, with a socket pair behind the device.
 * The input's first FUZZ_RAM bytes are guest RAM (fuzz_dev.h: queue 0 receive, queue 1
 * transmit); the rest is what the host side sends. Its first byte picks the backend: even,
 * datagrams (one frame each, [len lo][len hi][bytes] records); odd, passt's stream protocol
 * (the bytes go to the socket as they are, length prefixes and all); its bit 1 makes frames
 * carry the virtio-net header both ways (as over TAP, with TSO offered). A fresh device and
 * socket pair per input: backend state (a stream whose framing broke) must not carry over.
 */
#include <sys/socket.h>
#include <unistd.h>

#include "../../devices/virtio_net.h"
#include "fuzz_dev.h"

#define HOST_FRAMES 8		/* datagrams per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t mac[6] = { 0x02, 0x68, 0x76, 0x6d, 0x00, 0x01 };

static struct vnet dev;
static int host_fd = -1;	/* our end of the backend's socket pair */

static void dev_attach(int type, int vnet_hdr)
{
	struct net_backend *be = NULL;
	int sv[2];

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	host_fd = sv[1];
	fuzz_vm.mmio.count = 0;		/* the previous input's device is gone */
	if ((type == SOCK_STREAM ? net_stream_open(sv[0], &be) : net_dgram_open(sv[0], &be)) < 0)
		abort();
	be->vnet_hdr = vnet_hdr;
	if (vnet_attach(&dev, &fuzz_vm, FUZZ_MMIO, 5, mac, be) < 0)
		abort();
	fuzz_dev_sync(&dev.transport);
}

static void host_send(int type, const uint8_t *p, size_t n)
{
	if (type == SOCK_STREAM) {
		send(host_fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		return;
	}
	for (unsigned i = 0; i < HOST_FRAMES && n >= 2; i++) {
		size_t len = (size_t)p[0] | (size_t)p[1] << 8;
		if (len > n - 2)
			len = n - 2;
		if (send(host_fd, p + 2, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			return;
		p += 2 + len;
		n -= 2 + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *host = size > FUZZ_RAM ? data + FUZZ_RAM : NULL;
	size_t nhost = host ? size - FUZZ_RAM : 0;
	int type = nhost && (host[0] & 1) ? SOCK_STREAM : SOCK_DGRAM;

	if (!fuzz_ram)
		fuzz_dev_init();
	dev_attach(type, nhost && (host[0] & 2));
	fuzz_dev_up(&dev.transport, 2, data, size);
	fuzz_dev_notify(&dev.transport, 1);		/* transmit what the guest queued */
	if (nhost)
		host_send(type, host + 1, nhost - 1);
	fuzz_dev_pump(&dev.transport);			/* receive into posted buffers */
	fuzz_dev_notify(&dev.transport, 0);
	fuzz_dev_pump(&dev.transport);
	fuzz_dev_notify(&dev.transport, 1);
	vnet_detach(&dev);
	close(host_fd);
	return 0;
}
