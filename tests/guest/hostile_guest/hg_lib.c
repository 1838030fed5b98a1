/* The hostile guest's runtime: UART output, class lines, and the virtio-mmio driver. */
#include "hg.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#define COM1 0x3f8
/*
 * The TSC rate is not known to a guest without a clock driver; 4 GHz bounds every host this
 * runs on from above, so waits are at least as long as asked (longer on slower TSCs).
 */
#define TSC_PER_MS  4000000ULL
#define WAIT_MS     10000

uint64_t hg_ram_end;
static const char *class_name;

void *memset(void *s, int c, size_t n)
{
	volatile uint8_t *p = s;	/* volatile: the compiler must not turn this into memset */

	while (n--)
		*p++ = (uint8_t)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	volatile uint8_t *o = d;
	const uint8_t *i = s;

	while (n--)
		*o++ = *i++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

void hg_puts(const char *s)
{
	/* The VMM's UART drains at once (THRE always set), so no polling of LSR. */
	for (; *s; s++)
		outb(COM1, (uint8_t)*s);
}

void hg_puthex(uint64_t v)
{
	char s[19] = "0x";
	int i = 2;

	for (int shift = 60; shift >= 0; shift -= 4)
		if ((v >> shift) || shift == 0 || i > 2)
			s[i++] = "0123456789abcdef"[(v >> shift) & 15];
	s[i] = '\0';
	hg_puts(s);
}

void hg_putdec(uint64_t v)
{
	char s[21];
	int i = 20;

	s[i] = '\0';
	do
		s[--i] = (char)('0' + v % 10);
	while (v /= 10);
	hg_puts(s + i);
}

void hg_class(const char *name)
{
	class_name = name;
}

int hg_expect(int ok, const char *what)
{
	if (!ok) {
		hg_puts("class ");
		hg_puts(class_name);
		hg_puts(": unexpected: ");
		hg_puts(what);
		hg_puts("\n");
	}
	return ok;
}

void hg_done(void)
{
	hg_puts("class ");
	hg_puts(class_name);
	hg_puts(": done\n");
}

void hg_delay_ms(unsigned ms)
{
	uint64_t end = rdtsc() + ms * TSC_PER_MS;

	while (rdtsc() < end)
		__asm__ volatile("pause");
}

/* ---- virtio-mmio ---- */

uint32_t hg_rd(const struct hg_dev *d, unsigned off)
{
	return *(volatile uint32_t *)(d->base + off);
}

void hg_wr(const struct hg_dev *d, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(d->base + off) = v;
}

int hg_needs_reset(const struct hg_dev *d)
{
	return !!(hg_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

void hg_reset(struct hg_dev *d)
{
	hg_wr(d, VIRTIO_MMIO_STATUS, 0);
	memset(d->q, 0, sizeof(d->q));
}

int hg_features(struct hg_dev *d, uint64_t features)
{
	hg_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	hg_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	hg_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	hg_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	hg_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	hg_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	hg_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	      VIRTIO_CONFIG_S_FEATURES_OK);
	return !!(hg_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
}

uint64_t hg_desc_gpa(const struct hg_dev *d, unsigned q)
{
	return (uintptr_t)d->area + q * 0x10000ULL;
}

uint64_t hg_avail_gpa(const struct hg_dev *d, unsigned q)
{
	return hg_desc_gpa(d, q) + 0x4000;
}

uint64_t hg_used_gpa(const struct hg_dev *d, unsigned q)
{
	return hg_desc_gpa(d, q) + 0x8000;
}

int hg_queue_place(struct hg_dev *d, unsigned q, uint32_t size, uint64_t desc, uint64_t avail,
		   uint64_t used)
{
	struct hg_queue *gq = &d->q[q < HG_MAX_QUEUES ? q : 0];

	hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	hg_wr(d, VIRTIO_MMIO_QUEUE_NUM, size);
	hg_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	hg_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	hg_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	hg_wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	hg_wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	hg_wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	/* Only rings this guest can reach are remembered for its own use; others stay NULL. */
	*gq = (struct hg_queue){ .size = (uint16_t)size };
	if (desc < hg_ram_end && avail < hg_ram_end && used < hg_ram_end) {
		gq->desc = (struct vring_desc *)(uintptr_t)desc;
		gq->avail = (struct vring_avail *)(uintptr_t)avail;
		gq->used = (struct vring_used *)(uintptr_t)used;
		gq->avail->flags = 0;
		gq->avail->idx = 0;
		gq->used->idx = 0;
	}
	hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return (int)hg_rd(d, VIRTIO_MMIO_QUEUE_READY);
}

int hg_up(struct hg_dev *d, uint64_t extra_features, uint16_t size)
{
	hg_reset(d);
	if (!hg_features(d, (1ULL << VIRTIO_F_VERSION_1) | extra_features))
		return -1;
	for (unsigned q = 0; q < d->nq; q++)
		if (hg_queue_place(d, q, size, hg_desc_gpa(d, q), hg_avail_gpa(d, q),
				   hg_used_gpa(d, q)) != 1)
			return -1;
	hg_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	return hg_needs_reset(d) ? -1 : 0;
}

void hg_submit(struct hg_dev *d, unsigned q, uint16_t head)
{
	struct hg_queue *gq = &d->q[q];

	gq->avail->ring[gq->next_avail % gq->size] = head;
	barrier();	/* the entry before the index that publishes it */
	gq->avail->idx = ++gq->next_avail;
	barrier();	/* the index before the notification that makes the device look */
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

int hg_wait_used(struct hg_dev *d, unsigned q, uint32_t *len)
{
	return hg_wait_used_ms(d, q, len, WAIT_MS);
}

int hg_wait_used_ms(struct hg_dev *d, unsigned q, uint32_t *len, unsigned ms)
{
	struct hg_queue *gq = &d->q[q];
	uint64_t end = rdtsc() + ms * TSC_PER_MS;

	while (rdtsc() < end) {
		if (*(volatile uint16_t *)&gq->used->idx != gq->used_seen) {
			barrier();	/* the element after the index that published it */
			if (len)
				*len = gq->used->ring[gq->used_seen % gq->size].len;
			gq->used_seen++;
			return 1;
		}
		if (hg_needs_reset(d))
			return -1;
		__asm__ volatile("pause");
	}
	return 0;
}

int hg_wait_needs_reset(const struct hg_dev *d)
{
	uint64_t end = rdtsc() + WAIT_MS * TSC_PER_MS;

	while (rdtsc() < end) {
		if (hg_needs_reset(d))
			return 1;
		__asm__ volatile("pause");
	}
	return 0;
}
