/* Scratch-disk virtio-blk devices: the victim A and the bystander B (hblk.h). */
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hblk.h"
#include "../../core/clock.h"
#include "hrun.h"

/* Creates a 1 MiB disk file and attaches it at MMIO slot k; the driver is brought up. */
int hblk_up(struct hblk *b, unsigned k, int read_only)
{
	int fd;

	snprintf(b->path, sizeof(b->path), "%s/disk-%d-%u", hrun_dir, (int)getpid(), k);
	fd = open(b->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, H_DISK_SECTORS * 512) < 0)
		return 0;
	close(fd);
	if (vblk_attach(&b->dev, &hdrv_vm, H_MMIO(k), 5 + k, b->path, read_only, "hostile", NULL))
		return 0;
	b->g = (struct hdrv){ .t = &b->dev.transport, .slot = H_SLOT(k), .rings = H_SLOT(k),
			     .nq = 1, .qsize = 16 };
	return hdrv_init(&b->g, HDRV_ALL_FEATURES);
}

void hblk_down(struct hblk *b)
{
	vblk_detach(&b->dev);
	unlink(b->path);
}

/*
 * One well-formed request (header, data of len bytes, status) from descriptors 0..2; returns
 * the status byte, or -1 when the device broke or never answered. *used_len gets the used len.
 */
int hblk_req(struct hblk *b, uint32_t type, uint64_t sector, uint32_t len,
		      uint32_t *used_len)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };
	uint16_t dflags = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID ?
			  VRING_DESC_F_WRITE : 0;
	struct vring_used_elem e;
	uint8_t *st = hdrv_ptr(HBLK_STATUS(b));

	memcpy(hdrv_ptr(HBLK_HDR(b)), &h, sizeof(h));
	*st = 0xee;
	hdrv_set_desc(&b->g, 0, 0, HBLK_HDR(b), sizeof(h), VRING_DESC_F_NEXT, 1);
	if (len) {
		hdrv_set_desc(&b->g, 0, 1, HBLK_DATA(b), len, dflags | VRING_DESC_F_NEXT, 2);
		hdrv_set_desc(&b->g, 0, 2, HBLK_STATUS(b), 1, VRING_DESC_F_WRITE, 0);
	} else {
		hdrv_set_desc(&b->g, 0, 1, HBLK_STATUS(b), 1, VRING_DESC_F_WRITE, 0);
	}
	hdrv_publish(&b->g, 0, 0);
	if (hdrv_wait_next(&b->g, 0, H_WAIT_MS) != HDRV_USED)
		return -1;
	e = hdrv_take(&b->g, 0);
	if (used_len)
		*used_len = e.len;
	return *st;
}

/* Writes a pattern to `sector` and reads it back; 1 when the disk works. */
int hblk_works(struct hblk *b, uint64_t sector)
{
	uint8_t *data = hdrv_ptr(HBLK_DATA(b)), want[4096];
	uint32_t ulen = 0;
	unsigned seed = (unsigned)clock_now_us();

	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 13 + seed);
	memcpy(data, want, sizeof(want));
	if (hblk_req(b, VIRTIO_BLK_T_OUT, sector, sizeof(want), &ulen) != VIRTIO_BLK_S_OK || ulen != 1)
		return 0;
	memset(data, 0, sizeof(want));
	if (hblk_req(b, VIRTIO_BLK_T_IN, sector, sizeof(want), &ulen) != VIRTIO_BLK_S_OK ||
	    ulen != sizeof(want) + 1)
		return 0;
	return memcmp(data, want, sizeof(want)) == 0;
}

/* Resets the device through the status register, brings it up again and checks it works. */
int hblk_recovers(struct hblk *b)
{
	return hdrv_init(&b->g, HDRV_ALL_FEATURES) && hblk_works(b, 7);
}

/* The victim A (slot 0) and a bystander B (slot 1), both virtio-blk; addresses fixed early. */
struct hblk A = { .g.slot = H_SLOT(0) }, B = { .g.slot = H_SLOT(1) };

int world_up(void)
{
	int ok = hblk_up(&A, 0, 0) && hblk_up(&B, 1, 0);

	EXPECT(ok);
	return ok;
}

/* The victim refused a malformed request by asking for a reset, not by serving it. */
void hblk_expect_broken_at(struct hdrv *d, unsigned q, const char *file, int line)
{
	int r = hdrv_wait_next(d, q, H_WAIT_MS);

	if (r != HDRV_BROKEN) {
		hrun_failures++;
		fprintf(stderr, "  %s:%d: expected DEVICE_NEEDS_RESET, got %s\n", file, line,
			r == HDRV_USED ? "a used buffer" : "nothing");
	}
}

/* Publishes descriptor head on A's queue, expects A to break, and resets A back to work. */
void attack_breaks_a_at(uint16_t head, const char *file, int line)
{
	hdrv_publish(&A.g, 0, head);
	hblk_expect_broken_at(&A.g, 0, file, line);
	EXPECT(hblk_recovers(&A));
}

/*
 * The end of every blk attack: the bystander still works, the victim works after a reset,
 * and no device thread spins.
 */
void world_end(void)
{
	EXPECT(hblk_works(&B, 3));
	EXPECT(hblk_recovers(&A));
	EXPECT(hblk_works(&B, 4));
	EXPECT(hrun_idle());
	hblk_down(&A);
	hblk_down(&B);
}
