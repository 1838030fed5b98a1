/*
 * The hostile-guest suite, the virtio-mmio transport: queue set-up and reconfiguration,
 * register widths and alignment, config space, features, the status register, queues used
 * before they are ready. docs/threat-model.md lists the classes; hrun.h says how they run.
 */
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hblk.h"
#include "hdrv.h"
#include "hnet.h"
#include "hrun.h"
#include "hvs.h"
#include "net.h"
#include "victim.h"
#include "vs.h"

/* ---- attack classes: the transport ------------------------------------------------------ */

static void a_queue_reconfig_after_driver_ok(void)
{
	blk_up();
	/* Layout writes to a live queue are ignored: it keeps working from its old rings. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_SEL, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NUM, 3);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)MMIO_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0xffffffffu);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 0x7);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_USED_HIGH, 0x10);
	EXPECT(blk_healthy(&vb));
	/* Turned off, pointed outside RAM and on again: the queue refuses and the device breaks. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_READY, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)MMIO_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_READY, 1);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_QUEUE_READY) == 0);
	EXPECT(hdrv_needs_reset(&vb));
	hdrv_publish(&vb, 0, 0);
	/* Queue selectors past the device's queues read as absent and take no writes. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_SEL, 7);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_READY, 1);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_SEL, 0xffffffffu);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NUM, 8);
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
	blk_recovers();
}

/* Sets queue 0 of the victim to `size`, asks for READY and expects a refusal. */
static void queue_size_refused(uint32_t size)
{
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(&vb, F_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	hdrv_queue_setup(&vb, 0, size);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_QUEUE_READY) == 0);
	EXPECT(hdrv_needs_reset(&vb));
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	hdrv_avail(&vb, 0)->idx = 1;
	hdrv_reg_write(&vb, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	blk_recovers();
}

static void a_queue_size_zero(void)
{
	blk_up();
	queue_size_refused(0);
}

static void a_queue_size_not_pow2(void)
{
	blk_up();
	queue_size_refused(3);
	queue_size_refused(100);
	queue_size_refused(255);
}

static void a_queue_size_above_max(void)
{
	blk_up();
	queue_size_refused(512);
	queue_size_refused(0x10000);		/* truncates to 0 in 16 bits */
	queue_size_refused(0x10010);		/* truncates to 16: must still be refused */
	queue_size_refused(0xffffffffu);
}

/* Access helper with canaries around the data: no write past len bytes. */
static int access_clean(struct virtio_mmio *t, uint64_t off, unsigned len, int is_write,
			uint8_t *out)
{
	uint8_t buf[32];

	memset(buf, 0xa5, sizeof(buf));
	if (is_write)
		memset(buf + 8, 0xff, len);
	virtio_mmio_access(t, off, buf + 8, len, is_write);
	if (out)
		memcpy(out, buf + 8, len);
	for (unsigned i = 0; i < 8; i++)
		if (buf[i] != 0xa5 || buf[8 + len + i] != 0xa5)
			return 0;
	return 1;
}

static void a_mmio_unaligned(void)
{
	uint8_t v[8];

	blk_up();
	/* Misaligned 4-byte accesses are ignored (reads see zeros): status stays as it is. */
	for (uint64_t off = VIRTIO_MMIO_STATUS + 1; off < VIRTIO_MMIO_STATUS + 4; off++) {
		EXPECT(access_clean(vb.t, off, 4, 1, NULL));
		EXPECT(access_clean(vb.t, off, 4, 0, v));
		EXPECT(v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0);
	}
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_NOTIFY + 2, 4, 1, NULL));
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_READY + 1, 4, 1, NULL));
	EXPECT(access_clean(vb.t, 0xffd, 4, 0, v));		/* the last bytes of the window */
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) ==
	       (S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK));
	EXPECT(blk_healthy(&vb));
	EXPECT(blk_healthy(&by));
}

static void a_mmio_wrong_width(void)
{
	static const unsigned widths[] = { 1, 2, 8 };
	uint8_t v[8];

	blk_up();
	for (unsigned w = 0; w < 3; w++) {
		for (uint64_t off = 0; off < VIRTIO_MMIO_CONFIG; off += 4) {
			EXPECT(access_clean(vb.t, off, widths[w], 0, v));
			for (unsigned b = 0; b < widths[w]; b++)
				EXPECT(v[b] == 0);	/* not a partial register */
		}
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_STATUS, widths[w], 1, NULL));	/* 0xff.. */
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_NOTIFY, widths[w], 1, NULL));
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_READY, widths[w], 1, NULL));
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_QUEUE_NUM, widths[w], 1, NULL));
	}
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) ==
	       (S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK));
	EXPECT(blk_healthy(&vb));
	EXPECT(blk_healthy(&by));
}

static void a_config_out_of_range(void)
{
	uint8_t v[8], zero[8] = { 0 };
	uint32_t size;

	blk_up();
	size = victim_blk.transport.ops->config_size;
	/* Straddling the end, past the end, at the end of the window, at absurd offsets. */
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_CONFIG + size - 2, 4, 0, v) && !memcmp(v, zero, 4));
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_CONFIG + size, 8, 0, v) && !memcmp(v, zero, 8));
	EXPECT(access_clean(vb.t, 0xff8, 8, 0, v) && !memcmp(v, zero, 8));
	EXPECT(access_clean(vb.t, UINT64_MAX - 3, 4, 0, v) && !memcmp(v, zero, 4));
	EXPECT(access_clean(vb.t, (uint64_t)VIRTIO_MMIO_CONFIG + 0xffffffffULL, 8, 0, v));
	/* Writes anywhere in config space (read-only for blk) change nothing. */
	for (uint32_t off = 0; off < size + 8; off++)
		EXPECT(access_clean(vb.t, VIRTIO_MMIO_CONFIG + off, 8, 1, NULL));
	EXPECT(access_clean(vb.t, VIRTIO_MMIO_CONFIG, 8, 0, v));
	EXPECT(!memcmp(v, &(uint64_t){ DISK_SECT }, 8));	/* capacity still the truth */
	EXPECT(blk_healthy(&vb));
	EXPECT(blk_healthy(&by));
}

static void a_unoffered_features(void)
{
	blk_up();
	/* A feature bit the device never offered: FEATURES_OK does not stick. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(&vb, F_BASE | (1ULL << 63) | (1ULL << VIRTIO_BLK_F_MQ));
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	EXPECT(!(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	/* Without VERSION_1 (a legacy driver) neither. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(&vb, 1ULL << VIRTIO_BLK_F_FLUSH);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	EXPECT(!(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK));
	/* Feature words past the second select nothing; features are frozen after FEATURES_OK. */
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_reg_write(&vb, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffffu);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_DEVICE_FEATURES) == 0);
	hdrv_reg_write(&vb, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0xffffffffu);
	hdrv_reg_write(&vb, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffffu);
	hdrv_features_write(&vb, F_BASE);
	hdrv_reg_write(&vb, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	EXPECT(hdrv_reg_read(&vb, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	hdrv_features_write(&vb, ~0ULL);
	EXPECT(victim_blk.transport.driver_features == F_BASE);
	blk_recovers();
}

/* ---- attack class: queues used before they are ready ----------------------------------- */

/* Notifies every queue index (and some that do not exist) of a device without live queues. */
static void notify_all(struct hdrv *g)
{
	for (uint32_t q = 0; q < 6; q++)
		hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	hdrv_reg_write(g, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffffu);
}

/* Brings a device to DRIVER_OK without making any queue ready. */
static void driver_ok_bare(struct hdrv *g, struct virtio_mmio *t, gpa_t slot, uint64_t f)
{
	g->t = t;
	g->slot = slot;
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, 0);
	notify_all(g);					/* before anything at all */
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, S_AD);
	hdrv_features_write(g, f);
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK);
	hdrv_reg_write(g, VIRTIO_MMIO_STATUS, S_AD | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	notify_all(g);					/* live device, dead queues */
}

static void a_queue_not_ready(void)
{
	static const uint8_t frame[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9,
					   0x88, 0xb5 };
	int lfd;

	net_up();
	vs_up();
	EXPECT(vblk_attach(&victim_blk, &hdrv_vm, MMIO_BASE, 5, disk_path, 0, "victim", NULL) == 0);
	driver_ok_bare(&vb, &victim_blk.transport, SLOT(0), F_BASE);
	driver_ok_bare(&nd, &net.transport, SLOT(2), (1ULL << VIRTIO_NET_F_MAC) | F_BASE);
	driver_ok_bare(&vd, &vs.transport, SLOT(3), F_BASE);
	/* Host traffic toward devices whose receive queues do not exist. */
	EXPECT(send(net_host, frame, sizeof(frame), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(frame));
	lfd = vs_listen_port(5004);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", uds);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			EXPECT(write(fd, "CONNECT 9\n", 10) == 10);
		usleep(VNET_STALL_MS * 3000);
		if (fd >= 0)
			close(fd);
	}
	/* Every device comes back after a reset and works. */
	blk_recovers();
	drv_init(&nd, &net.transport, SLOT(2), 2, (1ULL << VIRTIO_NET_F_MAC) | F_BASE);
	EXPECT(net_tx(NET_HDR + 60));
	EXPECT(host_got_frame(WAIT_MS));
	drv_init(&vd, &vs.transport, SLOT(3), 3, F_BASE);
	for (uint16_t i = 0; i < QSIZE; i++)
		vs_rx_post(i);
	vs_still_works(lfd, 1300, 5004);
	close(lfd);
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

static const struct hrun_class classes[] = {
	{ "queue-reconfig-after-driver-ok", a_queue_reconfig_after_driver_ok, CLASS_S },
	{ "queue-size-zero", a_queue_size_zero, CLASS_S },
	{ "queue-size-not-pow2", a_queue_size_not_pow2, CLASS_S },
	{ "queue-size-above-max", a_queue_size_above_max, CLASS_S },
	{ "mmio-unaligned", a_mmio_unaligned, CLASS_S },
	{ "mmio-wrong-width", a_mmio_wrong_width, CLASS_S },
	{ "config-out-of-range", a_config_out_of_range, CLASS_S },
	{ "unoffered-features", a_unoffered_features, CLASS_S },
	{ "queue-not-ready", a_queue_not_ready, CLASS_S },
	{ "held-rx-buffer-across-queue-reconfig", held_buffer_across_queue_reconfig, H_CLASS_S },
	{ "resized-queue-notified", resized_queue_notified, H_CLASS_S },
	{ "status-register-abuse", status_register_abuse, H_CLASS_S },
	{ "random-register-writes", random_register_writes, H_CLASS_S },
};

int main(int argc, char **argv)
{
	return hrun_main("hostile_transport", classes, sizeof(classes) / sizeof(classes[0]), make_disk, argc,
			 argv);
}
