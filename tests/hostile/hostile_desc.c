/*
 * The hostile-guest suite: an in-process "guest driver" that attacks the real devices
 * through the real virtio-mmio register interface and rings in guest RAM, the way
 * tests/unit/test_virtio_net.c drives a device, but with every rule broken on purpose.
 *
 * Guest RAM is an mmap with PROT_NONE guard areas on both sides: a VMM write (or read)
 * outside RAM kills the process. Each attack class runs in a forked child under alarm(),
 * so a crash or a hang fails that class only and the suite goes on. A class survives when
 * the device failed the request (an error status, used length 0, an RST) or marked itself
 * DEVICE_NEEDS_RESET, came back after a reset, and a second, healthy device in the same
 * process still served a request. docs/threat-model.md maps classes to the cases here.
 *
 * Output: one line per class on stdout, "<class>: survived" or "<class>: FAILED"; the
 * child's log is printed only for failed classes. Exit status 1 when any class failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../core/layout.h"
#include "../../devices/serial.h"
#include "../../devices/virtio_blk.h"
#include "../../devices/virtio_net.h"
#include "../../devices/virtio_vsock.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../core/vm.h"
#include "hdrv.h"
#include "hrun.h"

#define MMIO_BASE  0xd0000000ULL
#define QSIZE      16
#define WAIT_MS    2000
#define CLASS_S    20			/* alarm() per class */
#define DISK_SECT  2048ULL		/* 1 MiB disk */
#define VS_HDR     ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define GUEST_CID  3

/* Each device the guest drives gets 2 MiB of RAM: rings at +0x1000, buffers from +0x10000. */
#define SLOT(k)    (0x200000ULL * (k))
#define BUF(s)     ((s) + 0x10000ULL)

static char disk_path[96];

#define S_AD (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define F_BASE ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

/* Resets the device and brings it up like a well-behaved driver (the attacks come later). */
static void drv_init(struct hdrv *g, struct virtio_mmio *t, gpa_t slot, unsigned nq, uint64_t f)
{
	g->t = t;
	g->slot = slot;
	g->rings = slot + 0x1000;
	g->nq = nq;
	g->qsize = QSIZE;
	hdrv_reset(g);
	EXPECT(hdrv_finish(g, f));
}

/* ---- virtio-blk requests ------------------------------------------------------------- */

static struct vblk victim_blk, bystander_blk;
static struct hdrv vb, by;

/* Buffers inside a device slot: header, data (up to 64 KiB), status. */
#define B_HDR(g)    (BUF((g)->slot))
#define B_DATA(g)   (BUF((g)->slot) + 0x1000)
#define B_STATUS(g) (BUF((g)->slot) + 0x20000)

/* Places a blk header in RAM and returns a descriptor for it. */
static struct vring_desc blk_hdr(struct hdrv *g, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };

	memcpy(hdrv_ptr(B_HDR(g)), &h, sizeof(h));
	return (struct vring_desc){ .addr = B_HDR(g), .len = sizeof(h) };
}

/* Publishes the descriptors d[0..n) as one chain (NEXT links filled in) at table slot 0. */
static void chain_publish(struct hdrv *g, const struct vring_desc *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		hdrv_desc(g, 0)[i] = d[i];
		if (i + 1 < n) {
			hdrv_desc(g, 0)[i].flags |= VRING_DESC_F_NEXT;
			hdrv_desc(g, 0)[i].next = (uint16_t)(i + 1);
		}
	}
	hdrv_publish(g, 0, 0);
}

/* A normal 3-descriptor blk request; returns the status byte, or -1 when not used in time. */
static int blk_req(struct hdrv *g, uint32_t type, uint64_t sector, uint32_t len, uint32_t *used_len)
{
	struct vring_desc d[3] = {
		blk_hdr(g, type, sector),
		{ .addr = B_DATA(g), .len = len,
		  .flags = type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0 },
		{ .addr = B_STATUS(g), .len = 1, .flags = VRING_DESC_F_WRITE },
	};
	struct vring_used_elem e;

	hdrv_ptr(B_STATUS(g))[0] = 0xee;
	chain_publish(g, d, 3);
	if (hdrv_wait_idx(g, 0, g->avail[0], WAIT_MS) != HDRV_USED)
		return -1;
	e = hdrv_take(g, 0);
	if (used_len)
		*used_len = e.len;
	return hdrv_ptr(B_STATUS(g))[0];
}

/* The byte pattern of the disk image: sector s, byte i. */
static uint8_t disk_byte(uint64_t s, unsigned i)
{
	return (uint8_t)(s * 7 + i * 13 + 1);
}

/* A healthy device still serves a read of sector 5 with the right bytes. */
static int blk_healthy(struct hdrv *g)
{
	uint32_t ulen = 0;
	int st = blk_req(g, VIRTIO_BLK_T_IN, 5, 512, &ulen);
	int ok = st == VIRTIO_BLK_S_OK && ulen == 513;

	for (unsigned i = 0; ok && i < 512; i++)
		ok = hdrv_ptr(B_DATA(g))[i] == disk_byte(5, i);
	return ok;
}

/* Writes the patterned disk image, fresh for every class. */
static void make_disk(void)
{
	uint8_t sec[512];
	int fd;

	snprintf(disk_path, sizeof(disk_path), "%s/disk.img", hrun_dir);
	fd = open(disk_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	for (uint64_t s = 0; fd >= 0 && s < DISK_SECT; s++) {
		for (unsigned i = 0; i < 512; i++)
			sec[i] = disk_byte(s, i);
		if (write(fd, sec, 512) != 512)
			break;
	}
	if (fd >= 0)
		close(fd);
}

/* The bystander: a read-only virtio-blk on the same image in slot 1 (attached once). */
static void bystander_up(void)
{
	static int up;

	if (up++)
		return;
	EXPECT(vblk_attach(&bystander_blk, &hdrv_vm, MMIO_BASE + 0x1000, 6, disk_path, 1, "bystander") == 0);
	drv_init(&by, &bystander_blk.transport, SLOT(1), 1, F_BASE);
}

/* The victim blk device in slot 0, the bystander (read-only, same image) in slot 1. */
static void blk_up(void)
{
	EXPECT(vblk_attach(&victim_blk, &hdrv_vm, MMIO_BASE, 5, disk_path, 0, "victim") == 0);
	drv_init(&vb, &victim_blk.transport, SLOT(0), 1, F_BASE);
	bystander_up();
}

/* After an attack: the victim is broken or failed the request; a reset brings it back. */
static void blk_recovers(void)
{
	drv_init(&vb, &victim_blk.transport, SLOT(0), 1, F_BASE);
	EXPECT(!hdrv_needs_reset(&vb));
	EXPECT(blk_healthy(&vb));
	EXPECT(blk_healthy(&by));
}

/* Publishes a hand-made chain on the victim and expects DEVICE_NEEDS_RESET. */
static void expect_broken(void)
{
	uint64_t end = clock_now_us() + WAIT_MS * 1000ULL;
	uint16_t used0 = vb.seen[0];

	/* The transport sets NEEDS_RESET before it raises the interrupt that tells of it (so a
	 * driver woken by the interrupt sees the status): wait for both. */
	while (!(hdrv_needs_reset(&vb) &&
		 (hdrv_reg_read(&vb, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG)) &&
	       clock_now_us() < end)
		usleep(100);
	EXPECT(hdrv_needs_reset(&vb));
	EXPECT(__atomic_load_n(&hdrv_used(&vb, 0)->idx, __ATOMIC_ACQUIRE) == used0);	/* not served */
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
}

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

/* ---- attack classes: the transport ------------------------------------------------------ */

static void a_queue_reconfig_after_driver_ok(void)
{
	blk_up();
	/* Layout writes to a live queue are ignored: it keeps working from its old rings. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_SEL, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NUM, 3);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)MMIO_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0xffffffffu);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x7);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x10);
	EXPECT(blk_healthy(&vb));
	/* Turned off, pointed outside RAM and on again: the queue refuses and the device breaks. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_READY, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)MMIO_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_READY, 1);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_QUEUE_READY) == 0);
	EXPECT(hdrv_needs_reset(&vb));
	hdrv_publish(&vb, 0, 0);
	/* Queue selectors past the device's queues read as absent and take no writes. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_SEL, 7);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_READY, 1);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_SEL, 0xffffffffu);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NUM, 8);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	blk_recovers();
}

/* Sets queue 0 of the victim to `size`, asks for READY and expects a refusal. */
static void queue_size_refused(uint32_t size)
{
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(&vb, F_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	hdrv_queue_setup(&vb, 0, size);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_QUEUE_READY) == 0);
	EXPECT(hdrv_needs_reset(&vb));
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	hdrv_avail(&vb, 0)->idx = 1;
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	blk_recovers();
}

static void a_queue_size_zero(void)
{
	blk_up();
	queue_size_refused(0);
}

static void a_queue_size_not_pow2(void)
{
	blk_up();
	queue_size_refused(3);
	queue_size_refused(100);
	queue_size_refused(255);
}

static void a_queue_size_above_max(void)
{
	blk_up();
	queue_size_refused(512);
	queue_size_refused(0x10000);		/* truncates to 0 in 16 bits */
	queue_size_refused(0x10010);		/* truncates to 16: must still be refused */
	queue_size_refused(0xffffffffu);
}

/* Access helper with canaries around the data: no write past len bytes. */
static int access_clean(struct virtio_mmio *t, uint64_t off, unsigned len, int is_write,
			uint8_t *out)
{
	uint8_t buf[32];

	memset(buf, 0xa5, sizeof(buf));
	if (is_write)
		memset(buf + 8, 0xff, len);
	virtio_mmio_access(t, off, buf + 8, len, is_write);
	if (out)
		memcpy(out, buf + 8, len);
	for (unsigned i = 0; i < 8; i++)
		if (buf[i] != 0xa5 || buf[8 + len + i] != 0xa5)
			return 0;
	return 1;
}

static void a_mmio_unaligned(void)
{
	uint8_t v[8];

	blk_up();
	/* Misaligned 4-byte accesses are ignored (reads see zeros): status stays as it is. */
	for (uint64_t off = VIRTIO_MMIO_STATUS + 1; off < VIRTIO_MMIO_STATUS + 4; off++) {
		EXPECT(access_clean(vb.t, off, 4, 1, NULL));
		EXPECT(access_clean(vb.t, off, 4, 0, v));
		EXPECT(v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0);
	}
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_NOTIFY + 2, 4, 1, NULL));
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_READY + 1, 4, 1, NULL));
	EXPECT(access_clean(vb.t, 0xffd, 4, 0, v));		/* the last bytes of the window */
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) ==
	       (S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK));
	EXPECT(blk_healthy(&vb));
	EXPECT(blk_healthy(&by));
}

static void a_mmio_wrong_width(void)
{
	static const unsigned widths[] = { 1, 2, 8 };
	uint8_t v[8];

	blk_up();
	for (unsigned w = 0; w < 3; w++) {
		for (uint64_t off = 0; off < VIRTIO_MMIO_CONFIG; off += 4) {
			EXPECT(access_clean(vb.t, off, widths[w], 0, v));
			for (unsigned b = 0; b < widths[w]; b++)
				EXPECT(v[b] == 0);	/* not a partial register */
		}
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_STATUS, widths[w], 1, NULL));	/* 0xff.. */
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_NOTIFY, widths[w], 1, NULL));
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_READY, widths[w], 1, NULL));
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_NUM, widths[w], 1, NULL));
	}
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) ==
	       (S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK));
	EXPECT(blk_healthy(&vb));
	EXPECT(blk_healthy(&by));
}

static void a_config_out_of_range(void)
{
	uint8_t v[8], zero[8] = { 0 };
	uint32_t size;

	blk_up();
	size = victim_blk.transport.ops->config_size;
	/* Straddling the end, past the end, at the end of the window, at absurd offsets. */
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_CONFIG + size - 2, 4, 0, v) && !memcmp(v, zero, 4));
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_CONFIG + size, 8, 0, v) && !memcmp(v, zero, 8));
	EXPECT(access_clean(vb.t, 0xff8, 8, 0, v) && !memcmp(v, zero, 8));
	EXPECT(access_clean(vb.t, UINT64_MAX - 3, 4, 0, v) && !memcmp(v, zero, 4));
	EXPECT(access_clean(vb.t, (uint64_t)VIRTIO_MMIO_CONFIG + 0xffffffffULL, 8, 0, v));
	/* Writes anywhere in config space (read-only for blk) change nothing. */
	for (uint32_t off = 0; off < size + 8; off++)
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_CONFIG + off, 8, 1, NULL));
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_CONFIG, 8, 0, v));
	EXPECT(!memcmp(v, &(uint64_t){ DISK_SECT }, 8));	/* capacity still the truth */
	EXPECT(blk_healthy(&vb));
	EXPECT(blk_healthy(&by));
}

static void a_unoffered_features(void)
{
	blk_up();
	/* A feature bit the device never offered: FEATURES_OK does not stick. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(&vb, F_BASE | (1ULL << 63) | (1ULL << VIRTIO_BLK_F_MQ));
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	EXPECT(!(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	/* Without VERSION_1 (a legacy driver) neither. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(&vb, 1ULL << VIRTIO_BLK_F_FLUSH);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	EXPECT(!(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	/* Feature words past the second select nothing; features are frozen after FEATURES_OK. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_reg_write(&vb, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffffu);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_DEVICE_FEATURES) == 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0xffffffffu);
	hdrv_reg_write(&vb, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffffu);
	hdrv_features_write(&vb, F_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	hdrv_features_write(&vb, ~0ULL);
	EXPECT(victim_blk.transport.driver_features == F_BASE);
	blk_recovers();
}

/* ---- attack classes: virtio-blk requests ------------------------------------------------ */

static void a_blk_sector_past_end(void)
{
	uint32_t ulen = 99;

	blk_up();
	EXPECT(blk_req(&vb, VIRTIO_BLK_T_IN, DISK_SECT, 512, &ulen) == VIRTIO_BLK_S_IOERR);
	EXPECT(ulen == 1);
	EXPECT(blk_req(&vb, VIRTIO_BLK_T_IN, DISK_SECT - 1, 1024, &ulen) == VIRTIO_BLK_S_IOERR);
	EXPECT(blk_req(&vb, VIRTIO_BLK_T_OUT, DISK_SECT, 512, NULL) == VIRTIO_BLK_S_IOERR);
	EXPECT(blk_req(&vb, VIRTIO_BLK_T_OUT, DISK_SECT - 1, 1024, NULL) == VIRTIO_BLK_S_IOERR);
	/* Not a whole number of sectors. */
	EXPECT(blk_req(&vb, VIRTIO_BLK_T_IN, 0, 100, NULL) == VIRTIO_BLK_S_IOERR);
	EXPECT(blk_req(&vb, VIRTIO_BLK_T_IN, DISK_SECT - 1, 512, NULL) == VIRTIO_BLK_S_OK);
	blk_recovers();
}

static void a_blk_sector_overflow(void)
{
	static const uint64_t bad[] = { UINT64_MAX, UINT64_MAX / 512 + 1, 1ULL << 63,
					(UINT64_MAX / 512) - 1, 1ULL << 55 };
	struct stat st;

	blk_up();
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT(blk_req(&vb, VIRTIO_BLK_T_IN, bad[i], 512, NULL) == VIRTIO_BLK_S_IOERR);
		EXPECT(blk_req(&vb, VIRTIO_BLK_T_OUT, bad[i], 512, NULL) == VIRTIO_BLK_S_IOERR);
	}
	/* The image did not grow: no write landed at a wrapped offset past the end. */
	EXPECT(stat(disk_path, &st) == 0 && (uint64_t)st.st_size == DISK_SECT * 512);
	blk_recovers();
}

static void a_blk_no_status(void)
{
	struct vring_desc d[2];

	blk_up();
	/* Only a header: no writable byte to answer in; used with length 0, device fine. */
	d[0] = blk_hdr(&vb, VIRTIO_BLK_T_IN, 0);
	chain_publish(&vb, d, 1);
	EXPECT(hdrv_wait_idx(&vb, 0, vb.avail[0], WAIT_MS) == HDRV_USED);
	EXPECT(hdrv_take(&vb, 0).len == 0);
	/* A write whose data is there but no status. */
	d[0] = blk_hdr(&vb, VIRTIO_BLK_T_OUT, 3);
	d[1] = (struct vring_desc){ .addr = B_DATA(&vb), .len = 512 };
	chain_publish(&vb, d, 2);
	EXPECT(hdrv_wait_idx(&vb, 0, vb.avail[0], WAIT_MS) == HDRV_USED);
	EXPECT(hdrv_take(&vb, 0).len == 0);
	EXPECT(!hdrv_needs_reset(&vb));
	blk_recovers();
}

static void a_blk_unknown_type(void)
{
	static const uint32_t types[] = { 0xdead, 2, 3, VIRTIO_BLK_T_DISCARD,
					  VIRTIO_BLK_T_WRITE_ZEROES, 0xffffffffu };
	uint32_t ulen = 99;

	blk_up();
	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EXPECT(blk_req(&vb, types[i], 0, 512, &ulen) == VIRTIO_BLK_S_UNSUPP);
		EXPECT(ulen == 1);
	}
	/* A header shorter than a header. */
	struct vring_desc d[2] = { blk_hdr(&vb, VIRTIO_BLK_T_IN, 0),
		{ .addr = B_STATUS(&vb), .len = 1, .flags = VRING_DESC_F_WRITE } };
	d[0].len = 7;
	chain_publish(&vb, d, 2);
	EXPECT(hdrv_wait_idx(&vb, 0, vb.avail[0], WAIT_MS) == HDRV_USED);
	hdrv_take(&vb, 0);
	EXPECT(hdrv_ptr(B_STATUS(&vb))[0] == VIRTIO_BLK_S_IOERR);
	blk_recovers();
}

/* ---- attack classes: virtio-net ------------------------------------------------------- */

static struct vnet net;
static struct hdrv nd;
static int net_host = -1;
enum { NRX, NTX };
#define NET_HDR 12u

static void net_up(void)
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
static int net_tx(uint32_t len)
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

static int host_got_frame(int ms)
{
	struct pollfd p = { .fd = net_host, .events = POLLIN };
	uint8_t buf[65536];

	if (poll(&p, 1, ms) != 1)
		return 0;
	return recv(net_host, buf, sizeof(buf), MSG_DONTWAIT) > 0;
}

static void a_net_tx_short(void)
{
	net_up();
	EXPECT(net_tx(0));
	EXPECT(net_tx(5));
	EXPECT(net_tx(NET_HDR));
	EXPECT(net_tx(NET_HDR + 13));		/* one byte short of an Ethernet header */
	EXPECT(atomic_load(&net.tx_dropped_short) == 4);
	EXPECT(!host_got_frame(100));
	EXPECT(!hdrv_needs_reset(&nd));
	EXPECT(net_tx(NET_HDR + 60));		/* a normal frame still goes out */
	EXPECT(host_got_frame(WAIT_MS));
	EXPECT(blk_healthy(&by));
}

static void a_net_tx_long(void)
{
	net_up();
	EXPECT(net_tx(NET_HDR + net.frame_max + 1));
	EXPECT(net_tx(NET_HDR + 65536));
	EXPECT(net_tx(NET_HDR + 0x100000));
	EXPECT(atomic_load(&net.tx_dropped_oversize) == 3);
	EXPECT(!host_got_frame(100));
	EXPECT(net_tx(NET_HDR + net.frame_max));	/* the largest legal frame goes out */
	EXPECT(host_got_frame(WAIT_MS));
	EXPECT(blk_healthy(&by));
}

static void a_net_rx_flood(void)
{
	uint8_t frame[1514];
	uint64_t c0, c1, end;
	unsigned sent = 0;

	net_up();
	memset(frame, 0xff, 6);			/* broadcast */
	memset(frame + 6, 0x02, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	/* The guest posted no receive buffers; the host sends as fast as the socket takes. */
	c0 = hrun_cpu_ms();
	end = clock_now_us() + 1000 * 1000;
	while (clock_now_us() < end) {
		if (send(net_host, frame, sizeof(frame), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
			sent++;
		else
			usleep(1000);
	}
	usleep(300 * 1000);
	c1 = hrun_cpu_ms();
	EXPECT(sent > 0);
	EXPECT(atomic_load(&net.rx_dropped_no_buffer) > 0);
	EXPECT(atomic_load(&net.rx_frames) == 0);
	/* Idle afterwards: the I/O thread sleeps, it does not spin on the full backend. */
	c0 = hrun_cpu_ms();
	usleep(1000 * 1000);
	c1 = hrun_cpu_ms();
	EXPECT(c1 - c0 < 200);
	if (c1 - c0 >= 200)
		fprintf(stderr, "process CPU over 1 s idle: %llu ms\n", (unsigned long long)(c1 - c0));
	EXPECT(!hdrv_needs_reset(&nd));
	EXPECT(blk_healthy(&by));
}

/* ---- attack classes: virtio-vsock ----------------------------------------------------- */

static struct vsock vs;
static struct hdrv vd;
static char uds[88];
enum { VRX, VTX };
#define VRX_BUF (VS_HDR + 4096)

static void vs_rx_post(uint16_t head)
{
	hdrv_desc(&vd, VRX)[head] = (struct vring_desc){
		.addr = BUF(vd.slot) + 0x2000ULL * head, .len = VRX_BUF, .flags = VRING_DESC_F_WRITE };
	hdrv_publish(&vd, VRX, head);
}

static void vs_up(void)
{
	snprintf(uds, sizeof(uds), "%.70s/v.sock", hrun_dir);
	EXPECT(vsock_attach(&vs, &hdrv_vm, MMIO_BASE + 0x3000, 8, GUEST_CID, uds) == 0);
	drv_init(&vd, &vs.transport, SLOT(3), 3, F_BASE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vs_rx_post(i);
	bystander_up();
}

/* One TX packet: header + a payload buffer of `room` bytes ('x'). 1 when used in time. */
static int vs_tx(const struct virtio_vsock_hdr *h, uint32_t room)
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
static int vs_rx(struct virtio_vsock_hdr *h, int ms)
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
static int vs_rx_for(uint32_t port, struct virtio_vsock_hdr *h, int ms)
{
	while (vs_rx(h, ms))
		if (h->op != VIRTIO_VSOCK_OP_CREDIT_UPDATE && h->dst_port == port)
			return 1;
	return 0;
}

static struct virtio_vsock_hdr vs_hdr(uint32_t sport, uint32_t dport, uint16_t op, uint32_t len)
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
static int vs_guest_connect(uint32_t sport, uint32_t dport)
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
static void vs_still_works(int lfd, uint32_t sport, uint32_t dport)
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

static int vs_listen_port(uint32_t port)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(path, sizeof(path), "%.80s_%u", uds, port);
	return unix_listen(path);
}

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

/* ---- attack class: queues used before they are ready ----------------------------------- */

/* Notifies every queue index (and some that do not exist) of a device without live queues. */
static void notify_all(struct hdrv *g)
{
	for (uint32_t q = 0; q < 6; q++)
		hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
}

/* Brings a device to DRIVER_OK without making any queue ready. */
static void driver_ok_bare(struct hdrv *g, struct virtio_mmio *t, gpa_t slot, uint64_t f)
{
	g->t = t;
	g->slot = slot;
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, 0);
	notify_all(g);					/* before anything at all */
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(g, f);
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	notify_all(g);					/* live device, dead queues */
}

static void a_queue_not_ready(void)
{
	static const uint8_t frame[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9,
					   0x88, 0xb5 };
	int lfd;

	net_up();
	vs_up();
	EXPECT(vblk_attach(&victim_blk, &hdrv_vm, MMIO_BASE, 5, disk_path, 0, "victim") == 0);
	driver_ok_bare(&vb, &victim_blk.transport, SLOT(0), F_BASE);
	driver_ok_bare(&nd, &net.transport, SLOT(2), (1ULL << VIRTIO_NET_F_MAC) | F_BASE);
	driver_ok_bare(&vd, &vs.transport, SLOT(3), F_BASE);
	/* Host traffic toward devices whose receive queues do not exist. */
	EXPECT(send(net_host, frame, sizeof(frame), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(frame));
	lfd = vs_listen_port(5004);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			EXPECT(write(fd, "CONNECT 9\n", 10) == 10);
		usleep(VNET_STALL_MS * 3000);
		if (fd >= 0)
			close(fd);
	}
	/* Every device comes back after a reset and works. */
	blk_recovers();
	drv_init(&nd, &net.transport, SLOT(2), 2, (1ULL << VIRTIO_NET_F_MAC) | F_BASE);
	EXPECT(net_tx(NET_HDR + 60));
	EXPECT(host_got_frame(WAIT_MS));
	drv_init(&vd, &vs.transport, SLOT(3), 3, F_BASE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vs_rx_post(i);
	vs_still_works(lfd, 1300, 5004);
	close(lfd);
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

/* ---- attack class: serial ------------------------------------------------------------- */

static _Atomic uint64_t serial_bytes;

static void serial_count(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
	atomic_fetch_add(&serial_bytes, 1);
}

static void a_serial_flood(void)
{
	static struct serial s;
	uint8_t v = 'A', junk[8];
	uint64_t t0;

	EXPECT(serial_attach(&s, &hdrv_vm, 0x3f8, 4, serial_count, NULL) == 0);
	bystander_up();
	/* 4 MiB of output as fast as the vCPU can write THR, interrupts on. */
	v = 0x0f;
	serial_access(&s, 1, &v, 1, 1);
	t0 = clock_now_us();
	for (unsigned i = 0; i < (4u << 20); i++) {
		v = (uint8_t)i;
		serial_access(&s, 0, &v, 1, 1);
	}
	EXPECT(atomic_load(&serial_bytes) == (4u << 20));
	EXPECT(clock_now_us() - t0 < 10 * 1000 * 1000);
	/* Register offsets past the 8 ports and odd widths are ignored. */
	for (uint64_t off = 0; off < 16; off++) {
		memset(junk, 0xa5, sizeof(junk));
		serial_access(&s, off, junk, 1, 0);
	}
	EXPECT(blk_healthy(&by));
}

/* ---- the runner ----------------------------------------------------------------------- */

static const struct hrun_class attacks[] = {
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
	{ "queue-reconfig-after-driver-ok", a_queue_reconfig_after_driver_ok, CLASS_S },
	{ "queue-size-zero", a_queue_size_zero, CLASS_S },
	{ "queue-size-not-pow2", a_queue_size_not_pow2, CLASS_S },
	{ "queue-size-above-max", a_queue_size_above_max, CLASS_S },
	{ "mmio-unaligned", a_mmio_unaligned, CLASS_S },
	{ "mmio-wrong-width", a_mmio_wrong_width, CLASS_S },
	{ "config-out-of-range", a_config_out_of_range, CLASS_S },
	{ "unoffered-features", a_unoffered_features, CLASS_S },
	{ "blk-sector-past-end", a_blk_sector_past_end, CLASS_S },
	{ "blk-sector-overflow", a_blk_sector_overflow, CLASS_S },
	{ "blk-no-status", a_blk_no_status, CLASS_S },
	{ "blk-unknown-type", a_blk_unknown_type, CLASS_S },
	{ "net-tx-short", a_net_tx_short, CLASS_S },
	{ "net-tx-long", a_net_tx_long, CLASS_S },
	{ "net-rx-flood", a_net_rx_flood, CLASS_S },
	{ "vsock-oversized", a_vsock_oversized, CLASS_S },
	{ "vsock-credit-abuse", a_vsock_credit_abuse, CLASS_S },
	{ "vsock-conn-flood", a_vsock_conn_flood, CLASS_S },
	{ "vsock-wrong-cid", a_vsock_wrong_cid, CLASS_S },
	{ "queue-not-ready", a_queue_not_ready, CLASS_S },
	{ "rx-buffer-bad", a_rx_buffer_bad, CLASS_S },
	{ "serial-flood", a_serial_flood, CLASS_S },
};

int main(int argc, char **argv)
{
	return hrun_main("hostile-guest suite", attacks, sizeof(attacks) / sizeof(attacks[0]),
			 make_disk, argc, argv);
}
