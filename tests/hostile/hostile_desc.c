/*
 * The hostile-guest suite, descriptor walks: chains, indices, addresses, lengths, indirect
 * tables and directions a device must refuse, on virtio-blk (and receive buffers on net and
 * vsock). docs/threat-model.md lists the classes; hrun.h says how they run.
 */
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/layout.h"
#include "hblk.h"
#include "hdrv.h"
#include "hrun.h"
#include "net.h"
#include "victim.h"
#include "vs.h"

/* ---- attack classes: descriptor walks -------------------------------------------------- */

static void a_desc_cycle(void)
{
	blk_up();
	hdrv_desc(&vb, 0)[0] = blk_hdr(&vb, VIRTIO_BLK_T_IN, 0);
	hdrv_desc(&vb, 0)[0].flags = VRING_DESC_F_NEXT;
	hdrv_desc(&vb, 0)[0].next = 1;
	hdrv_desc(&vb, 0)[1] = (struct vring_desc){ .addr = B_DATA(&vb), .len = 512,
		.flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, .next = 0 };
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
	/* A descriptor that names itself. */
	hdrv_desc(&vb, 0)[3] = (struct vring_desc){ .addr = B_DATA(&vb), .len = 16,
		.flags = VRING_DESC_F_NEXT, .next = 3 };
	hdrv_publish(&vb, 0, 3);
	expect_broken();
	blk_recovers();
}

static void a_chain_too_long(void)
{
	struct vring_desc *ind = (void *)hdrv_ptr(BUF(vb.slot) + 0x40000);

	blk_up();
	/* Every descriptor of the table in one chain that then goes round again. */
	for (unsigned i = 0; i < QSIZE; i++)
		hdrv_desc(&vb, 0)[i] = (struct vring_desc){ .addr = B_DATA(&vb), .len = 16,
			.flags = VRING_DESC_F_NEXT, .next = (uint16_t)((i + 1) % QSIZE) };
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
	/* An indirect table of VIRTQ_MAX_SIZE + 1 entries, linked in order. */
	for (unsigned i = 0; i <= VIRTQ_MAX_SIZE; i++)
		ind[i] = (struct vring_desc){ .addr = B_DATA(&vb), .len = 16,
			.flags = VRING_DESC_F_NEXT, .next = (uint16_t)(i + 1) };
	hdrv_desc(&vb, 0)[0] = (struct vring_desc){ .addr = BUF(vb.slot) + 0x40000,
		.len = 16 * (VIRTQ_MAX_SIZE + 1), .flags = VRING_DESC_F_INDIRECT };
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
}

static void a_next_out_of_range(void)
{
	blk_up();
	hdrv_desc(&vb, 0)[0] = blk_hdr(&vb, VIRTIO_BLK_T_IN, 0);
	hdrv_desc(&vb, 0)[0].flags = VRING_DESC_F_NEXT;
	hdrv_desc(&vb, 0)[0].next = QSIZE;		/* one past the table */
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
	hdrv_desc(&vb, 0)[0].next = 0xffff;
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
}

static void a_avail_head_out_of_range(void)
{
	blk_up();
	hdrv_publish(&vb, 0, QSIZE);		/* the head itself is past the table */
	expect_broken();
	blk_recovers();
	hdrv_publish(&vb, 0, 0xffff);
	expect_broken();
	blk_recovers();
}

static void a_avail_idx_jump(void)
{
	blk_up();
	EXPECT(blk_healthy(&vb));
	/* Claims QSIZE + 5 new requests at once: more than the ring can hold. */
	vb.avail[0] = (uint16_t)(vb.avail[0] + QSIZE + 4);
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
	/* Going backwards is a jump of nearly 2^16. */
	EXPECT(blk_healthy(&vb));
	vb.avail[0] = (uint16_t)(vb.avail[0] - 3);
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
}

/* Sends a read whose data descriptor is {addr, len}; expects the device to break. */
static void blk_bad_data(uint64_t addr, uint32_t len)
{
	struct vring_desc d[3] = {
		blk_hdr(&vb, VIRTIO_BLK_T_IN, 0),
		{ .addr = addr, .len = len, .flags = VRING_DESC_F_WRITE },
		{ .addr = B_STATUS(&vb), .len = 1, .flags = VRING_DESC_F_WRITE },
	};

	chain_publish(&vb, d, 3);
	expect_broken();
	blk_recovers();
}

static void a_addr_outside_ram(void)
{
	blk_up();
	blk_bad_data(HDRV_RAM, 512);			/* just past the end */
	blk_bad_data(HDRV_RAM - 256, 512);		/* straddling the end: the guard area would catch it */
	blk_bad_data(LAYOUT_4G, 512);		/* where high RAM would be, but there is none */
	blk_bad_data(1ULL << 50, 512);
}

static void a_addr_wrap(void)
{
	blk_up();
	blk_bad_data(0xfffffffffffffe00ULL, 1024);	/* addr + len wraps to 0x200 */
	blk_bad_data(UINT64_MAX, 2);
	blk_bad_data(0xffffffffffffffffULL - HDRV_RAM + 1, (uint32_t)HDRV_RAM);
}

static void a_addr_mmio(void)
{
	blk_up();
	blk_bad_data(MMIO_BASE, 512);			/* the victim's own registers */
	blk_bad_data(MMIO_BASE + 0x1000, 512);		/* the bystander's */
	blk_bad_data(LAYOUT_MMIO_HOLE, 512);
	/* Rings placed on the MMIO window: the queue never becomes ready. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(&vb, F_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_SEL, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)MMIO_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)MMIO_BASE + 0x100);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)MMIO_BASE + 0x200);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_READY, 1);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_QUEUE_READY) == 0);
	EXPECT(hdrv_needs_reset(&vb));
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NOTIFY, 0);	/* a notify on the dead queue is harmless */
	blk_recovers();
}

static void a_zero_length(void)
{
	uint32_t ulen = 99;
	struct vring_desc d[3];

	blk_up();
	/* A zero-length data buffer: a read of nothing, nothing written but the status. */
	EXPECT(blk_req(&vb, VIRTIO_BLK_T_IN, 0, 0, &ulen) == VIRTIO_BLK_S_OK);
	EXPECT(ulen == 1);
	/* A zero-length header: IOERR. */
	d[0] = (struct vring_desc){ .addr = B_HDR(&vb), .len = 0 };
	d[1] = (struct vring_desc){ .addr = B_STATUS(&vb), .len = 1, .flags = VRING_DESC_F_WRITE };
	hdrv_ptr(B_STATUS(&vb))[0] = 0xee;
	chain_publish(&vb, d, 2);
	EXPECT(hdrv_wait_idx(&vb, 0, vb.avail[0], WAIT_MS) == HDRV_USED);
	EXPECT(hdrv_take(&vb, 0).len == 1);
	EXPECT(hdrv_ptr(B_STATUS(&vb))[0] == VIRTIO_BLK_S_IOERR);
	/* A zero-length status buffer: nowhere to answer, used length 0. */
	d[0] = blk_hdr(&vb, VIRTIO_BLK_T_IN, 0);
	d[1] = (struct vring_desc){ .addr = B_STATUS(&vb), .len = 0, .flags = VRING_DESC_F_WRITE };
	chain_publish(&vb, d, 2);
	EXPECT(hdrv_wait_idx(&vb, 0, vb.avail[0], WAIT_MS) == HDRV_USED);
	EXPECT(hdrv_take(&vb, 0).len == 0);
	/* Zero length at an address outside RAM is still outside RAM. */
	blk_bad_data(HDRV_RAM + 0x1000, 0);
}

static void a_len_4g(void)
{
	blk_up();
	blk_bad_data(B_DATA(&vb), 0xffffffffu);
	blk_bad_data(0, 0xffffffffu);
	blk_bad_data(0, 0x80000000u);
}

static void a_indirect_nested(void)
{
	gpa_t t1 = BUF(vb.slot) + 0x40000, t2 = t1 + 0x1000;
	struct vring_desc *ind1 = (void *)hdrv_ptr(t1), *ind2 = (void *)hdrv_ptr(t2);

	blk_up();
	ind2[0] = blk_hdr(&vb, VIRTIO_BLK_T_IN, 0);
	ind1[0] = (struct vring_desc){ .addr = t2, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	hdrv_desc(&vb, 0)[0] = (struct vring_desc){ .addr = t1, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
	/* A table that contains itself. */
	ind1[0] = (struct vring_desc){ .addr = t1, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	hdrv_desc(&vb, 0)[0] = ind1[0];
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
}

static void indirect_bad(gpa_t addr, uint32_t len, uint16_t flags)
{
	hdrv_desc(&vb, 0)[0] = (struct vring_desc){ .addr = addr, .len = len,
		.flags = (uint16_t)(VRING_DESC_F_INDIRECT | flags), .next = 1 };
	hdrv_publish(&vb, 0, 0);
	expect_broken();
	blk_recovers();
}

static void a_indirect_empty(void)
{
	blk_up();
	indirect_bad(BUF(vb.slot) + 0x40000, 0, 0);
	indirect_bad(HDRV_RAM + 0x1000, 0, 0);
	indirect_bad(BUF(vb.slot) + 0x40000, 16, VRING_DESC_F_NEXT);	/* indirect and NEXT */
	indirect_bad(HDRV_RAM - 16, 32, 0);					/* table past RAM */
}

static void a_indirect_len_not_16(void)
{
	blk_up();
	indirect_bad(BUF(vb.slot) + 0x40000, 40, 0);
	indirect_bad(BUF(vb.slot) + 0x40000, 15, 0);
	indirect_bad(BUF(vb.slot) + 0x40000, 0xfffffff0u, 0);
}

static void a_wrong_direction(void)
{
	struct vring_desc d[3];
	uint8_t *data = hdrv_ptr(B_DATA(&vb));

	blk_up();
	/* A read whose data buffer is device-readable: the device must not write into it. */
	memset(data, 0x5a, 512);
	d[0] = blk_hdr(&vb, VIRTIO_BLK_T_IN, 5);
	d[1] = (struct vring_desc){ .addr = B_DATA(&vb), .len = 512 };
	d[2] = (struct vring_desc){ .addr = B_STATUS(&vb), .len = 1, .flags = VRING_DESC_F_WRITE };
	chain_publish(&vb, d, 3);
	EXPECT(hdrv_wait_idx(&vb, 0, vb.avail[0], WAIT_MS) == HDRV_USED);
	EXPECT(hdrv_take(&vb, 0).len <= 1);
	for (unsigned i = 0; i < 512; i++)
		if (data[i] != 0x5a) {
			EXPECT(data[i] == 0x5a);
			break;
		}
	/* A header the device may only write: no readable header, IOERR. */
	d[0].flags = VRING_DESC_F_WRITE;
	d[1].flags = VRING_DESC_F_WRITE;
	hdrv_ptr(B_STATUS(&vb))[0] = 0xee;
	chain_publish(&vb, d, 3);
	EXPECT(hdrv_wait_idx(&vb, 0, vb.avail[0], WAIT_MS) == HDRV_USED);
	hdrv_take(&vb, 0);
	EXPECT(hdrv_ptr(B_STATUS(&vb))[0] == VIRTIO_BLK_S_IOERR);
	/* A write request whose status byte is readable only: nothing to answer in, nothing written. */
	d[0] = blk_hdr(&vb, VIRTIO_BLK_T_OUT, 7);
	d[1] = (struct vring_desc){ .addr = B_DATA(&vb), .len = 512 };
	d[2] = (struct vring_desc){ .addr = B_STATUS(&vb), .len = 1 };
	chain_publish(&vb, d, 3);
	EXPECT(hdrv_wait_idx(&vb, 0, vb.avail[0], WAIT_MS) == HDRV_USED);
	EXPECT(hdrv_take(&vb, 0).len == 0);
	/* Readable after writable breaks the queue. */
	d[0] = blk_hdr(&vb, VIRTIO_BLK_T_IN, 0);
	d[1] = (struct vring_desc){ .addr = B_STATUS(&vb), .len = 1, .flags = VRING_DESC_F_WRITE };
	d[2] = (struct vring_desc){ .addr = B_DATA(&vb), .len = 512 };
	chain_publish(&vb, d, 3);
	expect_broken();
	blk_recovers();
	/* The disk sector 7 was never overwritten by the readable-status write above. */
	EXPECT(blk_req(&vb, VIRTIO_BLK_T_IN, 7, 512, NULL) == VIRTIO_BLK_S_OK);
	EXPECT(data[0] == disk_byte(7, 0) && data[511] == disk_byte(7, 511));
}

/* ---- attack class: receive buffers the device cannot fill ------------------------------ */

/* Waits for DEVICE_NEEDS_RESET on g; 1 when it came. */
static int wait_broken(struct hdrv *g)
{
	uint64_t end = clock_now_us() + WAIT_MS * 1000ULL;

	while (!hdrv_needs_reset(g) && clock_now_us() < end)
		usleep(100);
	return hdrv_needs_reset(g);
}

/* One RX descriptor {addr, len, flags} posted on net; a frame arrives; the device must break. */
static void net_rx_bad(uint64_t addr, uint32_t len, uint16_t flags)
{
	static const uint8_t frame[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9,
					   0x88, 0xb5 };

	drv_init(&nd, &net.transport, SLOT(2), 2, (1ULL << VIRTIO_NET_F_MAC) | F_BASE);
	hdrv_desc(&nd, NRX)[0] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags };
	hdrv_publish(&nd, NRX, 0);
	EXPECT(send(net_host, frame, sizeof(frame), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(frame));
	EXPECT(wait_broken(&nd));
	EXPECT(atomic_load(&net.rx_frames) == 0);
}

/* The same on vsock's RX queue, with a host client's CONNECT as the traffic. */
static void vs_rx_bad(uint64_t addr, uint32_t len, uint16_t flags)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	drv_init(&vd, &vs.transport, SLOT(3), 3, F_BASE);
	hdrv_desc(&vd, VRX)[0] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags };
	hdrv_publish(&vd, VRX, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
	/* The write may meet a closed peer: the device checks a buffer when it takes it, and may
	 * have taken this one, broken and refused new clients on the publish's notify already. */
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    write(fd, "CONNECT 9\n", 10) != 10)
		EXPECT(errno == EPIPE && hdrv_needs_reset(&vd));
	EXPECT(wait_broken(&vd));
	if (fd >= 0)
		close(fd);
}

static void a_rx_buffer_bad(void)
{
	gpa_t nb = BUF(SLOT(2)) + 0x40000, vb_ = BUF(SLOT(3)) + 0x40000;
	int lfd;

	net_up();
	vs_up();
	net_rx_bad(nb, 2048, 0);			/* device-readable only */
	net_rx_bad(nb, 4, VRING_DESC_F_WRITE);		/* shorter than the header */
	net_rx_bad(HDRV_RAM - 16, 2048, VRING_DESC_F_WRITE);	/* running off the end of RAM */
	vs_rx_bad(vb_, 4096, 0);
	vs_rx_bad(vb_, 8, VRING_DESC_F_WRITE);
	vs_rx_bad(MMIO_BASE, 4096, VRING_DESC_F_WRITE);
	/* Both come back after a reset. */
	drv_init(&nd, &net.transport, SLOT(2), 2, (1ULL << VIRTIO_NET_F_MAC) | F_BASE);
	EXPECT(net_tx(NET_HDR + 60));
	EXPECT(host_got_frame(WAIT_MS));
	lfd = vs_listen_port(5005);
	drv_init(&vd, &vs.transport, SLOT(3), 3, F_BASE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vs_rx_post(i);
	vs_still_works(lfd, 1400, 5005);
	close(lfd);
}

#define TABLE   (H_BUF(&A.g) + 0x20000)

/* A well-formed read of sector 1 at descriptors 0..2 of A's table. */
static void good_chain(void)
{
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 1 };

	memcpy(hdrv_ptr(HBLK_HDR(&A)), &h, sizeof(h));
	hdrv_set_desc(&A.g, 0, 0, HBLK_HDR(&A), HDR_LEN, VRING_DESC_F_NEXT, 1);
	hdrv_set_desc(&A.g, 0, 1, HBLK_DATA(&A), 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	hdrv_set_desc(&A.g, 0, 2, HBLK_STATUS(&A), 1, VRING_DESC_F_WRITE, 0);
}

/*
 * With RAM above 4 GiB there is a real hole, and the host mapping of high RAM follows low
 * RAM directly: buffers in the hole or across its edges are refused and the bytes on either
 * side stay untouched; a buffer in high RAM is served.
 */
static void address_in_mmio_hole_with_high_ram(void)
{
	const uint64_t hole = 0xc0000000ULL, high = 1ULL << 32;
	uint8_t *low_end, *high_start;

	hdrv_ram_init(hole + (16ULL << 20));	/* 16 MiB above 4 GiB; lazily backed */
	low_end = hdrv_ptr(hole - 8);
	high_start = hdrv_ptr(hole);		/* host-contiguous with the low region's end */
	memset(low_end, 0x5a, 16);
	if (!world_up()) {
		EXPECT(!"set-up");
		return;
	}
	good_chain();
	hdrv_desc(&A.g, 0)[1].addr = hole - 256;		/* 512 bytes across the hole's start */
	attack_breaks_a(0);
	good_chain();
	hdrv_desc(&A.g, 0)[1].addr = 0xd0000000ULL;		/* inside the hole */
	attack_breaks_a(0);
	good_chain();
	hdrv_desc(&A.g, 0)[1].addr = high - 256;		/* across the hole's end */
	attack_breaks_a(0);
	for (unsigned i = 0; i < 8; i++)
		EXPECT(low_end[i] == 0x5a && high_start[i] == 0x5a);
	good_chain();
	hdrv_desc(&A.g, 0)[1].addr = high;
	hdrv_publish(&A.g, 0, 0);
	EXPECT_EQ(hdrv_wait_next(&A.g, 0, H_WAIT_MS), HDRV_USED);
	EXPECT_EQ(hdrv_take(&A.g, 0).len, 513);
	EXPECT_EQ(*(uint8_t *)hdrv_ptr(HBLK_STATUS(&A)), VIRTIO_BLK_S_OK);
	EXPECT_EQ(high_start[0], 0);		/* gpa 4 GiB: the zeros of sector 1 landed there */
	world_end();
}

/* Not negotiated: the device may serve the table (correctly) or refuse; nothing else. */
static void indirect_without_feature(void)
{
	struct vring_desc *t = (void *)hdrv_ptr(TABLE);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 1 };
	int r;

	if (!world_up()) {
		EXPECT(!"set-up");
		return;
	}
	EXPECT(hdrv_init(&A.g, ~(1ULL << VIRTIO_RING_F_INDIRECT_DESC)));
	memcpy(hdrv_ptr(HBLK_HDR(&A)), &h, sizeof(h));
	t[0] = (struct vring_desc){ HBLK_HDR(&A), HDR_LEN, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ HBLK_DATA(&A), 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ HBLK_STATUS(&A), 1, VRING_DESC_F_WRITE, 0 };
	*(uint8_t *)hdrv_ptr(HBLK_STATUS(&A)) = 0xee;
	hdrv_set_desc(&A.g, 0, 0, TABLE, 48, VRING_DESC_F_INDIRECT, 0);
	hdrv_publish(&A.g, 0, 0);
	r = hdrv_wait_next(&A.g, 0, H_WAIT_MS);
	EXPECT(r != HDRV_TIMEOUT);
	if (r == HDRV_USED) {
		EXPECT_EQ(hdrv_take(&A.g, 0).len, 513);
		EXPECT_EQ(*(uint8_t *)hdrv_ptr(HBLK_STATUS(&A)), VIRTIO_BLK_S_OK);
	}
	world_end();
}

static const struct hrun_class classes[] = {
	{ "descriptor-cycle", a_desc_cycle, CLASS_S },
	{ "chain-longer-than-queue", a_chain_too_long, CLASS_S },
	{ "next-index-out-of-range", a_next_out_of_range, CLASS_S },
	{ "avail-head-out-of-range", a_avail_head_out_of_range, CLASS_S },
	{ "avail-index-jump", a_avail_idx_jump, CLASS_S },
	{ "addr-outside-ram", a_addr_outside_ram, CLASS_S },
	{ "addr-len-wrap", a_addr_wrap, CLASS_S },
	{ "addr-in-mmio", a_addr_mmio, CLASS_S },
	{ "zero-length", a_zero_length, CLASS_S },
	{ "length-4g", a_len_4g, CLASS_S },
	{ "indirect-nested", a_indirect_nested, CLASS_S },
	{ "indirect-empty", a_indirect_empty, CLASS_S },
	{ "indirect-len-not-16", a_indirect_len_not_16, CLASS_S },
	{ "wrong-direction", a_wrong_direction, CLASS_S },
	{ "rx-buffer-bad", a_rx_buffer_bad, CLASS_S },
	{ "addr-in-mmio-hole-with-high-ram", address_in_mmio_hole_with_high_ram, H_CLASS_S },
	{ "indirect-without-feature", indirect_without_feature, H_CLASS_S },
};

int main(int argc, char **argv)
{
	return hrun_main("hostile_desc", classes, sizeof(classes) / sizeof(classes[0]), make_disk, argc,
			 argv);
}
