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

/* A data buffer outside RAM: past its end, on MMIO, at 4 GiB (no RAM there without high RAM),
 * far above, wrapping 2^64. */
static void desc_outside_ram(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	const uint64_t bad[] = {
		hg_ram_end, hg_ram_end - 256, env->vol->base, env->root->base, 0xc0000000ULL,
		1ULL << 32, 1ULL << 46, ~0ULL - 255,
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

/* Heads 16 and 0xffff, and nexts 16, 200 and 0xffff, in a queue of 16. */
static void desc_index_out_of_range(struct hg_env *env)
{
	struct hg_dev *d = env->vol;

	hg_class("desc-index-out-of-range");
	up(d, 0);
	expect_broken_by(d, 16, "a head equal to the queue size did not make NEEDS_RESET");
	up(d, 0);
	expect_broken_by(d, 0xffff, "head 0xffff did not make NEEDS_RESET");
	static const uint16_t nexts[] = { 16, 200, 0xffff };
	for (unsigned i = 0; i < N(nexts); i++) {
		up(d, 0);
		desc_set(d, 0, 0, hdr(d), 16, F_NEXT, nexts[i]);
		expect_broken_by(d, 0, "next past the table did not make NEEDS_RESET");
	}
	blk_after(env, d);
	hg_done();
}

/* Indirect tables: nested, of lengths 0 (in RAM and outside), 15, 40 and 2^32-16, with NEXT,
 * outside RAM, looping. */
static void indirect_bad(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	struct vring_desc *t = (struct vring_desc *)(d->buf + 0x8000);
	uint64_t tg = (uintptr_t)t;
	const struct { uint64_t addr; uint32_t len; uint16_t flags; const char *what; } bad[] = {
		{ tg, 0, F_IND, "an empty indirect table" },
		{ hg_ram_end + 0x1000, 0, F_IND, "an empty indirect table outside RAM" },
		{ tg, 15, F_IND, "an indirect table of 15 bytes" },
		{ tg, 40, F_IND, "an indirect table of 40 bytes" },
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
	/* Backwards after 3 served requests: to the device, a jump of 2^16 - 3. */
	up(d, 0);
	for (unsigned i = 0; i < 3; i++)
		hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 2, (uintptr_t)d->buf + 4096, 512, 0) == 0,
			  "a request before the backward jump was not served");
	d->q[0].avail->idx = (uint16_t)(d->q[0].next_avail - 3);
	barrier();	/* the index before the notification */
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	hg_expect(hg_wait_needs_reset(d), "an index running backwards did not make NEEDS_RESET");
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

/* A read of sector 2 through descriptors 0-2 whose data descriptor is {data, len, flags}:
 * what blk_request builds, with the data descriptor's fields the caller's. */
static void read_chain(struct hg_dev *d, uint64_t data, uint32_t len, uint16_t flags)
{
	struct virtio_blk_outhdr *h = (void *)d->buf;

	*h = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_IN, .sector = 2 };
	*(volatile uint8_t *)(uintptr_t)status(d) = 0xee;
	desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
	desc_set(d, 0, 1, data, len, F_NEXT | flags, 2);
	desc_set(d, 0, 2, status(d), 1, F_WRITE, 0);
}

/* Submits head and waits for its used entry: 1 with the status byte in *st and the used
 * length in *len, -1 if the device broke instead, 0 if neither came. */
static int served(struct hg_dev *d, uint16_t head, uint8_t *st, uint32_t *len)
{
	int r;

	hg_submit(d, 0, head);
	r = hg_wait_used(d, 0, len);
	*st = *(volatile uint8_t *)(uintptr_t)status(d);
	return r;
}

/* Zero-length data, header and status buffers; a zero-length buffer outside RAM. */
static void zero_length(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint8_t *data = d->buf + 4096, st = 0;
	uint32_t len = 99;

	hg_class("zero-length");
	up(d, 0);
	memset(data, 0x5a, 512);
	read_chain(d, (uintptr_t)data, 0, F_WRITE);
	hg_expect(served(d, 0, &st, &len) == 1 && st == VIRTIO_BLK_S_OK && len == 1,
		  "a read into a zero-length buffer is not OK with used len 1");
	hg_expect(data[0] == 0x5a, "a read into a zero-length buffer wrote data");
	/* Header of length 0: no request to read, IOERR. */
	desc_set(d, 0, 0, hdr(d), 0, F_NEXT, 1);
	desc_set(d, 0, 1, status(d), 1, F_WRITE, 0);
	hg_expect(served(d, 0, &st, &len) == 1 && st == VIRTIO_BLK_S_IOERR && len == 1,
		  "a zero-length header is not IOERR with used len 1");
	/* Status of length 0: nowhere to answer, used len 0. */
	memset(d->buf, 0, 16);
	*(volatile uint8_t *)(uintptr_t)status(d) = 0xee;
	desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
	desc_set(d, 0, 1, status(d), 0, F_WRITE, 0);
	hg_expect(served(d, 0, &st, &len) == 1 && len == 0 && st == 0xee,
		  "a zero-length status buffer is not used len 0, the byte untouched");
	hg_expect(!hg_needs_reset(d), "zero-length buffers in RAM broke the device");
	/* Zero bytes outside RAM are still outside RAM. */
	read_chain(d, hg_ram_end + 0x1000, 0, F_WRITE);
	expect_broken_by(d, 0, "a zero-length buffer outside RAM did not make NEEDS_RESET");
	blk_after(env, d);
	hg_done();
}

/* Buffers of the wrong direction: a read into a device-readable buffer, a writable header, a
 * write whose status the device may not write, a readable buffer after a writable one. */
static void wrong_direction(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	uint8_t *data = d->buf + 4096, *before = d->buf + 0x8000, *after = d->buf + 0x9000, st = 0;
	struct virtio_blk_outhdr *h = (void *)d->buf;
	uint32_t len = 99;
	int r;

	hg_class("wrong-direction");
	up(d, 0);
	memset(data, 0x5a, 512);
	read_chain(d, (uintptr_t)data, 512, 0);
	r = served(d, 0, &st, &len);
	hg_puts("wrong-direction: a read into a readable buffer: status ");
	hg_puthex(st);
	hg_puts(", used len ");
	hg_putdec(len);
	hg_puts("\n");
	hg_expect(r == 1 && len <= 1, "a read into a readable buffer is not used len 0 or 1");
	for (unsigned i = 0; i < 512; i++)
		if (!hg_expect(data[i] == 0x5a, "the device wrote into a device-readable buffer"))
			break;
	/* Every descriptor writable: no header to read, IOERR. */
	read_chain(d, (uintptr_t)data, 512, F_WRITE);
	d->q[0].desc[0].flags |= F_WRITE;
	hg_expect(served(d, 0, &st, &len) == 1 && st == VIRTIO_BLK_S_IOERR,
		  "a writable header is not IOERR");
	/* A write of sector 7 whose status byte is readable: nowhere to answer, nothing written
	 * (the test also compares the volume on the host). */
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 7, (uintptr_t)before, 512, 0) == 0,
		  "sector 7 does not read");
	memset(data, 0xa5, 512);
	*h = (struct virtio_blk_outhdr){ .type = VIRTIO_BLK_T_OUT, .sector = 7 };
	desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
	desc_set(d, 0, 1, (uintptr_t)data, 512, F_NEXT, 2);
	desc_set(d, 0, 2, status(d), 1, 0, 0);
	*(volatile uint8_t *)(uintptr_t)status(d) = 0xee;
	hg_expect(served(d, 0, &st, &len) == 1 && len == 0 && st == 0xee,
		  "a write with a readable status is not used len 0, the byte untouched");
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 7, (uintptr_t)after, 512, 0) == 0 &&
		  memcmp(before, after, 512) == 0, "a write with a readable status changed the disk");
	/* Readable after writable: the chain breaks the queue. */
	memset(d->buf, 0, 16);
	desc_set(d, 0, 0, hdr(d), 16, F_NEXT, 1);
	desc_set(d, 0, 1, status(d), 1, F_NEXT | F_WRITE, 2);
	desc_set(d, 0, 2, (uintptr_t)data, 512, 0, 0);
	expect_broken_by(d, 0, "a readable buffer after a writable one did not make NEEDS_RESET");
	blk_after(env, d);
	hg_done();
}

/* Every descriptor of the table in one chain that goes round again, in queues of 16 and of
 * 256 (the most there is); an indirect table of 257 entries. */
static void chain_longer_than_queue(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	static const uint16_t sizes[] = { 16, 256 };
	struct vring_desc *t = (struct vring_desc *)(d->area + 0x30000);

	hg_class("chain-longer-than-queue");
	for (unsigned s = 0; s < N(sizes); s++) {
		hg_expect(hg_up(d, 0, sizes[s]) == 0, "device would not come up");
		memset(d->buf, 0, 16);
		for (unsigned i = 0; i < sizes[s]; i++)
			desc_set(d, 0, i, hdr(d), 16, F_NEXT, (uint16_t)((i + 1) % sizes[s]));
		expect_broken_by(d, 3, "a chain round the whole table did not make NEEDS_RESET");
	}
	up(d, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	for (unsigned i = 0; i < 257; i++)
		t[i] = (struct vring_desc){ hdr(d), 16, F_NEXT, (uint16_t)(i + 1) };
	desc_set(d, 0, 0, (uintptr_t)t, 257 * 16, F_IND, 0);
	expect_broken_by(d, 0, "an indirect table of 257 entries did not make NEEDS_RESET");
	blk_after(env, d);
	hg_done();
}

/* A good indirect table while INDIRECT_DESC is not negotiated: served right, or refused. */
static void indirect_without_feature(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	struct vring_desc *t = (struct vring_desc *)(d->buf + 0x8000);
	uint8_t *data = d->buf + 4096, st = 0;
	uint32_t len = 0;
	int r;

	hg_class("indirect-without-feature");
	up(d, 0);
	read_chain(d, (uintptr_t)data, 512, F_WRITE);
	memset(data, 0, 512);
	memcpy(t, (const void *)d->q[0].desc, 3 * sizeof(*t));
	desc_set(d, 0, 0, (uintptr_t)t, 48, F_IND, 0);
	r = served(d, 0, &st, &len);
	hg_puts(r == 1 ? "indirect-without-feature: served\n" : "indirect-without-feature: refused\n");
	hg_expect(r != 0, "an indirect table without the feature was neither served nor refused");
	if (r == 1)
		hg_expect(st == VIRTIO_BLK_S_OK && len == 513 && (data[0x38] | data[0x39] << 8) == 0xef53,
			  "an indirect table without the feature was served wrong");
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
	zero_length(env);
	wrong_direction(env);
	chain_longer_than_queue(env);
	indirect_without_feature(env);
	notify_storm(env);
	event_idx_edges(env);
}
