/*
 * A hostile guest kernel (no Linux), booted by the real hvm-run with --kernel: it finds the
 * virtio-mmio devices at core/layout.h's addresses and attacks them from inside KVM, one
 * class at a time, so every attack crosses the real exit path (ioeventfd, KVM_EXIT_MMIO and
 * KVM_EXIT_IO decoding, irqfd). Each class prints "class NAME: done", plus one
 * "class NAME: unexpected: WHAT" line for every answer of the VMM that breaks
 * docs/threat-model.md's promise; tests/hostile/test_hostile_guest.sh reads them.
 *
 * Expected devices (hvm-run -v DISK:/d --net user): a read-only virtio-blk (the root image),
 * a writable one (the volume), virtio-vsock, and virtio-net (its classes skipped without).
 * "hostile.areas=A,B" on the command line (--append) runs only those areas (hg_run_classes).
 */
#include "hg.h"
#include "classes.h"

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>

#define LAYOUT_VIRTIO_MMIO 0xd0000000ULL	/* core/layout.h */
#define ZERO_PAGE_E820_N   0x1e8		/* struct boot_params.e820_entries */
#define ZERO_PAGE_E820     0x2d0		/* struct boot_params.e820_table */
#define ZERO_PAGE_CMDLINE  0x228		/* struct boot_params.hdr.cmd_line_ptr */
#define SCRATCH            0x2000000ULL	/* 32 MiB: above this kernel, below the initramfs */
#define I8042_CMD          0x64
#define I8042_RESET        0xfe

/* The boot CPU state (boot/cpu.c) gives a 4 KiB stack under the zero page: use our own. */
__asm__(".section .text\n"
	".globl _start\n"
	"_start:\n"
	"	cli\n"
	"	lea hg_stack_top(%rip), %rsp\n"
	"	mov %rsi, %rdi\n"		/* the zero page */
	"	call hg_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");
static uint8_t hg_stack[64 * 1024] __attribute__((aligned(16), used));
__asm__(".set hg_stack_top, hg_stack + 65536");

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

/* The end of the RAM range that starts at 4 GiB, or 0 without RAM above the hole. */
static uint64_t high_ram_end_from(const uint8_t *zero_page)
{
	const struct e820_entry *e = (const void *)(zero_page + ZERO_PAGE_E820);
	unsigned n = zero_page[ZERO_PAGE_E820_N];

	for (unsigned i = 0; i < n && i < 128; i++)
		if (e[i].type == 1 && e[i].addr == 0x100000000ULL)
			return e[i].addr + e[i].size;
	return 0;
}

/* The end of the last RAM range below 4 GiB: where "just past RAM" starts. */
static uint64_t ram_end_from(const uint8_t *zero_page)
{
	const struct e820_entry *e = (const void *)(zero_page + ZERO_PAGE_E820);
	unsigned n = zero_page[ZERO_PAGE_E820_N];
	uint64_t end = 0;

	for (unsigned i = 0; i < n && i < 128; i++)
		if (e[i].type == 1 && e[i].addr + e[i].size <= 0x100000000ULL &&
		    e[i].addr + e[i].size > end)
			end = e[i].addr + e[i].size;
	return end;
}

/* Every slot from the first one on, until one does not answer with the magic value. */
static unsigned discover(struct hg_dev *devs)
{
	unsigned n = 0;

	for (unsigned i = 0; i < HG_MAX_DEVS; i++) {
		struct hg_dev *d = &devs[n];
		*d = (struct hg_dev){ .base = LAYOUT_VIRTIO_MMIO + 0x1000ULL * i };
		if (hg_rd(d, VIRTIO_MMIO_MAGIC_VALUE) != 0x74726976 || hg_rd(d, VIRTIO_MMIO_VERSION) != 2)
			break;
		d->id = hg_rd(d, VIRTIO_MMIO_DEVICE_ID);
		hg_wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
		d->read_only = d->id == VIRTIO_ID_BLOCK &&
			       (hg_rd(d, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << 5));	/* BLK_F_RO */
		d->nq = d->id == VIRTIO_ID_VSOCK ? 3 : d->id == VIRTIO_ID_NET ? 2 : 1;
		d->area = (uint8_t *)(uintptr_t)(SCRATCH + 0x100000ULL * n);
		d->buf = d->area + 0x40000;
		hg_puts("device ");
		hg_putdec(n);
		hg_puts(": id ");
		hg_putdec(d->id);
		hg_puts(d->read_only ? " read-only" : "");
		hg_puts(" at ");
		hg_puthex(d->base);
		hg_puts("\n");
		n++;
	}
	return n;
}

static struct hg_dev *find(struct hg_dev *devs, unsigned n, uint32_t id, int read_only)
{
	for (unsigned i = 0; i < n; i++)
		if (devs[i].id == id && (id != VIRTIO_ID_BLOCK || devs[i].read_only == read_only))
			return &devs[i];
	return 0;
}

/* Ends the VM the way a PC does: the i8042's reset line (devices/i8042.c). */
static void reset_machine(void)
{
	outb(I8042_CMD, I8042_RESET);
	for (;;)
		__asm__ volatile("hlt");
}

void hg_main(const uint8_t *zero_page);

/* The entry's C half: discover, attack class by class, check, reset the machine. */
void hg_main(const uint8_t *zero_page)
{
	static struct hg_dev devs[HG_MAX_DEVS];
	struct hg_env env;
	unsigned n;

	hg_ram_end = ram_end_from(zero_page);
	hg_puts("hostile-guest: start, RAM ends at ");
	hg_puthex(hg_ram_end);
	hg_puts("\n");
	n = discover(devs);
	env = (struct hg_env){
		.root = find(devs, n, VIRTIO_ID_BLOCK, 1),
		.vol = find(devs, n, VIRTIO_ID_BLOCK, 0),
		.vsock = find(devs, n, VIRTIO_ID_VSOCK, 0),
		.net = find(devs, n, VIRTIO_ID_NET, 0),
		.devs = devs, .ndevs = n,
		.cmdline = (const char *)(uintptr_t)*(const uint32_t *)(zero_page + ZERO_PAGE_CMDLINE),
		.high_ram_end = high_ram_end_from(zero_page),
	};
	if (!env.root || !env.vol || !env.vsock || hg_ram_end <= SCRATCH + 0x100000ULL * n) {
		hg_puts("hostile-guest: missing devices or RAM (want -v DISK:/d and --memory >= 64)\n");
		reset_machine();
	}
	hg_run_classes(&env);
	hg_puts("hostile-guest: all classes done\n");
	hg_final_sanity(&env);
	hg_puts("hostile-guest: end\n");
	reset_machine();
}

/* The areas in the order they run; only_when_named: run only when the command line names it. */
static const struct area {
	const char *name;
	void (*run)(struct hg_env *env);
	int only_when_named;
} areas[] = {
	{ "transport", classes_transport, 0 },
	{ "desc", classes_desc, 0 },
	{ "race", classes_race, 0 },
	{ "blk", classes_blk, 0 },
	{ "vsock", classes_vsock, 0 },
	{ "net", classes_net, 0 },
	{ "fuzz", classes_fuzz, 0 },
	{ "rx", classes_rx, 0 },
	{ "ports", classes_ports, 0 },
	{ "smp", classes_smp, 0 },	/* last: its second vCPU stays halted until the reset */
	{ "high-ram", classes_high_ram, 1 },	/* needs --memory above 3 GiB: a boot of its own */
};

/* The value of word "key=" on the kernel command line, up to the next space; NULL if none. */
static const char *cmdline_value(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);

	for (const char *w = cmdline; *w; ) {
		if ((w == cmdline || w[-1] == ' ') && memcmp(w, key, klen) == 0)
			return w + klen;
		w++;
	}
	return 0;
}

/* 1 if name is one of the comma-separated names in list (which ends at a space or NUL). */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	while (list && *list && *list != ' ') {
		size_t len = 0;
		while (list[len] && list[len] != ' ' && list[len] != ',')
			len++;
		if (len == n && memcmp(list, name, n) == 0)
			return 1;
		list += len + (list[len] == ',');
	}
	return 0;
}

void hg_run_classes(struct hg_env *env)
{
	/* hostile.areas=A,B runs those areas only (tests/hostile/test_hostile_guest.sh's
	 * high-RAM boot); without it, every area not marked only_when_named. */
	const char *only = cmdline_value(env->cmdline, "hostile.areas=");

	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (only ? listed(only, areas[i].name) : !areas[i].only_when_named)
			areas[i].run(env);
}

/* The last sector of the volume, written and read back: the test finds it in the host file. */
static int blk_write_last(struct hg_dev *d)
{
	static const char mark[] = "hostile-guest: last sector";
	uint8_t *out = d->buf + 0x10000, *in = d->buf + 0x20000;
	uint64_t last = blk_capacity(d) - 1;

	memset(out, 0, 512);
	memcpy(out, mark, sizeof(mark));
	memset(in, 0, 512);
	return hg_up(d, 0, 16) == 0 &&
	       blk_request(d, 1 /* OUT */, last, (uintptr_t)out, 512, 0) == 0 &&
	       blk_request(d, 0 /* IN */, last, (uintptr_t)in, 512, 0) == 0 &&
	       memcmp(in, mark, sizeof(mark)) == 0;
}

void hg_final_sanity(struct hg_env *env)
{
	hg_puts(blk_sane(env->root) ? "sanity: root disk ok\n" : "sanity: root disk FAILED\n");
	hg_puts(blk_sane(env->vol) && blk_write_last(env->vol) ? "sanity: volume ok\n" :
	       "sanity: volume FAILED\n");
	hg_puts(vsock_sane(env->vsock) ? "sanity: vsock ok\n" : "sanity: vsock FAILED\n");
	if (env->net)
		hg_puts(net_sane(env->net) ? "sanity: net ok\n" : "sanity: net FAILED\n");
}
