/*
 * The hostile-guest suite, second program: attacks tests/hostile/hostile.c does not make
 * (docs/threat-model.md lists both). A class runner and a hostile in-process guest driver.
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


#define H_PAGE        4096ULL
#define H_RAM         (8ULL << 20)
#define H_SLOT(k)     (0x100000ULL * ((k) + 1))	/* 1 MiB of RAM per device */
#define H_RING(d, q)  ((d)->area + (q) * 0x3000ULL)	/* desc; avail +0x1000; used +0x2000 */
#define H_BUF(d)      ((d)->area + 0x10000ULL)	/* request buffers: the rest of the slot */
#define H_MMIO(k)     (0xd0000000ULL + 0x1000ULL * (k))
#define H_WAIT_MS     3000		/* generous: only reached when something is wrong */
#define H_CLASS_S     40		/* a class running longer than this hangs */
#define H_DISK_SECTORS 2048		/* 1 MiB test disks */

/* ---- checks ------------------------------------------------------------------------- */

static int h_failures;
static const char *h_dir;		/* the run's temporary directory */

#define EXPECT(cond)							\
	do {								\
		if (!(cond)) {						\
			h_failures++;					\
			fprintf(stderr, "  %s:%d: EXPECT(%s) failed\n",	\
				__FILE__, __LINE__, #cond);		\
		}							\
	} while (0)

#define EXPECT_EQ(a, b)							\
	do {								\
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);	\
		if (va_ != vb_) {					\
			h_failures++;					\
			fprintf(stderr, "  %s:%d: %s == %s failed: 0x%" PRIx64 " != 0x%" PRIx64 "\n", \
				__FILE__, __LINE__, #a, #b, va_, vb_);	\
		}							\
	} while (0)

/* ---- guest RAM with guard pages ------------------------------------------------------ */

static uint8_t *ram;
static uint64_t ram_size;
static struct vm vm;

/* Maps `size` bytes of guest RAM between two inaccessible pages; sets up the fake VM. */
static void h_ram_init(uint64_t size)
{
	uint8_t *m = mmap(NULL, size + 2 * H_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED || mprotect(m, H_PAGE, PROT_NONE) ||
	    mprotect(m + H_PAGE + size, H_PAGE, PROT_NONE)) {
		perror("hostile: guest RAM");
		_exit(2);
	}
	ram = m + H_PAGE;
	ram_size = size;
	memset(&vm, 0, sizeof(vm));
	vm.fd = -1;		/* no KVM: ioeventfd/irqfd fail, the transport falls back */
	guest_mem_init(&vm.mem, ram, size);
}

static void *h_ptr(uint64_t gpa)
{
	return ram + gpa;
}

/* ---- a hostile virtio driver ----------------------------------------------------------- */

struct gdev {
	struct virtio_mmio *t;
	uint64_t area;			/* gpa of this device's 1 MiB slot */
	unsigned nq;
	uint16_t qsize;
	uint16_t avail_idx[VIRTIO_MAX_QUEUES], used_seen[VIRTIO_MAX_QUEUES];
};

static void reg_w(struct gdev *d, uint64_t off, uint32_t v)
{
	virtio_mmio_access(d->t, off, (uint8_t *)&v, 4, 1);
}

static uint32_t reg_r(struct gdev *d, uint64_t off)
{
	uint32_t v;

	virtio_mmio_access(d->t, off, (uint8_t *)&v, 4, 0);
	return v;
}

static struct vring_desc *g_desc(struct gdev *d, unsigned q)
{
	return h_ptr(H_RING(d, q));
}

static struct vring_avail *g_avail(struct gdev *d, unsigned q)
{
	return h_ptr(H_RING(d, q) + 0x1000);
}

static struct vring_used *g_used(struct gdev *d, unsigned q)
{
	return h_ptr(H_RING(d, q) + 0x2000);
}

static void set_desc(struct gdev *d, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		       uint16_t flags, uint16_t next)
{
	g_desc(d, q)[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static int g_broken(struct gdev *d)
{
	return !!(reg_r(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Puts head in the avail ring, publishes it and notifies queue q. */
static void g_publish(struct gdev *d, unsigned q, uint16_t head)
{
	g_avail(d, q)->ring[d->avail_idx[q] % d->qsize] = head;
	/* Release: descriptors and ring entry before the index that publishes them. */
	__atomic_store_n(&g_avail(d, q)->idx, ++d->avail_idx[q], __ATOMIC_RELEASE);
	reg_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

enum { G_TIMEOUT, G_USED, G_BROKEN };

/* Waits until queue q has a new used entry (G_USED) or the device wants a reset (G_BROKEN). */
static int g_wait(struct gdev *d, unsigned q, int ms)
{
	uint64_t end = clock_now_us() + (uint64_t)ms * 1000;

	for (;;) {
		uint16_t idx = __atomic_load_n(&g_used(d, q)->idx, __ATOMIC_ACQUIRE);
		if (idx != d->used_seen[q])
			return G_USED;
		if (g_broken(d))
			return G_BROKEN;
		if (clock_now_us() > end)
			return G_TIMEOUT;
		usleep(100);
	}
}

/* Takes the next used element of q (after g_wait said G_USED). */
static struct vring_used_elem g_take(struct gdev *d, unsigned q)
{
	return g_used(d, q)->ring[d->used_seen[q]++ % d->qsize];
}

static uint64_t g_device_features(struct gdev *d)
{
	reg_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t f = reg_r(d, VIRTIO_MMIO_DEVICE_FEATURES);
	reg_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)reg_r(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static void g_set_features(struct gdev *d, uint64_t f)
{
	reg_w(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_w(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	reg_w(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_w(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

static int g_queue_setup(struct gdev *d, unsigned q)
{
	reg_w(d, VIRTIO_MMIO_QUEUE_SEL, q);
	reg_w(d, VIRTIO_MMIO_QUEUE_NUM, d->qsize);
	reg_w(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)H_RING(d, q));
	reg_w(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	reg_w(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)(H_RING(d, q) + 0x1000));
	reg_w(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
	reg_w(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)(H_RING(d, q) + 0x2000));
	reg_w(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
	reg_w(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return reg_r(d, VIRTIO_MMIO_QUEUE_READY) == 1;
}

/*
 * Resets the device and brings it up the way Linux does, accepting `want` of what it offers
 * (VERSION_1 always); 1 when FEATURES_OK stuck and every queue is ready.
 */
static int g_init(struct gdev *d, uint64_t want)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int ok = 1;

	reg_w(d, VIRTIO_MMIO_STATUS, 0);
	memset(h_ptr(d->area), 0, 0x10000);
	memset(d->avail_idx, 0, sizeof(d->avail_idx));
	memset(d->used_seen, 0, sizeof(d->used_seen));
	reg_w(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	reg_w(d, VIRTIO_MMIO_STATUS, s);
	g_set_features(d, (g_device_features(d) & want) | (1ULL << VIRTIO_F_VERSION_1));
	reg_w(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	ok &= !!(reg_r(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned q = 0; q < d->nq; q++)
		ok &= g_queue_setup(d, q);
	reg_w(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	return ok && !g_broken(d);
}

#define G_ALL_FEATURES (~0ULL)

/* ---- virtio-blk, as victim and as bystander ----------------------------------------- */

struct hblk {
	struct vblk dev;
	struct gdev g;
	char path[128];
};

/* Creates a 1 MiB disk file and attaches it at MMIO slot k; the driver is brought up. */
static int hblk_up(struct hblk *b, unsigned k, int read_only)
{
	int fd;

	snprintf(b->path, sizeof(b->path), "%s/disk-%d-%u", h_dir, (int)getpid(), k);
	fd = open(b->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, H_DISK_SECTORS * 512) < 0)
		return 0;
	close(fd);
	if (vblk_attach(&b->dev, &vm, H_MMIO(k), 5 + k, b->path, read_only, "hostile", NULL))
		return 0;
	b->g = (struct gdev){ .t = &b->dev.transport, .area = H_SLOT(k), .nq = 1, .qsize = 16 };
	return g_init(&b->g, G_ALL_FEATURES);
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
	uint8_t *st = h_ptr(HBLK_STATUS(b));

	memcpy(h_ptr(HBLK_HDR(b)), &h, sizeof(h));
	*st = 0xee;
	set_desc(&b->g, 0, 0, HBLK_HDR(b), sizeof(h), VRING_DESC_F_NEXT, 1);
	if (len) {
		set_desc(&b->g, 0, 1, HBLK_DATA(b), len, dflags | VRING_DESC_F_NEXT, 2);
		set_desc(&b->g, 0, 2, HBLK_STATUS(b), 1, VRING_DESC_F_WRITE, 0);
	} else {
		set_desc(&b->g, 0, 1, HBLK_STATUS(b), 1, VRING_DESC_F_WRITE, 0);
	}
	g_publish(&b->g, 0, 0);
	if (g_wait(&b->g, 0, H_WAIT_MS) != G_USED)
		return -1;
	e = g_take(&b->g, 0);
	if (used_len)
		*used_len = e.len;
	return *st;
}

/* Writes a pattern to `sector` and reads it back; 1 when the disk works. */
static int hblk_works(struct hblk *b, uint64_t sector)
{
	uint8_t *data = h_ptr(HBLK_DATA(b)), want[4096];
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
	return g_init(&b->g, G_ALL_FEATURES) && hblk_works(b, 7);
}

/* The victim A (slot 0) and a bystander B (slot 1), both virtio-blk; addresses fixed early. */
static struct hblk A = { .g.area = H_SLOT(0) }, B = { .g.area = H_SLOT(1) };

static int world_up(void)
{
	int ok = hblk_up(&A, 0, 0) && hblk_up(&B, 1, 0);

	EXPECT(ok);
	return ok;
}

/* The victim refused a malformed request by asking for a reset, not by serving it. */
#define expect_broken(d, q) expect_broken_at(d, q, __FILE__, __LINE__)
static void expect_broken_at(struct gdev *d, unsigned q, const char *file, int line)
{
	int r = g_wait(d, q, H_WAIT_MS);

	if (r != G_BROKEN) {
		h_failures++;
		fprintf(stderr, "  %s:%d: expected DEVICE_NEEDS_RESET, got %s\n", file, line,
			r == G_USED ? "a used buffer" : "nothing");
	}
}

/* Publishes descriptor head on A's queue, expects A to break, and resets A back to work. */
#define attack_breaks_a(head) attack_breaks_a_at(head, __FILE__, __LINE__)
static void attack_breaks_a_at(uint16_t head, const char *file, int line)
{
	g_publish(&A.g, 0, head);
	expect_broken_at(&A.g, 0, file, line);
	EXPECT(hblk_recovers(&A));
}

/* ---- host-side health ------------------------------------------------------------------ */

/* CPU time the whole process burns over ms of idling, in ms (a spinning thread shows here). */
static uint64_t h_cpu_ms_idle(int ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	usleep((useconds_t)ms * 1000);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	return (uint64_t)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000);
}

/* No device thread spins: under 100 ms of CPU over 400 ms of idling. */
static int h_idle(void)
{
	uint64_t ms = h_cpu_ms_idle(400);

	if (ms >= 100)
		fprintf(stderr, "  %" PRIu64 " ms of CPU while idle: a thread spins\n", ms);
	return ms < 100;
}

static long h_rss_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/*
 * The end of every blk attack: the bystander still works, the victim works after a reset,
 * and no device thread spins.
 */
static int world_end(void)
{
	EXPECT(hblk_works(&B, 3));
	EXPECT(hblk_recovers(&A));
	EXPECT(hblk_works(&B, 4));
	EXPECT(h_idle());
	hblk_down(&A);
	hblk_down(&B);
	return 0;
}

/* ---- the runner ---------------------------------------------------------------------- */

struct hclass {
	const char *name;	/* what `make test-hostile` prints */
	int (*fn)(void);	/* runs the attack in a fresh child; 0 survived */
};

static int h_run_one(const struct hclass *c)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("hostile: fork");
		return 1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		alarm(H_CLASS_S);	/* SIGALRM kills a hung class */
		log_set_level(LOG_ERROR);	/* the devices' warnings are the point of each attack */
		h_ram_init(H_RAM);
		int r = c->fn();
		fflush(stderr);
		_exit(r || h_failures ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		fprintf(stderr, "  %s: killed by signal %d (%s)%s\n", c->name, WTERMSIG(status),
			strsignal(WTERMSIG(status)),
			WTERMSIG(status) == SIGALRM ? ": hung" : "");
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void h_cleanup_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Runs every class (or those named in argv) and prints "<name>: survived|FAILED". */
static int h_main(const struct hclass *classes, unsigned n, int argc, char **argv)
{
	char dir[] = "/tmp/hvm-hostile-XXXXXX";
	int failed = 0;

	if (!mkdtemp(dir)) {
		perror("hostile: mkdtemp");
		return 2;
	}
	h_dir = dir;
	for (unsigned i = 0; i < n; i++) {
		int pick = argc < 2;
		for (int a = 1; a < argc; a++)
			pick |= strcmp(argv[a], classes[i].name) == 0;
		if (!pick)
			continue;
		int bad = h_run_one(&classes[i]);
		printf("%s: %s\n", classes[i].name, bad ? "FAILED" : "survived");
		fflush(stdout);
		failed += bad;
	}
	h_cleanup_dir(dir);
	return failed ? 1 : 0;
}


/* ---- virtio-net and virtio-vsock drivers -------------------------------------------- */

#define NET_HDR 12u
static const uint8_t net_mac[6] = { 0x02, 0x68, 0x76, 0x6d, 0x00, 0x07 };
static struct vnet net;
static struct gdev ng = { .area = H_SLOT(2) };
static int net_host = -1;		/* the host end of the datagram backend */

/* A virtio-net over a datagram socket pair at slot 2; the driver brought up. */
static int net_up(void)
{
	struct net_backend *be = NULL;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) || net_dgram_open(sv[0], &be))
		return 0;
	net_host = sv[1];
	if (vnet_attach(&net, &vm, H_MMIO(2), 7, net_mac, be))
		return 0;
	ng = (struct gdev){ .t = &net.transport, .area = H_SLOT(2), .nq = 2, .qsize = 16 };
	return g_init(&ng, G_ALL_FEATURES);
}

static void net_frame(uint8_t *f, size_t len)
{
	memcpy(f, net_mac, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)i;
}

/* One frame each way through a freshly initialised device; 1 when both arrive intact. */
static int net_works(void)
{
	uint8_t f[60], got[128];
	struct pollfd p = { .fd = net_host, .events = POLLIN };
	uint8_t *buf = h_ptr(H_BUF(&ng));
	int ok;

	net_frame(f, sizeof(f));
	set_desc(&ng, 0, 0, H_BUF(&ng), 2048, VRING_DESC_F_WRITE, 0);
	g_publish(&ng, 0, 0);
	if (send(net_host, f, sizeof(f), 0) != (ssize_t)sizeof(f) || g_wait(&ng, 0, H_WAIT_MS) != G_USED)
		return 0;
	ok = g_take(&ng, 0).len == NET_HDR + sizeof(f) && memcmp(buf + NET_HDR, f, sizeof(f)) == 0;
	memset(h_ptr(H_BUF(&ng) + 0x1000), 0, NET_HDR);
	memcpy(h_ptr(H_BUF(&ng) + 0x1000 + NET_HDR), f, sizeof(f));
	set_desc(&ng, 1, 0, H_BUF(&ng) + 0x1000, NET_HDR + sizeof(f), 0, 0);
	g_publish(&ng, 1, 0);
	ok &= g_wait(&ng, 1, H_WAIT_MS) == G_USED;
	ok &= poll(&p, 1, H_WAIT_MS) == 1 && recv(net_host, got, sizeof(got), 0) == (ssize_t)sizeof(f);
	return ok && memcmp(got, f, sizeof(f)) == 0;
}

#define GUEST_CID 3
#define VS_HDR    ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define VS_RXBUF(i) (H_BUF(&vg) + 0x1000ULL * (i))	/* 4 KiB receive buffers */
#define VS_TXHDR  (H_SLOT(3) + 0x80000)
#define VS_TXDATA (H_SLOT(3) + 0x90000)
enum { VRX, VTX, VEV };
static struct vsock vs;
static struct gdev vg = { .area = H_SLOT(3) };
static char vs_uds[96];

/* A virtio-vsock (guest cid 3) at slot 3 whose host side is vs_uds; the driver brought up. */
static int vs_up(void)
{
	snprintf(vs_uds, sizeof(vs_uds), "%s/v%d.sock", h_dir, (int)getpid());
	if (vsock_attach(&vs, &vm, H_MMIO(3), 8, GUEST_CID, vs_uds, NULL))
		return 0;
	vg = (struct gdev){ .t = &vs.transport, .area = H_SLOT(3), .nq = 3, .qsize = 64 };
	return g_init(&vg, G_ALL_FEATURES);
}

static void vs_rx_post(unsigned i)
{
	set_desc(&vg, VRX, i, VS_RXBUF(i), 4096, VRING_DESC_F_WRITE, 0);
	g_publish(&vg, VRX, (uint16_t)i);
}

/* The next packet the device sent the guest (its buffer posted again); 0 when none came. */
static int vs_recv(struct virtio_vsock_hdr *h, int ms)
{
	struct vring_used_elem e;

	if (g_wait(&vg, VRX, ms) != G_USED)
		return 0;
	e = g_take(&vg, VRX);
	if (e.id >= 64 || e.len < VS_HDR)
		return 0;
	memcpy(h, h_ptr(VS_RXBUF(e.id)), VS_HDR);
	vs_rx_post(e.id);
	return 1;
}

/* Publishes n copies of one packet (header, then `room` payload bytes) without waiting. */
static void vs_tx_many(const struct virtio_vsock_hdr *h, uint32_t room, unsigned n)
{
	memcpy(h_ptr(VS_TXHDR), h, VS_HDR);
	memset(h_ptr(VS_TXDATA), 'x', room);
	set_desc(&vg, VTX, 0, VS_TXHDR, VS_HDR, room ? VRING_DESC_F_NEXT : 0, 1);
	set_desc(&vg, VTX, 1, VS_TXDATA, room, 0, 0);
	for (unsigned i = 0; i < n; i++) {
		g_avail(&vg, VTX)->ring[vg.avail_idx[VTX]++ % vg.qsize] = 0;
		/* Release: the ring entries before the index that publishes them. */
		__atomic_store_n(&g_avail(&vg, VTX)->idx, vg.avail_idx[VTX], __ATOMIC_RELEASE);
	}
	reg_w(&vg, VIRTIO_MMIO_QUEUE_NOTIFY, VTX);
}

static struct virtio_vsock_hdr vs_hdr(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	return (struct virtio_vsock_hdr){
		.src_cid = GUEST_CID, .dst_cid = 2, .src_port = src_port, .dst_port = dst_port,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536,
	};
}

/* A host program connects to guest port 77; the guest accepts; 1 when "OK" comes back. */
static int vs_works(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct virtio_vsock_hdr h;
	struct pollfd p;
	char line[32] = { 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", vs_uds);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, "CONNECT 77\n", 11) != 11)
		goto out;
	do {
		if (!vs_recv(&h, H_WAIT_MS))
			goto out;
	} while (h.op != VIRTIO_VSOCK_OP_REQUEST || h.dst_port != 77);
	h = vs_hdr(VIRTIO_VSOCK_OP_RESPONSE, 77, h.src_port);
	vs_tx_many(&h, 0, 1);
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

	memcpy(h_ptr(HBLK_HDR(&A)), &h, sizeof(h));
	set_desc(&A.g, 0, 0, HBLK_HDR(&A), HDR_LEN, VRING_DESC_F_NEXT, 1);
	set_desc(&A.g, 0, 1, HBLK_DATA(&A), 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	set_desc(&A.g, 0, 2, HBLK_STATUS(&A), 1, VRING_DESC_F_WRITE, 0);
}

/*
 * Rings flush against the end of RAM for a queue of 16, so that any use of a size other
 * than the one virtq_enable checked runs into the guard page: desc, avail, used.
 */
#define END_USED  (ram_size - 136)	/* 6 + 8 * 16 bytes (+2), 4-aligned */
#define END_AVAIL (END_USED - 64)
#define END_DESC  (END_AVAIL - 264)	/* 16-aligned */

/* Brings d up with queue q on the end-of-RAM rings (EVENT_IDX on), the others as usual. */
static void init_with_queue_at_end(struct gdev *d, unsigned q)
{
	uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		     VIRTIO_CONFIG_S_FEATURES_OK;

	EXPECT(g_init(d, G_ALL_FEATURES));
	reg_w(d, VIRTIO_MMIO_STATUS, 0);
	memset(h_ptr(END_DESC), 0, ram_size - END_DESC);
	reg_w(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	g_set_features(d, (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |
		       (g_device_features(d) & 0xffffff));
	reg_w(d, VIRTIO_MMIO_STATUS, s);
	for (unsigned i = 0; i < d->nq; i++)
		if (i != q)
			g_queue_setup(d, i);
	reg_w(d, VIRTIO_MMIO_QUEUE_SEL, q);
	reg_w(d, VIRTIO_MMIO_QUEUE_NUM, 16);
	reg_w(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)END_DESC);
	reg_w(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)END_AVAIL);
	reg_w(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)END_USED);
	reg_w(d, VIRTIO_MMIO_QUEUE_READY, 1);
	EXPECT_EQ(reg_r(d, VIRTIO_MMIO_QUEUE_READY), 1);
	reg_w(d, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Puts one writable buffer on the end-of-RAM queue and notifies it. */
static void end_post(struct gdev *d, unsigned q, uint16_t *avail, uint64_t buf, uint32_t len)
{
	struct vring_desc *t = h_ptr(END_DESC);
	struct vring_avail *av = h_ptr(END_AVAIL);

	t[*avail % 16] = (struct vring_desc){ .addr = buf, .len = len, .flags = VRING_DESC_F_WRITE };
	av->ring[*avail % 16] = (uint16_t)(*avail % 16);
	__atomic_store_n(&av->idx, ++*avail, __ATOMIC_RELEASE);
	reg_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* Turns queue q off while the device holds one of its buffers, and resizes it. */
static void resize_off(struct gdev *d, unsigned q, uint32_t size)
{
	reg_w(d, VIRTIO_MMIO_QUEUE_SEL, q);
	reg_w(d, VIRTIO_MMIO_QUEUE_READY, 0);
	reg_w(d, VIRTIO_MMIO_QUEUE_NUM, size);
}

/*
 * virtio-net and virtio-vsock keep a receive buffer in hand. The driver turns the queue off
 * and resizes it (to 0; to 256 with its used index past 16), then traffic arrives for the
 * held buffer: it must be dropped, not pushed with the new size.
 */
static int held_buffer_across_queue_reconfig(void)
{
	uint8_t f[60];
	uint16_t avail = 0;
	struct vring_used *us = h_ptr(END_USED);

	if (!hblk_up(&B, 1, 0) || !net_up() || !vs_up()) {
		EXPECT(!"set-up");
		return 1;
	}
	net_frame(f, sizeof(f));
	/* net, size 0: the held buffer would be pushed at used_idx % 0. */
	set_desc(&ng, 0, 0, H_BUF(&ng), 2048, VRING_DESC_F_WRITE, 0);
	g_publish(&ng, 0, 0);
	usleep(20000);
	resize_off(&ng, 0, 0);
	EXPECT_EQ(send(net_host, f, sizeof(f), 0), sizeof(f));
	usleep(50000);
	EXPECT_EQ(g_used(&ng, 0)->idx, 0);
	EXPECT(g_init(&ng, G_ALL_FEATURES) && net_works());
	/* net, size 256 with used_idx 20: the push would land past the end of RAM. */
	init_with_queue_at_end(&ng, 0);
	for (int i = 0; i < 20; i++) {
		end_post(&ng, 0, &avail, H_BUF(&ng), 2048);
		EXPECT_EQ(send(net_host, f, sizeof(f), 0), sizeof(f));
		for (int w = 0; w < 30000 && __atomic_load_n(&us->idx, __ATOMIC_ACQUIRE) != avail; w++)
			usleep(100);
	}
	EXPECT_EQ(us->idx, 20);
	end_post(&ng, 0, &avail, H_BUF(&ng), 2048);
	usleep(20000);
	resize_off(&ng, 0, 256);
	EXPECT_EQ(send(net_host, f, sizeof(f), 0), sizeof(f));
	usleep(50000);
	EXPECT_EQ(us->idx, 20);
	EXPECT(g_init(&ng, G_ALL_FEATURES) && net_works());
	/* vsock, size 0: the device holds a receive buffer as soon as one is posted. */
	for (unsigned i = 0; i < 4; i++)
		vs_rx_post(i);
	usleep(20000);
	resize_off(&vg, VRX, 0);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", vs_uds);
		EXPECT(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
		EXPECT(write(fd, "CONNECT 9\n", 10) == 10);
		usleep(50000);
		close(fd);
	}
	EXPECT(g_init(&vg, G_ALL_FEATURES));
	for (unsigned i = 0; i < 8; i++)
		vs_rx_post(i);
	EXPECT(vs_works());
	EXPECT(hblk_works(&B, 3));
	EXPECT(h_idle());
	return 0;
}

/* blk: a queue turned off and resized, then notified (EVENT_IDX reads past the old avail ring). */
static int resized_queue_notified(void)
{
	struct vring_desc *t = h_ptr(END_DESC);
	struct vring_avail *av = h_ptr(END_AVAIL);
	struct vring_used *us = h_ptr(END_USED);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 1 };

	if (!world_up())
		return 1;
	init_with_queue_at_end(&A.g, 0);
	memcpy(h_ptr(HBLK_HDR(&A)), &h, sizeof(h));
	t[0] = (struct vring_desc){ HBLK_HDR(&A), HDR_LEN, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ HBLK_STATUS(&A), 1, VRING_DESC_F_WRITE, 0 };
	for (uint16_t i = 1; i <= 20; i++) {
		av->ring[(i - 1) % 16] = 0;
		__atomic_store_n(&av->idx, i, __ATOMIC_RELEASE);
		reg_w(&A.g, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		for (int w = 0; w < 30000 && __atomic_load_n(&us->idx, __ATOMIC_ACQUIRE) != i; w++)
			usleep(100);
	}
	EXPECT_EQ(us->idx, 20);
	for (uint32_t size = 0; size <= 256; size += 128) {
		resize_off(&A.g, 0, size);
		__atomic_store_n(&av->idx, (uint16_t)(av->idx + 1), __ATOMIC_RELEASE);
		reg_w(&A.g, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		usleep(20000);
		EXPECT_EQ(us->idx, 20);		/* a queue that is off serves nothing */
	}
	/* On again with rings that no longer fit in RAM: refused. */
	reg_w(&A.g, VIRTIO_MMIO_QUEUE_READY, 1);
	EXPECT_EQ(reg_r(&A.g, VIRTIO_MMIO_QUEUE_READY), 0);
	EXPECT(g_broken(&A.g));
	return world_end();
}

/*
 * With RAM above 4 GiB there is a real hole, and the host mapping of high RAM follows low
 * RAM directly: buffers in the hole or across its edges are refused and the bytes on either
 * side stay untouched; a buffer in high RAM is served.
 */
static int address_in_mmio_hole_with_high_ram(void)
{
	const uint64_t hole = 0xc0000000ULL, high = 1ULL << 32;
	uint8_t *low_end, *high_start;

	h_ram_init(hole + (16ULL << 20));	/* 16 MiB above 4 GiB; lazily backed */
	low_end = h_ptr(hole - 8);
	high_start = h_ptr(hole);		/* host-contiguous with the low region's end */
	memset(low_end, 0x5a, 16);
	if (!world_up())
		return 1;
	good_chain();
	g_desc(&A.g, 0)[1].addr = hole - 256;		/* 512 bytes across the hole's start */
	attack_breaks_a(0);
	good_chain();
	g_desc(&A.g, 0)[1].addr = 0xd0000000ULL;		/* inside the hole */
	attack_breaks_a(0);
	good_chain();
	g_desc(&A.g, 0)[1].addr = high - 256;		/* across the hole's end */
	attack_breaks_a(0);
	for (unsigned i = 0; i < 8; i++)
		EXPECT(low_end[i] == 0x5a && high_start[i] == 0x5a);
	good_chain();
	g_desc(&A.g, 0)[1].addr = high;
	g_publish(&A.g, 0, 0);
	EXPECT_EQ(g_wait(&A.g, 0, H_WAIT_MS), G_USED);
	EXPECT_EQ(g_take(&A.g, 0).len, 513);
	EXPECT_EQ(*(uint8_t *)h_ptr(HBLK_STATUS(&A)), VIRTIO_BLK_S_OK);
	EXPECT_EQ(high_start[0], 0);		/* gpa 4 GiB: the zeros of sector 1 landed there */
	return world_end();
}

/* Not negotiated: the device may serve the table (correctly) or refuse; nothing else. */
static int indirect_without_feature(void)
{
	struct vring_desc *t = h_ptr(TABLE);
	struct virtio_blk_outhdr h = { .type = VIRTIO_BLK_T_IN, .sector = 1 };
	int r;

	if (!world_up())
		return 1;
	EXPECT(g_init(&A.g, ~(1ULL << VIRTIO_RING_F_INDIRECT_DESC)));
	memcpy(h_ptr(HBLK_HDR(&A)), &h, sizeof(h));
	t[0] = (struct vring_desc){ HBLK_HDR(&A), HDR_LEN, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ HBLK_DATA(&A), 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ HBLK_STATUS(&A), 1, VRING_DESC_F_WRITE, 0 };
	*(uint8_t *)h_ptr(HBLK_STATUS(&A)) = 0xee;
	set_desc(&A.g, 0, 0, TABLE, 48, VRING_DESC_F_INDIRECT, 0);
	g_publish(&A.g, 0, 0);
	r = g_wait(&A.g, 0, H_WAIT_MS);
	EXPECT(r != G_TIMEOUT);
	if (r == G_USED) {
		EXPECT_EQ(g_take(&A.g, 0).len, 513);
		EXPECT_EQ(*(uint8_t *)h_ptr(HBLK_STATUS(&A)), VIRTIO_BLK_S_OK);
	}
	return world_end();
}

/* The status register written out of order, with reserved bits, with NEEDS_RESET itself. */
static int status_register_abuse(void)
{
	static const uint32_t seq[] = {
		VIRTIO_CONFIG_S_DRIVER_OK, 0xffffffff, VIRTIO_CONFIG_S_NEEDS_RESET,
		VIRTIO_CONFIG_S_FAILED, VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK, 0x80,
	};

	if (!world_up() || !net_up() || !vs_up())
		return 1;
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct gdev *devs[] = { &A.g, &ng, &vg };
		for (unsigned d = 0; d < 3; d++) {
			reg_w(devs[d], VIRTIO_MMIO_STATUS, 0);
			reg_w(devs[d], VIRTIO_MMIO_STATUS, seq[i]);
			(void)reg_r(devs[d], VIRTIO_MMIO_STATUS);
			for (uint32_t q = 0; q < 4; q++)
				reg_w(devs[d], VIRTIO_MMIO_QUEUE_NOTIFY, q);
		}
	}
	/* DRIVER_OK again and FEATURES_OK taken back on a live device. */
	EXPECT(g_init(&A.g, G_ALL_FEATURES));
	reg_w(&A.g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER_OK);
	reg_w(&A.g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	(void)hblk_req(&A, VIRTIO_BLK_T_IN, 0, 512, NULL);
	reg_w(&A.g, VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
	EXPECT(g_init(&ng, G_ALL_FEATURES) && net_works());
	EXPECT(g_init(&vg, G_ALL_FEATURES));
	for (unsigned i = 0; i < 8; i++)
		vs_rx_post(i);
	EXPECT(vs_works());
	return world_end();
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
static int random_register_writes(void)
{
	uint8_t buf[8];
	uint32_t s = 0x1234567;

	if (!world_up())
		return 1;
	for (int i = 0; i < 20000; i++) {
		uint32_t v = rnd(&s), off = rnd(&s) % 0x1000;
		unsigned len = 1u << (rnd(&s) % 4);
		if (off == VIRTIO_MMIO_QUEUE_NOTIFY)
			continue;	/* notifications over random rings: the walker's classes */
		virtio_mmio_access(A.g.t, rnd(&s) % 2 ? off : off & ~3u, (uint8_t *)&v, len, 1);
		virtio_mmio_access(A.g.t, rnd(&s) % 0x1000, buf, 1u << (rnd(&s) % 4), 0);
	}
	return world_end();
}

/* A read-only disk: writes fail and change nothing; GET_ID into a 4-byte buffer stays in it. */
static int blk_read_only_and_short_id(void)
{
	static struct hblk c = { .g.area = H_SLOT(2) };
	uint8_t *id = h_ptr(HBLK_DATA(&c));
	uint32_t ulen = 0;
	struct stat st;

	if (!world_up() || !hblk_up(&c, 2, 1))
		return 1;
	memset(h_ptr(HBLK_DATA(&c)), 0x44, 4096);
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
	EXPECT(!g_broken(&c.g));
	hblk_down(&c);
	return world_end();
}

/* Packets for connections that do not exist: one RST each (none for an RST), nothing else. */
static int vsock_unknown_connections(void)
{
	static const uint16_t ops[] = {
		VIRTIO_VSOCK_OP_RW, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_OP_CREDIT_UPDATE,
		VIRTIO_VSOCK_OP_CREDIT_REQUEST, VIRTIO_VSOCK_OP_RESPONSE, VIRTIO_VSOCK_OP_RST,
	};
	struct virtio_vsock_hdr h;
	unsigned rsts = 0;

	if (!hblk_up(&B, 1, 0) || !vs_up())
		return 1;
	for (unsigned i = 0; i < 32; i++)
		vs_rx_post(i);
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		h = vs_hdr(ops[i], 1000 + i, 2000 + i);
		h.len = ops[i] == VIRTIO_VSOCK_OP_RW ? 8 : 0;
		vs_tx_many(&h, h.len, 1);
		EXPECT_EQ(g_wait(&vg, VTX, H_WAIT_MS), G_USED);
		vg.used_seen[VTX] = g_used(&vg, VTX)->idx;
	}
	while (vs_recv(&h, 200)) {
		EXPECT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
		EXPECT(h.src_port == h.dst_port + 1000 && h.dst_port >= 1000 && h.dst_port < 1005);
		rsts++;
	}
	EXPECT_EQ(rsts, 5);
	EXPECT(!g_broken(&vg));
	EXPECT(vs_works());
	EXPECT(hblk_works(&B, 3));
	EXPECT(h_idle());
	return 0;
}

/*
 * Packets that each earn an RST while the guest posts no receive buffer: the RSTs owed are
 * bounded, the transmit queue waits (no spinning, no growth), and all is answered once
 * buffers come.
 */
static int vsock_rst_flood_without_rx_buffers(void)
{
	struct virtio_vsock_hdr h = vs_hdr(VIRTIO_VSOCK_OP_RW, 5, 6);
	long rss;
	unsigned rsts = 0;

	if (!hblk_up(&B, 1, 0) || !vs_up())
		return 1;
	vs_tx_many(&h, 0, 64);
	usleep(100000);
	vs_tx_many(&h, 0, 64);
	usleep(100000);
	rss = h_rss_kib();
	EXPECT(g_used(&vg, VTX)->idx <= 64 + VSOCK_RST_RING);
	EXPECT(h_idle());
	EXPECT(h_rss_kib() - rss < 1024);
	for (unsigned i = 0; i < 32; i++)
		vs_rx_post(i);
	while (rsts < 128 && vs_recv(&h, H_WAIT_MS)) {
		EXPECT_EQ(h.op, VIRTIO_VSOCK_OP_RST);
		rsts++;
	}
	EXPECT_EQ(rsts, 128);
	EXPECT_EQ(g_used(&vg, VTX)->idx, 128);
	EXPECT(!vs_recv(&h, 100));
	EXPECT(vs_works());
	EXPECT(hblk_works(&B, 3));
	return 0;
}

static _Atomic uint64_t serial_out;

static void serial_count(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
	atomic_fetch_add(&serial_out, 1);
}

/* The UART's registers: loopback overrun, divisor latch, odd widths, every offset. */
static int serial_register_abuse(void)
{
	static struct serial s;
	uint8_t v, buf[8];
	long rss;
	unsigned got = 0;

	if (serial_attach(&s, &vm, 0x3f8, 4, serial_count, NULL))
		return 1;
	rss = h_rss_kib();
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
	EXPECT(h_rss_kib() - rss < 1024);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct hclass classes[] = {
		{ "held-rx-buffer-across-queue-reconfig", held_buffer_across_queue_reconfig },
		{ "resized-queue-notified", resized_queue_notified },
		{ "addr-in-mmio-hole-with-high-ram", address_in_mmio_hole_with_high_ram },
		{ "indirect-without-feature", indirect_without_feature },
		{ "status-register-abuse", status_register_abuse },
		{ "random-register-writes", random_register_writes },
		{ "blk-read-only-and-short-id", blk_read_only_and_short_id },
		{ "vsock-unknown-connection", vsock_unknown_connections },
		{ "vsock-rst-flood-without-rx-buffers", vsock_rst_flood_without_rx_buffers },
		{ "serial-register-abuse", serial_register_abuse },
	};

	return h_main(classes, sizeof(classes) / sizeof(classes[0]), argc, argv);
}
