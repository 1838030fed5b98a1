/* A virtio-vsock whose guest connects out to host listeners (vs.h). */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vs.h"
#include "hrun.h"
#include "victim.h"

struct vsock vs;
struct hdrv vd;
char uds[88];

void vs_rx_post(uint16_t head)
{
	hdrv_desc(&vd, VRX)[head] = (struct vring_desc){
		.addr = BUF(vd.slot) + 0x2000ULL * head, .len = VRX_BUF, .flags = VRING_DESC_F_WRITE };
	hdrv_publish(&vd, VRX, head);
}

void vs_up(void)
{
	snprintf(uds, sizeof(uds), "%.70s/v.sock", hrun_dir);
	EXPECT(vsock_attach(&vs, &hdrv_vm, MMIO_BASE + 0x3000, 8, GUEST_CID, uds, NULL) == 0);
	drv_init(&vd, &vs.transport, SLOT(3), 3, F_BASE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vs_rx_post(i);
	bystander_up();
}

/* One TX packet: header + a payload buffer of `room` bytes ('x'). 1 when used in time. */
int vs_tx(const struct virtio_vsock_hdr *h, uint32_t room)
{
	gpa_t hdr = BUF(vd.slot) + 0x80000, data = BUF(vd.slot) + 0x90000;

	memcpy(hdrv_ptr(hdr), h, VS_HDR);
	memset(hdrv_ptr(data), 'x', room);
	hdrv_desc(&vd, VTX)[0] = (struct vring_desc){ .addr = hdr, .len = VS_HDR,
		.flags = room ? VRING_DESC_F_NEXT : 0, .next = 1 };
	hdrv_desc(&vd, VTX)[1] = (struct vring_desc){ .addr = data, .len = room };
	hdrv_publish(&vd, VTX, 0);
	if (hdrv_wait_idx(&vd, VTX, vd.avail[VTX], WAIT_MS) != HDRV_USED)
		return 0;
	hdrv_take(&vd, VTX);
	return 1;
}

/* The next RX packet's header (its buffer is given back); 0 when none came in ms. */
int vs_rx(struct virtio_vsock_hdr *h, int ms)
{
	struct vring_used_elem e;

	if (hdrv_wait_idx(&vd, VRX, (uint16_t)(vd.seen[VRX] + 1), ms) != HDRV_USED)
		return 0;
	e = hdrv_take(&vd, VRX);
	EXPECT(e.id < QSIZE && e.len >= VS_HDR && e.len <= VRX_BUF);
	if (e.id >= QSIZE)
		return 0;
	memcpy(h, hdrv_ptr(BUF(vd.slot) + 0x2000ULL * e.id), VS_HDR);
	vs_rx_post((uint16_t)e.id);
	return 1;
}

/* The next non-credit packet addressed to guest port `port`. */
int vs_rx_for(uint32_t port, struct virtio_vsock_hdr *h, int ms)
{
	while (vs_rx(h, ms))
		if (h->op != VIRTIO_VSOCK_OP_CREDIT_UPDATE && h->dst_port == port)
			return 1;
	return 0;
}

struct virtio_vsock_hdr vs_hdr(uint32_t sport, uint32_t dport, uint16_t op, uint32_t len)
{
	return (struct virtio_vsock_hdr){
		.src_cid = GUEST_CID, .dst_cid = 2, .src_port = sport, .dst_port = dport,
		.len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 256 * 1024,
	};
}

static int unix_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 512) < 0)
		EXPECT(!"listen");
	return fd;
}

/* The guest connects from sport to host port dport (someone listens there): 1 on RESPONSE. */
int vs_guest_connect(uint32_t sport, uint32_t dport)
{
	struct virtio_vsock_hdr h = vs_hdr(sport, dport, VIRTIO_VSOCK_OP_REQUEST, 0);

	EXPECT(vs_tx(&h, 0));
	return vs_rx_for(sport, &h, WAIT_MS) && h.op == VIRTIO_VSOCK_OP_RESPONSE;
}

/* Empties the accept backlog, so that the next connection accepted is a new one. */
static void accept_drain(int lfd)
{
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 0) != 1 || (fd = accept(lfd, NULL, NULL)) < 0)
			return;
		close(fd);
	}
}

/* The device still works: a fresh connection carries bytes to the host; the bystander too. */
void vs_still_works(int lfd, uint32_t sport, uint32_t dport)
{
	struct virtio_vsock_hdr h = vs_hdr(sport, dport, VIRTIO_VSOCK_OP_RW, 5);
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	char buf[8] = { 0 };
	int fd;

	accept_drain(lfd);
	EXPECT(!hdrv_needs_reset(&vd));
	EXPECT(vs_guest_connect(sport, dport));
	EXPECT(poll(&p, 1, WAIT_MS) == 1);
	fd = accept(lfd, NULL, NULL);
	EXPECT(fd >= 0);
	EXPECT(vs_tx(&h, 5));
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT(poll(&p, 1, WAIT_MS) == 1 && read(fd, buf, 5) == 5 && !memcmp(buf, "xxxxx", 5));
	if (fd >= 0)
		close(fd);
	EXPECT(blk_healthy(&by));
}

int vs_listen_port(uint32_t port)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(path, sizeof(path), "%.80s_%u", uds, port);
	return unix_listen(path);
}
