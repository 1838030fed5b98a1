/*
 * The hostile-guest suite, virtio-vsock: oversized packets, credit abuse, connection floods,
 * wrong cids, packets for unknown connections and RSTs owed with no receive buffer.
 * docs/threat-model.md lists the classes; hrun.h says how they run.
 */
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hblk.h"
#include "hdrv.h"
#include "hrun.h"
#include "hvs.h"
#include "victim.h"
#include "vs.h"

/* ---- attack classes: virtio-vsock ----------------------------------------------------- */

static void a_vsock_oversized(void)
{
	struct virtio_vsock_hdr h;
	int lfd;

	vs_up();
	lfd = vs_listen_port(5000);
	EXPECT(vs_guest_connect(1000, 5000));
	/* Over the 64 KiB packet limit: the connection is reset, the device lives. */
	h = vs_hdr(1000, 5000, VIRTIO_VSOCK_OP_RW, 70000);
	EXPECT(vs_tx(&h, 70000));
	EXPECT(vs_rx_for(1000, &h, WAIT_MS) && h.op == VIRTIO_VSOCK_OP_RST);
	/* A length far beyond the buffers that carry it (and near 2^32). */
	EXPECT(vs_guest_connect(1001, 5000));
	h = vs_hdr(1001, 5000, VIRTIO_VSOCK_OP_RW, 0xffffffffu);
	EXPECT(vs_tx(&h, 16));
	EXPECT(vs_rx_for(1001, &h, WAIT_MS) && h.op == VIRTIO_VSOCK_OP_RST);
	h = vs_hdr(1002, 5000, VIRTIO_VSOCK_OP_RW, 4096);
	EXPECT(vs_tx(&h, 10));
	EXPECT(vs_rx_for(1002, &h, WAIT_MS) && h.op == VIRTIO_VSOCK_OP_RST);
	vs_still_works(lfd, 1003, 5000);
	close(lfd);
}

static void a_vsock_credit_abuse(void)
{
	struct virtio_vsock_hdr h;
	int lfd, fd, reset = 0;

	vs_up();
	lfd = vs_listen_port(5001);
	EXPECT(vs_guest_connect(1100, 5001));
	fd = accept(lfd, NULL, NULL);		/* accepted and never read */
	/* 64 KiB packets far past the 256 KiB the device offered. */
	for (int i = 0; i < 32 && !reset; i++) {
		h = vs_hdr(1100, 5001, VIRTIO_VSOCK_OP_RW, 65536);
		EXPECT(vs_tx(&h, 65536));
		while (!reset && vs_rx(&h, 20))
			reset = h.dst_port == 1100 && h.op == VIRTIO_VSOCK_OP_RST;
	}
	EXPECT(reset);
	if (fd >= 0)
		close(fd);
	/* A guest that advertises no room at all: the device must not spin sending to it. */
	EXPECT(vs_guest_connect(1101, 5001));
	fd = accept(lfd, NULL, NULL);
	h = vs_hdr(1101, 5001, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
	h.buf_alloc = 0;
	EXPECT(vs_tx(&h, 0));
	if (fd >= 0) {
		static char big[256 * 1024];
		uint64_t c0, c1;
		EXPECT(send(fd, big, sizeof(big), MSG_DONTWAIT | MSG_NOSIGNAL) > 0);
		usleep(100 * 1000);
		c0 = hrun_cpu_ms();
		usleep(500 * 1000);
		c1 = hrun_cpu_ms();
		EXPECT(c1 - c0 < 150);
		close(fd);
	}
	vs_still_works(lfd, 1102, 5001);
	close(lfd);
}

static void a_vsock_conn_flood(void)
{
	struct virtio_vsock_hdr h;
	int lfd, fds[VSOCK_MAX_CONNS + 8], nfd = 0, answered = 0, refused = 0;
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	vs_up();
	lfd = vs_listen_port(5002);
	/* The guest opens far more connections than the device serves. */
	for (uint32_t i = 0; i < VSOCK_MAX_CONNS + 40; i++) {
		h = vs_hdr(20000 + i, 5002, VIRTIO_VSOCK_OP_REQUEST, 0);
		EXPECT(vs_tx(&h, 0));
		if (vs_rx_for(20000 + i, &h, WAIT_MS)) {
			answered += h.op == VIRTIO_VSOCK_OP_RESPONSE;
			refused += h.op == VIRTIO_VSOCK_OP_RST;
		}
	}
	EXPECT(answered <= VSOCK_MAX_CONNS && refused >= 40);
	/* Host clients pile on as well: the ones over the limit are closed. */
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
	for (int i = 0; i < VSOCK_MAX_CONNS + 8; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			fds[nfd++] = fd;
		else if (fd >= 0)
			close(fd);
	}
	EXPECT(!hdrv_needs_reset(&vd));
	/* The guest lets go (RST on each): the device serves again. */
	for (uint32_t i = 0; i < VSOCK_MAX_CONNS + 40; i++) {
		h = vs_hdr(20000 + i, 5002, VIRTIO_VSOCK_OP_RST, 0);
		EXPECT(vs_tx(&h, 0));
	}
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	usleep(100 * 1000);
	while (vs_rx(&h, 50))
		;
	vs_still_works(lfd, 30000, 5002);
	close(lfd);
}

static void a_vsock_wrong_cid(void)
{
	struct virtio_vsock_hdr h;
	int lfd;

	vs_up();
	lfd = vs_listen_port(5003);
	EXPECT(vs_guest_connect(1200, 5003));
	/* Data claiming to come from another guest, or going to a cid that is not the host. */
	h = vs_hdr(1200, 5003, VIRTIO_VSOCK_OP_RW, 4);
	h.src_cid = 4;
	EXPECT(vs_tx(&h, 4));
	EXPECT(vs_rx_for(1200, &h, WAIT_MS) && h.op == VIRTIO_VSOCK_OP_RST);
	h = vs_hdr(1201, 5003, VIRTIO_VSOCK_OP_REQUEST, 0);
	h.dst_cid = 1;
	EXPECT(vs_tx(&h, 0));
	EXPECT(vs_rx_for(1201, &h, WAIT_MS) && h.op == VIRTIO_VSOCK_OP_RST);
	h = vs_hdr(1202, 5003, VIRTIO_VSOCK_OP_REQUEST, 0);
	h.dst_cid = 0xffffffffffffffffULL;
	h.src_cid = 0x100000003ULL;		/* the guest's cid with high bits set */
	EXPECT(vs_tx(&h, 0));
	EXPECT(vs_rx_for(1202, &h, WAIT_MS) && h.op == VIRTIO_VSOCK_OP_RST);
	vs_still_works(lfd, 1203, 5003);
	close(lfd);
}

/* Packets for connections that do not exist: one RST each (none for an RST), nothing else. */
static void vsock_unknown_connections(void)
{
	static const uint16_t ops[] = {
		VIRTIO_VSOCK_OP_RW, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_OP_CREDIT_UPDATE,
		VIRTIO_VSOCK_OP_CREDIT_REQUEST, VIRTIO_VSOCK_OP_RESPONSE, VIRTIO_VSOCK_OP_RST,
	};
	struct virtio_vsock_hdr h;
	unsigned rsts = 0;

	if (!hblk_up(&B, 1, 0) || !hvs_up()) {
		EXPECT(!"set-up");
		return;
	}
	for (unsigned i = 0; i < 32; i++)
		hvs_rx_post(i);
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		h = hvs_hdr(ops[i], 1000 + i, 2000 + i);
		h.len = ops[i] == VIRTIO_VSOCK_OP_RW ? 8 : 0;
		hvs_tx_many(&h, h.len, 1);
		EXPECT_EQ(hdrv_wait_next(&hvs_g, HVS_TX, H_WAIT_MS), HDRV_USED);
		hvs_g.seen[HVS_TX] = hdrv_used(&hvs_g, HVS_TX)->idx;
	}
	while (hvs_recv(&h, 200)) {
		EXPECT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
		EXPECT(h.src_port == h.dst_port + 1000 && h.dst_port >= 1000 && h.dst_port < 1005);
		rsts++;
	}
	EXPECT_EQ(rsts, 5);
	EXPECT(!hdrv_needs_reset(&hvs_g));
	EXPECT(hvs_works());
	EXPECT(hblk_works(&B, 3));
	EXPECT(hrun_idle());
}

/*
 * Packets that each earn an RST while the guest posts no receive buffer: the RSTs owed are
 * bounded, the transmit queue waits (no spinning, no growth), and all is answered once
 * buffers come.
 */
static void vsock_rst_flood_without_rx_buffers(void)
{
	struct virtio_vsock_hdr h = hvs_hdr(VIRTIO_VSOCK_OP_RW, 5, 6);
	long rss;
	unsigned rsts = 0;

	if (!hblk_up(&B, 1, 0) || !hvs_up()) {
		EXPECT(!"set-up");
		return;
	}
	hvs_tx_many(&h, 0, 64);
	usleep(100000);
	hvs_tx_many(&h, 0, 64);
	usleep(100000);
	rss = hrun_rss_kib();
	EXPECT(hdrv_used(&hvs_g, HVS_TX)->idx <= 64 + VSOCK_RST_RING);
	EXPECT(hrun_idle());
	EXPECT(hrun_rss_kib() - rss < 1024);
	for (unsigned i = 0; i < 32; i++)
		hvs_rx_post(i);
	while (rsts < 128 && hvs_recv(&h, H_WAIT_MS)) {
		EXPECT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
		rsts++;
	}
	EXPECT_EQ(rsts, 128);
	EXPECT_EQ(hdrv_used(&hvs_g, HVS_TX)->idx, 128);
	EXPECT(!hvs_recv(&h, 100));
	EXPECT(hvs_works());
	EXPECT(hblk_works(&B, 3));
}

static const struct hrun_class classes[] = {
	{ "vsock-oversized", a_vsock_oversized, CLASS_S },
	{ "vsock-credit-abuse", a_vsock_credit_abuse, CLASS_S },
	{ "vsock-conn-flood", a_vsock_conn_flood, CLASS_S },
	{ "vsock-wrong-cid", a_vsock_wrong_cid, CLASS_S },
	{ "vsock-unknown-connection", vsock_unknown_connections, H_CLASS_S },
	{ "vsock-rst-flood-without-rx-buffers", vsock_rst_flood_without_rx_buffers, H_CLASS_S },
};

int main(int argc, char **argv)
{
	return hrun_main("hostile_vsock", classes, sizeof(classes) / sizeof(classes[0]), make_disk, argc,
			 argv);
}
