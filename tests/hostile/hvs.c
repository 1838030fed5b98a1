/* A virtio-vsock whose host side connects in to the guest (hvs.h). */
#include <linux/virtio_mmio.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hrun.h"
#include "hvs.h"

struct vsock hvs;
struct hdrv hvs_g = { .slot = H_SLOT(3) };
char hvs_uds[96];

/* A virtio-vsock (guest cid 3) at slot 3 whose host side is hvs_uds; the driver brought up. */
int hvs_up(void)
{
	snprintf(hvs_uds, sizeof(hvs_uds), "%s/v%d.sock", hrun_dir, (int)getpid());
	if (vsock_attach(&hvs, &hdrv_vm, H_MMIO(3), 8, GUEST_CID, hvs_uds, NULL))
		return 0;
	hvs_g = (struct hdrv){ .t = &hvs.transport, .slot = H_SLOT(3), .rings = H_SLOT(3),
			    .nq = 3, .qsize = 64 };
	return hdrv_init(&hvs_g, HDRV_ALL_FEATURES);
}

void hvs_rx_post(unsigned i)
{
	hdrv_set_desc(&hvs_g, HVS_RX, i, HVS_RXBUF(i), 4096, VRING_DESC_F_WRITE, 0);
	hdrv_publish(&hvs_g, HVS_RX, (uint16_t)i);
}

/* The next packet the device sent the guest (its buffer posted again); 0 when none came. */
int hvs_recv(struct virtio_vsock_hdr *h, int ms)
{
	struct vring_used_elem e;

	if (hdrv_wait_next(&hvs_g, HVS_RX, ms) != HDRV_USED)
		return 0;
	e = hdrv_take(&hvs_g, HVS_RX);
	if (e.id >= 64 || e.len < VS_HDR)
		return 0;
	memcpy(h, hdrv_ptr(HVS_RXBUF(e.id)), VS_HDR);
	hvs_rx_post(e.id);
	return 1;
}

/* Publishes n copies of one packet (header, then `room` payload bytes) without waiting. */
void hvs_tx_many(const struct virtio_vsock_hdr *h, uint32_t room, unsigned n)
{
	memcpy(hdrv_ptr(HVS_TXHDR), h, VS_HDR);
	memset(hdrv_ptr(HVS_TXDATA), 'x', room);
	hdrv_set_desc(&hvs_g, HVS_TX, 0, HVS_TXHDR, VS_HDR, room ? VRING_DESC_F_NEXT : 0, 1);
	hdrv_set_desc(&hvs_g, HVS_TX, 1, HVS_TXDATA, room, 0, 0);
	for (unsigned i = 0; i < n; i++) {
		hdrv_avail(&hvs_g, HVS_TX)->ring[hvs_g.avail[HVS_TX]++ % hvs_g.qsize] = 0;
		/* Release: the ring entries before the index that publishes them. */
		__atomic_store_n(&hdrv_avail(&hvs_g, HVS_TX)->idx, hvs_g.avail[HVS_TX], __ATOMIC_RELEASE);
	}
	hdrv_reg_write(&hvs_g, VIRTIO_MMIO_QUEUE_NOTIFY, HVS_TX);
}

struct virtio_vsock_hdr hvs_hdr(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	return (struct virtio_vsock_hdr){
		.src_cid = GUEST_CID, .dst_cid = 2, .src_port = src_port, .dst_port = dst_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536,
	};
}

/* A host program connects to guest port 77; the guest accepts; 1 when "OK" comes back. */
int hvs_works(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct virtio_vsock_hdr h;
	struct pollfd p;
	char line[32] = { 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", hvs_uds);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, "CONNECT 77\n", 11) != 11)
		goto out;
	do {
		if (!hvs_recv(&h, H_WAIT_MS))
			goto out;
	} while (h.op != VIRTIO_VSOCK_OP_REQUEST || h.dst_port != 77);
	h = hvs_hdr(VIRTIO_VSOCK_OP_RESPONSE, 77, h.src_port);
	hvs_tx_many(&h, 0, 1);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ok = poll(&p, 1, H_WAIT_MS) == 1 && read(fd, line, sizeof(line) - 1) > 0 &&
	     strncmp(line, "OK ", 3) == 0;
out:
	if (fd >= 0)
		close(fd);
	return ok;
}
