/* Rings and descriptors that change under the device: rewritten while it walks them,
 * overlapping each other, overwritten by the device's own reads, left behind by a reset. */
#include "classes.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#define F_NEXT  VRING_DESC_F_NEXT
#define F_WRITE VRING_DESC_F_WRITE
#define F_IND   VRING_DESC_F_INDIRECT
#define STATUS_FEAT (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)

static uint64_t hdr(const struct hg_dev *d)
{
	return (uintptr_t)d->buf;	/* 16 zero bytes: VIRTIO_BLK_T_IN of sector 0 */
}

static uint64_t status(const struct hg_dev *d)
{
	return (uintptr_t)d->buf + 64;
}

/* A good read chain in descriptors 0-2, its data buffer at data. */
static void good_chain(struct hg_dev *d, uint64_t data)
{
	memset(d->buf, 0, 16);
	desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
	desc_set(d, 0, 1, data, 512, F_NEXT | F_WRITE, 2);
	desc_set(d, 0, 2, status(d), 1, F_WRITE, 0);
}

/* The driver rewrites a chain's addresses, lengths and links while the device walks it: the
 * device copies each descriptor once, so each request is served or refused, never both. */
static void desc_rewrite_race(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	volatile struct vring_desc *v;
	uint64_t good = (uintptr_t)d->buf + 4096;
	unsigned served = 0, refused = 0;

	hg_class("desc-rewrite-race");
	for (unsigned round = 0; round < 60; round++) {
		hg_up(d, 0, 16);
		good_chain(d, good);
		v = d->q[0].desc;
		/* Published without a notification: the device looks when the loop is halfway. */
		d->q[0].avail->ring[0] = 0;
		barrier();	/* the entry before the index */
		d->q[0].avail->idx = d->q[0].next_avail = 1;
		/*
		 * Notified halfway. On nested PVM (ring-0 guest code emulated) the device has been
		 * seen to take the chain as the loop left it every time, even with a loop of
		 * seconds: whether the walk ever meets a half-rewritten chain there is not known.
		 */
		for (unsigned i = 0; i < 3000; i++) {
			unsigned k = (round + i) % 4;	/* 3: the good chain again */
			if (i == 1500)
				hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
			v[1].addr = k == 0 ? hg_ram_end - 8 : good;
			v[1].len = k == 1 ? 0xffffffff : 512;
			v[0].next = k == 2 ? 0 : 1;
			v[2].flags = k == 2 ? (F_WRITE | F_NEXT) : F_WRITE;
		}
		int r = hg_wait_used(d, 0, 0);
		served += r == 1;
		refused += r == -1;
		hg_expect(r != 0, "a request under rewriting was neither served nor refused");
	}
	hg_puts("desc-rewrite-race: ");
	hg_putdec(served);
	hg_puts(" served, ");
	hg_putdec(refused);
	hg_puts(" refused\n");
	blk_after(env, d);
	hg_done();
}

/* The three rings on one address, and the used ring over the descriptor table: the device's
 * own writes change what it reads next. Anything but a crash or a hang. */
static void rings_overlap(struct hg_env *env)
{
	struct hg_dev *d = env->root;
	uint64_t a = hg_desc_gpa(d, 0);
	const uint64_t place[][3] = {
		{ a, a, a }, { a, hg_avail_gpa(d, 0), a }, { a, hg_avail_gpa(d, 0), a + 16 },
		{ hg_desc_gpa(d, 0), a + 8, a + 8 },
	};

	hg_class("rings-overlap");
	for (unsigned i = 0; i < sizeof(place) / sizeof(place[0]); i++) {
		hg_reset(d);
		hg_features(d, 1ULL << VIRTIO_F_VERSION_1);
		hg_queue_place(d, 0, 16, place[i][0], place[i][1], place[i][2]);
		hg_wr(d, VIRTIO_MMIO_STATUS, STATUS_FEAT | VIRTIO_CONFIG_S_DRIVER_OK);
		for (unsigned k = 0; k < 16; k++)
			desc_set(d, 0, k, hdr(d), 16, F_NEXT, (uint16_t)((k + 1) % 16));
		good_chain(d, (uintptr_t)d->buf + 4096);
		hg_submit(d, 0, 0);
		hg_submit(d, 0, 0);
		hg_delay_ms(20);
	}
	blk_after(env, d);
	hg_done();
}

/* A read whose data lands on the queue's own rings: the disk's bytes become the available
 * index and descriptors the device reads next. On the read-only disk: whatever chains the
 * bytes make, none can write. */
static void buffer_over_rings(struct hg_env *env)
{
	struct hg_dev *d = env->root;
	const uint64_t target[] = { hg_avail_gpa(d, 0), hg_desc_gpa(d, 0), hg_used_gpa(d, 0) };

	hg_class("buffer-over-rings");
	for (unsigned i = 0; i < sizeof(target) / sizeof(target[0]); i++) {
		hg_up(d, 0, 16);
		/* Sectors 2-9: the ext4 superblock, non-zero bytes everywhere. */
		memset(d->buf, 0, 16);
		((struct virtio_blk_outhdr *)d->buf)->sector = 2;
		desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
		desc_set(d, 0, 1, target[i], 4096, F_NEXT | F_WRITE, 2);
		desc_set(d, 0, 2, status(d), 1, F_WRITE, 0);
		hg_submit(d, 0, 0);
		hg_delay_ms(20);
	}
	blk_after(env, d);
	hg_done();
}

/* A reset while reads are in flight, then the queue moved: nothing may land on the old rings
 * after the reset, and the moved queue works. */
static void reset_mid_io(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint8_t *alt = d->area + 0x30000;	/* free in a one-queue device's area */
	volatile struct vring_used *old = (void *)(uintptr_t)hg_used_gpa(d, 0);
	unsigned late = 0, bad = 0;

	hg_class("reset-mid-io");
	for (unsigned round = 0; round < 20; round++) {
		hg_up(d, 0, 16);
		struct hg_queue *q = &d->q[0];
		for (uint16_t r = 0; r < 5; r++) {
			desc_set(d, 0, 3 * r, hdr(d), 16, F_NEXT, 3 * r + 1);
			desc_set(d, 0, 3 * r + 1, (uintptr_t)d->buf + 0x10000 + 0x10000 * r, 0x10000,
				 F_NEXT | F_WRITE, 3 * r + 2);
			desc_set(d, 0, 3 * r + 2, status(d) + r, 1, F_WRITE, 0);
			q->avail->ring[q->next_avail++ % 16] = 3 * r;
		}
		memset(d->buf, 0, 16);
		barrier();	/* the entries before the index */
		q->avail->idx = q->next_avail;
		barrier();	/* the index before the notification */
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		hg_wr(d, VIRTIO_MMIO_STATUS, 0);
		memset((void *)old, 0, 6 + 8 * 16);
		hg_features(d, 1ULL << VIRTIO_F_VERSION_1);
		hg_queue_place(d, 0, 16, (uintptr_t)alt, (uintptr_t)alt + 0x1000, (uintptr_t)alt + 0x2000);
		hg_wr(d, VIRTIO_MMIO_STATUS, STATUS_FEAT | VIRTIO_CONFIG_S_DRIVER_OK);
		bad += blk_request(d, VIRTIO_BLK_T_IN, 2, (uintptr_t)d->buf + 4096, 512, 0) != 0;
		late += old->idx != 0;
	}
	hg_expect(!bad, "the moved queue did not serve after a reset mid-I/O");
	hg_expect(!late, "the device wrote the old used ring after the reset");
	blk_after(env, d);
	hg_done();
}

/* Indirect tables of 256 entries (the most a queue may chain) and of 257. */
static void long_chains(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	struct vring_desc *t = (struct vring_desc *)(d->area + 0x30000);
	uint8_t *data = d->buf + 0x10000;	/* 254 sectors: 127 KiB */
	uint32_t len = 0;

	hg_class("long-chains");
	hg_up(d, 1ULL << VIRTIO_RING_F_INDIRECT_DESC, 16);
	memset(d->buf, 0, 16);
	t[0] = (struct vring_desc){ hdr(d), 16, F_NEXT, 1 };
	for (uint16_t i = 1; i < 255; i++)
		t[i] = (struct vring_desc){ (uintptr_t)data + 512ULL * (i - 1), 512, F_NEXT | F_WRITE, i + 1 };
	t[255] = (struct vring_desc){ status(d), 1, F_WRITE, 0 };
	desc_set(d, 0, 0, (uintptr_t)t, 256 * 16, F_IND, 0);
	*(volatile uint8_t *)(uintptr_t)status(d) = 0xee;
	hg_submit(d, 0, 0);
	hg_expect(hg_wait_used(d, 0, &len) == 1 && len == 254 * 512 + 1 &&
		  *(volatile uint8_t *)(uintptr_t)status(d) == 0,
		  "a 256-entry indirect chain was not served whole");
	t[255].flags |= F_NEXT;
	t[255].next = 256;
	t[256] = (struct vring_desc){ status(d), 1, F_WRITE, 0 };
	desc_set(d, 0, 0, (uintptr_t)t, 257 * 16, F_IND, 0);
	expect_broken_by(d, 0, "a 257-entry indirect table did not make NEEDS_RESET");
	blk_after(env, d);
	hg_done();
}

void classes_race(struct hg_env *env)
{
	desc_rewrite_race(env);
	rings_overlap(env);
	buffer_over_rings(env);
	reset_mid_io(env);
	long_chains(env);
}
