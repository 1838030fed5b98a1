/* The patterned-disk virtio-blk victim and its read-only bystander (victim.h). */
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "victim.h"
#include "../../core/clock.h"
#include "hrun.h"

char disk_path[96];

/* Resets the device and brings it up like a well-behaved driver (the attacks come later). */
void drv_init(struct hdrv *g, struct virtio_mmio *t, gpa_t slot, unsigned nq, uint64_t f)
{
	g->t = t;
	g->slot = slot;
	g->rings = slot + 0x1000;
	g->nq = nq;
	g->qsize = QSIZE;
	hdrv_reset(g);
	EXPECT(hdrv_finish(g, f));
}

struct vblk victim_blk, bystander_blk;
struct hdrv vb, by;

/* Places a blk header in RAM and returns a descriptor for it. */
struct vring_desc blk_hdr(struct hdrv *g, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };

	memcpy(hdrv_ptr(B_HDR(g)), &h, sizeof(h));
	return (struct vring_desc){ .addr = B_HDR(g), .len = sizeof(h) };
}

/* Publishes the descriptors d[0..n) as one chain (NEXT links filled in) at table slot 0. */
void chain_publish(struct hdrv *g, const struct vring_desc *d, unsigned n)
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
int blk_req(struct hdrv *g, uint32_t type, uint64_t sector, uint32_t len, uint32_t *used_len)
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
uint8_t disk_byte(uint64_t s, unsigned i)
{
	return (uint8_t)(s * 7 + i * 13 + 1);
}

/* A healthy device still serves a read of sector 5 with the right bytes. */
int blk_healthy(struct hdrv *g)
{
	uint32_t ulen = 0;
	int st = blk_req(g, VIRTIO_BLK_T_IN, 5, 512, &ulen);
	int ok = st == VIRTIO_BLK_S_OK && ulen == 513;

	for (unsigned i = 0; ok && i < 512; i++)
		ok = hdrv_ptr(B_DATA(g))[i] == disk_byte(5, i);
	return ok;
}

/* Writes the patterned disk image, fresh for every class. */
void make_disk(void)
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
void bystander_up(void)
{
	static int up;

	if (up++)
		return;
	EXPECT(vblk_attach(&bystander_blk, &hdrv_vm, MMIO_BASE + 0x1000, 6, disk_path, 1, "bystander", NULL) == 0);
	drv_init(&by, &bystander_blk.transport, SLOT(1), 1, F_BASE);
}

/* The victim blk device in slot 0, the bystander (read-only, same image) in slot 1. */
void blk_up(void)
{
	EXPECT(vblk_attach(&victim_blk, &hdrv_vm, MMIO_BASE, 5, disk_path, 0, "victim", NULL) == 0);
	drv_init(&vb, &victim_blk.transport, SLOT(0), 1, F_BASE);
	bystander_up();
}

/* After an attack: the victim is broken or failed the request; a reset brings it back. */
void blk_recovers(void)
{
	drv_init(&vb, &victim_blk.transport, SLOT(0), 1, F_BASE);
	EXPECT(!hdrv_needs_reset(&vb));
	EXPECT(blk_healthy(&vb));
	EXPECT(blk_healthy(&by));
}

/* Publishes a hand-made chain on the victim and expects DEVICE_NEEDS_RESET. */
void expect_broken(void)
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
