/* virtio-vsock packets: wrong cids, bad lengths and types, unknown connections, bad buffers. */
#include "classes.h"

#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define RXQ 0
#define TXQ 1
#define RX_BUFS 8
#define RX_BUF_SIZE 256
#define HOST_CID 2
#define NOBODY_PORT 0x7fff1234u	/* no host socket "<uds>_PORT" exists */

static uint64_t guest_cid;
static uint32_t next_port = 40000;

/* Receive buffer i (descriptor i of the rx queue), device-writable unless told otherwise. */
static void rx_post(struct hg_dev *d, unsigned i, uint16_t flags)
{
	struct hg_queue *q = &d->q[RXQ];

	desc_set(d, RXQ, i, (uintptr_t)d->buf + i * RX_BUF_SIZE, RX_BUF_SIZE, flags, 0);
	q->avail->ring[q->next_avail++ % q->size] = (uint16_t)i;
	barrier();	/* the entry before the index */
	q->avail->idx = q->next_avail;
}

static uint64_t config_cid(const struct hg_dev *d)
{
	return hg_rd(d, VIRTIO_MMIO_CONFIG) | (uint64_t)hg_rd(d, VIRTIO_MMIO_CONFIG + 4) << 32;
}

int vsock_up(struct hg_dev *d)
{
	if (hg_up(d, 0, 16) != 0)
		return -1;
	guest_cid = config_cid(d);
	for (unsigned i = 0; i < RX_BUFS; i++)
		rx_post(d, i, VRING_DESC_F_WRITE);
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	return 0;
}

/* Sends one packet: header then payload bytes of payload length (from scratch RAM). */
static void tx_send(struct hg_dev *d, const struct virtio_vsock_hdr *h, uint32_t payload)
{
	struct virtio_vsock_hdr *th = (void *)(d->buf + 0x8000);
	uint16_t head = (uint16_t)(d->q[TXQ].next_avail % 8 * 2);

	*th = *h;
	desc_set(d, TXQ, head, (uintptr_t)th, sizeof(*th), payload ? VRING_DESC_F_NEXT : 0, head + 1);
	if (payload)
		desc_set(d, TXQ, head + 1, (uintptr_t)d->buf + 0x10000, payload, 0, 0);
	hg_submit(d, TXQ, head);
}

/* The next packet on the rx queue within about ms: 1 with its header in *h (and its payload
 * length counted in *bytes when given), 0 if none came, -1 if the device broke. */
static int rx_next_ms(struct hg_dev *d, struct virtio_vsock_hdr *h, unsigned ms)
{
	struct hg_queue *q = &d->q[RXQ];
	uint16_t id;
	int r = hg_wait_used_ms(d, RXQ, 0, ms);

	if (r != 1)
		return r;
	id = (uint16_t)q->used->ring[(uint16_t)(q->used_seen - 1) % q->size].id;
	memcpy(h, d->buf + (id % RX_BUFS) * RX_BUF_SIZE, sizeof(*h));
	rx_post(d, id % RX_BUFS, VRING_DESC_F_WRITE);	/* the buffer goes back */
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	return 1;
}

/* The next packet on the rx queue: 1 with it in *h, 0 if none comes in time, -1 if broken. */
static int rx_next(struct hg_dev *d, struct virtio_vsock_hdr *h)
{
	return rx_next_ms(d, h, 10000);
}

int vsock_earns_rst(struct hg_dev *d, uint64_t src_cid, uint64_t dst_cid, uint16_t type,
		    uint16_t op, uint32_t len, uint32_t payload)
{
	uint32_t port = next_port++;
	struct virtio_vsock_hdr h = {
		.src_cid = src_cid, .dst_cid = dst_cid, .src_port = port, .dst_port = NOBODY_PORT,
		.len = len, .type = type, .op = op, .buf_alloc = 65536,
	};
	struct virtio_vsock_hdr got;

	tx_send(d, &h, payload);
	if (hg_wait_used(d, TXQ, 0) != 1)
		return 0;
	/* Only RSTs come to a guest that never connected; ours names our port. */
	while (rx_next(d, &got) == 1)
		if (got.op == VIRTIO_VSOCK_OP_RST && got.dst_port == port && got.src_cid == HOST_CID)
			return 1;
	return 0;
}

int vsock_sane(struct hg_dev *d)
{
	return vsock_up(d) == 0 &&
	       vsock_earns_rst(d, guest_cid, HOST_CID, VIRTIO_VSOCK_TYPE_STREAM,
			       VIRTIO_VSOCK_OP_REQUEST, 0, 0);
}

/* After an attack: the device works again after a reset, and the volume still serves. */
static void vsock_after(struct hg_env *env)
{
	hg_expect(vsock_sane(env->vsock), "vsock does not serve after a reset");
	hg_expect(blk_sane(env->vol), "the disk does not serve a read");
}

/* REQUESTs from another guest's cid, to cid 1, 2^64-1, a cid with high bits. The first
 * refused REQUEST of a run is the one the VMM logs: this class comes first. */
static void vsock_wrong_cid(struct hg_env *env)
{
	struct hg_dev *d = env->vsock;

	hg_class("vsock-wrong-cid");
	hg_expect(vsock_up(d) == 0, "vsock would not come up");
	const uint64_t cids[][2] = {
		{ guest_cid + 1, HOST_CID }, { guest_cid, 1 }, { guest_cid, ~0ULL },
		{ guest_cid | 1ULL << 40, HOST_CID }, { HOST_CID, HOST_CID }, { guest_cid, guest_cid },
	};
	for (unsigned i = 0; i < N(cids); i++)
		hg_expect(vsock_earns_rst(d, cids[i][0], cids[i][1], VIRTIO_VSOCK_TYPE_STREAM,
					  VIRTIO_VSOCK_OP_REQUEST, 0, 0), "a wrong cid earned no RST");
	vsock_after(env);
	hg_done();
}

/* len 0xffffffff with 16 bytes, 70000 bytes of payload, len beyond its buffers. */
static void vsock_oversize(struct hg_env *env)
{
	struct hg_dev *d = env->vsock;
	const uint32_t lens[][2] = { { 0xffffffff, 16 }, { 70000, 70000 }, { 4096, 16 }, { 65537, 65537 } };

	hg_class("vsock-oversize");
	hg_expect(vsock_up(d) == 0, "vsock would not come up");
	for (unsigned i = 0; i < N(lens); i++)
		hg_expect(vsock_earns_rst(d, guest_cid, HOST_CID, VIRTIO_VSOCK_TYPE_STREAM,
					  VIRTIO_VSOCK_OP_RW, lens[i][0], lens[i][1]),
			  "an oversize payload earned no RST");
	vsock_after(env);
	hg_done();
}

/* Unknown types and ops, and packets for connections that do not exist. */
static void vsock_bad_ops(struct hg_env *env)
{
	struct hg_dev *d = env->vsock;
	static const uint16_t ops[] = {
		VIRTIO_VSOCK_OP_RESPONSE, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_OP_RW,
		VIRTIO_VSOCK_OP_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 8, 0xffff,
	};

	hg_class("vsock-bad-ops");
	hg_expect(vsock_up(d) == 0, "vsock would not come up");
	for (unsigned i = 0; i < N(ops); i++)
		hg_expect(vsock_earns_rst(d, guest_cid, HOST_CID, VIRTIO_VSOCK_TYPE_STREAM, ops[i], 0, 0),
			  "an op without a connection earned no RST");
	hg_expect(vsock_earns_rst(d, guest_cid, HOST_CID, VIRTIO_VSOCK_TYPE_SEQPACKET,
				  VIRTIO_VSOCK_OP_REQUEST, 0, 0), "a SEQPACKET REQUEST earned no RST");
	hg_expect(vsock_earns_rst(d, guest_cid, HOST_CID, 99, VIRTIO_VSOCK_OP_REQUEST, 0, 0),
		  "a REQUEST of type 99 earned no RST");
	vsock_after(env);
	hg_done();
}

/* Packets shorter than a header: dropped, no answer, the device goes on. */
static void vsock_short_packet(struct hg_env *env)
{
	struct hg_dev *d = env->vsock;
	static const uint32_t lens[] = { 0, 1, 43 };
	uint16_t head = 0;

	hg_class("vsock-short-packet");
	hg_expect(vsock_up(d) == 0, "vsock would not come up");
	for (unsigned i = 0; i < N(lens); i++) {
		desc_set(d, TXQ, head, (uintptr_t)d->buf + 0x8000, lens[i], 0, 0);
		hg_submit(d, TXQ, head);
		hg_expect(hg_wait_used(d, TXQ, 0) == 1, "a short packet was not returned");
	}
	hg_expect(!hg_needs_reset(d), "a short packet broke the device");
	hg_expect(vsock_earns_rst(d, guest_cid, HOST_CID, VIRTIO_VSOCK_TYPE_STREAM,
				  VIRTIO_VSOCK_OP_REQUEST, 0, 0), "no RST after short packets");
	vsock_after(env);
	hg_done();
}

/* Receive buffers the device may not write, or too short for a header: an RST to deliver
 * into them must break the device, not write into them. */
static void vsock_rx_buffer_bad(struct hg_env *env)
{
	struct hg_dev *d = env->vsock;
	static const struct { uint32_t len; uint16_t flags; } bufs[] = {
		{ RX_BUF_SIZE, 0 }, { 20, VRING_DESC_F_WRITE },
	};

	hg_class("vsock-rx-buffer-bad");
	for (unsigned i = 0; i < N(bufs); i++) {
		hg_expect(hg_up(d, 0, 16) == 0, "vsock would not come up");
		struct hg_queue *q = &d->q[RXQ];
		desc_set(d, RXQ, 0, (uintptr_t)d->buf, bufs[i].len, bufs[i].flags, 0);
		memset(d->buf, 0x5a, RX_BUF_SIZE);
		q->avail->ring[0] = 0;
		barrier();	/* the entry before the index */
		q->avail->idx = q->next_avail = 1;
		struct virtio_vsock_hdr h = {
			.src_cid = guest_cid, .dst_cid = HOST_CID, .src_port = next_port++,
			.dst_port = NOBODY_PORT, .type = VIRTIO_VSOCK_TYPE_STREAM,
			.op = VIRTIO_VSOCK_OP_REQUEST,
		};
		tx_send(d, &h, 0);
		hg_expect(hg_wait_needs_reset(d), "a bad receive buffer did not make NEEDS_RESET");
		hg_expect(d->buf[0] == 0x5a && d->buf[RX_BUF_SIZE - 1] == 0x5a,
			  "the device wrote into a bad receive buffer");
	}
	vsock_after(env);
	hg_done();
}

/* Queues packet i (an RW for no connection: it earns an RST) as tx descriptor slot. */
static void tx_queue_rw(struct hg_dev *d, unsigned i, unsigned slot)
{
	struct hg_queue *q = &d->q[TXQ];
	struct virtio_vsock_hdr *h = (void *)(d->buf + 0x8000 + 64 * slot);

	*h = (struct virtio_vsock_hdr){
		.src_cid = guest_cid, .dst_cid = HOST_CID, .src_port = 50000 + i,
		.dst_port = NOBODY_PORT, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = VIRTIO_VSOCK_OP_RW,
	};
	desc_set(d, TXQ, slot, (uintptr_t)h, sizeof(*h), 0, 0);
	q->avail->ring[q->next_avail++ % q->size] = (uint16_t)slot;
}

/* 80 packets that each earn an RST while no receive buffer is posted: the device takes 64
 * (its RST ring) and then waits instead of dropping or spinning; once buffers come, all 80
 * RSTs arrive. */
static void vsock_rst_flood(struct hg_env *env)
{
	struct hg_dev *d = env->vsock;
	struct hg_queue *tx = &d->q[TXQ];
	struct virtio_vsock_hdr got;
	unsigned taken = 0, rsts = 0;

	hg_class("vsock-rst-flood");
	hg_expect(hg_up(d, 0, 64) == 0, "vsock would not come up");
	guest_cid = config_cid(d);
	for (unsigned i = 0; i < 64; i++)
		tx_queue_rw(d, i, i);
	barrier();	/* the entries before the index */
	tx->avail->idx = tx->next_avail;
	barrier();	/* the index before the notification */
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	while (taken < 64 && hg_wait_used(d, TXQ, 0) == 1)
		taken++;
	hg_expect(taken == 64, "the device did not take 64 packets while RSTs were owed");
	for (unsigned i = 64; i < 80; i++)
		tx_queue_rw(d, i, i - 64);
	barrier();	/* the entries before the index */
	tx->avail->idx = tx->next_avail;
	barrier();	/* the index before the notification */
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	hg_delay_ms(50);
	hg_expect(*(volatile uint16_t *)&tx->used->idx == 64,
		  "the device took more packets with 64 RSTs owed and no receive buffer");
	for (unsigned i = 0; i < RX_BUFS; i++)
		rx_post(d, i, VRING_DESC_F_WRITE);
	hg_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	while (rsts < 80 && rx_next(d, &got) == 1)
		rsts += got.op == VIRTIO_VSOCK_OP_RST && got.dst_port >= 50000 && got.dst_port < 50080;
	hg_expect(rsts == 80, "not every packet of the flood earned its RST");
	hg_expect(*(volatile uint16_t *)&tx->used->idx == 80, "the waiting packets were not taken");
	vsock_after(env);
	hg_done();
}

#define CREDIT_PORT 5000	/* the test's host peer: sends 256 KiB at once, never reads */
#define BACKLOG_PORT 5001	/* the test's host peer: listens, never accepts */

/* Sends a packet on connection (port -> host port), without payload unless len. */
static void conn_send(struct hg_dev *d, uint32_t port, uint32_t host_port, uint16_t op,
		      uint32_t len, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	struct virtio_vsock_hdr h = {
		.src_cid = guest_cid, .dst_cid = HOST_CID, .src_port = port, .dst_port = host_port,
		.len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = buf_alloc,
		.fwd_cnt = fwd_cnt,
	};

	tx_send(d, &h, len);
	hg_wait_used(d, TXQ, 0);
}

/* Waits about ms for packets of port: the RW bytes they carry, and whether an RST came. */
static uint32_t conn_drain(struct hg_dev *d, uint32_t port, unsigned ms, int *rst)
{
	struct virtio_vsock_hdr got;
	uint32_t bytes = 0;
	uint64_t end = rdtsc() + ms * 4000000ULL;

	int r;

	while (rdtsc() < end && (r = rx_next_ms(d, &got, 20)) >= 0)
		if (r == 0)
			continue;
		else if (got.dst_port == port && got.op == VIRTIO_VSOCK_OP_RW)
			bytes += got.len;
		else if (got.dst_port == port && got.op == VIRTIO_VSOCK_OP_RST && rst)
			*rst = 1;
	return bytes;
}

/* Credit games against a host peer that sends 256 KiB and never reads: no data while the
 * guest advertises buf_alloc 0, no more than a later 1000 bytes of credit allows, and an RST
 * once the guest sends past the 256 KiB the device gave it, instead of buffering on. */
static void vsock_credit_abuse(struct hg_env *env)
{
	struct hg_dev *d = env->vsock;
	struct virtio_vsock_hdr got;
	uint32_t port = next_port++, bytes;
	int rst = 0, connected = 0;

	hg_class("vsock-credit-abuse");
	hg_expect(vsock_up(d) == 0, "vsock would not come up");
	conn_send(d, port, CREDIT_PORT, VIRTIO_VSOCK_OP_REQUEST, 0, 0, 0);
	while (!connected && rx_next(d, &got) == 1)
		if (got.dst_port == port)
			connected = got.op == VIRTIO_VSOCK_OP_RESPONSE ? 1 : -1;
	if (!hg_expect(connected == 1, "no RESPONSE from the test's host peer on port 5000")) {
		hg_done();
		return;
	}
	bytes = conn_drain(d, port, 300, &rst);
	hg_expect(bytes == 0 && !rst, "host bytes came while the guest gave no credit");
	conn_send(d, port, CREDIT_PORT, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 1000, 0);
	bytes = conn_drain(d, port, 300, &rst);
	hg_puts("vsock-credit-abuse: ");
	hg_putdec(bytes);
	hg_puts(" host bytes with 1000 of credit\n");
	hg_expect(bytes > 0 && bytes <= 1000 && !rst, "the host's bytes did not keep within 1000 of credit");
	/*
	 * Packets of 64 KiB to a peer that reads nothing: the host socket's buffer takes some
	 * (and the device's credit grows by as much), then the device's 256 KiB of pending bytes
	 * fill. 16 packets are 1 MiB: well past both.
	 */
	for (unsigned i = 0; i < 16 && !rst; i++) {
		conn_send(d, port, CREDIT_PORT, VIRTIO_VSOCK_OP_RW, 65536, 1000, bytes);
		conn_drain(d, port, 50, &rst);
	}
	if (!rst)
		conn_drain(d, port, 500, &rst);
	hg_expect(rst, "sending past the device's credit earned no RST");
	conn_send(d, port, CREDIT_PORT, VIRTIO_VSOCK_OP_RST, 0, 0, 0);
	vsock_after(env);
	hg_done();
}

#define HOST_CLIENTS 136
#define HOST_TO_PORT 9		/* the guest port the test's host clients ask for */

/* Host REQUESTs for HOST_TO_PORT until none came for about ms: how many, their host ports
 * in ports[] (at most max). */
static unsigned host_requests(struct hg_dev *d, uint32_t *ports, unsigned max, unsigned ms)
{
	struct virtio_vsock_hdr got;
	unsigned n = 0;

	while (rx_next_ms(d, &got, ms) == 1)
		if (got.op == VIRTIO_VSOCK_OP_REQUEST && got.dst_port == HOST_TO_PORT &&
		    got.src_cid == HOST_CID && n < max)
			ports[n++] = got.src_port;
	return n;
}

/* 136 host clients at once through the api socket (the test makes them when the guest asks
 * on its console): 128 REQUESTs reach the guest, the other clients are closed; once the guest
 * refuses them all, one more host client gets through again. */
static void vsock_host_flood(struct hg_dev *d)
{
	static uint32_t ports[HOST_CLIENTS];
	unsigned n, again;

	hg_expect(vsock_up(d) == 0, "vsock would not come up");
	hg_puts("hostile-guest: host, connect ");
	hg_putdec(HOST_CLIENTS);
	hg_puts(" clients to vsock port ");
	hg_putdec(HOST_TO_PORT);
	hg_puts("\n");
	/* Not answered while they come: a refused one would free a slot for a 129th. */
	n = host_requests(d, ports, HOST_CLIENTS, 1500);
	hg_puts("vsock-conn-flood: ");
	hg_putdec(n);
	hg_puts(" of 136 host clients reached the guest\n");
	hg_expect(n == 128, "not 128 of 136 host clients reached the guest");
	for (unsigned i = 0; i < n; i++)
		conn_send(d, HOST_TO_PORT, ports[i], VIRTIO_VSOCK_OP_RST, 0, 0, 0);
	hg_puts("hostile-guest: host, connect to vsock port ");
	hg_putdec(HOST_TO_PORT);
	hg_puts("\n");
	again = host_requests(d, ports, HOST_CLIENTS, 1500);
	hg_expect(again == 1, "no host client reached the guest after it refused the flood's");
	if (again)
		conn_send(d, HOST_TO_PORT, ports[0], VIRTIO_VSOCK_OP_RST, 0, 0, 0);
}

/* 140 REQUESTs to a host peer that never accepts: 128 connections (the device's limit) are
 * answered, the rest refused; once the guest resets them, a new one is answered again. Then
 * the same from the host's side (vsock_host_flood). */
static void vsock_conn_flood(struct hg_env *env)
{
	struct hg_dev *d = env->vsock;
	struct virtio_vsock_hdr got;
	uint32_t first = next_port;
	unsigned responses = 0, rsts = 0;

	hg_class("vsock-conn-flood");
	hg_expect(vsock_up(d) == 0, "vsock would not come up");
	for (unsigned i = 0; i < 140; i++) {
		uint32_t port = next_port++;
		conn_send(d, port, BACKLOG_PORT, VIRTIO_VSOCK_OP_REQUEST, 0, 65536, 0);
		while (rx_next(d, &got) == 1 && got.dst_port != port)
			;
		responses += got.dst_port == port && got.op == VIRTIO_VSOCK_OP_RESPONSE;
		rsts += got.dst_port == port && got.op == VIRTIO_VSOCK_OP_RST;
	}
	hg_puts("vsock-conn-flood: ");
	hg_putdec(responses);
	hg_puts(" answered, ");
	hg_putdec(rsts);
	hg_puts(" refused\n");
	hg_expect(responses == 128 && rsts == 12, "not 128 answered and 12 refused");
	for (uint32_t port = first; port < first + 140; port++)
		conn_send(d, port, BACKLOG_PORT, VIRTIO_VSOCK_OP_RST, 0, 0, 0);
	uint32_t port = next_port++;
	int answered = 0;
	conn_send(d, port, BACKLOG_PORT, VIRTIO_VSOCK_OP_REQUEST, 0, 65536, 0);
	while (!answered && rx_next(d, &got) == 1)
		if (got.dst_port == port)
			answered = got.op == VIRTIO_VSOCK_OP_RESPONSE ? 1 : -1;
	hg_expect(answered == 1, "no connection answered after the guest reset the flood's");
	conn_send(d, port, BACKLOG_PORT, VIRTIO_VSOCK_OP_RST, 0, 0, 0);
	vsock_host_flood(d);
	vsock_after(env);
	hg_done();
}

void classes_vsock(struct hg_env *env)
{
	vsock_wrong_cid(env);
	vsock_oversize(env);
	vsock_bad_ops(env);
	vsock_short_packet(env);
	vsock_rx_buffer_bad(env);
	vsock_rst_flood(env);
	vsock_credit_abuse(env);
	vsock_conn_flood(env);
}
