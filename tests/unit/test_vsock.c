/*
 * virtio-vsock without KVM: this file is the guest driver (registers through
 * virtio_mmio_access, rings and buffers in a malloc'd "RAM") and the host programs (real
 * AF_UNIX sockets next to a temporary uds_path). Every wait is a poll with a deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../devices/virtio_vsock.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../core/vm.h"
#include "../harness.h"
#include "virtio_driver.h"

#define RAM        (4u << 20)
#define QSIZE      64
#define GUEST_CID  3
#define HOST_CID   2
#define MMIO_BASE  0xd0000000ULL
#define HDR        ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define RX_BUF     4096		/* like Linux: a 44-byte header buffer, then 4 KiB */
#define RX_SLOTS   (QSIZE / 2)	/* two descriptors per rx buffer */
#define RX_HDRS    0x10000ULL
#define RX_BUFS    0x20000ULL
#define TX_HDR     0x80000ULL
#define TX_DATA    0x100000ULL
#define EV_BUF     0x180000ULL
#define WAIT_MS    3000		/* generous: only reached when something is wrong */
#define GUEST_BUF  (256u * 1024)
#define DEV_BUF    (256u * 1024)	/* the buf_alloc the device advertises */

enum { RXQ, TXQ, EVQ };

static struct vm vm;
static struct vsock dev;
static char dir[32], uds[64];
static uint16_t rx_avail, rx_seen, tx_avail;

struct pkt {
	struct virtio_vsock_hdr h;
	uint32_t len;
	uint8_t data[RX_BUF];
};

/* The guest's view of one of its stream sockets. */
struct gsock {
	uint32_t port, hport;		/* guest port, host port */
	uint32_t buf_alloc, fwd_cnt;	/* what the guest advertises */
	uint32_t tx_cnt;		/* bytes the guest sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt;	/* the device's credit, from its packets */
};

/* ---- the guest driver ------------------------------------------------------------- */

static void rx_post(uint16_t head)
{
	avail(RXQ)->ring[rx_avail % QSIZE] = head;
	/* Release: the ring entry before the index that publishes it. */
	__atomic_store_n(&avail(RXQ)->idx, ++rx_avail, __ATOMIC_RELEASE);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
}

static void rx_fill(void)
{
	for (uint16_t s = 0; s < RX_SLOTS; s++) {
		desc(RXQ)[2 * s] = (struct vring_desc){
			.addr = RX_HDRS + 64ULL * s, .len = HDR,
			.flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, .next = (uint16_t)(2 * s + 1),
		};
		desc(RXQ)[2 * s + 1] = (struct vring_desc){
			.addr = RX_BUFS + (uint64_t)RX_BUF * s, .len = RX_BUF, .flags = VRING_DESC_F_WRITE,
		};
		rx_post((uint16_t)(2 * s));
	}
}

static void queue_setup(int q)
{
	/* rx is smaller: the guest pins a 4 KiB buffer per entry from the start */
	queue_setup_sized(q, q == RXQ ? 64 : 256, QSIZE);
}

/* Resets the device and brings it up as Linux would: VERSION_1 only, three queues. */
static void driver_init(int fill_rx)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	reg_write(VIRTIO_MMIO_STATUS, 0);
	memset(ram, 0, 0x10000);
	rx_avail = rx_seen = tx_avail = 0;
	reg_write(VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg_write(VIRTIO_MMIO_STATUS, s);
	reg_write(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK(reg_read(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << (VIRTIO_F_VERSION_1 - 32)));
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(VIRTIO_MMIO_DRIVER_FEATURES, 1u << (VIRTIO_F_VERSION_1 - 32));
	reg_write(VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (int q = RXQ; q <= EVQ; q++)
		queue_setup(q);
	reg_write(VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	if (fill_rx)
		rx_fill();
}

/* Publishes one packet (header + a payload buffer of desc_len bytes) and waits for it. */
static int tx_send(const struct virtio_vsock_hdr *h, const void *data, uint32_t desc_len)
{
	memcpy(ram + TX_HDR, h, HDR);
	if (data)
		memcpy(ram + TX_DATA, data, desc_len);
	else
		memset(ram + TX_DATA, 'x', desc_len);
	desc(TXQ)[0] = (struct vring_desc){
		.addr = TX_HDR, .len = HDR, .flags = desc_len ? VRING_DESC_F_NEXT : 0, .next = 1,
	};
	desc(TXQ)[1] = (struct vring_desc){ .addr = TX_DATA, .len = desc_len };
	avail(TXQ)->ring[tx_avail % QSIZE] = 0;
	__atomic_store_n(&avail(TXQ)->idx, ++tx_avail, __ATOMIC_RELEASE);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	return wait_used(TXQ, tx_avail, WAIT_MS);
}

/* Takes the next rx packet (and gives its buffer back); 0 when none came in time. */
static int guest_recv(struct pkt *p, int ms)
{
	struct vring_used_elem e;
	unsigned slot;

	if (!wait_used(RXQ, (uint16_t)(rx_seen + 1), ms))
		return 0;
	e = used(RXQ)->ring[rx_seen++ % QSIZE];
	slot = e.id / 2;
	CHECK(e.id % 2 == 0 && slot < RX_SLOTS);
	CHECK(e.len >= HDR && e.len <= HDR + RX_BUF);
	memcpy(&p->h, ram + RX_HDRS + 64ULL * slot, HDR);
	p->len = e.len - HDR;
	CHECK_EQ(p->h.len, p->len);
	memcpy(p->data, ram + RX_BUFS + (uint64_t)RX_BUF * slot, p->len);
	CHECK_EQ(p->h.src_cid, HOST_CID);
	CHECK_EQ(p->h.dst_cid, GUEST_CID);
	rx_post((uint16_t)e.id);
	return 1;
}

static int pkt_for(const struct pkt *p, const struct gsock *g)
{
	return p->h.dst_port == g->port && p->h.src_port == g->hport;
}

/* Any packet; its credit fields are noted when it belongs to g. */
static int guest_recv_for(struct gsock *g, struct pkt *p, int ms)
{
	if (!guest_recv(p, ms))
		return 0;
	if (g && pkt_for(p, g)) {
		g->peer_buf_alloc = p->h.buf_alloc;
		g->peer_fwd_cnt = p->h.fwd_cnt;
	}
	return 1;
}

/* The next packet that is not a credit update. */
static int guest_next(struct gsock *g, struct pkt *p, int ms)
{
	while (guest_recv_for(g, p, ms))
		if (p->h.op != VIRTIO_VSOCK_OP_CREDIT_UPDATE)
			return 1;
	return 0;
}

/* Expects the next packet to be `op` on g; returns whether it was. */
static int guest_expect(struct gsock *g, struct pkt *p, uint16_t op)
{
	int got = guest_next(g, p, WAIT_MS);

	CHECK(got);
	if (!got)
		return 0;
	CHECK_EQ(p->h.op, op);
	CHECK_EQ(p->h.dst_port, g->port);
	CHECK_EQ(p->h.src_port, g->hport);
	CHECK_EQ(p->h.type, VIRTIO_VSOCK_TYPE_STREAM);
	return p->h.op == op && pkt_for(p, g);
}

/* What the device's last word lets the guest still send on g. */
static uint32_t guest_credit(const struct gsock *g)
{
	uint32_t in_flight = g->tx_cnt - g->peer_fwd_cnt;

	return in_flight > g->peer_buf_alloc ? 0 : g->peer_buf_alloc - in_flight;
}

static int guest_send(struct gsock *g, uint16_t op, uint32_t flags, const void *data, uint32_t len)
{
	struct virtio_vsock_hdr h = {
		.src_cid = GUEST_CID, .dst_cid = HOST_CID, .src_port = g->port, .dst_port = g->hport,
		.len = len, .type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .flags = flags,
		.buf_alloc = g->buf_alloc, .fwd_cnt = g->fwd_cnt,
	};

	if (op == VIRTIO_VSOCK_OP_RW)
		g->tx_cnt += len;
	return tx_send(&h, data, len);
}

/* ---- the host side ---------------------------------------------------------------- */

static int unix_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	CHECK(fd >= 0);
	return fd;
}

static int unix_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 8) == 0);
	return fd;
}

static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) == 1;
}

/* Reads exactly n bytes (or up to EOF / the deadline); returns how many came. */
static size_t host_read(int fd, void *buf, size_t n, int ms)
{
	uint64_t end = deadline_us(ms);
	size_t got = 0;

	while (got < n && clock_now_us() < end) {
		ssize_t r;
		if (!wait_fd(fd, POLLIN, 10))
			continue;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* 1 when the next read on fd reports the end of the stream (EOF or reset). */
static int host_eof(int fd, int ms)
{
	char c;

	return wait_fd(fd, POLLIN, ms) && read(fd, &c, 1) <= 0;
}

static void host_write(int fd, const char *s)
{
	CHECK_EQ(send(fd, s, strlen(s), MSG_NOSIGNAL), strlen(s));
}

/* A host program connects through "CONNECT <port>\n"; the guest accepts with buf_alloc. */
static int host_open(struct gsock *g, uint32_t port, uint32_t buf_alloc)
{
	char line[32], want[32];
	struct pkt p;
	int fd = unix_connect(uds);

	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	host_write(fd, line);
	*g = (struct gsock){ .port = port, .buf_alloc = buf_alloc };
	CHECK(guest_next(NULL, &p, WAIT_MS));
	CHECK_EQ(p.h.op, VIRTIO_VSOCK_OP_REQUEST);
	CHECK_EQ(p.h.dst_port, port);
	CHECK_EQ(p.h.buf_alloc, DEV_BUF);
	g->hport = p.h.src_port;
	g->peer_buf_alloc = p.h.buf_alloc;
	CHECK(guest_send(g, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0));
	snprintf(want, sizeof(want), "OK %u\n", g->hport);
	memset(line, 0, sizeof(line));
	CHECK_EQ(host_read(fd, line, strlen(want), WAIT_MS), strlen(want));
	CHECK_STR(line, want);
	return fd;
}

/* ---- set-up ------------------------------------------------------------------------ */

/* A new device on a new bus over the same guest memory. */
static void dev_attach(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.fd = -1;		/* no KVM: ioeventfd/irqfd fail, the transport falls back */
	guest_mem_init(&vm.mem, ram, RAM);
	CHECK_EQ(vsock_attach(&dev, &vm, MMIO_BASE, 5, GUEST_CID, uds, NULL), 0);
	driver_transport = &dev.transport;
}

static void dev_up(int fill_rx)
{
	signal(SIGPIPE, SIG_IGN);
	if (!ram) {
		ram = malloc(RAM);
		snprintf(dir, sizeof(dir), "/tmp/hvm-vsock-XXXXXX");
		CHECK(mkdtemp(dir) != NULL);
		snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	}
	memset(ram, 0, RAM);
	dev_attach();
	driver_init(fill_rx);
}

static void dev_down(void)
{
	struct stat st;

	vsock_detach(&dev);
	CHECK(lstat(uds, &st) < 0 && errno == ENOENT);	/* uds_path is gone */
}

static void fill_pattern(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((i * 131 + seed) ^ (i >> 9));
}

/* ---- cases ------------------------------------------------------------------------- */

static void identity_and_config(void)
{
	uint8_t cfg[8] = { 0 };
	uint64_t cid = 0;

	dev_up(0);
	CHECK_EQ(reg_read(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(reg_read(VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(reg_read(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	virtio_mmio_access(&dev.transport, VIRTIO_MMIO_CONFIG, cfg, 8, 0);
	memcpy(&cid, cfg, 8);
	CHECK_EQ(cid, GUEST_CID);
	virtio_mmio_access(&dev.transport, VIRTIO_MMIO_CONFIG + 4, cfg, 4, 0);
	CHECK_EQ(cfg[0] | cfg[1] | cfg[2] | cfg[3], 0);	/* the high half of a small cid */
	dev_down();
}

static void attach_checks_the_path(void)
{
	char longp[100];	/* over the 96 bytes that leave room for "_<port>" */
	struct vsock *v = calloc(1, sizeof(*v));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	/* The refusals below each log one error line, on purpose. */
	dev_up(0);
	dev_down();
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	CHECK_EQ(vsock_attach(v, &vm, MMIO_BASE + 0x1000, 6, GUEST_CID, longp, NULL),
		 -ENAMETOOLONG);
	/* CID 2 is the host's. */
	CHECK_EQ(vsock_attach(v, &vm, MMIO_BASE + 0x1000, 6, 2, uds, NULL), -EINVAL);
	CHECK_EQ(vsock_attach(v, &vm, MMIO_BASE + 0x1000, 6, 1ULL << 32, uds, NULL), -EINVAL);
	fd = open(uds, O_CREAT | O_WRONLY, 0600);	/* a regular file is never replaced */
	close(fd);
	CHECK_EQ(vsock_attach(v, &vm, MMIO_BASE + 0x1000, 6, GUEST_CID, uds, NULL), -EEXIST);
	unlink(uds);
	/* A stale socket file (its owner gone) is replaced. */
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	dev_up(0);
	dev_down();
	free(v);
}

static void rx_waits_for_buffers(void)
{
	struct pkt p;
	int fd;

	dev_up(0);
	fd = unix_connect(uds);
	host_write(fd, "CONNECT 77\n");
	CHECK(!guest_recv(&p, 100));	/* no rx buffer yet: the REQUEST waits */
	rx_fill();
	CHECK(guest_recv(&p, WAIT_MS));
	CHECK_EQ(p.h.op, VIRTIO_VSOCK_OP_REQUEST);
	CHECK_EQ(p.h.dst_port, 77);
	close(fd);
	dev_down();
}

static void host_connect_and_small_data(void)
{
	struct gsock g = { .port = 1234, .buf_alloc = GUEST_BUF };
	char line[32], want[32], buf[16] = { 0 };
	struct pkt p;
	int fd;

	dev_up(1);
	fd = unix_connect(uds);
	/* The line in pieces, and stream bytes right behind its newline. */
	host_write(fd, "CONN");
	usleep(20000);
	host_write(fd, "ECT 1234\nearly");
	CHECK(guest_next(NULL, &p, WAIT_MS));
	CHECK_EQ(p.h.op, VIRTIO_VSOCK_OP_REQUEST);
	CHECK_EQ(p.h.dst_port, 1234);
	CHECK_EQ(p.h.type, VIRTIO_VSOCK_TYPE_STREAM);
	CHECK_EQ(p.h.len, 0);
	g.hport = p.h.src_port;
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0));
	snprintf(want, sizeof(want), "OK %u\n", g.hport);
	memset(line, 0, sizeof(line));
	CHECK_EQ(host_read(fd, line, strlen(want), WAIT_MS), strlen(want));
	CHECK_STR(line, want);
	if (guest_expect(&g, &p, VIRTIO_VSOCK_OP_RW)) {
		CHECK_EQ(p.len, 5);
		CHECK(memcmp(p.data, "early", 5) == 0);
	}
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RW, 0, "world", 5));
	CHECK_EQ(host_read(fd, buf, 5, WAIT_MS), 5);
	CHECK_STR(buf, "world");
	close(fd);
	/* The host closed: SHUTDOWN with both flags, then our RST ends it. */
	if (guest_expect(&g, &p, VIRTIO_VSOCK_OP_SHUTDOWN))
		CHECK_EQ(p.h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RST, 0, NULL, 0));
	CHECK(!guest_next(NULL, &p, 50));
	dev_down();
}

struct bulk {
	int fd;
	uint8_t *buf;
	size_t n, done;
};

/* Writes everything (giving up at a deadline, so a failing device cannot hang us), then EOF. */
static void *bulk_writer(void *arg)
{
	struct bulk *b = arg;
	uint64_t end = deadline_us(10 * WAIT_MS);

	while (b->done < b->n && clock_now_us() < end) {
		ssize_t r;
		if (!wait_fd(b->fd, POLLOUT, 10))
			continue;
		r = send(b->fd, b->buf + b->done, b->n - b->done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0 && errno != EAGAIN)
			break;
		b->done += r > 0 ? (size_t)r : 0;
	}
	shutdown(b->fd, SHUT_WR);
	return NULL;
}

static void *bulk_reader(void *arg)
{
	struct bulk *b = arg;

	b->done = host_read(b->fd, b->buf, b->n, 10 * WAIT_MS);
	return NULL;
}

/* Host to guest, 300 KiB through a 64 KiB guest window: never more than the credit. */
static void bulk_to_guest(struct gsock *g, int fd)
{
	struct bulk b = { .fd = fd, .n = 300 * 1024 };
	uint8_t *want = malloc(b.n), *got = malloc(b.n);
	uint32_t advertised = g->fwd_cnt;
	size_t n = 0;
	pthread_t t;
	struct pkt p;

	fill_pattern(want, b.n, 7);
	b.buf = want;
	pthread_create(&t, NULL, bulk_writer, &b);
	while (n < b.n && guest_next(g, &p, WAIT_MS) && p.h.op == VIRTIO_VSOCK_OP_RW) {
		memcpy(got + n, p.data, p.len);
		n += p.len;
		CHECK(n - advertised <= g->buf_alloc);	/* the device kept within our credit */
		g->fwd_cnt += p.len;
		if (g->fwd_cnt - advertised >= g->buf_alloc / 2) {
			CHECK(guest_send(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0));
			advertised = g->fwd_cnt;
		}
	}
	pthread_join(t, NULL);
	CHECK_EQ(n, b.n);
	CHECK(n == b.n && memcmp(got, want, n) == 0);
	/* The host's EOF arrives after every byte. */
	if (guest_expect(g, &p, VIRTIO_VSOCK_OP_SHUTDOWN))
		CHECK_EQ(p.h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	free(want);
	free(got);
}

/* Guest to host, 1 MiB: the host reads late, so the device must hold bytes and withhold credit. */
static void bulk_to_host(struct gsock *g, int fd)
{
	struct bulk b = { .fd = fd, .n = 1024 * 1024 };
	uint8_t *want = malloc(b.n);
	int reading = 0;
	size_t sent = 0;
	pthread_t t;
	struct pkt p;

	b.buf = malloc(b.n);
	fill_pattern(want, b.n, 99);
	while (sent < b.n) {
		uint32_t credit = guest_credit(g), len = credit < 60000 ? credit : 60000;

		if (len > b.n - sent)
			len = (uint32_t)(b.n - sent);
		if (len) {
			CHECK(guest_send(g, VIRTIO_VSOCK_OP_RW, 0, want + sent, len));
			sent += len;
		} else if (!guest_recv_for(g, &p, reading ? WAIT_MS : 200)) {
			if (reading)
				break;	/* no credit came back: fails below */
			/* Out of credit with nobody reading: the backpressure state. Now read. */
			CHECK(g->tx_cnt - g->peer_fwd_cnt == g->peer_buf_alloc);
			pthread_create(&t, NULL, bulk_reader, &b);
			reading = 1;
		} else {
			CHECK(p.h.op == VIRTIO_VSOCK_OP_CREDIT_UPDATE || p.h.op == VIRTIO_VSOCK_OP_RW);
		}
	}
	CHECK_EQ(sent, b.n);
	CHECK(reading);
	if (!reading)
		pthread_create(&t, NULL, bulk_reader, &b);
	pthread_join(t, NULL);
	CHECK_EQ(b.done, b.n);
	CHECK(b.done == b.n && memcmp(b.buf, want, b.n) == 0);
	free(want);
	free(b.buf);
}

static void bulk_both_ways_with_credit(void)
{
	struct gsock g;
	struct pkt p;
	int fd;

	dev_up(1);
	fd = host_open(&g, 5555, 64 * 1024);
	bulk_to_guest(&g, fd);
	bulk_to_host(&g, fd);
	/* Both sides have sent everything: the device closes the host end and says so. */
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0));
	CHECK(host_eof(fd, WAIT_MS));
	if (guest_expect(&g, &p, VIRTIO_VSOCK_OP_SHUTDOWN))
		CHECK_EQ(p.h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RST, 0, NULL, 0));
	close(fd);
	dev_down();
}

/* Fills the device's window toward a host that does not read; returns the bytes sent. */
static size_t fill_window(struct gsock *g, const uint8_t *data, size_t max)
{
	size_t sent = 0;
	struct pkt p;

	for (;;) {
		uint32_t credit = guest_credit(g), len = credit < 60000 ? credit : 60000;

		if (len > max - sent)
			len = (uint32_t)(max - sent);
		if (len) {
			CHECK(guest_send(g, VIRTIO_VSOCK_OP_RW, 0, data + sent, len));
			sent += len;
		} else if (!guest_recv_for(g, &p, 200)) {
			return sent;	/* no more credit comes: the host is full */
		}
	}
}

/*
 * A guest that writes and closes at once: its RST comes now, the bytes still reach a slow
 * host, and then EOF. A host that never reads is cut off after the timeout.
 */
static void guest_close_drains_pending(void)
{
	size_t max = 1024 * 1024, sent, got;
	uint8_t *want = malloc(max), *buf = malloc(max);
	struct gsock g;
	struct pkt p;
	int fd;

	fill_pattern(want, max, 3);
	dev_up(1);
	fd = host_open(&g, 31, GUEST_BUF);
	sent = fill_window(&g, want, max);
	CHECK(sent > DEV_BUF);		/* the socket holds some, the device the rest */
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV |
			 VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0));
	guest_expect(&g, &p, VIRTIO_VSOCK_OP_RST);
	got = host_read(fd, buf, max, WAIT_MS);
	CHECK_EQ(got, sent);
	CHECK(got == sent && memcmp(buf, want, sent) == 0);
	close(fd);
	/* Again with a host that never reads, and a short timeout. */
	atomic_store(&dev.timeout_ms, 200);
	fd = host_open(&g, 32, GUEST_BUF);
	sent = fill_window(&g, want, max);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV |
			 VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0));
	guest_expect(&g, &p, VIRTIO_VSOCK_OP_RST);
	usleep(500000);
	got = host_read(fd, buf, max, WAIT_MS);	/* what the socket held, then EOF */
	CHECK(got > 0 && got < sent);
	close(fd);
	dev_down();
	free(want);
	free(buf);
}

static int accept_within(int lfd, int ms)
{
	return wait_fd(lfd, POLLIN, ms) ? accept(lfd, NULL, NULL) : -1;
}

static void guest_connects(void)
{
	char path[80], buf[8] = { 0 };
	struct gsock g = { .port = 40000, .hport = 5000, .buf_alloc = GUEST_BUF };
	struct gsock missing = { .port = 40001, .hport = 5001, .buf_alloc = GUEST_BUF };
	struct pkt p;
	int lfd, sfd;

	dev_up(1);
	snprintf(path, sizeof(path), "%s_5000", uds);
	lfd = unix_listen(path);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0));
	guest_expect(&g, &p, VIRTIO_VSOCK_OP_RESPONSE);
	CHECK_EQ(p.h.buf_alloc, DEV_BUF);
	sfd = accept_within(lfd, WAIT_MS);
	CHECK(sfd >= 0);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RW, 0, "ping", 4));
	CHECK_EQ(host_read(sfd, buf, 4, WAIT_MS), 4);
	CHECK_STR(buf, "ping");
	host_write(sfd, "pong");
	if (guest_expect(&g, &p, VIRTIO_VSOCK_OP_RW))
		CHECK(p.len == 4 && memcmp(p.data, "pong", 4) == 0);
	/* Guest half-close: the server sees EOF and can still answer. */
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0));
	CHECK(host_eof(sfd, WAIT_MS));
	host_write(sfd, "bye");
	close(sfd);
	if (guest_expect(&g, &p, VIRTIO_VSOCK_OP_RW))
		CHECK(p.len == 3 && memcmp(p.data, "bye", 3) == 0);
	if (guest_expect(&g, &p, VIRTIO_VSOCK_OP_SHUTDOWN))
		CHECK_EQ(p.h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RST, 0, NULL, 0));
	/* Nobody listens on <uds>_5001: refused with RST. */
	CHECK(guest_send(&missing, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0));
	guest_expect(&missing, &p, VIRTIO_VSOCK_OP_RST);
	/* The port pair is free again: the same connection can be made anew. */
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0));
	guest_expect(&g, &p, VIRTIO_VSOCK_OP_RESPONSE);
	sfd = accept_within(lfd, WAIT_MS);
	CHECK(sfd >= 0);
	/* A guest close (both flags) is answered by RST; the server reads EOF. */
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV |
			 VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0));
	guest_expect(&g, &p, VIRTIO_VSOCK_OP_RST);
	CHECK(host_eof(sfd, WAIT_MS));
	close(sfd);
	close(lfd);
	unlink(path);
	dev_down();
}

/* Saves the transport as a snapshot would, then rebuilds the device from it. */
static void dev_restore(void)
{
	struct virtio_mmio_state st;

	io_thread_hold(&dev.transport.io);
	virtio_mmio_save(&dev.transport, &st);
	io_thread_release(&dev.transport.io);
	vsock_detach(&dev);
	dev_attach();
	CHECK_EQ(virtio_mmio_load(&dev.transport, &st), 0);
}

/*
 * Restored: the transport-reset event goes out; packets of the guest's connections from before
 * are dropped, not reset (an RST overtaking the event looks like a peer's close), until the
 * guest's first new REQUEST.
 */
static void restore_drops_old_connections(void)
{
	struct gsock old = { .port = 40010, .hport = 5010, .buf_alloc = GUEST_BUF };
	struct gsock g = { .port = 40011, .hport = 5011, .buf_alloc = GUEST_BUF };
	struct virtio_vsock_event ev = { .id = UINT32_MAX };
	char path[80];
	struct pkt p;
	int lfd, sfd, cfd;

	dev_up(1);
	desc(EVQ)[0] = (struct vring_desc){
		.addr = EV_BUF, .len = sizeof(ev), .flags = VRING_DESC_F_WRITE,
	};
	avail(EVQ)->ring[0] = 0;
	__atomic_store_n(&avail(EVQ)->idx, 1, __ATOMIC_RELEASE);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, EVQ);
	dev_restore();
	CHECK(wait_used(EVQ, 1, WAIT_MS));
	memcpy(&ev, ram + EV_BUF, sizeof(ev));
	CHECK_EQ(ev.id, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	CHECK(guest_send(&old, VIRTIO_VSOCK_OP_RW, 0, "stale", 5));
	CHECK(guest_send(&old, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0));
	CHECK(!guest_next(NULL, &p, 100));	/* no RST for either */
	/* A host client connecting now (an exec): its REQUEST waits for the guest's own. */
	cfd = unix_connect(uds);
	host_write(cfd, "CONNECT 1234\n");
	CHECK(!guest_next(NULL, &p, 100));
	snprintf(path, sizeof(path), "%s_5011", uds);
	lfd = unix_listen(path);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0));
	/* Both go out now, in either order: the answer to the guest, the client's REQUEST. */
	for (int i = 0, seen = 0; i < 2; i++) {
		CHECK(guest_next(NULL, &p, WAIT_MS));
		seen |= p.h.op == VIRTIO_VSOCK_OP_RESPONSE && p.h.dst_port == g.port ? 1 :
			p.h.op == VIRTIO_VSOCK_OP_REQUEST && p.h.dst_port == 1234 ? 2 : 4;
		if (i == 1)
			CHECK_EQ(seen, 3);
	}
	close(cfd);
	sfd = accept_within(lfd, WAIT_MS);
	CHECK(sfd >= 0);
	/* After the guest's new REQUEST an unknown connection is refused again. */
	CHECK(guest_send(&old, VIRTIO_VSOCK_OP_RW, 0, "stale", 5));
	guest_expect(&old, &p, VIRTIO_VSOCK_OP_RST);
	close(sfd);
	close(lfd);
	unlink(path);
	dev_down();
}

static void host_half_close_then_guest_close(void)
{
	struct gsock g;
	struct pkt p;
	char buf[8] = { 0 };
	int fd;

	dev_up(1);
	fd = host_open(&g, 42, GUEST_BUF);
	shutdown(fd, SHUT_WR);
	if (guest_expect(&g, &p, VIRTIO_VSOCK_OP_SHUTDOWN))
		CHECK_EQ(p.h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RW, 0, "last", 4));
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV |
			 VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0));
	guest_expect(&g, &p, VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(host_read(fd, buf, 4, WAIT_MS), 4);
	CHECK_STR(buf, "last");
	CHECK(host_eof(fd, WAIT_MS));
	close(fd);
	/* A credit request on a live connection is answered, on an old one refused. */
	fd = host_open(&g, 43, GUEST_BUF);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0));
	CHECK(guest_recv_for(&g, &p, WAIT_MS));
	CHECK_EQ(p.h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	CHECK_EQ(p.h.buf_alloc, DEV_BUF);
	close(fd);
	dev_down();
}

/* Each bad packet resets its own connection, and the device goes on serving others. */
static void bad_packets_reset_one_connection(void)
{
	struct gsock a, b, c, ghost = { .port = 9, .hport = 9, .buf_alloc = GUEST_BUF };
	struct virtio_vsock_hdr h;
	struct pkt p;
	char buf[8] = { 0 };
	int fa, fb, fc;

	log_set_level(LOG_ERROR);	/* the warnings are the point */
	dev_up(1);
	fa = host_open(&a, 100, GUEST_BUF);
	fb = host_open(&b, 200, GUEST_BUF);
	fc = host_open(&c, 300, GUEST_BUF);
	CHECK(guest_send(&a, VIRTIO_VSOCK_OP_RW, 0, NULL, 70000));	/* over 64 KiB */
	guest_expect(&a, &p, VIRTIO_VSOCK_OP_RST);
	CHECK(host_eof(fa, WAIT_MS));
	CHECK(guest_send(&b, 99, 0, NULL, 0));				/* unknown op */
	guest_expect(&b, &p, VIRTIO_VSOCK_OP_RST);
	CHECK(host_eof(fb, WAIT_MS));
	/* A length beyond the buffers, on a connection nobody has. */
	h = (struct virtio_vsock_hdr){
		.src_cid = GUEST_CID, .dst_cid = HOST_CID, .src_port = 9, .dst_port = 9, .len = 100,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = VIRTIO_VSOCK_OP_RW,
	};
	CHECK(tx_send(&h, NULL, 10));
	guest_expect(&ghost, &p, VIRTIO_VSOCK_OP_RST);
	h.len = 0;
	h.dst_cid = 77;							/* wrong cid */
	CHECK(tx_send(&h, NULL, 0));
	guest_expect(&ghost, &p, VIRTIO_VSOCK_OP_RST);
	h.dst_cid = HOST_CID;
	h.type = VIRTIO_VSOCK_TYPE_SEQPACKET;				/* not offered */
	h.op = VIRTIO_VSOCK_OP_REQUEST;
	CHECK(tx_send(&h, NULL, 0));
	CHECK(guest_next(NULL, &p, WAIT_MS));
	CHECK(pkt_for(&p, &ghost) && p.h.op == VIRTIO_VSOCK_OP_RST);
	CHECK_EQ(p.h.type, VIRTIO_VSOCK_TYPE_SEQPACKET);	/* so a seqpacket socket sees it */
	/* A packet shorter than its header is dropped without an answer. */
	memcpy(ram + TX_HDR, &h, 20);
	desc(TXQ)[0] = (struct vring_desc){ .addr = TX_HDR, .len = 20 };
	avail(TXQ)->ring[tx_avail % QSIZE] = 0;
	__atomic_store_n(&avail(TXQ)->idx, ++tx_avail, __ATOMIC_RELEASE);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	CHECK(wait_used(TXQ, tx_avail, WAIT_MS));
	CHECK(!guest_next(NULL, &p, 50));
	/* c never noticed. */
	CHECK(guest_send(&c, VIRTIO_VSOCK_OP_RW, 0, "still", 5));
	CHECK_EQ(host_read(fc, buf, 5, WAIT_MS), 5);
	CHECK_STR(buf, "still");
	host_write(fc, "here");
	if (guest_expect(&c, &p, VIRTIO_VSOCK_OP_RW))
		CHECK(p.len == 4 && memcmp(p.data, "here", 4) == 0);
	CHECK_EQ(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	close(fa);
	close(fb);
	close(fc);
	dev_down();
	log_set_level(LOG_WARN);
}

/* Sending past the credit the device gave (the host not reading) resets the connection. */
static void credit_violation(void)
{
	struct gsock g;
	struct pkt p;
	int fd, reset = 0;

	log_set_level(LOG_ERROR);
	dev_up(1);
	fd = host_open(&g, 4242, GUEST_BUF);
	for (int i = 0; i < 16 && !reset; i++) {
		CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RW, 0, NULL, 64 * 1024));
		while (!reset && guest_recv_for(&g, &p, 20))
			reset = p.h.op == VIRTIO_VSOCK_OP_RST;
	}
	CHECK(reset);
	/* The RST came only once the guest was past the window (the RST carries fwd_cnt). */
	CHECK(g.tx_cnt - g.peer_fwd_cnt > DEV_BUF);
	close(fd);
	dev_down();
	log_set_level(LOG_WARN);
}

static void too_many_connections(void)
{
	struct gsock g = { .port = 50000, .hport = 6000, .buf_alloc = GUEST_BUF };
	int fds[VSOCK_MAX_CONNS + 1], lfd, sfd, answered = 0;
	char path[80];
	struct pkt p;

	log_set_level(LOG_ERROR);
	dev_up(1);
	snprintf(path, sizeof(path), "%s_6000", uds);
	lfd = unix_listen(path);
	for (int i = 0; i <= VSOCK_MAX_CONNS; i++)
		fds[i] = unix_connect(uds);
	/* Accepted in order: the one over the limit is closed at once. */
	CHECK(host_eof(fds[VSOCK_MAX_CONNS], WAIT_MS));
	CHECK(!wait_fd(fds[0], POLLIN, 0));
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0));
	guest_expect(&g, &p, VIRTIO_VSOCK_OP_RST);
	/* One client leaves: its slot serves the guest's next attempt. */
	close(fds[0]);
	for (int tries = 0; tries < 100 && !answered; tries++) {
		CHECK(guest_send(&g, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0));
		CHECK(guest_next(&g, &p, WAIT_MS));
		answered = p.h.op == VIRTIO_VSOCK_OP_RESPONSE;
		if (!answered)
			usleep(10000);
	}
	CHECK(answered);
	sfd = accept_within(lfd, WAIT_MS);
	CHECK(sfd >= 0);
	close(sfd);
	for (int i = 1; i <= VSOCK_MAX_CONNS; i++)
		close(fds[i]);
	close(lfd);
	unlink(path);
	dev_down();
	log_set_level(LOG_WARN);
}

static void host_side_refusals_and_timeouts(void)
{
	struct gsock g = { .port = 7 };
	struct pkt p;
	int fd;

	dev_up(1);
	atomic_store(&dev.timeout_ms, 200);
	/* The guest never answers the REQUEST: the client is closed, the guest told RST. */
	fd = unix_connect(uds);
	host_write(fd, "CONNECT 7\n");
	CHECK(guest_next(NULL, &p, WAIT_MS));
	CHECK_EQ(p.h.op, VIRTIO_VSOCK_OP_REQUEST);
	g.hport = p.h.src_port;
	CHECK(host_eof(fd, WAIT_MS));
	guest_expect(&g, &p, VIRTIO_VSOCK_OP_RST);
	close(fd);
	/* The guest refuses: the client is closed without an OK. */
	fd = unix_connect(uds);
	host_write(fd, "CONNECT 8\n");
	CHECK(guest_next(NULL, &p, WAIT_MS));
	g = (struct gsock){ .port = 8, .hport = p.h.src_port };
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RST, 0, NULL, 0));
	CHECK(host_eof(fd, WAIT_MS));
	close(fd);
	/* Lines that are not "CONNECT <u32>\n", and a client that says nothing. */
	const char *bad[] = { "HELLO 12\n", "CONNECT 4294967296\n", "CONNECT \n", "CONNECT 1x\n",
			      "CONNECT 0000000000000000000000001234", "" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = unix_connect(uds);
		if (*bad[i])
			host_write(fd, bad[i]);
		CHECK(host_eof(fd, WAIT_MS));
		close(fd);
	}
	CHECK(!guest_next(NULL, &p, 50));	/* none of them reached the guest */
	dev_down();
}

static void malformed_chain_breaks_the_device(void)
{
	struct gsock g;
	struct pkt p;
	uint64_t end;
	int fd;

	log_set_level(LOG_ERROR);
	dev_up(1);
	fd = host_open(&g, 11, GUEST_BUF);
	/* A chain whose NEXT points outside the table. */
	desc(TXQ)[0] = (struct vring_desc){
		.addr = TX_HDR, .len = HDR, .flags = VRING_DESC_F_NEXT, .next = 200,
	};
	avail(TXQ)->ring[tx_avail % QSIZE] = 0;
	__atomic_store_n(&avail(TXQ)->idx, ++tx_avail, __ATOMIC_RELEASE);
	reg_write(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	end = deadline_us(WAIT_MS);
	while (!(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET) && clock_now_us() < end)
		usleep(100);
	CHECK(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(reg_read(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	CHECK(host_eof(fd, WAIT_MS));	/* host connections end with the device */
	close(fd);
	/* After a reset the device works again. */
	driver_init(1);
	CHECK_EQ(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	fd = host_open(&g, 12, GUEST_BUF);
	CHECK(guest_send(&g, VIRTIO_VSOCK_OP_RW, 0, "ok", 2));
	close(fd);
	/* An rx buffer too small for a header is malformed as well. */
	driver_init(0);
	desc(RXQ)[0] = (struct vring_desc){ .addr = RX_HDRS, .len = 8, .flags = VRING_DESC_F_WRITE };
	fd = unix_connect(uds);
	host_write(fd, "CONNECT 13\n");
	rx_post(0);
	end = deadline_us(WAIT_MS);
	while (!(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET) && clock_now_us() < end)
		usleep(100);
	CHECK(reg_read(VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(host_eof(fd, WAIT_MS));
	close(fd);
	dev_down();
	log_set_level(LOG_WARN);
	(void)p;
}

static void cleanup(void)
{
	rmdir(dir);
	free(ram);
	ram = NULL;
}

HARNESS_MAIN(identity_and_config, attach_checks_the_path, rx_waits_for_buffers,
	     host_connect_and_small_data, bulk_both_ways_with_credit, guest_close_drains_pending,
	     guest_connects, restore_drops_old_connections,
	     host_half_close_then_guest_close, bad_packets_reset_one_connection, credit_violation,
	     too_many_connections, host_side_refusals_and_timeouts,
	     malformed_chain_breaks_the_device, cleanup)
