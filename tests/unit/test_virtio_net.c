/*
 * virtio-net without KVM: this file is the guest driver (registers through
 * virtio_mmio_access, rings and buffers in a malloc'd "RAM") and the host side (the other end
 * of a socket pair behind a datagram or stream backend; passt when it is installed). Every
 * wait is a poll with a deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/virtio_net.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../core/vm.h"
#include "../harness.h"
#include "virtio_driver.h"

#define RAM        (4u << 20)
#define QSIZE      64
#define MMIO_BASE  0xd0000000ULL
#define HDR        12u			/* virtio_net_hdr_v1 */
#define RX_BUF     2048u		/* like Linux's small buffers: header + 1518 fits */
#define RX_BUFS    0x10000ULL
#define TX_BUF     0x100000ULL
#define WAIT_MS    3000		/* generous: only reached when something is wrong */

enum { RXQ, TXQ };

static const uint8_t guest_mac[6] = { 0x02, 0x68, 0x76, 0x6d, 0x00, 0x01 };
static struct vm vm;
static struct vnet dev;
static int host_fd = -1;		/* the host end of the backend's socket pair */
static uint16_t rx_avail, rx_seen, tx_avail;
static uint64_t driver_extra;		/* features driver_init accepts beyond MAC, STATUS, VERSION_1 */

/* ---- the guest driver ------------------------------------------------------------- */

/* Waits until a counter reaches want; 1 on time. */
static int wait_count(_Atomic uint64_t *c, uint64_t want, int ms)
{
	uint64_t end = deadline_us(ms);

	while (atomic_load(c) < want) {
		if (clock_now_us() > end)
			return 0;
		usleep(200);
	}
	return 1;
}

static void publish(int q, uint16_t *idx, uint16_t head)
{
	avail(q)->ring[*idx % QSIZE] = head;
	/* Release: the ring entry (and the descriptors) before the index that publishes it. */
	__atomic_store_n(&avail(q)->idx, ++*idx, __ATOMIC_RELEASE);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)q);
}

/* Posts receive buffer `slot` (one writable descriptor of len bytes). */
static void rx_post(uint16_t slot, uint32_t len)
{
	desc(RXQ)[slot] = (struct vring_desc){
		.addr = RX_BUFS + (uint64_t)RX_BUF * slot, .len = len, .flags = VRING_DESC_F_WRITE,
	};
	publish(RXQ, &rx_avail, slot);
}

static void rx_fill(unsigned n)
{
	for (uint16_t s = 0; s < n; s++)
		rx_post(s, RX_BUF);
}

/* Queues one frame: header + data split over `parts` descriptors; waits until it is used. */
static int tx_send_parts(const uint8_t *frame, uint32_t len, unsigned parts)
{
	uint32_t total = HDR + len, off = 0;

	memset(ram + TX_BUF, 0, HDR);	/* no offloads: an all-zero header */
	memcpy(ram + TX_BUF + HDR, frame, len);
	for (unsigned i = 0; i < parts; i++) {
		uint32_t piece = i + 1 == parts ? total - off : total / parts;
		desc(TXQ)[i] = (struct vring_desc){
			.addr = TX_BUF + off, .len = piece,
			.flags = i + 1 < parts ? VRING_DESC_F_NEXT : 0, .next = (uint16_t)(i + 1),
		};
		off += piece;
	}
	publish(TXQ, &tx_avail, 0);
	return wait_used(TXQ, tx_avail, WAIT_MS);
}

static int tx_send(const uint8_t *frame, uint32_t len)
{
	return tx_send_parts(frame, len, 1);
}

static void queue_setup(int q)
{
	queue_setup_sized(q, 256, QSIZE);
}

/*
 * Takes the next received frame, however many buffers it spans (MRG_RXBUF): its length
 * (header excluded), or -1. *nbuf says how many buffers it took.
 */
static int guest_recv_merged(uint8_t *frame, struct virtio_net_hdr_v1 *h, unsigned *nbuf, int ms)
{
	size_t got = 0;

	*nbuf = 0;
	do {
		struct vring_used_elem e;
		size_t skip = *nbuf ? 0 : HDR;

		if (!wait_used(RXQ, (uint16_t)(rx_seen + 1), ms))
			return -1;
		e = used(RXQ)->ring[rx_seen++ % QSIZE];
		CHECK(e.id < QSIZE && e.len >= skip && e.len <= RX_BUF);
		if (e.id >= QSIZE || e.len < skip || e.len > RX_BUF)
			return -1;
		if (!*nbuf)
			memcpy(h, ram + RX_BUFS + (uint64_t)RX_BUF * e.id, HDR);
		memcpy(frame + got, ram + RX_BUFS + (uint64_t)RX_BUF * e.id + skip, e.len - skip);
		got += e.len - skip;
	} while (++*nbuf < h->num_buffers);
	return (int)got;
}

/* Takes the next received frame (one buffer without MRG_RXBUF): its length, or -1. */
static int guest_recv(uint8_t *frame, struct virtio_net_hdr_v1 *h, int ms)
{
	unsigned nbuf;

	return guest_recv_merged(frame, h, &nbuf, ms);
}

static uint64_t device_features(void)
{
	reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = reg_read(VIRTIO_MMIO_DEVICE_FEATURES);
	reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)reg_read(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

/* Resets the device and brings it up as Linux would, accepting MAC, STATUS, VERSION_1. */
static void driver_init(void)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	uint64_t want = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
			(1ULL << VIRTIO_F_VERSION_1) | driver_extra;

	reg_write(VIRTIO_MMIO_STATUS, 0);
	memset(ram, 0, 0x10000);
	rx_avail = rx_seen = tx_avail = 0;
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg_write(VIRTIO_MMIO_STATUS, s);
	CHECK_EQ(device_features() & want, want);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	reg_write(VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	queue_setup(RXQ);
	queue_setup(TXQ);
	reg_write(VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* ---- the host side ---------------------------------------------------------------- */

static int wait_fd(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* One datagram from the device, or -1 when none came in ms. */
static ssize_t host_recv(uint8_t *buf, size_t cap, int ms)
{
	if (!wait_fd(host_fd, ms))
		return -1;
	return recv(host_fd, buf, cap, MSG_DONTWAIT);
}

static void host_send(const uint8_t *frame, size_t len)
{
	CHECK_EQ(send(host_fd, frame, len, MSG_NOSIGNAL), len);
}

/* Reads exactly n bytes of a stream within the deadline; returns how many came. */
static size_t host_read_all(uint8_t *buf, size_t n, int ms)
{
	uint64_t end = deadline_us(ms);
	size_t got = 0;

	while (got < n && clock_now_us() < end) {
		ssize_t r;
		if (!wait_fd(host_fd, 10))
			continue;
		r = read(host_fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void fill_frame(uint8_t *f, size_t len, unsigned seed)
{
	memcpy(f, guest_mac, 6);		/* destination: the guest */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
	f[12] = 0x88;
	f[13] = 0xb5;				/* local experimental ethertype */
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seed);
}

/* CPU time of the whole process over ms milliseconds of idling, in milliseconds. */
static uint64_t cpu_ms_while_idle(int ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	usleep((useconds_t)ms * 1000);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	return (uint64_t)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000);
}

/* ---- set-up ------------------------------------------------------------------------ */

/* A device over be; the guest driver up. */
static void dev_up_with(struct net_backend *be)
{
	signal(SIGPIPE, SIG_IGN);
	if (!ram)
		ram = malloc(RAM);
	memset(ram, 0, RAM);
	memset(&vm, 0, sizeof(vm));
	vm.fd = -1;		/* no KVM: ioeventfd/irqfd fail, the transport falls back */
	guest_mem_init(&vm.mem, ram, RAM);
	CHECK_EQ(vnet_attach(&dev, &vm, MMIO_BASE, 5, guest_mac, be), 0);
	driver_transport = &dev.transport;
	driver_init();
}

/* A device over a socket pair of `type`, datagram or stream backend. */
static void dev_up(int type)
{
	struct net_backend *be = NULL;
	int sv[2];

	CHECK_EQ(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	host_fd = sv[1];
	CHECK_EQ(type == SOCK_STREAM ? net_stream_open(sv[0], &be) : net_dgram_open(sv[0], &be), 0);
	dev_up_with(be);
}

static void dev_down(void)
{
	vnet_detach(&dev);
	if (host_fd >= 0)
		close(host_fd);
	host_fd = -1;
}

/* ---- cases ------------------------------------------------------------------------- */

static void identity_features_and_config(void)
{
	uint8_t cfg[12] = { 0 };
	uint16_t status, mtu;
	uint64_t f;

	dev_up(SOCK_DGRAM);
	CHECK_EQ(reg_read(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	f = device_features();
	/* Checksums both ways and merged buffers; no segmentation offload, one queue pair. */
	CHECK(f & (1ULL << VIRTIO_NET_F_CSUM));
	CHECK(f & (1ULL << VIRTIO_NET_F_GUEST_CSUM));
	CHECK(f & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
	CHECK_EQ(f & ((1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |
		      (1ULL << VIRTIO_NET_F_MTU) | (1ULL << VIRTIO_NET_F_CTRL_VQ) |
		      (1ULL << VIRTIO_NET_F_MQ)), 0);
	virtio_mmio_access(&dev.transport, VIRTIO_MMIO_CONFIG, cfg, sizeof(cfg), 0);
	CHECK(memcmp(cfg, guest_mac, 6) == 0);
	memcpy(&status, cfg + 6, 2);
	memcpy(&mtu, cfg + 10, 2);
	CHECK_EQ(status, VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(mtu, 1500);
	dev_down();
}

static void tx_frame_arrives_exactly(void)
{
	uint8_t f[1518], got[2048];

	dev_up(SOCK_DGRAM);
	fill_frame(f, sizeof(f), 1);
	CHECK(tx_send_parts(f, 60, 1));
	CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), 60);
	CHECK(memcmp(got, f, 60) == 0);
	/* Header and data over three descriptors, the largest frame allowed (VLAN-tagged 1500). */
	CHECK(tx_send_parts(f, sizeof(f), 3));
	CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), sizeof(f));
	CHECK(memcmp(got, f, sizeof(f)) == 0);
	CHECK_EQ(used(TXQ)->ring[1].len, 0);	/* transmit buffers are only read */
	CHECK_EQ(atomic_load(&dev.tx_frames), 2);
	dev_down();
}

static void rx_frame_lands_in_a_posted_buffer(void)
{
	struct virtio_net_hdr_v1 h, zero = { .num_buffers = 1 };
	uint8_t f[1514], got[RX_BUF];

	dev_up(SOCK_DGRAM);
	rx_fill(4);
	fill_frame(f, sizeof(f), 2);
	host_send(f, 100);
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), 100);
	CHECK(memcmp(got, f, 100) == 0);
	CHECK(memcmp(&h, &zero, sizeof(h)) == 0);	/* no offload flags, num_buffers 1 */
	host_send(f, sizeof(f));
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), sizeof(f));
	CHECK(memcmp(got, f, sizeof(f)) == 0);
	CHECK_EQ(atomic_load(&dev.rx_frames), 2);
	CHECK_EQ(atomic_load(&dev.rx_dropped_no_buffer), 0);
	dev_down();
}

static void rx_without_buffers_drops_and_never_spins(void)
{
	struct virtio_net_hdr_v1 h;
	uint8_t f[200], got[RX_BUF];

	dev_up(SOCK_DGRAM);
	fill_frame(f, sizeof(f), 3);
	/* A guest briefly behind loses nothing: the frame waits in the backend. */
	host_send(f, sizeof(f));
	usleep(20 * 1000);
	rx_post(0, RX_BUF);
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), sizeof(f));
	CHECK_EQ(atomic_load(&dev.rx_dropped_no_buffer), 0);
	/* A guest that posts nothing: frames are dropped and counted after the stall. */
	for (int i = 0; i < 5; i++)
		host_send(f, sizeof(f));
	CHECK(wait_count(&dev.rx_dropped_no_buffer, 5, WAIT_MS));
	usleep(50 * 1000);
	CHECK_EQ(atomic_load(&dev.rx_dropped_no_buffer), 5);
	CHECK(cpu_ms_while_idle(300) < 60);		/* a spinning I/O thread would burn ~300 */
	for (int i = 0; i < 3; i++)
		host_send(f, sizeof(f));
	CHECK(wait_count(&dev.rx_dropped_no_buffer, 8, WAIT_MS));
	CHECK(cpu_ms_while_idle(300) < 60);
	/* Buffers come back: delivery resumes, no more drops. */
	rx_post(1, RX_BUF);
	host_send(f, 60);
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), 60);
	CHECK_EQ(atomic_load(&dev.rx_dropped_no_buffer), 8);
	CHECK_EQ(atomic_load(&dev.rx_frames), 2);
	dev_down();
}

static void rx_oversize_is_dropped_and_the_buffer_kept(void)
{
	struct virtio_net_hdr_v1 h;
	uint8_t f[1600], got[RX_BUF];

	log_set_level(LOG_ERROR);	/* the drop warns once; expected here */
	dev_up(SOCK_DGRAM);
	fill_frame(f, sizeof(f), 4);
	rx_post(0, 512);
	host_send(f, 1000);			/* larger than the buffer */
	CHECK(wait_count(&dev.rx_dropped_oversize, 1, WAIT_MS));
	CHECK_EQ(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS), 0);	/* nothing pushed, nothing to say */
	host_send(f, 300);
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), 300);
	CHECK(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	CHECK_EQ(used(RXQ)->ring[0].id, 0);	/* in the very buffer the big one did not fit */
	rx_post(1, RX_BUF);
	host_send(f, 1519);			/* fits the buffer, but not the MTU of 1500 */
	CHECK(wait_count(&dev.rx_dropped_oversize, 2, WAIT_MS));
	host_send(f, 64);
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), 64);
	CHECK(memcmp(got, f, 64) == 0);
	dev_down();
	log_set_level(LOG_WARN);
}

static void tx_short_and_oversize_are_dropped(void)
{
	uint8_t f[1600], got[2048];

	log_set_level(LOG_ERROR);	/* the drops warn once; expected here */
	dev_up(SOCK_DGRAM);
	fill_frame(f, sizeof(f), 5);
	/* A chain shorter than the virtio-net header: 8 bytes. */
	desc(TXQ)[0] = (struct vring_desc){ .addr = TX_BUF, .len = 8 };
	publish(TXQ, &tx_avail, 0);
	CHECK(wait_used(TXQ, tx_avail, WAIT_MS));
	CHECK_EQ(atomic_load(&dev.tx_dropped_short), 1);
	/* A header and 10 bytes: not even an Ethernet header. */
	CHECK(tx_send(f, 10));
	CHECK_EQ(atomic_load(&dev.tx_dropped_short), 2);
	/* One byte over 1500 + Ethernet header + VLAN tag. */
	CHECK(tx_send(f, 1519));
	CHECK_EQ(atomic_load(&dev.tx_dropped_oversize), 1);
	CHECK_EQ(host_recv(got, sizeof(got), 50), -1);	/* none of them reached the host */
	CHECK(tx_send(f, 1518));
	CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), 1518);
	CHECK_EQ(atomic_load(&dev.tx_frames), 1);
	dev_down();
	log_set_level(LOG_WARN);
}

/* The 16-bit one's complement sum of buf, folded (RFC 1071), added to sum. */
static uint32_t ones_sum(uint32_t sum, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sum += i % 2 ? buf[i] : (uint32_t)buf[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static const uint8_t tcp_addrs[8] = { 10, 0, 0, 2, 10, 0, 0, 1 };	/* source, destination */

/* The sum of the TCP/IPv4 pseudo-header for a segment of seg bytes between tcp_addrs. */
static uint32_t tcp_pseudo_sum(uint32_t seg)
{
	uint8_t pseudo[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, IPPROTO_TCP, (uint8_t)(seg >> 8),
			       (uint8_t)seg };

	memcpy(pseudo, tcp_addrs, sizeof(tcp_addrs));
	return ones_sum(0, pseudo, sizeof(pseudo));
}

/* An Ethernet + IPv4 + TCP frame of len bytes as Linux hands it over with CHECKSUM_PARTIAL. */
static void tcp_frame_partial(uint8_t *f, size_t len, struct virtio_net_hdr_v1 *h)
{
	uint32_t sum = tcp_pseudo_sum((uint32_t)len - 34);

	fill_frame(f, len, 9);
	f[12] = 0x08;
	f[13] = 0x00;
	f[14] = 0x45;
	memcpy(f + 26, tcp_addrs, sizeof(tcp_addrs));
	f[34 + 16] = (uint8_t)(sum >> 8);	/* the pseudo-header sum, not yet complemented */
	f[34 + 17] = (uint8_t)sum;
	*h = (struct virtio_net_hdr_v1){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					 .csum_start = 34, .csum_offset = 16 };
}

/* Queues one frame behind header h over three descriptors; waits until it is used. */
static int tx_send_with_header(const uint8_t *f, uint32_t len, const struct virtio_net_hdr_v1 *h)
{
	memcpy(ram + TX_BUF, h, HDR);
	memcpy(ram + TX_BUF + HDR, f, len);
	desc(TXQ)[0] = (struct vring_desc){ .addr = TX_BUF, .len = HDR, .flags = VRING_DESC_F_NEXT,
					    .next = 1 };
	desc(TXQ)[1] = (struct vring_desc){ .addr = TX_BUF + HDR, .len = 40,
					    .flags = VRING_DESC_F_NEXT, .next = 2 };
	desc(TXQ)[2] = (struct vring_desc){ .addr = TX_BUF + HDR + 40, .len = len - 40 };
	publish(TXQ, &tx_avail, 0);
	return wait_used(TXQ, tx_avail, WAIT_MS);
}

static void tx_checksum_is_completed(void)
{
	struct virtio_net_hdr_v1 h;
	uint8_t f[1518], got[2048];
	size_t lens[] = { 1518, 61, 34 + 18 };	/* even, odd, and the checksum field last */

	log_set_level(LOG_ERROR);	/* the bad header below warns once; expected here */
	driver_extra = 1ULL << VIRTIO_NET_F_CSUM;
	dev_up(SOCK_DGRAM);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint32_t seg = (uint32_t)lens[i] - 34;

		tcp_frame_partial(f, lens[i], &h);
		CHECK(tx_send_with_header(f, (uint32_t)lens[i], &h));
		CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), (ssize_t)lens[i]);
		/* As a receiver checks it: pseudo-header plus segment sum to all ones. */
		CHECK_EQ(ones_sum(tcp_pseudo_sum(seg), got + 34, seg), 0xffff);
		got[34 + 16] = f[34 + 16];
		got[34 + 17] = f[34 + 17];
		CHECK(memcmp(got, f, lens[i]) == 0);	/* nothing else changed */
	}
	/* Without NEEDS_CSUM the frame goes out as it is. */
	tcp_frame_partial(f, 100, &h);
	h.flags = 0;
	CHECK(tx_send_with_header(f, 100, &h));
	CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), 100);
	CHECK(memcmp(got, f, 100) == 0);
	/* A checksum field that ends past the frame: dropped and counted, not sent. */
	tcp_frame_partial(f, 100, &h);
	h.csum_offset = 100 - 34 - 1;
	CHECK(tx_send_with_header(f, 100, &h));
	CHECK_EQ(atomic_load(&dev.tx_dropped_short), 1);
	CHECK_EQ(host_recv(got, sizeof(got), 50), -1);
	CHECK_EQ(atomic_load(&dev.tx_frames), 4);
	dev_down();
	driver_extra = 0;
	log_set_level(LOG_WARN);
}

static void rx_frame_spans_merged_buffers(void)
{
	struct virtio_net_hdr_v1 h;
	uint8_t f[1514], got[4 * RX_BUF];
	unsigned nbuf;

	driver_extra = 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	dev_up(SOCK_DGRAM);
	fill_frame(f, sizeof(f), 12);
	for (uint16_t s = 0; s < 4; s++)
		rx_post(s, 256);
	/* 12 + 700 bytes: 256 + 256 + 200, in posting order, the header counting them. */
	host_send(f, 700);
	CHECK_EQ(guest_recv_merged(got, &h, &nbuf, WAIT_MS), 700);
	CHECK_EQ(nbuf, 3);
	CHECK_EQ(h.num_buffers, 3);
	CHECK(memcmp(got, f, 700) == 0);
	CHECK_EQ(used(RXQ)->ring[0].id, 0);
	CHECK_EQ(used(RXQ)->ring[1].id, 1);
	CHECK_EQ(used(RXQ)->ring[2].len, 200);
	/* Too few posted: the frame waits, taking none, until the guest posts more. */
	host_send(f, 1000);			/* 1012 bytes: slot 3 and three more */
	usleep(20 * 1000);
	CHECK_EQ(used(RXQ)->idx, 3);
	for (uint16_t s = 4; s < 7; s++)
		rx_post(s, 256);
	CHECK_EQ(guest_recv_merged(got, &h, &nbuf, WAIT_MS), 1000);
	CHECK_EQ(nbuf, 4);
	CHECK(memcmp(got, f, 1000) == 0);
	CHECK_EQ(used(RXQ)->ring[3].id, 3);	/* the buffer it first found was not lost */
	CHECK_EQ(atomic_load(&dev.rx_dropped_no_buffer), 0);
	/* Still too few after the stall: dropped and counted; the buffer serves the next one. */
	rx_post(7, 256);
	host_send(f, 1000);
	CHECK(wait_count(&dev.rx_dropped_no_buffer, 1, WAIT_MS));
	host_send(f, 100);
	CHECK_EQ(guest_recv_merged(got, &h, &nbuf, WAIT_MS), 100);
	CHECK_EQ(used(RXQ)->ring[7].id, 7);
	CHECK_EQ(atomic_load(&dev.rx_frames), 3);
	dev_down();
	driver_extra = 0;
}

/*
 * A TCP or UDP frame of len bytes over IPv4 or IPv6 with a correct checksum; returns the
 * checksum's offset.
 */
static size_t l4_frame(uint8_t *f, size_t len, int v6, uint8_t proto)
{
	size_t l4 = v6 ? 54 : 34, seg = len - l4, at = l4 + (proto == IPPROTO_TCP ? 16 : 6);
	uint32_t sum;

	fill_frame(f, len, 13);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		f[14] = 0x60;
		f[18] = (uint8_t)(seg >> 8), f[19] = (uint8_t)seg, f[20] = proto;
		sum = ones_sum(0, f + 22, 32);
	} else {
		f[14] = 0x45;
		f[16] = (uint8_t)((len - 14) >> 8), f[17] = (uint8_t)(len - 14);
		f[20] = 0x40, f[21] = 0, f[23] = proto;	/* don't fragment */
		sum = ones_sum(0, f + 26, 8);
	}
	if (proto == IPPROTO_UDP)
		f[l4 + 4] = (uint8_t)(seg >> 8), f[l4 + 5] = (uint8_t)seg;
	f[at] = f[at + 1] = 0;
	sum = ~ones_sum(sum + proto + (uint32_t)seg, f + l4, seg) & 0xffff;
	f[at] = (uint8_t)(sum >> 8), f[at + 1] = (uint8_t)sum;
	return at;
}

/* Sends f and returns the flags of the header it arrived with (-1 if it did not). */
static int rx_flags_of(const uint8_t *f, size_t len)
{
	struct virtio_net_hdr_v1 h;
	uint8_t got[RX_BUF];
	static uint16_t slot;

	rx_post(slot++ % QSIZE, RX_BUF);
	host_send(f, len);
	if (guest_recv(got, &h, WAIT_MS) != (int)len || memcmp(got, f, len) != 0)
		return -1;
	return h.flags;
}

static void rx_checksums_verified_are_marked(void)
{
	uint8_t f[1514];
	size_t at;

	driver_extra = 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	dev_up(SOCK_DGRAM);
	l4_frame(f, 1514, 0, IPPROTO_TCP);
	CHECK_EQ(rx_flags_of(f, 1514), VIRTIO_NET_HDR_F_DATA_VALID);
	l4_frame(f, 61, 0, IPPROTO_UDP);
	CHECK_EQ(rx_flags_of(f, 61), VIRTIO_NET_HDR_F_DATA_VALID);
	l4_frame(f, 1514, 1, IPPROTO_TCP);
	CHECK_EQ(rx_flags_of(f, 1514), VIRTIO_NET_HDR_F_DATA_VALID);
	l4_frame(f, 101, 1, IPPROTO_UDP);
	CHECK_EQ(rx_flags_of(f, 101), VIRTIO_NET_HDR_F_DATA_VALID);
	/* Anything it cannot vouch for arrives unmarked, for the guest to check. */
	l4_frame(f, 1514, 0, IPPROTO_TCP);
	f[1000] ^= 1;				/* a bit flipped on the way */
	CHECK_EQ(rx_flags_of(f, 1514), 0);
	l4_frame(f, 1514, 0, IPPROTO_TCP);
	f[20] |= 0x20;				/* a fragment: the rest is elsewhere */
	CHECK_EQ(rx_flags_of(f, 1514), 0);
	l4_frame(f, 1000, 0, IPPROTO_TCP);
	CHECK_EQ(rx_flags_of(f, 999), 0);	/* IPv4 says longer than the frame */
	at = l4_frame(f, 200, 0, IPPROTO_UDP);
	f[at] = f[at + 1] = 0;			/* UDP over IPv4 without a checksum */
	CHECK_EQ(rx_flags_of(f, 200), 0);
	fill_frame(f, 200, 14);			/* not IP */
	CHECK_EQ(rx_flags_of(f, 200), 0);
	dev_down();
	/* Not negotiated: never marked. */
	driver_extra = 0;
	dev_up(SOCK_DGRAM);
	l4_frame(f, 1514, 0, IPPROTO_TCP);
	CHECK_EQ(rx_flags_of(f, 1514), 0);
	dev_down();
}

static void mtu_is_the_backends(void)
{
	static uint8_t f[9100], got[9100];
	struct virtio_net_hdr_v1 h;
	struct net_backend *be = NULL;
	uint8_t cfg[12];
	uint16_t mtu;
	unsigned nbuf;
	int sv[2];

	log_set_level(LOG_ERROR);	/* the drops warn once; expected here */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	host_fd = sv[1];
	CHECK_EQ(net_dgram_open(sv[0], &be), 0);
	be->mtu = 9000;
	driver_extra = 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	dev_up_with(be);
	virtio_mmio_access(&dev.transport, VIRTIO_MMIO_CONFIG, cfg, sizeof(cfg), 0);
	memcpy(&mtu, cfg + 10, 2);
	CHECK_EQ(mtu, 9000);
	fill_frame(f, sizeof(f), 15);
	CHECK(tx_send(f, 9019));		/* over 9000 + Ethernet header + VLAN tag */
	CHECK_EQ(atomic_load(&dev.tx_dropped_oversize), 1);
	CHECK(tx_send(f, 9018));
	CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), 9018);
	CHECK(memcmp(got, f, 9018) == 0);
	rx_fill(8);
	host_send(f, 9019);
	CHECK(wait_count(&dev.rx_dropped_oversize, 1, WAIT_MS));
	host_send(f, 9018);			/* 9030 bytes: four buffers and a bit */
	CHECK_EQ(guest_recv_merged(got, &h, &nbuf, WAIT_MS), 9018);
	CHECK_EQ(nbuf, 5);
	CHECK(memcmp(got, f, 9018) == 0);
	dev_down();
	driver_extra = 0;
	log_set_level(LOG_WARN);
}

/* A backend whose frames carry the virtio-net header (as a TAP with IFF_VNET_HDR does). */
static void dev_up_vnet_hdr(void)
{
	struct net_backend *be = NULL;
	int sv[2];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
	host_fd = sv[1];
	CHECK_EQ(net_dgram_open(sv[0], &be), 0);
	be->vnet_hdr = 1;
	dev_up_with(be);
}

static void offloads_pass_through_a_vnet_header_backend(void)
{
	static uint8_t f[30000], got[HDR + 30000];
	const uint64_t tso = (1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) |
			     (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6);
	struct virtio_net_hdr_v1 h, seg = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .hdr_len = 54,
					    .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
	unsigned nbuf;

	log_set_level(LOG_ERROR);	/* the drop warns once; expected here */
	dev_up(SOCK_DGRAM);
	CHECK_EQ(device_features() & tso, 0);	/* no header to carry them: no TSO */
	dev_down();
	driver_extra = tso | (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
		       (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	dev_up_vnet_hdr();
	CHECK_EQ(device_features() & tso, tso);
	/* Transmit: a TCP segment of 30000 bytes goes out whole, behind the guest's header. */
	fill_frame(f, sizeof(f), 16);
	CHECK(tx_send_with_header(f, sizeof(f), &seg));
	CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), HDR + sizeof(f));
	CHECK(memcmp(got, &seg, HDR) == 0);
	CHECK(memcmp(got + HDR, f, sizeof(f)) == 0);	/* no checksum written: the host does it */
	/* The same without GSO is over the MTU: dropped. */
	h = seg;
	h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	CHECK(tx_send_with_header(f, sizeof(f), &h));
	CHECK_EQ(atomic_load(&dev.tx_dropped_oversize), 1);
	CHECK_EQ(host_recv(got, sizeof(got), 50), -1);
	/* Receive: the host's header reaches the guest, num_buffers ours. */
	rx_fill(20);
	memcpy(got, &seg, HDR);
	memcpy(got + HDR, f, sizeof(f));
	host_send(got, HDR + sizeof(f));
	CHECK_EQ(guest_recv_merged(got, &h, &nbuf, WAIT_MS), sizeof(f));
	CHECK_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	CHECK_EQ(h.gso_size, 1448);
	CHECK_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(h.num_buffers, nbuf);
	CHECK_EQ(nbuf, (HDR + sizeof(f) + RX_BUF - 1) / RX_BUF);
	CHECK(memcmp(got, f, sizeof(f)) == 0);
	dev_down();
	/* A guest without GUEST_CSUM gets no offload flags, whatever the host's header says. */
	driver_extra = 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	dev_up_vnet_hdr();
	rx_fill(4);
	h = (struct virtio_net_hdr_v1){ .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	memcpy(got, &h, HDR);
	memcpy(got + HDR, f, 100);
	host_send(got, HDR + 100);
	CHECK_EQ(guest_recv_merged(got, &h, &nbuf, WAIT_MS), 100);
	CHECK_EQ(h.flags, 0);
	CHECK(memcmp(got, f, 100) == 0);
	/* And frames out carry an all-zero header. */
	CHECK(tx_send(f, 100));
	CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), HDR + 100);
	memset(&h, 0, sizeof(h));
	CHECK(memcmp(got, &h, HDR) == 0);
	dev_down();
	driver_extra = 0;
	log_set_level(LOG_WARN);
}

/* Queues n frames of len bytes at once (byte 20 numbers them), with a tiny socket buffer. */
static void tx_burst(uint8_t *f, uint32_t len, uint16_t n)
{
	int buf = 4096;

	/* The host side fills after a few frames: the device must wait, not drop. */
	CHECK_EQ(setsockopt(dev.be->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)), 0);
	for (uint16_t i = 0; i < n; i++) {
		memset(ram + TX_BUF + 0x1000ULL * i, 0, HDR);
		f[20] = (uint8_t)i;
		memcpy(ram + TX_BUF + 0x1000ULL * i + HDR, f, len);
		desc(TXQ)[i] = (struct vring_desc){ .addr = TX_BUF + 0x1000ULL * i, .len = HDR + len };
		avail(TXQ)->ring[tx_avail++ % QSIZE] = i;
	}
	__atomic_store_n(&avail(TXQ)->idx, tx_avail, __ATOMIC_RELEASE);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
}

static void tx_waits_for_room_in_the_backend(void)
{
	uint8_t f[1514], got[2048];
	unsigned sent = 0, n = 0;

	dev_up(SOCK_DGRAM);
	fill_frame(f, sizeof(f), 6);
	tx_burst(f, sizeof(f), 32);
	/* All 32 arrive, in order, as the host drains; none is dropped. */
	while (n < 32 && host_recv(got, sizeof(got), WAIT_MS) == (ssize_t)sizeof(f))
		sent += got[20] == n++;
	CHECK_EQ(n, 32);
	CHECK_EQ(sent, 32);
	CHECK(wait_used(TXQ, tx_avail, WAIT_MS));
	CHECK_EQ(atomic_load(&dev.tx_dropped_backend), 0);
	dev_down();
}

static void stream_backend_frames_both_ways(void)
{
	struct virtio_net_hdr_v1 h;
	uint8_t f[1514], got[RX_BUF], wire[4 + sizeof(f)];
	uint32_t be_len;

	dev_up(SOCK_STREAM);
	fill_frame(f, sizeof(f), 7);
	/* Guest to host: a big-endian length, then the frame. */
	CHECK(tx_send(f, 300));
	CHECK_EQ(host_read_all(wire, 4 + 300, WAIT_MS), 304);
	memcpy(&be_len, wire, 4);
	CHECK_EQ(ntohl(be_len), 300);
	CHECK(memcmp(wire + 4, f, 300) == 0);
	/* Host to guest, split at awkward places: inside the prefix, inside the frame. */
	rx_fill(4);
	be_len = htonl(sizeof(f));
	memcpy(wire, &be_len, 4);
	memcpy(wire + 4, f, sizeof(f));
	CHECK_EQ(write(host_fd, wire, 2), 2);
	usleep(20 * 1000);
	CHECK_EQ(write(host_fd, wire + 2, 700), 700);
	usleep(20 * 1000);
	CHECK_EQ(rx_seen, 0);
	CHECK_EQ(__atomic_load_n(&used(RXQ)->idx, __ATOMIC_ACQUIRE), 0);	/* nothing half-done */
	CHECK_EQ(write(host_fd, wire + 702, sizeof(wire) - 702), sizeof(wire) - 702);
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), sizeof(f));
	CHECK(memcmp(got, f, sizeof(f)) == 0);
	/* Two frames in one write come out as two. */
	uint8_t two[2 * (4 + 60)];
	be_len = htonl(60);
	for (int i = 0; i < 2; i++) {
		memcpy(two + i * 64, &be_len, 4);
		memcpy(two + i * 64 + 4, f, 60);
		two[i * 64 + 4 + 20] = (uint8_t)i;
	}
	CHECK_EQ(write(host_fd, two, sizeof(two)), sizeof(two));
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(guest_recv(got, &h, WAIT_MS), 60);
		CHECK_EQ(got[20], i);
	}
	/* A burst larger than the socket takes: buffered, flushed as the host reads, in order. */
	tx_burst(f, sizeof(f), 60);
	unsigned in_order = 0;
	for (int i = 0; i < 60; i++) {
		CHECK_EQ(host_read_all(wire, sizeof(wire), WAIT_MS), sizeof(wire));
		memcpy(&be_len, wire, 4);
		in_order += ntohl(be_len) == sizeof(f) && wire[4 + 20] == i &&
			    memcmp(wire + 4 + 21, f + 21, sizeof(f) - 21) == 0;
	}
	CHECK_EQ(in_order, 60);
	CHECK(wait_used(TXQ, tx_avail, WAIT_MS));
	CHECK_EQ(atomic_load(&dev.tx_frames), 61);
	CHECK_EQ(atomic_load(&dev.tx_dropped_backend), 0);
	dev_down();
}

static void stream_bogus_length_stops_the_backend_only(void)
{
	uint8_t f[100], got[RX_BUF];
	uint32_t huge = htonl(0x7fffffffu);
	struct virtio_net_hdr_v1 h;

	log_set_level(LOG_ERROR);	/* "backend gone" warns once; expected here */
	dev_up(SOCK_STREAM);
	rx_fill(4);
	fill_frame(f, sizeof(f), 8);
	CHECK_EQ(write(host_fd, &huge, 4), 4);
	CHECK_EQ(write(host_fd, f, sizeof(f)), sizeof(f));	/* never parsed as a frame */
	CHECK_EQ(guest_recv(got, &h, 200), -1);
	CHECK(cpu_ms_while_idle(300) < 60);
	/* The guest goes on; its frames are counted as lost by the backend. */
	CHECK(tx_send(f, sizeof(f)));
	CHECK_EQ(atomic_load(&dev.tx_dropped_backend), 1);
	CHECK_EQ(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	dev_down();
	log_set_level(LOG_WARN);
}

/*
 * A burst of more than a batch, read ahead at once by the stream backend while the guest posts
 * nothing: after the stall every frame is dropped, none stranded in the read-ahead (where the
 * poll of the socket cannot see it) to reach the guest stale once it posts buffers.
 */
static void stream_burst_past_a_batch_is_not_stranded(void)
{
	enum { BURST = 100, LEN = 100 };
	uint8_t f[LEN], wire[BURST * (4 + LEN)], got[RX_BUF];
	uint32_t be_len = htonl(LEN);
	struct virtio_net_hdr_v1 h;

	dev_up(SOCK_STREAM);
	fill_frame(f, sizeof(f), 10);
	for (int i = 0; i < BURST; i++) {
		memcpy(wire + i * (4 + LEN), &be_len, 4);
		memcpy(wire + i * (4 + LEN) + 4, f, LEN);
	}
	CHECK_EQ(write(host_fd, wire, sizeof(wire)), sizeof(wire));
	CHECK(wait_count(&dev.rx_dropped_no_buffer, BURST, WAIT_MS));
	rx_post(0, RX_BUF);
	f[20] = 0xee;		/* the fresh frame, told apart from the burst's */
	be_len = htonl(60);
	memcpy(wire, &be_len, 4);
	memcpy(wire + 4, f, 60);
	CHECK_EQ(write(host_fd, wire, 64), 64);
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), 60);
	CHECK_EQ(got[20], 0xee);
	CHECK_EQ(atomic_load(&dev.rx_dropped_no_buffer), BURST);
	dev_down();
}

static void peer_gone_drops_tx_and_never_spins(void)
{
	uint8_t f[100];

	log_set_level(LOG_ERROR);
	dev_up(SOCK_SEQPACKET);
	rx_fill(4);
	close(host_fd);		/* like a TAP device deleted or passt killed */
	host_fd = -1;
	usleep(50 * 1000);
	CHECK(cpu_ms_while_idle(300) < 60);
	fill_frame(f, sizeof(f), 9);
	CHECK(tx_send(f, sizeof(f)));
	CHECK(tx_send(f, sizeof(f)));
	CHECK_EQ(atomic_load(&dev.tx_dropped_backend), 2);
	CHECK_EQ(atomic_load(&dev.tx_frames), 0);
	dev_down();
	log_set_level(LOG_WARN);
}

/* A persistent TAP interface to attach to; 0 when this host cannot make one (printed). */
static int tap_make(char name[IFNAMSIZ])
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), ok;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", "hvmut%d");
	ok = fd >= 0 && ioctl(fd, TUNSETIFF, &ifr) == 0 && ioctl(fd, TUNSETPERSIST, 1) == 0;
	if (!ok)
		fprintf(stderr, "skip: cannot make a TAP interface here (%s)\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	return ok;
}

static void tap_vanishing_drops_and_counts(void)
{
	struct net_backend *be = NULL;
	char name[IFNAMSIZ], cmd[64];
	uint8_t f[100];

	if (access("/sbin/ip", X_OK) && access("/usr/sbin/ip", X_OK)) {
		fprintf(stderr, "skip: no ip(8) to delete a TAP interface with\n");
		return;
	}
	if (!tap_make(name))
		return;
	CHECK_EQ(net_tap_open(name, &be, NULL), 0);
	if (!be)
		return;
	CHECK_STR(be->name, name);
	log_set_level(LOG_ERROR);	/* "backend gone" warns once; expected here */
	dev_up_with(be);
	rx_fill(4);
	fill_frame(f, sizeof(f), 11);
	snprintf(cmd, sizeof(cmd), "ip link del %s", name);
	CHECK_EQ(system(cmd), 0);
	usleep(50 * 1000);
	CHECK(cpu_ms_while_idle(300) < 60);
	CHECK(tx_send(f, sizeof(f)));
	CHECK(tx_send(f, sizeof(f)));
	CHECK_EQ(atomic_load(&dev.tx_dropped_backend), 2);
	CHECK_EQ(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	dev_down();
	log_set_level(LOG_WARN);
}

static void reset_and_reinit_keep_working(void)
{
	struct virtio_net_hdr_v1 h;
	uint8_t f[80], got[RX_BUF];

	dev_up(SOCK_DGRAM);
	rx_fill(2);
	driver_init();			/* the driver resets: old buffers are forgotten */
	fill_frame(f, sizeof(f), 10);
	host_send(f, sizeof(f));
	CHECK(wait_count(&dev.rx_dropped_no_buffer, 1, WAIT_MS));
	rx_fill(2);
	host_send(f, sizeof(f));
	CHECK_EQ(guest_recv(got, &h, WAIT_MS), sizeof(f));
	CHECK(tx_send(f, sizeof(f)));
	CHECK_EQ(host_recv(got, sizeof(got), WAIT_MS), sizeof(f));
	dev_down();
}

static void mac_helpers(void)
{
	uint8_t m[6], r[6];
	static const char *bad[] = {
		"", "02:00:00:00:00", "02:00:00:00:00:0g", "02-00-00-00-00-01", "02:00:00:00:00:011",
		"01:00:5e:00:00:01", "00:00:00:00:00:00", " 2:00:00:00:00:01",
	};

	CHECK_EQ(net_parse_mac("aa:BB:cc:dd:ee:0f", m), 0);
	CHECK(memcmp(m, "\xaa\xbb\xcc\xdd\xee\x0f", 6) == 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(net_parse_mac(bad[i], m), -EINVAL);
	net_random_mac(m);
	net_random_mac(r);
	CHECK_EQ(m[0] & 3, 2);		/* locally administered, unicast */
	CHECK_EQ(r[0] & 3, 2);
	CHECK(memcmp(m, r, 6) != 0);
}

/* ---- passt, when installed --------------------------------------------------------- */

static int passt_installed(void)
{
	return access("/usr/bin/passt", X_OK) == 0 || access("/usr/local/bin/passt", X_OK) == 0;
}

/* Next frame from passt (stream framing) with the given ethertype; its length or -1. */
static ssize_t passt_next(struct net_backend *be, uint16_t type, uint8_t *buf, size_t cap, int ms)
{
	uint64_t end = deadline_us(ms);
	struct iovec v = { buf, cap };

	while (clock_now_us() < end) {
		ssize_t r = be->ops->recv(be, &v, 1);
		if (r < 0)
			return -1;
		if (r >= 14 && buf[12] == type >> 8 && buf[13] == (type & 0xff))
			return r;
		if (r == 0)
			wait_fd(be->fd, 10);
	}
	return -1;
}

static void passt_answers_and_publishes_only_what_it_is_told(void)
{
	struct net_port_map map = { .host_port = 18123, .guest_port = 8080 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t arp[60] = { 0 }, buf[4096];
	struct net_backend *be;
	struct iovec v = { arp, sizeof(arp) };
	int fd;

	if (!passt_installed()) {
		fprintf(stderr, "skip: passt is not installed (Debian package 'passt')\n");
		return;
	}
	CHECK_EQ(net_passt_start(&map, 1, &be, NULL), 0);
	/* Until the guest's network is up, passt does not run: the published port is closed. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons(18123);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == ECONNREFUSED);
	close(fd);
	CHECK_EQ(be->ops->guest_up(be), 0);
	/* An ARP request for a link-local address: passt answers for everything but the guest. */
	memset(arp, 0xff, 6);
	memcpy(arp + 6, guest_mac, 6);
	memcpy(arp + 12, "\x08\x06\x00\x01\x08\x00\x06\x04\x00\x01", 10);
	memcpy(arp + 22, guest_mac, 6);
	memcpy(arp + 38, "\xa9\xfe\x00\x02", 4);
	CHECK_EQ(be->ops->send(be, &v, 1), 0);
	CHECK_EQ(be->ops->flush(be), 0);
	ssize_t n = passt_next(be, 0x0806, buf, sizeof(buf), WAIT_MS);
	if (n < 0) {
		fprintf(stderr, "skip: passt did not answer ARP (no IPv4 on this host?)\n");
	} else {
		CHECK(memcmp(buf, guest_mac, 6) == 0);		/* to us */
		CHECK_EQ(buf[21], 2);				/* a reply */
		CHECK(memcmp(buf + 28, "\xa9\xfe\x00\x02", 4) == 0);	/* for what we asked */
		CHECK(memcmp(buf + 32, guest_mac, 6) == 0);
	}
	/* The published port: a host connection becomes a SYN to guest port 8080. */
	for (int tries = 0; tries < WAIT_MS / 10; tries++) {	/* passt binds it as it starts */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != ECONNREFUSED)
			break;
		close(fd);
		fd = -1;
		usleep(10000);
	}
	CHECK(fd >= 0);
	n = passt_next(be, 0x0800, buf, sizeof(buf), WAIT_MS);
	CHECK(n >= 14 + 20 + 20);
	if (n >= 14 + 20 + 20) {
		unsigned ihl = (buf[14] & 15u) * 4;
		CHECK_EQ(buf[14 + 9], IPPROTO_TCP);
		CHECK_EQ(buf[14 + ihl + 2] << 8 | buf[14 + ihl + 3], 8080);
		CHECK(buf[14 + ihl + 13] & 0x02);		/* SYN */
	}
	close(fd);
	/* Any other port is not bound by passt: refused. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons(18124);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == ECONNREFUSED);
	close(fd);
	be->ops->close(be);
	/* Stopped: the published port is free again. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons(18123);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == ECONNREFUSED);
	close(fd);
}

static void passt_reports_a_taken_port(void)
{
	struct net_port_map map = { .host_port = 18125, .guest_port = 80 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(18125) };
	struct net_backend *be = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (!passt_installed()) {
		fprintf(stderr, "skip: passt is not installed (Debian package 'passt')\n");
		close(fd);
		return;
	}
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 1) == 0);
	fprintf(stderr, "(an error about port 18125 follows; it is expected)\n");
	CHECK_EQ(net_passt_start(&map, 1, &be, NULL), -EADDRINUSE);
	close(fd);
}

static void cleanup(void)
{
	free(ram);
	ram = NULL;
}

HARNESS_MAIN(identity_features_and_config, tx_frame_arrives_exactly,
	     rx_frame_lands_in_a_posted_buffer, rx_without_buffers_drops_and_never_spins,
	     rx_oversize_is_dropped_and_the_buffer_kept, tx_short_and_oversize_are_dropped,
	     tx_checksum_is_completed, rx_frame_spans_merged_buffers,
	     rx_checksums_verified_are_marked, mtu_is_the_backends,
	     offloads_pass_through_a_vnet_header_backend,
	     tx_waits_for_room_in_the_backend, stream_backend_frames_both_ways,
	     stream_bogus_length_stops_the_backend_only, stream_burst_past_a_batch_is_not_stranded,
	     peer_gone_drops_tx_and_never_spins,
	     tap_vanishing_drops_and_counts, reset_and_reinit_keep_working, mac_helpers,
	     passt_answers_and_publishes_only_what_it_is_told, passt_reports_a_taken_port, cleanup)
