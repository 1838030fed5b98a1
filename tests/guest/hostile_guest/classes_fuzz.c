/* Register access the way no driver makes it: string and locked instructions on the window,
 * and thousands of random writes and reads, so KVM's instruction decoding feeds the VMM. */
#include "classes.h"

#include <linux/virtio_mmio.h>

/* rep stos / rep movs over a whole register window, xchg, lock xadd and cmpxchg on STATUS:
 * KVM splits each into plain accesses the transport must take one by one. */
static void mmio_string_ops(struct hg_env *env)
{
	struct hg_dev *d = env->root;
	static uint32_t copy[1024];
	uint32_t v = 0xffffffff;

	hg_class("mmio-string-ops");
	hg_up(d, 0, 16);
	void *dst = (void *)d->base;
	uint64_t cnt = 0x100 / 4;
	__asm__ volatile("rep stosl" : "+D"(dst), "+c"(cnt) : "a"(0xffffffffu) : "memory");
	const void *src = (const void *)d->base;
	dst = copy;
	cnt = 1024;	/* the registers, the config space, the end of the window */
	__asm__ volatile("rep movsl" : "+S"(src), "+D"(dst), "+c"(cnt) :: "memory");
	hg_expect(copy[0] == 0x74726976, "a string read of the window lost the magic value");
	volatile uint32_t *status = (volatile uint32_t *)(d->base + VIRTIO_MMIO_STATUS);
	__asm__ volatile("xchg %0, %1" : "+r"(v), "+m"(*status) :: "memory");
	__asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*status) :: "memory");
	uint32_t expected = 0;
	__asm__ volatile("lock cmpxchgl %2, %1" : "+a"(expected), "+m"(*status) : "r"(0u) : "memory");
	__asm__ volatile("notl %0" : "+m"(*status) :: "memory");
	blk_after(env, env->vol);
	hg_expect(blk_sane(d), "the root disk does not serve after string access");
	hg_done();
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;	/* fixed: a failure replays the same way */

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* 20000 random accesses of random width at random offsets of the read-only disk's and the
 * vsock device's windows. Notifications are left out: rings at random places would have the
 * device write disk data over this kernel. The volume is spared: its disk must not change. */
static void random_register_writes(struct hg_env *env)
{
	struct hg_dev *devs[] = { env->root, env->vsock };

	hg_class("random-register-writes");
	for (unsigned i = 0; i < 20000; i++) {
		uint64_t r = next_random();
		struct hg_dev *d = devs[r & 1];
		unsigned width = 1u << ((r >> 1) & 3);
		unsigned off = (unsigned)((r >> 8) & 0xfff) & ~(width - 1);
		uint64_t v = next_random();
		uintptr_t a = d->base + off;

		if (off == VIRTIO_MMIO_QUEUE_NOTIFY)
			continue;
		if ((r >> 3) & 1)
			(void)(width == 1 ? *(volatile uint8_t *)a : width == 2 ? *(volatile uint16_t *)a :
			       width == 4 ? *(volatile uint32_t *)a : *(volatile uint64_t *)a);
		else if (width == 1)
			*(volatile uint8_t *)a = (uint8_t)v;
		else if (width == 2)
			*(volatile uint16_t *)a = (uint16_t)v;
		else if (width == 4)
			*(volatile uint32_t *)a = (uint32_t)v;
		else
			*(volatile uint64_t *)a = v;
	}
	hg_expect(blk_sane(env->root), "the root disk does not serve after a reset");
	hg_expect(vsock_sane(env->vsock), "vsock does not serve after a reset");
	hg_expect(blk_sane(env->vol), "the volume does not serve");
	hg_done();
}

void classes_fuzz(struct hg_env *env)
{
	mmio_string_ops(env);
	random_register_writes(env);
}
