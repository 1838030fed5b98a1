/*
 * The hostile-guest suite, second program: attacks tests/hostile/hostile.c does not make
 * (docs/threat-model.md lists both), on the shared guest driver (hdrv.h) and runner (hrun.h).
 *
 * Each attack class runs in its own forked child under an alarm, so a crash (SIGSEGV,
 * SIGFPE, SIGSYS from the I/O threads' seccomp filter) or a hang is that class's FAILED and
 * the suite goes on. Guest RAM sits between two PROT_NONE guard pages: a device writing (or
 * reading) just outside RAM kills the child. The devices are the real ones, driven through
 * the real virtio-mmio register interface (virtio_mmio_access), exactly as a guest's MMIO
 * exits would reach them; no KVM, so the suite is fast and deterministic.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/serial.h"
#include "../../devices/virtio_blk.h"
#include "../../devices/virtio_mmio.h"
#include "../../devices/virtio_net.h"
#include "../../devices/virtio_vsock.h"
#include "../../core/clock.h"
#include "../../core/log.h"
#include "../../core/vm.h"
#include "hdrv.h"
#include "hrun.h"


#define H_SLOT(k)     (0x100000ULL * ((k) + 1))	/* 1 MiB of RAM per device */
#define H_BUF(d)      ((d)->slot + 0x10000ULL)	/* request buffers: the rest of the slot */
#define H_MMIO(k)     (0xd0000000ULL + 0x1000ULL * (k))
#define H_WAIT_MS     3000		/* generous: only reached when something is wrong */
#define H_CLASS_S     40		/* a class running longer than this hangs */
#define H_DISK_SECTORS 2048		/* 1 MiB test disks */

/* ---- virtio-blk, as victim and as bystander ----------------------------------------- */

struct hblk {
	struct vblk dev;
	struct hdrv g;
	char path[128];
};

/* Creates a 1 MiB disk file and attaches it at MMIO slot k; the driver is brought up. */
static int hblk_up(struct hblk *b, unsigned k, int read_only)
{
	int fd;

	snprintf(b->path, sizeof(b->path), "%s/disk-%d-%u", hrun_dir, (int)getpid(), k);
	fd = open(b->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, H_DISK_SECTORS * 512) < 0)
		return 0;
	close(fd);
	if (vblk_attach(&b->dev, &hdrv_vm, H_MMIO(k), 5 + k, b->path, read_only, "hostile"))
		return 0;
	b->g = (struct hdrv){ .t = &b->dev.transport, .slot = H_SLOT(k), .rings = H_SLOT(k),
			     .nq = 1, .qsize = 16 };
	return hdrv_init(&b->g, HDRV_ALL_FEATURES);
}

static void hblk_down(struct hblk *b)
{
	vblk_detach(&b->dev);
	unlink(b->path);
}

/* Buffers inside the slot: header, data (up to 64 KiB), status. */
#define HBLK_HDR(b)    (H_BUF(&(b)->g))
#define HBLK_DATA(b)   (H_BUF(&(b)->g) + 0x1000)
#define HBLK_STATUS(b) (H_BUF(&(b)->g) + 0x800)

/*
 * One well-formed request (header, data of len bytes, status) from descriptors 0..2; returns
 * the status byte, or -1 when the device broke or never answered. *used_len gets the used len.
 */
static int hblk_req(struct hblk *b, uint32_t type, uint64_t sector, uint32_t len,
		      uint32_t *used_len)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };
	uint16_t dflags = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID ?
			  VRING_DESC_F_WRITE : 0;
	struct vring_used_elem e;
	uint8_t *st = hdrv_ptr(HBLK_STATUS(b));

	memcpy(hdrv_ptr(HBLK_HDR(b)), &h, sizeof(h));
	*st = 0xee;
	hdrv_set_desc(&b->g, 0, 0, HBLK_HDR(b), sizeof(h), VRING_DESC_F_NEXT, 1);
	if (len) {
		hdrv_set_desc(&b->g, 0, 1, HBLK_DATA(b), len, dflags | VRING_DESC_F_NEXT, 2);
		hdrv_set_desc(&b->g, 0, 2, HBLK_STATUS(b), 1, VRING_DESC_F_WRITE, 0);
	} else {
		hdrv_set_desc(&b->g, 0, 1, HBLK_STATUS(b), 1, VRING_DESC_F_WRITE, 0);
	}
	hdrv_publish(&b->g, 0, 0);
	if (hdrv_wait_next(&b->g, 0, H_WAIT_MS) != HDRV_USED)
		return -1;
	e = hdrv_take(&b->g, 0);
	if (used_len)
		*used_len = e.len;
	return *st;
}

/* Writes a pattern to `sector` and reads it back; 1 when the disk works. */
static int hblk_works(struct hblk *b, uint64_t sector)
{
	uint8_t *data = hdrv_ptr(HBLK_DATA(b)), want[4096];
	uint32_t ulen = 0;
	unsigned seed = (unsigned)clock_now_us();

	for (unsigned i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 13 + seed);
	memcpy(data, want, sizeof(want));
	if (hblk_req(b, VIRTIO_BLK_T_OUT, sector, sizeof(want), &ulen) != VIRTIO_BLK_S_OK || ulen != 1)
		return 0;
	memset(data, 0, sizeof(want));
	if (hblk_req(b, VIRTIO_BLK_T_IN, sector, sizeof(want), &ulen) != VIRTIO_BLK_S_OK ||
	    ulen != sizeof(want) + 1)
		return 0;
	return memcmp(data, want, sizeof(want)) == 0;
}

/* Resets the device through the status register, brings it up again and checks it works. */
static int hblk_recovers(struct hblk *b)
{
	return hdrv_init(&b->g, HDRV_ALL_FEATURES) && hblk_works(b, 7);
}

/* The victim A (slot 0) and a bystander B (slot 1), both virtio-blk; addresses fixed early. */
static struct hblk A = { .g.slot = H_SLOT(0) }, B = { .g.slot = H_SLOT(1) };

static int world_up(void)
{
	int ok = hblk_up(&A, 0, 0) && hblk_up(&B, 1, 0);

	EXPECT(ok);
	return ok;
}

/* The victim refused a malformed request by asking for a reset, not by serving it. */
#define hblk_expect_broken(d, q) hblk_expect_broken_at(d, q, __FILE__, __LINE__)
static void hblk_expect_broken_at(struct hdrv *d, unsigned q, const char *file, int line)
{
	int r = hdrv_wait_next(d, q, H_WAIT_MS);

	if (r != HDRV_BROKEN) {
		hrun_failures++;
		fprintf(stderr, "  %s:%d: expected DEVICE_NEEDS_RESET, got %s\n", file, line,
			r == HDRV_USED ? "a used buffer" : "nothing");
	}
}

/* Publishes descriptor head on A's queue, expects A to break, and resets A back to work. */
#define attack_breaks_a(head) attack_breaks_a_at(head, __FILE__, __LINE__)
static void attack_breaks_a_at(uint16_t head, const char *file, int line)
{
	hdrv_publish(&A.g, 0, head);
	hblk_expect_broken_at(&A.g, 0, file, line);
	EXPECT(hblk_recovers(&A));
}

/*
 * The end of every blk attack: the bystander still works, the victim works after a reset,
 * and no device thread spins.
 */
static void world_end(void)
{
	EXPECT(hblk_works(&B, 3));
	EXPECT(hblk_recovers(&A));
	EXPECT(hblk_works(&B, 4));
	EXPECT(hrun_idle());
	hblk_down(&A);
	hblk_down(&B);
}

/* ---- virtio-net and virtio-vsock drivers -------------------------------------------- */

#define NET_HDR 12u
static const uint8_t hnet_mac[6] = { 0x02, 0x68, 0x76, 0x6d, 0x00, 0x07 };
static struct vnet hnet;
static struct hdrv hnet_g = { .slot = H_SLOT(2) };
static int hnet_host = -1;		/* the host end of the datagram backend */

/* A virtio-net over a datagram socket pair at slot 2; the driver brought up. */
static int hnet_up(void)
{
	struct net_backend *be = NULL;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) || net_dgram_open(sv[0], &be))
		return 0;
	hnet_host = sv[1];
	if (vnet_attach(&hnet, &hdrv_vm, H_MMIO(2), 7, hnet_mac, be))
		return 0;
	hnet_g = (struct hdrv){ .t = &hnet.transport, .slot = H_SLOT(2), .rings = H_SLOT(2),
			    .nq = 2, .qsize = 16 };
	return hdrv_init(&hnet_g, HDRV_ALL_FEATURES);
}

static void hnet_frame(uint8_t *f, size_t len)
{
	memcpy(f, hnet_mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)i;
}

/* One frame each way through a freshly initialised device; 1 when both arrive intact. */
static int hnet_works(void)
{
	uint8_t f[60], got[128];
	struct pollfd p = { .fd = hnet_host, .events = POLLIN };
	uint8_t *buf = hdrv_ptr(H_BUF(&hnet_g));
	int ok;

	hnet_frame(f, sizeof(f));
	hdrv_set_desc(&hnet_g, 0, 0, H_BUF(&hnet_g), 2048, VRING_DESC_F_WRITE, 0);
	hdrv_publish(&hnet_g, 0, 0);
	if (send(hnet_host, f, sizeof(f), 0) != (ssize_t)sizeof(f) || hdrv_wait_next(&hnet_g, 0, H_WAIT_MS) != HDRV_USED)
		return 0;
	ok = hdrv_take(&hnet_g, 0).len == NET_HDR + sizeof(f) && memcmp(buf + NET_HDR, f, sizeof(f)) == 0;
	memset(hdrv_ptr(H_BUF(&hnet_g) + 0x1000), 0, NET_HDR);
	memcpy(hdrv_ptr(H_BUF(&hnet_g) + 0x1000 + NET_HDR), f, sizeof(f));
	hdrv_set_desc(&hnet_g, 1, 0, H_BUF(&hnet_g) + 0x1000, NET_HDR + sizeof(f), 0, 0);
	hdrv_publish(&hnet_g, 1, 0);
	ok &= hdrv_wait_next(&hnet_g, 1, H_WAIT_MS) == HDRV_USED;
	ok &= poll(&p, 1, H_WAIT_MS) == 1 && recv(hnet_host, got, sizeof(got), 0) == (ssize_t)sizeof(f);
	return ok && memcmp(got, f, sizeof(f)) == 0;
}

#define GUEST_CID 3
#define VS_HDR    ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define HVS_RXBUF(i) (H_BUF(&hvs_g) + 0x1000ULL * (i))	/* 4 KiB receive buffers */
#define HVS_TXHDR  (H_SLOT(3) + 0x80000)
#define HVS_TXDATA (H_SLOT(3) + 0x90000)
enum { HVS_RX, HVS_TX, HVS_EV };
static struct vsock hvs;
static struct hdrv hvs_g = { .slot = H_SLOT(3) };
static char hvs_uds[96];

/* A virtio-vsock (guest cid 3) at slot 3 whose host side is hvs_uds; the driver brought up. */
static int hvs_up(void)
{
	snprintf(hvs_uds, sizeof(hvs_uds), "%s/v%d.sock", hrun_dir, (int)getpid());
	if (vsock_attach(&hvs, &hdrv_vm, H_MMIO(3), 8, GUEST_CID, hvs_uds))
		return 0;
	hvs_g = (struct hdrv){ .t = &hvs.transport, .slot = H_SLOT(3), .rings = H_SLOT(3),
			    .nq = 3, .qsize = 64 };
	return hdrv_init(&hvs_g, HDRV_ALL_FEATURES);
}

static void hvs_rx_post(unsigned i)
{
	hdrv_set_desc(&hvs_g, HVS_RX, i, HVS_RXBUF(i), 4096, VRING_DESC_F_WRITE, 0);
	hdrv_publish(&hvs_g, HVS_RX, (uint16_t)i);
}

/* The next packet the device sent the guest (its buffer posted again); 0 when none came. */
static int hvs_recv(struct virtio_vsock_hdr *h, int ms)
{
	struct vring_used_elem e;

	if (hdrv_wait_next(&hvs_g, HVS_RX, ms) != HDRV_USED)
		return 0;
	e = hdrv_take(&hvs_g, HVS_RX);
	if (e.id >= 64 || e.len < VS_HDR)
		return 0;
	memcpy(h, hdrv_ptr(HVS_RXBUF(e.id)), VS_HDR);
	hvs_rx_post(e.id);
	return 1;
}

/* Publishes n copies of one packet (header, then `room` payload bytes) without waiting. */
static void hvs_tx_many(const struct virtio_vsock_hdr *h, uint32_t room, unsigned n)
{
	memcpy(hdrv_ptr(HVS_TXHDR), h, VS_HDR);
	memset(hdrv_ptr(HVS_TXDATA), 'x', room);
	hdrv_set_desc(&hvs_g, HVS_TX, 0, HVS_TXHDR, VS_HDR, room ? VRING_DESC_F_NEXT : 0, 1);
	hdrv_set_desc(&hvs_g, HVS_TX, 1, HVS_TXDATA, room, 0, 0);
	for (unsigned i = 0; i < n; i++) {
		hdrv_avail(&hvs_g, HVS_TX)->ring[hvs_g.avail[HVS_TX]++ % hvs_g.qsize] = 0;
		/* Release: the ring entries before the index that publishes them. */
		__atomic_store_n(&hdrv_avail(&hvs_g, HVS_TX)->idx, hvs_g.avail[HVS_TX], __ATOMIC_RELEASE);
	}
	hdrv_reg_write(&hvs_g, VIRTIO_MMIO_QUEUE_NOTIFY, HVS_TX);
}

static struct virtio_vsock_hdr hvs_hdr(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	return (struct virtio_vsock_hdr){
		.src_cid = GUEST_CID, .dst_cid = 2, .src_port = src_port, .dst_port = dst_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536,
	};
}

/* A host program connects to guest port 77; the guest accepts; 1 when "OK" comes back. */
static int hvs_works(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct virtio_vsock_hdr h;
	struct pollfd p;
	char line[32] = { 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", hvs_uds);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, "CONNECT 77\n", 11) != 11)
		goto out;
	do {
		if (!hvs_recv(&h, H_WAIT_MS))
			goto out;
	} while (h.op != VIRTIO_VSOCK_OP_REQUEST || h.dst_port != 77);
	h = hvs_hdr(VIRTIO_VSOCK_OP_RESPONSE, 77, h.src_port);
	hvs_tx_many(&h, 0, 1);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ok = poll(&p, 1, H_WAIT_MS) == 1 && read(fd, line, sizeof(line) - 1) > 0 &&
	     strncmp(line, "OK ", 3) == 0;
out:
	if (fd >= 0)
		close(fd);
	return ok;
}

/* ---- classes --------------------------------------------------------------------------- */

#define HDR_LEN ((uint32_t)sizeof(struct virtio_blk_outhdr))
#define TABLE   (H_BUF(&A.g) + 0x20000)

/* A well-formed read of sector 1 at descriptors 0..2 of A's table. */
static void good_chain(void)
{
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 1 };

	memcpy(hdrv_ptr(HBLK_HDR(&A)), &h, sizeof(h));
	hdrv_set_desc(&A.g, 0, 0, HBLK_HDR(&A), HDR_LEN, VRING_DESC_F_NEXT, 1);
	hdrv_set_desc(&A.g, 0, 1, HBLK_DATA(&A), 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	hdrv_set_desc(&A.g, 0, 2, HBLK_STATUS(&A), 1, VRING_DESC_F_WRITE, 0);
}

/*
 * Rings flush against the end of RAM for a queue of 16, so that any use of a size other
 * than the one virtq_enable checked runs into the guard page: desc, avail, used.
 */
#define END_USED  (hdrv_ram_size - 136)	/* 6 + 8 * 16 bytes (+2), 4-aligned */
#define END_AVAIL (END_USED - 64)
#define END_DESC  (END_AVAIL - 264)	/* 16-aligned */

/* Brings d up with queue q on the end-of-RAM rings (EVENT_IDX on), the others as usual. */
static void init_with_queue_at_end(struct hdrv *d, unsigned q)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK;

	EXPECT(hdrv_init(d, HDRV_ALL_FEATURES));
	hdrv_reg_write(d, VIRTIO_MMIO_STATUS, 0);
	memset(hdrv_ptr(END_DESC), 0, hdrv_ram_size - END_DESC);
	hdrv_reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	hdrv_features_write(d, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		       (hdrv_device_features(d) & 0xffffff));
	hdrv_reg_write(d, VIRTIO_MMIO_STATUS, s);
	for (unsigned i = 0; i < d->nq; i++)
		if (i != q)
			hdrv_queue_setup(d, i, d->qsize);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_NUM, 16);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)END_DESC);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)END_AVAIL);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)END_USED);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	EXPECT_EQ(hdrv_reg_read(d, VIRTIO_MMIO_QUEUE_READY), 1);
	hdrv_reg_write(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Puts one writable buffer on the end-of-RAM queue and notifies it. */
static void end_post(struct hdrv *d, unsigned q, uint16_t *avail, uint64_t buf, uint32_t len)
{
	struct vring_desc *t = (void *)hdrv_ptr(END_DESC);
	struct vring_avail *av = (void *)hdrv_ptr(END_AVAIL);

	t[*avail % 16] = (struct vring_desc){ .addr = buf, .len = len, .flags = VRING_DESC_F_WRITE };
	av->ring[*avail % 16] = (uint16_t)(*avail % 16);
	__atomic_store_n(&av->idx, ++*avail, __ATOMIC_RELEASE);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Turns queue q off while the device holds one of its buffers, and resizes it. */
static void resize_off(struct hdrv *d, unsigned q, uint32_t size)
{
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_READY, 0);
	hdrv_reg_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
}

/*
 * virtio-net and virtio-vsock keep a receive buffer in hand. The driver turns the queue off
 * and resizes it (to 0; to 256 with its used index past 16), then traffic arrives for the
 * held buffer: it must be dropped, not pushed with the new size.
 */
static void held_buffer_across_queue_reconfig(void)
{
	uint8_t f[60];
	uint16_t avail = 0;
	struct vring_used *us = (void *)hdrv_ptr(END_USED);

	if (!hblk_up(&B, 1, 0) || !hnet_up() || !hvs_up()) {
		EXPECT(!"set-up");
		return;
	}
	hnet_frame(f, sizeof(f));
	/* net, size 0: the held buffer would be pushed at used_idx % 0. */
	hdrv_set_desc(&hnet_g, 0, 0, H_BUF(&hnet_g), 2048, VRING_DESC_F_WRITE, 0);
	hdrv_publish(&hnet_g, 0, 0);
	usleep(20000);
	resize_off(&hnet_g, 0, 0);
	EXPECT_EQ(send(hnet_host, f, sizeof(f), 0), sizeof(f));
	usleep(50000);
	EXPECT_EQ(hdrv_used(&hnet_g, 0)->idx, 0);
	EXPECT(hdrv_init(&hnet_g, HDRV_ALL_FEATURES) && hnet_works());
	/* net, size 256 with used_idx 20: the push would land past the end of RAM. */
	init_with_queue_at_end(&hnet_g, 0);
	for (int i = 0; i < 20; i++) {
		end_post(&hnet_g, 0, &avail, H_BUF(&hnet_g), 2048);
		EXPECT_EQ(send(hnet_host, f, sizeof(f), 0), sizeof(f));
		for (int w = 0; w < 30000 && __atomic_load_n(&us->idx, __ATOMIC_ACQUIRE) != avail; w++)
			usleep(100);
	}
	EXPECT_EQ(us->idx, 20);
	end_post(&hnet_g, 0, &avail, H_BUF(&hnet_g), 2048);
	usleep(20000);
	resize_off(&hnet_g, 0, 256);
	EXPECT_EQ(send(hnet_host, f, sizeof(f), 0), sizeof(f));
	usleep(50000);
	EXPECT_EQ(us->idx, 20);
	EXPECT(hdrv_init(&hnet_g, HDRV_ALL_FEATURES) && hnet_works());
	/* vsock, size 0: the device holds a receive buffer as soon as one is posted. */
	for (unsigned i = 0; i < 4; i++)
		hvs_rx_post(i);
	usleep(20000);
	resize_off(&hvs_g, HVS_RX, 0);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", hvs_uds);
		EXPECT(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
		EXPECT(write(fd, "CONNECT 9\n", 10) == 10);
		usleep(50000);
		close(fd);
	}
	EXPECT(hdrv_init(&hvs_g, HDRV_ALL_FEATURES));
	for (unsigned i = 0; i < 8; i++)
		hvs_rx_post(i);
	EXPECT(hvs_works());
	EXPECT(hblk_works(&B, 3));
	EXPECT(hrun_idle());
}

/* blk: a queue turned off and resized, then notified (EVENT_IDX reads past the old avail ring). */
static void resized_queue_notified(void)
{
	struct vring_desc *t = (void *)hdrv_ptr(END_DESC);
	struct vring_avail *av = (void *)hdrv_ptr(END_AVAIL);
	struct vring_used *us = (void *)hdrv_ptr(END_USED);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 1 };

	if (!world_up()) {
		EXPECT(!"set-up");
		return;
	}
	init_with_queue_at_end(&A.g, 0);
	memcpy(hdrv_ptr(HBLK_HDR(&A)), &h, sizeof(h));
	t[0] = (struct vring_desc){ HBLK_HDR(&A), HDR_LEN, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ HBLK_STATUS(&A), 1, VRING_DESC_F_WRITE, 0 };
	for (uint16_t i = 1; i <= 20; i++) {
		av->ring[(i - 1) % 16] = 0;
		__atomic_store_n(&av->idx, i, __ATOMIC_RELEASE);
		hdrv_reg_write(&A.g, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		for (int w = 0; w < 30000 && __atomic_load_n(&us->idx, __ATOMIC_ACQUIRE) != i; w++)
			usleep(100);
	}
	EXPECT_EQ(us->idx, 20);
	for (uint32_t size = 0; size <= 256; size += 128) {
		resize_off(&A.g, 0, size);
		__atomic_store_n(&av->idx, (uint16_t)(av->idx + 1), __ATOMIC_RELEASE);
		hdrv_reg_write(&A.g, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		usleep(20000);
		EXPECT_EQ(us->idx, 20);		/* a queue that is off serves nothing */
	}
	/* On again with rings that no longer fit in RAM: refused. */
	hdrv_reg_write(&A.g, VIRTIO_MMIO_QUEUE_READY, 1);
	EXPECT_EQ(hdrv_reg_read(&A.g, VIRTIO_MMIO_QUEUE_READY), 0);
	EXPECT(hdrv_needs_reset(&A.g));
	world_end();
}

/*
 * With RAM above 4 GiB there is a real hole, and the host mapping of high RAM follows low
 * RAM directly: buffers in the hole or across its edges are refused and the bytes on either
 * side stay untouched; a buffer in high RAM is served.
 */
static void address_in_mmio_hole_with_high_ram(void)
{
	const uint64_t hole = 0xc0000000ULL, high = 1ULL << 32;
	uint8_t *low_end, *high_start;

	hdrv_ram_init(hole + (16ULL << 20));	/* 16 MiB above 4 GiB; lazily backed */
	low_end = hdrv_ptr(hole - 8);
	high_start = hdrv_ptr(hole);		/* host-contiguous with the low region's end */
	memset(low_end, 0x5a, 16);
	if (!world_up()) {
		EXPECT(!"set-up");
		return;
	}
	good_chain();
	hdrv_desc(&A.g, 0)[1].addr = hole - 256;		/* 512 bytes across the hole's start */
	attack_breaks_a(0);
	good_chain();
	hdrv_desc(&A.g, 0)[1].addr = 0xd0000000ULL;		/* inside the hole */
	attack_breaks_a(0);
	good_chain();
	hdrv_desc(&A.g, 0)[1].addr = high - 256;		/* across the hole's end */
	attack_breaks_a(0);
	for (unsigned i = 0; i < 8; i++)
		EXPECT(low_end[i] == 0x5a && high_start[i] == 0x5a);
	good_chain();
	hdrv_desc(&A.g, 0)[1].addr = high;
	hdrv_publish(&A.g, 0, 0);
	EXPECT_EQ(hdrv_wait_next(&A.g, 0, H_WAIT_MS), HDRV_USED);
	EXPECT_EQ(hdrv_take(&A.g, 0).len, 513);
	EXPECT_EQ(*(uint8_t *)hdrv_ptr(HBLK_STATUS(&A)), VIRTIO_BLK_S_OK);
	EXPECT_EQ(high_start[0], 0);		/* gpa 4 GiB: the zeros of sector 1 landed there */
	world_end();
}

/* Not negotiated: the device may serve the table (correctly) or refuse; nothing else. */
static void indirect_without_feature(void)
{
	struct vring_desc *t = (void *)hdrv_ptr(TABLE);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 1 };
	int r;

	if (!world_up()) {
		EXPECT(!"set-up");
		return;
	}
	EXPECT(hdrv_init(&A.g, ~(1ULL << VIRTIO_RING_F_INDIRECT_DESC)));
	memcpy(hdrv_ptr(HBLK_HDR(&A)), &h, sizeof(h));
	t[0] = (struct vring_desc){ HBLK_HDR(&A), HDR_LEN, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ HBLK_DATA(&A), 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ HBLK_STATUS(&A), 1, VRING_DESC_F_WRITE, 0 };
	*(uint8_t *)hdrv_ptr(HBLK_STATUS(&A)) = 0xee;
	hdrv_set_desc(&A.g, 0, 0, TABLE, 48, VRING_DESC_F_INDIRECT, 0);
	hdrv_publish(&A.g, 0, 0);
	r = hdrv_wait_next(&A.g, 0, H_WAIT_MS);
	EXPECT(r != HDRV_TIMEOUT);
	if (r == HDRV_USED) {
		EXPECT_EQ(hdrv_take(&A.g, 0).len, 513);
		EXPECT_EQ(*(uint8_t *)hdrv_ptr(HBLK_STATUS(&A)), VIRTIO_BLK_S_OK);
	}
	world_end();
}

/* The status register written out of order, with reserved bits, with NEEDS_RESET itself. */
static void status_register_abuse(void)
{
	static const uint32_t seq[] = {
		VIRTIO_CONFIG_S_DRIVER_OK, 0xffffffff, VIRTIO_CONFIG_S_NEEDS_RESET,
		VIRTIO_CONFIG_S_FAILED, VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK, 0x80,
	};

	if (!world_up() || !hnet_up() || !hvs_up()) {
		EXPECT(!"set-up");
		return;
	}
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct hdrv *devs[] = { &A.g, &hnet_g, &hvs_g };
		for (unsigned d = 0; d < 3; d++) {
			hdrv_reg_write(devs[d], VIRTIO_MMIO_STATUS, 0);
			hdrv_reg_write(devs[d], VIRTIO_MMIO_STATUS, seq[i]);
			(void)hdrv_reg_read(devs[d], VIRTIO_MMIO_STATUS);
			for (uint32_t q = 0; q < 4; q++)
				hdrv_reg_write(devs[d], VIRTIO_MMIO_QUEUE_NOTIFY, q);
		}
	}
	/* DRIVER_OK again and FEATURES_OK taken back on a live device. */
	EXPECT(hdrv_init(&A.g, HDRV_ALL_FEATURES));
	hdrv_reg_write(&A.g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER_OK);
	hdrv_reg_write(&A.g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	(void)hblk_req(&A, VIRTIO_BLK_T_IN, 0, 512, NULL);
	hdrv_reg_write(&A.g, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	EXPECT(hdrv_init(&hnet_g, HDRV_ALL_FEATURES) && hnet_works());
	EXPECT(hdrv_init(&hvs_g, HDRV_ALL_FEATURES));
	for (unsigned i = 0; i < 8; i++)
		hvs_rx_post(i);
	EXPECT(hvs_works());
	world_end();
}

/* xorshift: a fixed sequence, so a failure reproduces. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Twenty thousand random register writes and reads, any width, anywhere in the window. */
static void random_register_writes(void)
{
	uint8_t buf[8];
	uint32_t s = 0x1234567;

	if (!world_up()) {
		EXPECT(!"set-up");
		return;
	}
	for (int i = 0; i < 20000; i++) {
		uint32_t v = rnd(&s), off = rnd(&s) % 0x1000;
		unsigned len = 1u << (rnd(&s) % 4);
		if (off == VIRTIO_MMIO_QUEUE_NOTIFY)
			continue;	/* notifications over random rings: the walker's classes */
		virtio_mmio_access(A.g.t, rnd(&s) % 2 ? off : off & ~3u, (uint8_t *)&v, len, 1);
		virtio_mmio_access(A.g.t, rnd(&s) % 0x1000, buf, 1u << (rnd(&s) % 4), 0);
	}
	world_end();
}

/* A read-only disk: writes fail and change nothing; GET_ID into a 4-byte buffer stays in it. */
static void blk_read_only_and_short_id(void)
{
	static struct hblk c = { .g.slot = H_SLOT(2) };
	uint8_t *id = hdrv_ptr(HBLK_DATA(&c));
	uint32_t ulen = 0;
	struct stat st;

	if (!world_up() || !hblk_up(&c, 2, 1)) {
		EXPECT(!"set-up");
		return;
	}
	memset(hdrv_ptr(HBLK_DATA(&c)), 0x44, 4096);
	EXPECT_EQ(hblk_req(&c, VIRTIO_BLK_T_OUT, 0, 4096, &ulen), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(ulen, 1);
	EXPECT(stat(c.path, &st) == 0 && st.st_size == H_DISK_SECTORS * 512);
	EXPECT_EQ(hblk_req(&c, VIRTIO_BLK_T_IN, 0, 512, &ulen), VIRTIO_BLK_S_OK);
	EXPECT_EQ(id[0], 0);		/* the write above never reached the disk */
	EXPECT_EQ(hblk_req(&c, VIRTIO_BLK_T_FLUSH, 0, 0, &ulen), VIRTIO_BLK_S_OK);
	memset(id, 0xcc, 64);
	EXPECT_EQ(hblk_req(&c, VIRTIO_BLK_T_GET_ID, 0, 4, &ulen), VIRTIO_BLK_S_OK);
	EXPECT_EQ(ulen, 5);
	EXPECT(memcmp(id, "host", 4) == 0 && id[4] == 0xcc);
	EXPECT(!hdrv_needs_reset(&c.g));
	hblk_down(&c);
	world_end();
}

/* Packets for connections that do not exist: one RST each (none for an RST), nothing else. */
static void vsock_unknown_connections(void)
{
	static const uint16_t ops[] = {
		VIRTIO_VSOCK_OP_RW, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_OP_CREDIT_UPDATE,
		VIRTIO_VSOCK_OP_CREDIT_REQUEST, VIRTIO_VSOCK_OP_RESPONSE, VIRTIO_VSOCK_OP_RST,
	};
	struct virtio_vsock_hdr h;
	unsigned rsts = 0;

	if (!hblk_up(&B, 1, 0) || !hvs_up()) {
		EXPECT(!"set-up");
		return;
	}
	for (unsigned i = 0; i < 32; i++)
		hvs_rx_post(i);
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		h = hvs_hdr(ops[i], 1000 + i, 2000 + i);
		h.len = ops[i] == VIRTIO_VSOCK_OP_RW ? 8 : 0;
		hvs_tx_many(&h, h.len, 1);
		EXPECT_EQ(hdrv_wait_next(&hvs_g, HVS_TX, H_WAIT_MS), HDRV_USED);
		hvs_g.seen[HVS_TX] = hdrv_used(&hvs_g, HVS_TX)->idx;
	}
	while (hvs_recv(&h, 200)) {
		EXPECT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
		EXPECT(h.src_port == h.dst_port + 1000 && h.dst_port >= 1000 && h.dst_port < 1005);
		rsts++;
	}
	EXPECT_EQ(rsts, 5);
	EXPECT(!hdrv_needs_reset(&hvs_g));
	EXPECT(hvs_works());
	EXPECT(hblk_works(&B, 3));
	EXPECT(hrun_idle());
}

/*
 * Packets that each earn an RST while the guest posts no receive buffer: the RSTs owed are
 * bounded, the transmit queue waits (no spinning, no growth), and all is answered once
 * buffers come.
 */
static void vsock_rst_flood_without_rx_buffers(void)
{
	struct virtio_vsock_hdr h = hvs_hdr(VIRTIO_VSOCK_OP_RW, 5, 6);
	long rss;
	unsigned rsts = 0;

	if (!hblk_up(&B, 1, 0) || !hvs_up()) {
		EXPECT(!"set-up");
		return;
	}
	hvs_tx_many(&h, 0, 64);
	usleep(100000);
	hvs_tx_many(&h, 0, 64);
	usleep(100000);
	rss = hrun_rss_kib();
	EXPECT(hdrv_used(&hvs_g, HVS_TX)->idx <= 64 + VSOCK_RST_RING);
	EXPECT(hrun_idle());
	EXPECT(hrun_rss_kib() - rss < 1024);
	for (unsigned i = 0; i < 32; i++)
		hvs_rx_post(i);
	while (rsts < 128 && hvs_recv(&h, H_WAIT_MS)) {
		EXPECT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
		rsts++;
	}
	EXPECT_EQ(rsts, 128);
	EXPECT_EQ(hdrv_used(&hvs_g, HVS_TX)->idx, 128);
	EXPECT(!hvs_recv(&h, 100));
	EXPECT(hvs_works());
	EXPECT(hblk_works(&B, 3));
}

static _Atomic uint64_t serial_out;

static void serial_out_count(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
	atomic_fetch_add(&serial_out, 1);
}

/* The UART's registers: loopback overrun, divisor latch, odd widths, every offset. */
static void serial_register_abuse(void)
{
	static struct serial s;
	uint8_t v, buf[8];
	long rss;
	unsigned got = 0;

	if (serial_attach(&s, &hdrv_vm, 0x3f8, 4, serial_out_count, NULL)) {
		EXPECT(!"set-up");
		return;
	}
	rss = hrun_rss_kib();
	v = 0x10;					/* loopback */
	serial_access(&s, 4, &v, 1, 1);
	for (unsigned i = 0; i < 100000; i++) {
		v = (uint8_t)i;
		serial_access(&s, 0, &v, 1, 1);
	}
	for (unsigned i = 0; i < 100; i++) {
		serial_access(&s, 5, &v, 1, 0);
		if (!(v & 1))
			break;
		serial_access(&s, 0, &v, 1, 0);
		got++;
	}
	EXPECT_EQ(got, SERIAL_RX_FIFO);		/* the FIFO, not 100000 bytes */
	EXPECT_EQ(atomic_load(&serial_out), 0);
	v = 0x80;					/* DLAB: THR writes set the divisor */
	serial_access(&s, 3, &v, 1, 1);
	v = 0;
	serial_access(&s, 4, &v, 1, 1);
	for (unsigned i = 0; i < 1000; i++)
		serial_access(&s, 0, &v, 1, 1);
	EXPECT_EQ(atomic_load(&serial_out), 0);
	/* Every offset and width, read and written. */
	for (uint64_t off = 0; off < 64; off++)
		for (unsigned len = 1; len <= 8; len *= 2) {
			memset(buf, 0x5a, sizeof(buf));
			serial_access(&s, off, buf, len, 1);
			serial_access(&s, off, buf, len, 0);
		}
	v = 0;
	serial_access(&s, 3, &v, 1, 1);
	serial_access(&s, 4, &v, 1, 1);
	atomic_store(&serial_out, 0);
	for (unsigned i = 0; i < 1000; i++)
		serial_access(&s, 0, &v, 1, 1);
	EXPECT_EQ(atomic_load(&serial_out), 1000);
	EXPECT(hrun_rss_kib() - rss < 1024);
}

int main(int argc, char **argv)
{
	static const struct hrun_class classes[] = {
		{ "held-rx-buffer-across-queue-reconfig", held_buffer_across_queue_reconfig, H_CLASS_S },
		{ "resized-queue-notified", resized_queue_notified, H_CLASS_S },
		{ "addr-in-mmio-hole-with-high-ram", address_in_mmio_hole_with_high_ram, H_CLASS_S },
		{ "indirect-without-feature", indirect_without_feature, H_CLASS_S },
		{ "status-register-abuse", status_register_abuse, H_CLASS_S },
		{ "random-register-writes", random_register_writes, H_CLASS_S },
		{ "blk-read-only-and-short-id", blk_read_only_and_short_id, H_CLASS_S },
		{ "vsock-unknown-connection", vsock_unknown_connections, H_CLASS_S },
		{ "vsock-rst-flood-without-rx-buffers", vsock_rst_flood_without_rx_buffers, H_CLASS_S },
		{ "serial-register-abuse", serial_register_abuse, H_CLASS_S },
	};

	return hrun_main("hostile_more", classes, sizeof(classes) / sizeof(classes[0]), NULL, argc,
			 argv);
}
