/* virtio-blk requests: sectors past the end, bad sizes, bad headers, a read-only disk. */
#include "classes.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#define HDR_OFF    0
#define STATUS_OFF 64
#define DATA_OFF   4096
#define EXT4_MAGIC 0xef53

void desc_set(struct hg_dev *d, unsigned q, unsigned i, uint64_t addr, uint32_t len,
	      uint16_t flags, uint16_t next)
{
	d->q[q].desc[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static uint64_t gpa(const volatile void *p)
{
	return (uintptr_t)p;
}

int blk_request(struct hg_dev *d, uint32_t type, uint64_t sector, uint64_t data_gpa,
		uint32_t data_len, uint32_t *used_len)
{
	struct virtio_blk_outhdr *h = (void *)(d->buf + HDR_OFF);
	volatile uint8_t *st = d->buf + STATUS_OFF;
	uint16_t wr = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID ? VRING_DESC_F_WRITE : 0;
	uint32_t len = 0;
	int r;

	*h = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	*st = 0xee;	/* no VIRTIO_BLK_S_*: shows whether the device wrote it */
	desc_set(d, 0, 0, gpa(h), sizeof(*h), VRING_DESC_F_NEXT, 1);
	if (data_len) {
		desc_set(d, 0, 1, data_gpa, data_len, VRING_DESC_F_NEXT | wr, 2);
		desc_set(d, 0, 2, gpa(st), 1, VRING_DESC_F_WRITE, 0);
	} else {
		desc_set(d, 0, 1, gpa(st), 1, VRING_DESC_F_WRITE, 0);
	}
	hg_submit(d, 0, 0);
	r = hg_wait_used(d, 0, &len);
	if (used_len)
		*used_len = len;
	return r == 1 ? *st : r < 0 ? BLK_ST_BROKEN : BLK_ST_TIMEOUT;
}

uint64_t blk_capacity(const struct hg_dev *d)
{
	return hg_rd(d, VIRTIO_MMIO_CONFIG) | (uint64_t)hg_rd(d, VIRTIO_MMIO_CONFIG + 4) << 32;
}

int blk_sane(struct hg_dev *d)
{
	uint8_t *data = d->buf + DATA_OFF;

	if (hg_up(d, 0, 16) != 0)
		return 0;
	memset(data, 0, 512);
	if (blk_request(d, VIRTIO_BLK_T_IN, 2, gpa(data), 512, 0) != VIRTIO_BLK_S_OK)
		return 0;
	return (data[0x38] | data[0x39] << 8) == EXT4_MAGIC;
}

void blk_after(struct hg_env *env, struct hg_dev *d)
{
	struct hg_dev *other = d == env->vol ? env->root : env->vol;

	hg_expect(blk_sane(d), "the attacked disk does not serve a read after a reset");
	hg_expect(blk_sane(other), "the other disk does not serve a read");
}

void expect_broken_q(struct hg_dev *d, unsigned q, uint16_t head, const char *what)
{
	hg_submit(d, q, head);
	hg_expect(hg_wait_needs_reset(d), what);
}

void expect_broken_by(struct hg_dev *d, uint16_t head, const char *what)
{
	expect_broken_q(d, 0, head, what);
}

/* Reads and writes at and past the end of the disk, and at sectors whose offset overflows. */
static void blk_sector_past_end(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint64_t cap = blk_capacity(d), data = gpa(d->buf + DATA_OFF);
	static const uint64_t far[] = { 1ULL << 55, 1ULL << 63, ~0ULL, ~0ULL >> 9 };
	uint32_t len = 0;

	hg_class("blk-sector-past-end");
	hg_expect(cap > 8, "capacity too small");
	hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, cap - 1, data, 512, &len) == VIRTIO_BLK_S_OK &&
		  len == 513, "the last sector does not read (or used len is not 513)");
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, cap, data, 512, &len) == VIRTIO_BLK_S_IOERR &&
		  len == 1, "a read at capacity is not IOERR with used len 1");
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, cap - 1, data, 1024, 0) == VIRTIO_BLK_S_IOERR,
		  "a read straddling the end is not IOERR");
	hg_expect(blk_request(d, VIRTIO_BLK_T_OUT, cap, data, 512, 0) == VIRTIO_BLK_S_IOERR,
		  "a write at capacity is not IOERR");
	hg_expect(blk_request(d, VIRTIO_BLK_T_OUT, cap - 1, data, 4096, 0) == VIRTIO_BLK_S_IOERR,
		  "a write straddling the end is not IOERR");
	for (unsigned i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
		hg_expect(blk_request(d, VIRTIO_BLK_T_IN, far[i], data, 512, 0) == VIRTIO_BLK_S_IOERR,
			  "a read at an overflowing sector is not IOERR");
		hg_expect(blk_request(d, VIRTIO_BLK_T_OUT, far[i], data, 512, 0) == VIRTIO_BLK_S_IOERR,
			  "a write at an overflowing sector is not IOERR");
	}
	hg_expect(!hg_needs_reset(d), "bad sectors broke the device");
	blk_after(env, d);
	hg_done();
}

/* Data lengths that are not whole sectors, and a data buffer of 0 bytes. */
static void blk_bad_sizes(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint64_t data = gpa(d->buf + DATA_OFF);
	static const uint32_t sizes[] = { 1, 511, 513, 4095 };

	hg_class("blk-bad-sizes");
	hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 4, data, sizes[i], 0) == VIRTIO_BLK_S_IOERR,
			  "a read of a partial sector is not IOERR");
		hg_expect(blk_request(d, VIRTIO_BLK_T_OUT, 4, data, sizes[i], 0) == VIRTIO_BLK_S_IOERR,
			  "a write of a partial sector is not IOERR");
	}
	blk_after(env, d);
	hg_done();
}

/* Headers that are short, missing a status buffer, or of unknown types; GET_ID into 4 bytes. */
static void blk_bad_headers(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint8_t *id = d->buf + DATA_OFF;
	volatile uint8_t *st = d->buf + STATUS_OFF;
	uint32_t len = 0;

	hg_class("blk-bad-headers");
	hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
	/* A header and nothing writable: nowhere for a status, so used len 0. */
	desc_set(d, 0, 0, gpa(d->buf), 16, 0, 0);
	hg_submit(d, 0, 0);
	hg_expect(hg_wait_used(d, 0, &len) == 1 && len == 0, "a request without status is not used len 0");
	/* A 7-byte header. */
	desc_set(d, 0, 0, gpa(d->buf), 7, VRING_DESC_F_NEXT, 1);
	desc_set(d, 0, 1, gpa(st), 1, VRING_DESC_F_WRITE, 0);
	*st = 0xee;
	hg_submit(d, 0, 0);
	hg_expect(hg_wait_used(d, 0, &len) == 1 && *st == VIRTIO_BLK_S_IOERR,
		  "a 7-byte header is not IOERR");
	hg_expect(blk_request(d, 0xdead, 0, 0, 0, 0) == VIRTIO_BLK_S_UNSUPP,
		  "an unknown type is not UNSUPP");
	hg_expect(blk_request(d, VIRTIO_BLK_T_DISCARD, 0, 0, 0, 0) == VIRTIO_BLK_S_UNSUPP,
		  "an unoffered DISCARD is not UNSUPP");
	memset(id, 0x55, 32);
	hg_expect(blk_request(d, VIRTIO_BLK_T_GET_ID, 0, gpa(id), 4, &len) == VIRTIO_BLK_S_OK &&
		  len == 5 && id[4] == 0x55, "GET_ID into 4 bytes wrote more than 4");
	hg_expect(!hg_needs_reset(d), "bad headers broke the device");
	blk_after(env, d);
	hg_done();
}

/* A write to the read-only root disk (the test checks the host image is unchanged); a FLUSH,
 * which has nothing to do there but succeed. */
static void blk_write_read_only(struct hg_env *env)
{
	struct hg_dev *d = env->root;
	uint8_t *data = d->buf + DATA_OFF;

	hg_class("blk-write-read-only");
	hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
	memset(data, 0xa5, 4096);
	hg_expect(blk_request(d, VIRTIO_BLK_T_OUT, 0, gpa(data), 4096, 0) == VIRTIO_BLK_S_IOERR,
		  "a write to the read-only disk is not IOERR");
	hg_expect(blk_request(d, VIRTIO_BLK_T_OUT, 2, gpa(data), 512, 0) == VIRTIO_BLK_S_IOERR,
		  "a write over the superblock of the read-only disk is not IOERR");
	hg_expect(blk_request(d, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0) == VIRTIO_BLK_S_OK,
		  "a FLUSH of the read-only disk is not OK");
	blk_after(env, d);
	hg_done();
}

void classes_blk(struct hg_env *env)
{
	blk_sector_past_end(env);
	blk_bad_sizes(env);
	blk_bad_headers(env);
	blk_write_read_only(env);
}
