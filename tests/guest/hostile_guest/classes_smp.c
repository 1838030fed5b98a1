/* Two vCPUs on one device at once: one drives requests, the other rewrites the registers
 * under it (resets, QUEUE_READY, sizes, ring places, the queue selector), so register writes
 * race each other in the transport and race the I/O thread serving the queue. */
#include "classes.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#define STATUS_OK (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
		   VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

struct hammer {
	struct hg_dev *d;
	volatile int stop;
	volatile unsigned writes;
};

/* On the second vCPU: register writes until told to stop. Ring places only from a fixed set
 * (ours, past RAM, misaligned): rings at random places would have the device write disk data
 * over this kernel. */
static void hammer(void *arg)
{
	struct hammer *h = arg;
	struct hg_dev *d = h->d;
	static const uint32_t sizes[] = { 0, 16, 3, 512 };
	const uint32_t places[] = {
		(uint32_t)hg_desc_gpa(d, 0), (uint32_t)hg_ram_end, (uint32_t)hg_desc_gpa(d, 0) + 8,
	};
	uint64_t r = 0x2545f4914f6cdd1dULL;

	while (!h->stop) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		switch (r % 10) {
		case 0: hg_wr(d, VIRTIO_MMIO_STATUS, 0); break;
		case 1: hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 0); break;
		case 2: hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 1); break;
		case 3: hg_wr(d, VIRTIO_MMIO_QUEUE_NUM, sizes[(r >> 8) % 4]); break;
		case 4: hg_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, places[(r >> 8) % 3]); break;
		case 5: hg_wr(d, VIRTIO_MMIO_STATUS, STATUS_OK); break;
		case 6: hg_wr(d, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff); break;
		case 7: hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, (uint32_t)(r >> 8) & 1); break;
		case 8: hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0); break;
		default: (void)hg_rd(d, VIRTIO_MMIO_QUEUE_READY); break;
		}
		h->writes = h->writes + 1;
	}
}

/* On the boot vCPU: reads of the read-only disk through the default rings, each waited for
 * briefly (the other vCPU's reset may drop it), while the hammer runs. */
static unsigned drive(struct hg_dev *d, unsigned rounds)
{
	unsigned served = 0;

	for (unsigned i = 0; i < rounds; i++) {
		hg_up(d, 0, 16);
		if (!d->q[0].avail)
			continue;
		memset(d->buf, 0, 16);
		desc_set(d, 0, 0, (uintptr_t)d->buf, 16, VRING_DESC_F_NEXT, 1);
		desc_set(d, 0, 1, (uintptr_t)d->buf + 4096, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
		desc_set(d, 0, 2, (uintptr_t)d->buf + 64, 1, VRING_DESC_F_WRITE, 0);
		hg_submit(d, 0, 0);
		served += hg_wait_used_ms(d, 0, 0, 2) == 1;
	}
	return served;
}

static void smp_register_race(struct hg_env *env)
{
	static struct hammer h;
	struct hg_dev *d = env->root;

	hg_class("smp-register-race");
	if (!hg_expect(hg_smp_start(), "the second vCPU did not start (give --cpus 2)")) {
		hg_done();
		return;
	}
	h = (struct hammer){ .d = d };
	hg_smp_post(hammer, &h);
	unsigned served = drive(d, 400);
	h.stop = 1;
	for (unsigned ms = 0; ms < 1000 && !hg_smp_done(); ms++)
		hg_delay_ms(1);
	hg_expect(hg_smp_done(), "the second vCPU did not finish");
	hg_puts("smp-register-race: ");
	hg_putdec(h.writes);
	hg_puts(" register accesses from vCPU 1 against 400 requests from vCPU 0, ");
	hg_putdec(served);
	hg_puts(" served\n");
	hg_expect(h.writes > 1000, "the second vCPU barely ran");
	blk_after(env, d);
	hg_expect(vsock_sane(env->vsock), "vsock does not serve");
	hg_done();
}

void classes_smp(struct hg_env *env)
{
	smp_register_race(env);
}
