/*
 * The hostile-guest suite, virtio-blk requests: sectors past the end or overflowing, no
 * status byte, unknown types, a read-only disk and a short ID buffer.
 * docs/threat-model.md lists the classes; hrun.h says how they run.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <string.h>
#include <sys/stat.h>

#include "hblk.h"
#include "hdrv.h"
#include "hrun.h"
#include "victim.h"

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

/* A read-only disk: writes fail and change nothing; GET_ID into a 4-byte buffer stays in it. */
static void blk_read_only_and_short_id(void)
{
	static struct hblk c = { .g.slot = H_SLOT(2) };
	uint8_t *id = hdrv_ptr(HBLK_DATA(&c));
	uint32_t ulen = 0;
	struct stat st;

	if (!world_up() || !hblk_up(&c, 2, 1)) {
		EXPECT(!"set-up");
		return;
	}
	memset(hdrv_ptr(HBLK_DATA(&c)), 0x44, 4096);
	EXPECT_EQ(hblk_req(&c, VIRTIO_BLK_T_OUT, 0, 4096, &ulen), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(ulen, 1);
	EXPECT(stat(c.path, &st) == 0 && st.st_size == H_DISK_SECTORS * 512);
	EXPECT_EQ(hblk_req(&c, VIRTIO_BLK_T_IN, 0, 512, &ulen), VIRTIO_BLK_S_OK);
	EXPECT_EQ(id[0], 0);		/* the write above never reached the disk */
	EXPECT_EQ(hblk_req(&c, VIRTIO_BLK_T_FLUSH, 0, 0, &ulen), VIRTIO_BLK_S_OK);
	memset(id, 0xcc, 64);
	EXPECT_EQ(hblk_req(&c, VIRTIO_BLK_T_GET_ID, 0, 4, &ulen), VIRTIO_BLK_S_OK);
	EXPECT_EQ(ulen, 5);
	EXPECT(memcmp(id, "host", 4) == 0 && id[4] == 0xcc);
	EXPECT(!hdrv_needs_reset(&c.g));
	hblk_down(&c);
	world_end();
}

static const struct hrun_class classes[] = {
	{ "blk-sector-past-end", a_blk_sector_past_end, CLASS_S },
	{ "blk-sector-overflow", a_blk_sector_overflow, CLASS_S },
	{ "blk-no-status", a_blk_no_status, CLASS_S },
	{ "blk-unknown-type", a_blk_unknown_type, CLASS_S },
	{ "blk-read-only-and-short-id", blk_read_only_and_short_id, H_CLASS_S },
};

int main(int argc, char **argv)
{
	return hrun_main("hostile_blk", classes, sizeof(classes) / sizeof(classes[0]), make_disk, argc,
			 argv);
}
