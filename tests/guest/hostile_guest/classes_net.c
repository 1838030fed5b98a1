/* virtio-net transmit frames of every bad size, and checksum requests that point outside them.
 * Frames go to the backend (passt with --net user): broadcast, of an experimental ethertype. */
#include "classes.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#define TXQ 1
#define HDR ((uint32_t)sizeof(struct virtio_net_hdr_v1))	/* 12 */
#define BIG_FRAME 0x4000000ULL	/* 64 MiB: 1 MiB of RAM nobody else uses */

/* Sends [hdr | frame of len bytes] in two descriptors; 1 if the device returned it. */
static int tx(struct hg_dev *d, const struct virtio_net_hdr_v1 *h, uint64_t frame, uint32_t len)
{
	struct virtio_net_hdr_v1 *th = (void *)d->buf;

	*th = *h;
	desc_set(d, TXQ, 0, (uintptr_t)th, HDR, len ? VRING_DESC_F_NEXT : 0, 1);
	desc_set(d, TXQ, 1, frame, len, 0, 0);
	hg_submit(d, TXQ, 0);
	return hg_wait_used(d, TXQ, 0) == 1;
}

/* A frame: broadcast, from nobody in particular, ethertype 0x88b5 (local experiments). */
static uint64_t frame_at(struct hg_dev *d)
{
	uint8_t *f = d->buf + 0x1000;

	memset(f, 0, 2048);
	memset(f, 0xff, 6);
	f[6] = 0x02;
	f[12] = 0x88;
	f[13] = 0xb5;
	return (uintptr_t)f;
}

int net_send(struct hg_dev *d, uint64_t frame, uint32_t len)
{
	struct virtio_net_hdr_v1 h = { 0 };

	return tx(d, &h, frame, len);
}

int net_sane(struct hg_dev *d)
{
	struct virtio_net_hdr_v1 h = { 0 };

	return hg_up(d, 0, 16) == 0 && tx(d, &h, frame_at(d), 60) && !hg_needs_reset(d);
}

/* After an attack: the device sends a normal frame after a reset; the volume still serves. */
static void net_after(struct hg_env *env)
{
	hg_expect(net_sane(env->net), "virtio-net does not send after a reset");
	hg_expect(blk_sane(env->vol), "the disk does not serve a read");
}

/* Header only, and frames of 0-13 bytes after it: dropped and counted, device fine. */
static void net_tx_short(struct hg_env *env)
{
	struct hg_dev *d = env->net;
	struct virtio_net_hdr_v1 h = { 0 };
	static const uint32_t lens[] = { 0, 1, 5, 13 };
	uint64_t f = frame_at(d);

	hg_class("net-tx-short");
	hg_expect(hg_up(d, 0, 16) == 0, "virtio-net would not come up");
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		hg_expect(tx(d, &h, f, lens[i]), "a short frame was not returned");
	desc_set(d, TXQ, 0, (uintptr_t)d->buf, 5, 0, 0);	/* shorter than the header */
	hg_submit(d, TXQ, 0);
	hg_expect(hg_wait_used(d, TXQ, 0) == 1, "a 5-byte chain was not returned");
	hg_expect(!hg_needs_reset(d), "short frames broke the device");
	net_after(env);
	hg_done();
}

/* Frames past the MTU (passt's 65520 plus the Ethernet header), 1 MiB, and 2 GiB (outside
 * RAM: that one must break the device, not be read). */
static void net_tx_oversize(struct hg_env *env)
{
	struct hg_dev *d = env->net;
	struct virtio_net_hdr_v1 h = { 0 };
	static const uint32_t lens[] = { 65539, 1u << 20 };

	hg_class("net-tx-oversize");
	hg_expect(hg_up(d, 0, 16) == 0, "virtio-net would not come up");
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		hg_expect(tx(d, &h, BIG_FRAME, lens[i]), "an oversize frame was not returned");
	hg_expect(!hg_needs_reset(d), "oversize frames broke the device");
	hg_expect(tx(d, &h, frame_at(d), 1514), "a 1514-byte frame after oversize ones was not sent");
	desc_set(d, TXQ, 0, (uintptr_t)d->buf, HDR, VRING_DESC_F_NEXT, 1);
	desc_set(d, TXQ, 1, BIG_FRAME, 0x80000000u, 0, 0);
	expect_broken_q(d, TXQ, 0, "a 2 GiB frame did not make NEEDS_RESET");
	net_after(env);
	hg_done();
}

/* With VIRTIO_NET_F_CSUM: checksum start and offset past the frame, at its last two bytes,
 * and 0xffff each; the sum is the VMM's to write, inside the frame or nowhere. */
static void net_tx_csum_bad(struct hg_env *env)
{
	struct hg_dev *d = env->net;
	static const uint16_t cs[][2] = {
		{ 58, 0 }, { 0, 58 }, { 59, 0 }, { 0xffff, 0 }, { 0, 0xffff }, { 0xffff, 0xffff },
		{ 30, 29 },
	};
	uint8_t *f = (uint8_t *)(uintptr_t)frame_at(d);

	hg_class("net-tx-csum-bad");
	hg_expect(hg_up(d, 1ULL << VIRTIO_NET_F_CSUM, 16) == 0, "virtio-net would not come up with CSUM");
	for (unsigned i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		struct virtio_net_hdr_v1 h = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = cs[i][0], .csum_offset = cs[i][1],
		};
		hg_expect(tx(d, &h, (uintptr_t)f, 60), "a checksum request was not returned");
	}
	hg_expect(!hg_needs_reset(d), "checksum requests broke the device");
	/* The frame is the guest's: the VMM sums a copy and never writes into it. */
	hg_expect(f[58] == 0 && f[59] == 0, "the VMM wrote a checksum into the guest's frame");
	net_after(env);
	hg_done();
}

#define RXQ 0
#define RX_BUF 2048

/* An ARP request from the guest's MAC for 10.0.2.2: passt answers every such request. */
uint64_t net_arp_request(struct hg_dev *d)
{
	uint8_t *f = d->buf + 0x3000;
	static const uint8_t tail[] = {
		0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	};

	memset(f, 0, 64);
	memset(f, 0xff, 6);
	for (unsigned i = 0; i < 6; i++)
		f[6 + i] = *(volatile uint8_t *)(d->base + VIRTIO_MMIO_CONFIG + i);
	memcpy(f + 12, tail, sizeof(tail));
	memcpy(f + 22, f + 6, 6);		/* sender MAC */
	f[28] = 10; f[29] = 0; f[30] = 2; f[31] = 15;	/* sender IP */
	f[38] = 10; f[39] = 0; f[40] = 2; f[41] = 2;	/* target IP */
	return (uintptr_t)f;
}

/* Posts n receive buffers (descriptors 0..n-1 of the rx queue) of len bytes with flags. */
static void rx_post_n(struct hg_dev *d, unsigned n, uint32_t len, uint16_t flags)
{
	struct hg_queue *q = &d->q[RXQ];

	for (unsigned i = 0; i < n; i++) {
		desc_set(d, RXQ, i, (uintptr_t)d->buf + 0x8000 + RX_BUF * i, len, flags, 0);
		q->avail->ring[q->next_avail++ % q->size] = (uint16_t)i;
	}
	barrier();	/* the entries before the index */
	q->avail->idx = q->next_avail;
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
}

/* The host's frames through good buffers (passt's ARP reply), then through buffers the device
 * may not write or that are shorter than the header: NEEDS_RESET, nothing written. */
static void net_rx_buffer_bad(struct hg_env *env)
{
	struct hg_dev *d = env->net;
	struct virtio_net_hdr_v1 h = { 0 };
	static const struct { uint32_t len; uint16_t flags; } bad[] = {
		{ RX_BUF, 0 }, { 8, VRING_DESC_F_WRITE },
	};
	uint32_t len = 0;
	int r;

	hg_class("net-rx-buffer-bad");
	outb(0x440, 1);	/* what the agent does once eth0 is up: the backend starts (passt) */
	hg_expect(hg_up(d, 0, 16) == 0, "virtio-net would not come up");
	rx_post_n(d, 4, RX_BUF, VRING_DESC_F_WRITE);
	for (unsigned i = 0; i < 20 && (r = hg_wait_used_ms(d, RXQ, &len, 200)) == 0; i++)
		tx(d, &h, net_arp_request(d), 60);
	uint8_t *got = d->buf + 0x8000 + RX_BUF * d->q[RXQ].used->ring[0].id;
	hg_puts("net-rx-buffer-bad: ");
	hg_putdec(len);
	hg_puts(" bytes received, ethertype ");
	hg_puthex((uint32_t)got[12 + 12] << 8 | got[12 + 13]);
	hg_puts("\n");
	hg_expect(r == 1, "no frame from the host came through good receive buffers");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hg_expect(hg_up(d, 0, 16) == 0, "virtio-net would not come up");
		memset(d->buf + 0x8000, 0x5a, RX_BUF);
		rx_post_n(d, 1, bad[i].len, bad[i].flags);
		for (unsigned k = 0; k < 20 && !hg_needs_reset(d); k++) {
			tx(d, &h, net_arp_request(d), 60);
			hg_delay_ms(100);
		}
		hg_expect(hg_needs_reset(d), "a bad receive buffer did not make NEEDS_RESET");
		hg_expect(d->buf[0x8000] == 0x5a && d->buf[0x8000 + 7] == 0x5a,
			  "the device wrote into a bad receive buffer");
	}
	net_after(env);
	hg_done();
}

void classes_net(struct hg_env *env)
{
	if (!env->net) {
		hg_puts("hostile-guest: no virtio-net (give --net user): its classes not run\n");
		return;
	}
	net_tx_short(env);
	net_tx_oversize(env);
	net_tx_csum_bad(env);
	net_rx_buffer_bad(env);
}
