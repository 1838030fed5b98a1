/* virtio-mmio registers: queue sizes and places, features, status, config space, widths. */
#include "classes.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define STATUS_DRIVER (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define STATUS_FEAT   (STATUS_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)

/* Queue 0 of d gets size (rings in place): it must never become ready, and d NEEDS_RESET. */
static void expect_size_refused(struct hg_dev *d, uint32_t size, const char *what)
{
	hg_reset(d);
	hg_features(d, 1ULL << VIRTIO_F_VERSION_1);
	hg_expect(hg_queue_place(d, 0, size, hg_desc_gpa(d, 0), hg_avail_gpa(d, 0),
				 hg_used_gpa(d, 0)) == 0, what);
	hg_expect(hg_wait_needs_reset(d), "no NEEDS_RESET after a refused queue");
}

static void queue_size_zero(struct hg_env *env)
{
	hg_class("queue-size-zero");
	expect_size_refused(env->vol, 0, "a queue of size 0 became ready");
	/* Notifying the dead queue: the device has no rings to read. */
	for (unsigned i = 0; i < 100; i++)
		hg_wr(env->vol, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	blk_after(env, env->vol);
	hg_done();
}

static void queue_size_not_pow2(struct hg_env *env)
{
	static const uint32_t sizes[] = { 3, 100, 255 };

	hg_class("queue-size-not-pow2");
	for (unsigned i = 0; i < N(sizes); i++)
		expect_size_refused(env->vol, sizes[i], "a queue size not a power of two became ready");
	blk_after(env, env->vol);
	hg_done();
}

static void queue_size_above_max(struct hg_env *env)
{
	static const uint32_t sizes[] = { 512, 0x10000, 0x10010, 0xffffffff };
	struct hg_dev *d = env->vol;

	hg_class("queue-size-above-max");
	d->q[0].size = 0;
	hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) == 256, "QUEUE_NUM_MAX is not 256");
	for (unsigned i = 0; i < N(sizes); i++)
		expect_size_refused(d, sizes[i], "a queue above QUEUE_NUM_MAX became ready");
	blk_after(env, d);
	hg_done();
}

/* Each ring in turn at each bad address: never ready, NEEDS_RESET. */
static void ring_outside_ram(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	const uint64_t bad[] = {
		hg_ram_end, hg_ram_end + 0x1000, d->base, 0xfee00000ULL, 1ULL << 40,
		0xfffffffffffff000ULL,
	};

	hg_class("ring-outside-ram");
	for (unsigned i = 0; i < N(bad); i++)
		for (unsigned ring = 0; ring < 3; ring++) {
			uint64_t a[3] = { hg_desc_gpa(d, 0), hg_avail_gpa(d, 0), hg_used_gpa(d, 0) };
			a[ring] = bad[i];
			hg_reset(d);
			hg_features(d, 1ULL << VIRTIO_F_VERSION_1);
			hg_expect(hg_queue_place(d, 0, 16, a[0], a[1], a[2]) == 0,
				  "a ring outside RAM became ready");
			hg_expect(hg_wait_needs_reset(d), "no NEEDS_RESET after a ring outside RAM");
		}
	blk_after(env, d);
	hg_done();
}

/* Rings that start in RAM and run past its end by a few bytes; one that ends exactly there. */
static void ring_over_ram_top(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint64_t top = hg_ram_end;
	const uint64_t a[3][3] = {
		{ top - 16 * 16 + 16, hg_avail_gpa(d, 0), hg_used_gpa(d, 0) },
		{ hg_desc_gpa(d, 0), top - 4, hg_used_gpa(d, 0) },
		{ hg_desc_gpa(d, 0), hg_avail_gpa(d, 0), top - 8 },
	};

	hg_class("ring-over-ram-top");
	for (unsigned i = 0; i < N(a); i++) {
		hg_reset(d);
		hg_features(d, 1ULL << VIRTIO_F_VERSION_1);
		hg_expect(hg_queue_place(d, 0, 16, a[i][0], a[i][1], a[i][2]) == 0,
			  "a ring running past the end of RAM became ready");
		hg_expect(hg_wait_needs_reset(d), "no NEEDS_RESET after a ring past RAM");
	}
	/* Flush against the end: valid, and it must work (the check is not off by one). */
	hg_reset(d);
	hg_features(d, 1ULL << VIRTIO_F_VERSION_1);
	hg_expect(hg_queue_place(d, 0, 16, top - 16 * 16, hg_avail_gpa(d, 0), hg_used_gpa(d, 0)) == 1,
		  "a descriptor table ending exactly at the end of RAM was refused");
	hg_wr(d, VIRTIO_MMIO_STATUS, STATUS_FEAT | VIRTIO_CONFIG_S_DRIVER_OK);
	hg_expect(blk_request(d, 0 /* IN */, 2, (uintptr_t)d->buf + 4096, 512, 0) == 0,
		  "a read through a table at the end of RAM failed");
	blk_after(env, d);
	hg_done();
}

static void ring_misaligned(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	const uint64_t a[3][3] = {
		{ hg_desc_gpa(d, 0) + 8, hg_avail_gpa(d, 0), hg_used_gpa(d, 0) },
		{ hg_desc_gpa(d, 0), hg_avail_gpa(d, 0) + 1, hg_used_gpa(d, 0) },
		{ hg_desc_gpa(d, 0), hg_avail_gpa(d, 0), hg_used_gpa(d, 0) + 2 },
	};

	hg_class("ring-misaligned");
	for (unsigned i = 0; i < N(a); i++) {
		hg_reset(d);
		hg_features(d, 1ULL << VIRTIO_F_VERSION_1);
		hg_expect(hg_queue_place(d, 0, 16, a[i][0], a[i][1], a[i][2]) == 0,
			  "a misaligned ring became ready");
		hg_expect(hg_wait_needs_reset(d), "no NEEDS_RESET after a misaligned ring");
	}
	blk_after(env, d);
	hg_done();
}

/* Requests in flight while the driver turns the queue off, resizes it and turns it on. */
static void queue_ready_toggle(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint8_t *data = d->buf + 0x10000;

	hg_class("queue-ready-toggle-mid-io");
	for (unsigned round = 0; round < 20; round++) {
		hg_up(d, 0, 16);
		struct hg_queue *q = &d->q[0];
		for (uint16_t r = 0; r < 5; r++) {	/* 5 reads of 3 descriptors each */
			desc_set(d, 0, 3 * r, (uintptr_t)d->buf + 32 * r, 16, VRING_DESC_F_NEXT, 3 * r + 1);
			desc_set(d, 0, 3 * r + 1, (uintptr_t)data + 4096 * r, 4096,
				 VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3 * r + 2);
			desc_set(d, 0, 3 * r + 2, (uintptr_t)d->buf + 1024 + r, 1, VRING_DESC_F_WRITE, 0);
			memset(d->buf + 32 * r, 0, 16);	/* VIRTIO_BLK_T_IN of sector 0 */
			q->avail->ring[q->next_avail++ % 16] = 3 * r;
		}
		barrier();
		q->avail->idx = q->next_avail;
		barrier();
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 0);
		hg_wr(d, VIRTIO_MMIO_QUEUE_NUM, round & 1 ? 0 : 256);
		hg_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(hg_ram_end - 16));
		hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 0);
	}
	blk_after(env, d);
	hg_done();
}

/* Features never offered, no VERSION_1, selectors past 1, writes after FEATURES_OK, and
 * DRIVER_OK without FEATURES_OK. */
static void unoffered_features(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	static const uint64_t bad[] = {
		(1ULL << VIRTIO_F_VERSION_1) | (1ULL << 63),
		(1ULL << VIRTIO_F_VERSION_1) | (1ULL << 12),	/* VIRTIO_BLK_F_MQ */
		(1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ACCESS_PLATFORM),
		0,						/* a legacy driver */
		~0ULL,
	};

	hg_class("unoffered-features");
	for (unsigned i = 0; i < N(bad); i++) {
		hg_reset(d);
		hg_expect(!hg_features(d, bad[i]), "FEATURES_OK kept with features never offered");
	}
	hg_reset(d);
	hg_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 7);
	hg_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	hg_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	hg_expect(hg_rd(d, VIRTIO_MMIO_DEVICE_FEATURES) == 0, "device features past word 1 not 0");
	hg_expect(hg_features(d, 1ULL << VIRTIO_F_VERSION_1),
		  "FEATURES_OK refused after writes to feature word 7");
	hg_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	hg_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);	/* after FEATURES_OK: frozen */
	/* DRIVER_OK without FEATURES_OK, queues set up anyway, a request: anything but a crash. */
	hg_reset(d);
	hg_wr(d, VIRTIO_MMIO_STATUS, STATUS_DRIVER);
	hg_queue_place(d, 0, 16, hg_desc_gpa(d, 0), hg_avail_gpa(d, 0), hg_used_gpa(d, 0));
	hg_wr(d, VIRTIO_MMIO_STATUS, STATUS_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	blk_request(d, 0, 2, (uintptr_t)d->buf + 4096, 512, 0);
	blk_after(env, d);
	hg_done();
}

/* Status going backwards, the driver writing NEEDS_RESET and FAILED, every bit at once. */
static void status_regressions(struct hg_env *env)
{
	static const uint32_t seq[] = {
		VIRTIO_CONFIG_S_ACKNOWLEDGE, STATUS_FEAT | VIRTIO_CONFIG_S_DRIVER_OK, STATUS_DRIVER,
		0xffffffff, VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_CONFIG_S_FAILED,
		STATUS_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_DRIVER_OK,
		STATUS_FEAT | VIRTIO_CONFIG_S_DRIVER_OK,
	};

	hg_class("status-regressions");
	for (unsigned dev = 0; dev < env->ndevs; dev++) {
		struct hg_dev *d = &env->devs[dev];
		hg_up(d, 0, 16);
		for (unsigned i = 0; i < N(seq); i++) {
			hg_wr(d, VIRTIO_MMIO_STATUS, seq[i]);
			for (unsigned q = 0; q < d->nq; q++)
				hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
			hg_wr(d, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
		}
	}
	hg_expect(vsock_sane(env->vsock), "vsock does not serve after a reset");
	blk_after(env, env->vol);
	hg_done();
}

/* Config accesses straddling or past the config, and writes to a read-only config. */
static void config_out_of_range(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint64_t cap = blk_capacity(d);
	/* struct virtio_blk_config as devices/virtio_blk.c offers it: 24 bytes. */
	static const unsigned offs[] = { 24, 22, 0x1000 - 0x100 - 4, 0x1000 - 0x100 - 2, 0x800 };

	hg_class("config-out-of-range");
	for (unsigned i = 0; i < N(offs); i++) {
		hg_expect(hg_rd(d, VIRTIO_MMIO_CONFIG + offs[i]) == 0, "config read past the end not 0");
		hg_wr(d, VIRTIO_MMIO_CONFIG + offs[i], 0xffffffff);
	}
	hg_expect(*(volatile uint64_t *)(d->base + 0x1000 - 8) == 0, "8-byte read at the window end not 0");
	hg_expect(*(volatile uint16_t *)(d->base + VIRTIO_MMIO_CONFIG + 23) == 0,
		  "2-byte read straddling the config end not 0");
	hg_wr(d, VIRTIO_MMIO_CONFIG, 0);	/* capacity: read-only */
	hg_wr(d, VIRTIO_MMIO_CONFIG + 4, 0xffffffff);
	*(volatile uint8_t *)(d->base + VIRTIO_MMIO_CONFIG + 1) = 0x77;
	hg_expect(blk_capacity(d) == cap, "a config write changed the capacity");
	blk_after(env, d);
	hg_done();
}

/* Registers read and written at widths 1, 2 and 8 and at offsets 1-3 into them. */
static void mmio_wrong_width(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	volatile uint8_t *b = (volatile uint8_t *)d->base;

	hg_class("mmio-wrong-width");
	hg_up(d, 0, 16);
	for (unsigned off = 0; off < 0x100; off += 4) {
		uint8_t v8 = b[off];
		uint16_t v16 = *(volatile uint16_t *)(b + off);
		uint64_t v64 = *(volatile uint64_t *)(b + (off & ~7u));
		uint32_t un = *(volatile uint32_t *)(b + off + 1);
		hg_expect(!v8 && !v16 && !v64 && !un, "a wrong-width or unaligned register read not 0");
	}
	b[VIRTIO_MMIO_STATUS] = 0;			/* a byte reset: ignored */
	*(volatile uint16_t *)(b + VIRTIO_MMIO_QUEUE_READY) = 0;
	*(volatile uint64_t *)(b + VIRTIO_MMIO_QUEUE_NOTIFY) = 0;
	*(volatile uint32_t *)(b + VIRTIO_MMIO_STATUS + 1) = 0;
	hg_expect(hg_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK,
		  "a wrong-width write to STATUS changed it");
	hg_expect(hg_rd(d, VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976, "the magic value changed");
	blk_after(env, d);
	hg_done();
}

/* Queue selectors past the device's queues: nothing there to read or to change. */
static void queue_sel_out_of_range(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	static const uint32_t sels[] = { 1, 2, 3, 16, 0x10000, 0xffffffff };

	hg_class("queue-sel-out-of-range");
	hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
	for (unsigned i = 0; i < N(sels); i++) {
		hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, sels[i]);
		hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0 && hg_rd(d, VIRTIO_MMIO_QUEUE_READY) == 0,
			  "a queue past the device's queues reads as present");
		hg_wr(d, VIRTIO_MMIO_QUEUE_NUM, 16);
		hg_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
		hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
		hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 0);
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, sels[i]);
	}
	hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_READY) == 1, "writes to another selector turned queue 0 off");
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 2, (uintptr_t)d->buf + 4096, 512, 0) == 0,
		  "queue 0 does not serve after writes to other selectors");
	blk_after(env, d);
	hg_done();
}

/* Layout writes to a live queue (ignored: it goes on from its old rings); the queue turned
 * off, moved onto the device's own registers and turned on (refused); selectors past the
 * device's queues. */
static void queue_reconfig_after_driver_ok(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint64_t data = (uintptr_t)d->buf + 4096;

	hg_class("queue-reconfig-after-driver-ok");
	hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
	hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	hg_wr(d, VIRTIO_MMIO_QUEUE_NUM, 3);
	hg_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d->base);
	hg_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0xffffffff);
	hg_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 7);
	hg_wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x10);
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_READY) == 1, "layout writes turned a live queue off");
	for (unsigned i = 0; i < 3; i++)
		hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 2, data, 512, 0) == 0,
			  "a live queue does not serve from its old rings after layout writes");
	hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 0);
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_READY) == 0, "QUEUE_READY 0 did not turn the queue off");
	hg_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)d->base);
	hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_READY) == 0, "a queue moved onto MMIO became ready");
	hg_expect(hg_wait_needs_reset(d), "no NEEDS_RESET for a queue moved onto MMIO");
	for (unsigned i = 0; i < 10; i++)
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);		/* the dead queue */
	hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, 7);
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0, "queue 7 reads as present");
	hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_READY) == 0, "queue 7 became ready");
	hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	hg_wr(d, VIRTIO_MMIO_QUEUE_NUM, 8);
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	blk_after(env, d);
	hg_done();
}

/* 4-byte accesses at offsets 1-3 into registers, and at the window's last bytes, where the
 * access runs on into the next device's window (vsock's MAGIC_VALUE). */
static void mmio_unaligned(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	volatile uint8_t *b = (volatile uint8_t *)d->base;
	uint32_t status;

	hg_class("mmio-unaligned");
	hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
	status = hg_rd(d, VIRTIO_MMIO_STATUS);
	for (unsigned off = 1; off < 4; off++) {
		*(volatile uint32_t *)(b + VIRTIO_MMIO_STATUS + off) = 0;
		hg_expect(*(volatile uint32_t *)(b + VIRTIO_MMIO_STATUS + off) == 0,
			  "an unaligned 4-byte read of STATUS is not 0");
		*(volatile uint32_t *)(b + VIRTIO_MMIO_QUEUE_NOTIFY + off) = 0;
		*(volatile uint32_t *)(b + VIRTIO_MMIO_QUEUE_READY + off) = 0;
		*(volatile uint32_t *)(b + VIRTIO_MMIO_QUEUE_SEL + off) = 1;
		hg_expect(*(volatile uint32_t *)(b + VIRTIO_MMIO_MAGIC_VALUE + off) == 0,
			  "an unaligned 4-byte read of MAGIC_VALUE is not 0");
	}
	for (unsigned off = 0xffd; off < 0x1000; off++) {
		hg_expect(*(volatile uint32_t *)(b + off) == 0,
			  "a 4-byte read across the window's end is not 0");
		*(volatile uint32_t *)(b + off) = 0xffffffff;
	}
	hg_expect(hg_rd(d, VIRTIO_MMIO_STATUS) == status, "unaligned writes changed STATUS");
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_READY) == 1, "unaligned writes changed QUEUE_SEL or READY");
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 2, (uintptr_t)d->buf + 4096, 512, 0) == 0,
		  "the device does not serve after unaligned accesses");
	hg_expect(hg_rd(env->vsock, VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976,
		  "the next device's magic changed");
	hg_expect(vsock_sane(env->vsock), "the next device (vsock) does not serve");
	blk_after(env, d);
	hg_done();
}

/*
 * With EVENT_IDX and queue 0's rings flush against the end of RAM for 16 entries (so any use
 * of a larger size reads or writes past RAM), 20 requests are served; then the queue is turned
 * off, resized to 0, 128, 256 and notified with a new request each time; then turned on again.
 */
static void resized_queue_notified(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint64_t used = hg_ram_end - 136, avail = used - 64, desc = avail - 264;
	volatile uint16_t *used_idx;
	unsigned bad = 0;

	hg_class("resized-queue-notified");
	hg_reset(d);
	hg_features(d, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	hg_expect(hg_queue_place(d, 0, 16, desc, avail, used) == 1,
		  "rings flush against the end of RAM were refused");
	hg_wr(d, VIRTIO_MMIO_STATUS, STATUS_FEAT | VIRTIO_CONFIG_S_DRIVER_OK);
	used_idx = &d->q[0].used->idx;
	for (unsigned i = 0; i < 20; i++)
		bad += blk_request(d, VIRTIO_BLK_T_IN, 2, 0, 0, 0) != 0;
	hg_expect(!bad && *used_idx == 20, "20 requests on rings at the end of RAM were not served");
	for (uint32_t size = 0; size <= 256; size += 128) {
		hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, 0);
		hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 0);
		hg_wr(d, VIRTIO_MMIO_QUEUE_NUM, size);
		d->q[0].avail->ring[d->q[0].next_avail % 16] = 0;
		barrier();	/* the entry before the index */
		d->q[0].avail->idx = ++d->q[0].next_avail;
		barrier();	/* the index before the notification */
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		hg_delay_ms(20);
		hg_expect(*used_idx == 20, "a queue turned off served a request");
	}
	hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	hg_expect(hg_rd(d, VIRTIO_MMIO_QUEUE_READY) == 0, "a queue resized past the end of RAM became ready");
	hg_expect(hg_wait_needs_reset(d), "no NEEDS_RESET for a queue resized past the end of RAM");
	hg_expect(*used_idx == 20, "the refused queue served a request");
	blk_after(env, d);
	hg_done();
}

void classes_transport(struct hg_env *env)
{
	queue_size_zero(env);
	queue_size_not_pow2(env);
	queue_size_above_max(env);
	ring_outside_ram(env);
	ring_over_ram_top(env);
	ring_misaligned(env);
	queue_ready_toggle(env);
	unoffered_features(env);
	status_regressions(env);
	config_out_of_range(env);
	mmio_wrong_width(env);
	mmio_unaligned(env);
	queue_sel_out_of_range(env);
	queue_reconfig_after_driver_ok(env);
	resized_queue_notified(env);
}
