/* Descriptor chains and ring indices on virtio-blk, and a notification storm. */
#include "classes.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define F_NEXT  VRING_DESC_F_NEXT
#define F_WRITE VRING_DESC_F_WRITE
#define F_IND   VRING_DESC_F_INDIRECT

static uint64_t hdr(const struct hg_dev *d)
{
	return (uintptr_t)d->buf;	/* 16 zero bytes: VIRTIO_BLK_T_IN of sector 0 */
}

static uint64_t status(const struct hg_dev *d)
{
	return (uintptr_t)d->buf + 64;
}

static void up(struct hg_dev *d, uint64_t features)
{
	hg_expect(hg_up(d, features, 16) == 0, "device would not come up");
	memset(d->buf, 0, 16);
}

/* Chains that loop back on themselves: 0 -> 1 -> 0, and a descriptor naming itself. */
static void chain_loop(struct hg_env *env)
{
	struct hg_dev *d = env->vol;

	hg_class("desc-chain-loop");
	up(d, 0);
	/* Both readable: the walk must be stopped by its hop count, not by the order check. */
	desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
	desc_set(d, 0, 1, hdr(d), 16, F_NEXT, 0);
	expect_broken_by(d, 0, "a looping chain did not make NEEDS_RESET");
	up(d, 0);
	desc_set(d, 0, 5, status(d), 1, F_NEXT | F_WRITE, 5);
	expect_broken_by(d, 5, "a descriptor naming itself did not make NEEDS_RESET");
	blk_after(env, d);
	hg_done();
}

/* A data buffer outside RAM: past its end, on MMIO, far above, wrapping 2^64. */
static void desc_outside_ram(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	const uint64_t bad[] = {
		hg_ram_end, hg_ram_end - 256, env->vol->base, env->root->base, 0xc0000000ULL,
		1ULL << 46, ~0ULL - 255,
	};

	hg_class("desc-outside-ram");
	for (unsigned i = 0; i < N(bad); i++) {
		up(d, 0);
		desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
		desc_set(d, 0, 1, bad[i], 512, F_NEXT | F_WRITE, 2);
		desc_set(d, 0, 2, status(d), 1, F_WRITE, 0);
		expect_broken_by(d, 0, "a buffer outside RAM did not make NEEDS_RESET");
	}
	blk_after(env, d);
	hg_done();
}

/* Lengths of 4 GiB - 1 and 2 GiB from the start of RAM and from the middle of it. */
static void desc_len_4g(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	static const uint32_t lens[] = { 0xffffffff, 0x80000000, 0xfffffff0 };

	hg_class("desc-len-4g");
	for (unsigned i = 0; i < N(lens); i++) {
		up(d, 0);
		desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
		desc_set(d, 0, 1, 0x100000, lens[i], F_NEXT | F_WRITE, 2);
		desc_set(d, 0, 2, status(d), 1, F_WRITE, 0);
		expect_broken_by(d, 0, "a 4 GiB buffer did not make NEEDS_RESET");
		up(d, 0);
		desc_set(d, 0, 0, hdr(d), lens[i], 0, 0);	/* as the header */
		expect_broken_by(d, 0, "a 4 GiB header did not make NEEDS_RESET");
	}
	blk_after(env, d);
	hg_done();
}

/* A head past the table, a next past the table, and 0xffff. */
static void desc_index_out_of_range(struct hg_env *env)
{
	struct hg_dev *d = env->vol;

	hg_class("desc-index-out-of-range");
	up(d, 0);
	expect_broken_by(d, 16, "a head equal to the queue size did not make NEEDS_RESET");
	up(d, 0);
	expect_broken_by(d, 0xffff, "head 0xffff did not make NEEDS_RESET");
	up(d, 0);
	desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 200);
	expect_broken_by(d, 0, "next past the table did not make NEEDS_RESET");
	blk_after(env, d);
	hg_done();
}

/* Indirect tables: nested, of lengths 0, 15 and 2^32-16, with NEXT, outside RAM, looping. */
static void indirect_bad(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	struct vring_desc *t = (struct vring_desc *)(d->buf + 0x8000);
	uint64_t tg = (uintptr_t)t;
	const struct { uint64_t addr; uint32_t len; uint16_t flags; const char *what; } bad[] = {
		{ tg, 0, F_IND, "an empty indirect table" },
		{ tg, 15, F_IND, "an indirect table of 15 bytes" },
		{ tg, 0xfffffff0, F_IND, "an indirect table of 4 GiB" },
		{ tg, 48, F_IND | F_NEXT, "an indirect descriptor with NEXT" },
		{ hg_ram_end - 16, 48, F_IND, "an indirect table past RAM" },
		{ tg + 48, 48, F_IND, "a nested indirect table" },
		{ tg + 96, 48, F_IND, "an indirect chain that loops" },
	};

	hg_class("indirect-bad");
	/* A good table at tg; at tg + 48 one whose entry is indirect; at tg + 96 a loop. */
	t[0] = (struct vring_desc){ hdr(d), 16, F_NEXT, 1 };
	t[1] = (struct vring_desc){ (uintptr_t)d->buf + 4096, 512, F_NEXT | F_WRITE, 2 };
	t[2] = (struct vring_desc){ status(d), 1, F_WRITE, 0 };
	t[3] = (struct vring_desc){ tg, 48, F_IND, 0 };
	t[6] = (struct vring_desc){ hdr(d), 16, F_NEXT, 1 };
	t[7] = (struct vring_desc){ hdr(d), 16, F_NEXT, 0 };
	for (unsigned i = 0; i < N(bad); i++) {
		up(d, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
		desc_set(d, 0, 0, bad[i].addr, bad[i].len, bad[i].flags, 1);
		expect_broken_by(d, 0, bad[i].what);
	}
	/* The good table is served: the checks are not refusing everything. */
	up(d, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	desc_set(d, 0, 0, tg, 48, F_IND, 0);
	*(volatile uint8_t *)(uintptr_t)status(d) = 0xee;
	hg_submit(d, 0, 0);
	hg_expect(hg_wait_used(d, 0, 0) == 1 && *(volatile uint8_t *)(uintptr_t)status(d) == 0,
		  "a good indirect table was not served");
	blk_after(env, d);
	hg_done();
}

/* The available index jumping more than a queue ahead, and running backwards. */
static void avail_idx_jump(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	static const uint16_t jumps[] = { 17, 0x8000, 0xffff };

	hg_class("avail-idx-jump");
	for (unsigned i = 0; i < N(jumps); i++) {
		up(d, 0);
		d->q[0].avail->idx = jumps[i];
		barrier();	/* the index before the notification */
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		hg_expect(hg_wait_needs_reset(d), "an index jump past the queue size did not make NEEDS_RESET");
	}
	blk_after(env, d);
	hg_done();
}

/* Thousands of notifications on an empty queue (KVM's ioeventfd), on queues that do not
 * exist (through userspace), and of interrupt acknowledgements. */
static void notify_storm(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint64_t t0 = rdtsc();

	hg_class("notify-storm");
	up(d, 0);
	for (unsigned i = 0; i < 20000; i++)
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (unsigned i = 0; i < 2000; i++) {
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 1 + i * 2147483u);
		hg_wr(env->vsock, VIRTIO_MMIO_QUEUE_NOTIFY, i % 7);
		hg_wr(d, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	}
	hg_puts("notify-storm: 26000 writes in ");
	hg_putdec((rdtsc() - t0) / 1000000);
	hg_puts(" M TSC cycles\n");
	/* No reset: the storm alone must not have broken the device. */
	hg_expect(!hg_needs_reset(d), "a notify storm made NEEDS_RESET");
	hg_expect(blk_request(d, 0, 2, (uintptr_t)d->buf + 4096, 512, 0) == 0,
		  "the device does not serve after the storm");
	blk_after(env, d);
	hg_done();
}

/* With EVENT_IDX: the rings as close to the end of RAM as alignment allows (the avail ring
 * flush, its used_event on RAM's last two bytes; the used ring 2 bytes short, since 6 + 8n
 * bytes aligned to 4 cannot end there, its avail_event just before), the used ring 4 bytes
 * further (refused), and used_event set to every kind of value: requests are served
 * whatever the driver asks about interrupts. */
static void event_idx_edges(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint64_t top = hg_ram_end, used_flush = top - (8 + 8 * 16), avail_flush = top - (6 + 2 * 16);
	static const uint16_t events[] = { 0, 0xffff, 0x7fff, 1, 0x8000 };
	volatile uint16_t *avail_event = (volatile uint16_t *)(uintptr_t)(top - 4);
	unsigned bad = 0;

	hg_class("event-idx-edges");
	hg_reset(d);
	hg_features(d, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	hg_expect(hg_queue_place(d, 0, 16, hg_desc_gpa(d, 0), hg_avail_gpa(d, 0), used_flush) == 1,
		  "a used ring ending 2 bytes before the end of RAM was refused");
	hg_wr(d, VIRTIO_MMIO_STATUS, 0xf);
	*avail_event = 0xabcd;
	for (unsigned i = 0; i < 10; i++) {
		d->q[0].avail->ring[16] = events[i % 5];	/* used_event */
		bad += blk_request(d, VIRTIO_BLK_T_IN, 2, hg_desc_gpa(d, 0) + 0x30000, 512, 0) != 0;
	}
	hg_expect(!bad, "a request with EVENT_IDX was not served");
	hg_expect(*avail_event != 0xabcd, "the device never wrote avail_event at the end of RAM");
	hg_reset(d);
	hg_features(d, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	hg_expect(hg_queue_place(d, 0, 16, hg_desc_gpa(d, 0), avail_flush, hg_used_gpa(d, 0)) == 1,
		  "an avail ring ending exactly at the end of RAM was refused");
	hg_wr(d, VIRTIO_MMIO_STATUS, 0xf);
	d->q[0].avail->ring[16] = 0xffff;
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 2, hg_desc_gpa(d, 0) + 0x30000, 512, 0) == 0,
		  "a request with the avail ring flush against the end was not served");
	hg_reset(d);
	hg_features(d, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	hg_expect(hg_queue_place(d, 0, 16, hg_desc_gpa(d, 0), hg_avail_gpa(d, 0), used_flush + 4) == 0,
		  "a used ring whose avail_event lies past RAM became ready");
	hg_expect(hg_wait_needs_reset(d), "no NEEDS_RESET for a used ring past RAM");
	blk_after(env, d);
	hg_done();
}

void classes_desc(struct hg_env *env)
{
	chain_loop(env);
	desc_outside_ram(env);
	desc_len_4g(env);
	desc_index_out_of_range(env);
	indirect_bad(env);
	avail_idx_jump(env);
	notify_storm(env);
	event_idx_edges(env);
}
