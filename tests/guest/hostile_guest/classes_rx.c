/*
 * Host traffic toward receive queues the guest did not set up, turned off and resized under a
 * held buffer, or left without buffers: passt's answers to the guest's ARP requests on
 * virtio-net, and host connections on virtio-vsock. A host connection is asked for with a
 * line on the console (HOST_CONNECT); tests/hostile/test_hostile_guest.sh makes it through
 * the --api-socket, as `CONNECT <port>` from a host program would.
 */
#include "classes.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#define NET_RXQ    0
#define NET_TXQ    1
#define VS_RXQ     0
#define VS_TXQ     1
#define VS_EVQ     2
#define RX_BUF     2048
#define FLOOD      400	/* ARP requests of net-rx-flood, one a millisecond */
#define GUEST_PORT 9		/* nobody listens: a host connection to it just waits */
#define STATUS_FEAT (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK)

/* Asks the test for a host connection to guest port `port` and gives it time to arrive. */
static void host_connect(uint32_t port)
{
	hg_puts("hostile-guest: host, connect to vsock port ");
	hg_putdec(port);
	hg_puts("\n");
	hg_delay_ms(500);
}

/* Posts receive buffer i (descriptor i of queue q, RX_BUF bytes in the device's scratch). */
static void rx_post(struct hg_dev *d, unsigned q, unsigned i)
{
	struct hg_queue *gq = &d->q[q];

	desc_set(d, q, i, (uintptr_t)d->buf + 0x8000 + RX_BUF * i, RX_BUF, VRING_DESC_F_WRITE, 0);
	gq->avail->ring[gq->next_avail++ % gq->size] = (uint16_t)i;
	barrier();	/* the entry before the index */
	gq->avail->idx = gq->next_avail;
	barrier();	/* the index before the notification */
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* ARP requests until a frame arrives on net's receive queue: 1 once one did. */
static int net_rx_works(struct hg_dev *d)
{
	for (unsigned i = 0; i < 20; i++) {
		net_send(d, net_arp_request(d), 60);
		if (hg_wait_used_ms(d, NET_RXQ, 0, 200) == 1)
			return 1;
	}
	return 0;
}

/* Posts receive buffers 0..n-1 and counts the frames that land in them (the ones a stall
 * left waiting), printed between what and unit. */
static unsigned net_rx_late(struct hg_dev *d, unsigned n, const char *what, const char *unit)
{
	unsigned late = 0;

	for (unsigned i = 0; i < n; i++)
		rx_post(d, NET_RXQ, i);
	while (hg_wait_used_ms(d, NET_RXQ, 0, 300) == 1)
		late++;
	hg_puts(what);
	hg_putdec(late);
	hg_puts(unit);
	return late;
}

/* Turns queue q of d off and gives it a new size, as a driver may while the device holds one
 * of its buffers. */
static void queue_off_resized(struct hg_dev *d, unsigned q, uint32_t size)
{
	hg_wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
	hg_wr(d, VIRTIO_MMIO_QUEUE_READY, 0);
	hg_wr(d, VIRTIO_MMIO_QUEUE_NUM, size);
}

/* Features accepted, only the queues in `mask` placed, DRIVER_OK; every queue notified. */
static void up_with_queues(struct hg_dev *d, unsigned mask)
{
	hg_reset(d);
	hg_features(d, 1ULL << VIRTIO_F_VERSION_1);
	for (unsigned q = 0; q < d->nq; q++)
		if (mask & 1u << q)
			hg_queue_place(d, q, 16, hg_desc_gpa(d, q), hg_avail_gpa(d, q), hg_used_gpa(d, q));
	hg_wr(d, VIRTIO_MMIO_STATUS, STATUS_FEAT | VIRTIO_CONFIG_S_DRIVER_OK);
	for (unsigned q = 0; q < d->nq; q++)
		hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* A REQUEST from the guest to a host port nobody listens on: it earns an RST the device
 * has nowhere to put while the receive queue is missing. */
static void vsock_request_nobody(struct hg_dev *d)
{
	struct virtio_vsock_hdr *h = (void *)(d->buf + 0x4000);
	uint64_t cid = hg_rd(d, VIRTIO_MMIO_CONFIG) | (uint64_t)hg_rd(d, VIRTIO_MMIO_CONFIG + 4) << 32;

	*h = (struct virtio_vsock_hdr){
		.src_cid = cid, .dst_cid = 2, .src_port = 60000, .dst_port = 0x7fff1234u,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = VIRTIO_VSOCK_OP_REQUEST, .buf_alloc = 65536,
	};
	desc_set(d, VS_TXQ, 0, (uintptr_t)h, sizeof(*h), 0, 0);
	hg_submit(d, VS_TXQ, 0);
	hg_expect(hg_wait_used(d, VS_TXQ, 0) == 1, "a REQUEST with no receive queue was not taken");
}

/*
 * Notifies before any set-up, and after DRIVER_OK with no queue ready, on blk, net and vsock;
 * host traffic toward the missing receive queues: passt's ARP replies with only net's
 * transmit queue ready, host connections with none of vsock's queues and with all but its
 * receive queue. Nothing may happen; each device works after a reset.
 */
static void queue_not_ready(struct hg_env *env)
{
	struct hg_dev *devs[] = { env->vol, env->net, env->vsock };

	hg_class("queue-not-ready");
	for (unsigned i = 0; i < 3; i++) {
		struct hg_dev *d = devs[i];
		hg_reset(d);
		for (unsigned q = 0; q < d->nq + 1; q++)
			hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
		up_with_queues(d, 0);
	}
	for (unsigned i = 0; i < 3; i++)
		hg_expect(!hg_needs_reset(devs[i]), "notifies of queues never set up broke a device");
	host_connect(GUEST_PORT);
	hg_expect(!hg_needs_reset(env->vsock), "a host connection with no vsock queue broke the device");
	up_with_queues(env->net, 1u << NET_TXQ);
	for (unsigned i = 0; i < 20; i++)
		hg_expect(net_send(env->net, net_arp_request(env->net), 60),
			  "a frame with no receive queue ready was not sent");
	hg_delay_ms(300);	/* passt's replies meet the missing queue: 3 stall periods */
	hg_expect(!hg_needs_reset(env->net), "replies toward a missing receive queue broke net");
	up_with_queues(env->vsock, 1u << VS_TXQ | 1u << VS_EVQ);
	vsock_request_nobody(env->vsock);
	host_connect(GUEST_PORT);
	hg_expect(!hg_needs_reset(env->vsock), "traffic toward vsock's missing receive queue broke it");
	hg_expect(net_sane(env->net), "virtio-net does not send after a reset");
	hg_expect(vsock_sane(env->vsock), "vsock does not serve after a reset");
	blk_after(env, env->vol);
	hg_done();
}

/*
 * The device holds a posted receive buffer; the driver turns the queue off and resizes it;
 * then traffic comes: net with size 0, net with size 256 after 20 used entries on a used
 * ring flush against the end of RAM (a push with the new size would land past it), vsock with
 * size 0 and a host connection. Nothing may be pushed; each works after a reset.
 */
static void held_rx_buffer_across_queue_reconfig(struct hg_env *env)
{
	struct hg_dev *n = env->net, *v = env->vsock;
	uint64_t used = hg_ram_end - 136, avail = used - 64, desc = avail - 264;
	volatile uint16_t *used_idx;
	uint16_t before;
	unsigned sent = 0;

	hg_class("held-rx-buffer-across-queue-reconfig");
	hg_expect(hg_up(n, 0, 16) == 0, "virtio-net would not come up");
	rx_post(n, NET_RXQ, 0);
	hg_delay_ms(20);
	queue_off_resized(n, NET_RXQ, 0);
	net_send(n, net_arp_request(n), 60);
	hg_delay_ms(300);
	hg_expect(n->q[NET_RXQ].used->idx == 0, "a buffer held across QUEUE_NUM 0 was pushed");
	hg_expect(net_sane(n), "virtio-net does not send after a reset");

	hg_reset(n);
	hg_features(n, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX));
	hg_expect(hg_queue_place(n, NET_RXQ, 16, desc, avail, used) == 1,
		  "a receive queue flush against the end of RAM was refused");
	hg_queue_place(n, NET_TXQ, 16, hg_desc_gpa(n, NET_TXQ), hg_avail_gpa(n, NET_TXQ),
		       hg_used_gpa(n, NET_TXQ));
	hg_wr(n, VIRTIO_MMIO_STATUS, STATUS_FEAT | VIRTIO_CONFIG_S_DRIVER_OK);
	used_idx = &n->q[NET_RXQ].used->idx;
	for (unsigned i = 0; i < 16; i++)
		rx_post(n, NET_RXQ, i);
	/* Each frame's buffer goes back at once: 16 posted all along, as a driver keeps them. */
	for (; *used_idx < 20 && sent < 60; sent++) {
		net_send(n, net_arp_request(n), 60);
		for (unsigned ms = 300; hg_wait_used_ms(n, NET_RXQ, 0, ms) == 1; ms = 1)
			rx_post(n, NET_RXQ, n->q[NET_RXQ].used->ring[(uint16_t)(n->q[NET_RXQ].used_seen - 1) % 16].id);
	}
	hg_expect(*used_idx >= 20, "20 frames did not come through the receive queue at the end of RAM");
	before = *used_idx;
	queue_off_resized(n, NET_RXQ, 256);
	net_send(n, net_arp_request(n), 60);
	hg_delay_ms(300);
	hg_expect(*used_idx == before, "a buffer held across QUEUE_NUM 256 was pushed");
	hg_expect(net_sane(n), "virtio-net does not send after a reset");

	hg_expect(hg_up(v, 0, 16) == 0, "vsock would not come up");
	for (unsigned i = 0; i < 4; i++)
		rx_post(v, VS_RXQ, i);
	hg_delay_ms(20);
	queue_off_resized(v, VS_RXQ, 0);
	host_connect(GUEST_PORT);
	hg_expect(v->q[VS_RXQ].used->idx == 0, "a vsock buffer held across QUEUE_NUM 0 was pushed");
	hg_expect(vsock_sane(v), "vsock does not serve after a reset");
	blk_after(env, env->vol);
	hg_done();
}

/*
 * passt made to send frames toward a receive queue with no buffer: 400 ARP requests, each
 * answered. The device waits out its stall (leaving them in passt's socket), then drops them
 * (counted); the test checks that no VMM thread but the spinning vCPU burns CPU in the idle
 * second after; buffers posted then are filled, with none of the flood's frames left over.
 * One request a millisecond: a burst of a few hundred overflows passt's socket during the
 * stall, and the packaged passt (2023-03) then closes it and exits.
 */
static void net_rx_flood(struct hg_env *env)
{
	struct hg_dev *d = env->net;
	unsigned sent = 0, late = 0;

	hg_class("net-rx-flood");
	hg_expect(hg_up(d, 0, 16) == 0, "virtio-net would not come up");
	for (unsigned i = 0; i < FLOOD; i++) {
		sent += net_send(d, net_arp_request(d), 60);
		hg_delay_ms(1);
	}
	hg_expect(sent == FLOOD, "not every ARP request of the flood was sent");
	hg_puts("net-rx-flood: idle for 1 s\n");
	hg_delay_ms(1000);
	hg_puts("net-rx-flood: idle over\n");
	hg_expect(!hg_needs_reset(d), "frames toward a queue without buffers broke the device");
	late = net_rx_late(d, 16, "net-rx-flood: ", " frames of the flood delivered once buffers came\n");
	hg_expect(late < 16, "the device kept the whole flood for the guest");
	for (unsigned i = 0; i < late; i++)	/* the buffers that were used go back */
		rx_post(d, NET_RXQ, d->q[NET_RXQ].used->ring[i].id);
	hg_expect(net_rx_works(d), "no frame came through buffers posted after the flood");
	hg_expect(net_sane(d), "virtio-net does not send after a reset");
	hg_expect(blk_sane(env->vol), "the disk does not serve a read");
	hg_done();
}

#define BURST 100	/* frames of net-rx-burst: more than the device's batch of 64 */

/*
 * 100 ARP requests at once while no receive buffer is posted: every answer must be dropped
 * once the device's stall ends, as net-rx-flood's paced ones are. The device used to drop one
 * batch of 64 and leave the rest in the stream backend's read-ahead, out of sight of its poll,
 * to be delivered stale once buffers came (36 of 100).
 */
static void net_rx_burst(struct hg_env *env)
{
	struct hg_dev *d = env->net;
	unsigned late = 0;

	hg_class("net-rx-burst");
	outb(0x440, 1);
	hg_expect(hg_up(d, 0, 128) == 0, "virtio-net would not come up");
	for (unsigned i = 0; i < BURST; i++)
		net_send(d, net_arp_request(d), 60);
	hg_delay_ms(1000);
	late = net_rx_late(d, BURST, "net-rx-burst: ",
			   " of 100 answers delivered after an idle second without buffers\n");
	hg_expect(late == 0, "answers to a burst were neither dropped nor delivered for a second");
	hg_expect(net_sane(d), "virtio-net does not send after a reset");
	hg_done();
}

void classes_rx(struct hg_env *env)
{
	if (!env->net) {
		hg_puts("hostile-guest: no virtio-net (give --net user): receive classes not run\n");
		return;
	}
	outb(0x440, 1);	/* passt starts with the boot timer's first write (net-rx-buffer-bad's) */
	queue_not_ready(env);
	held_rx_buffer_across_queue_reconfig(env);
	net_rx_flood(env);
	net_rx_burst(env);
}
