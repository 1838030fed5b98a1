/* Unclaimed MMIO and port ranges at a high rate, the boot-timer port and the UART abused. */
#include "classes.h"

#include <linux/virtio_mmio.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define COM1       0x3f8
#define BOOT_TIMER 0x440

/* Ports KVM or this guest's own end depend on: the in-kernel PIC, PIT and speaker port,
 * the i8042 (0x64 would reset the machine), COM1 (our output), the boot timer. */
static int port_spared(uint16_t p)
{
	return (p >= 0x20 && p <= 0x21) || (p >= 0x40 && p <= 0x43) || (p >= 0x60 && p <= 0x64) ||
	       (p >= 0xa0 && p <= 0xa1) || (p >= 0x4d0 && p <= 0x4d1) ||
	       (p >= COM1 && p < COM1 + 8) || p == BOOT_TIMER;
}

/* Every width at addresses no device claims: the hole below the devices, the slots after
 * them, between RAM and the hole, and the high end of the 4 GiB identity map. */
static void unclaimed_mmio(struct hg_env *env)
{
	const uint64_t ranges[] = {
		0xc0000000ULL, 0xcffff000ULL, env->devs[env->ndevs - 1].base + 0x1000, 0xd0010000ULL,
		0xd0fff000ULL, 0xe0000000ULL, 0xfe000000ULL, 0xfed00000ULL, hg_ram_end,
		(hg_ram_end + 0xc0000000ULL) / 2,
	};
	unsigned bad = 0;

	hg_class("unclaimed-mmio");
	for (unsigned r = 0; r < N(ranges); r++)
		for (unsigned off = 0; off < 0x1000; off += 0x1000 / 64) {
			uintptr_t a = ranges[r] + off;
			*(volatile uint32_t *)a = 0xdeadbeef;
			*(volatile uint8_t *)(a + 1) = 0x5a;
			*(volatile uint64_t *)(a + 8) = ~0ULL;
			bad += *(volatile uint32_t *)a != 0xffffffff;
			bad += *(volatile uint16_t *)(a + 2) != 0xffff;
			bad += *(volatile uint64_t *)(a + 16) != ~0ULL;
		}
	hg_expect(!bad, "an unclaimed MMIO read did not return all ones");
	blk_after(env, env->vol);
	hg_done();
}

/* inb/inw/inl/outb/outw/outl over the port space, and string I/O of 4 KiB at once. */
static void unclaimed_ports(struct hg_env *env)
{
	static uint8_t buf[4096];
	unsigned bad = 0, n = 0;

	hg_class("unclaimed-ports");
	for (uint32_t p = 0; p < 0x10000; p += p < 0x500 ? 1 : 0x61) {
		if (port_spared((uint16_t)p))
			continue;
		outb((uint16_t)p, 0xa5);
		outw((uint16_t)p, 0xa5a5);
		outl((uint16_t)p, 0xa5a5a5a5);
		(void)inw((uint16_t)p);
		(void)inl((uint16_t)p);
		/* Unclaimed reads are all ones; a few claimed ones (PCI, RTC) are KVM's. */
		bad += p >= 0x100 && p < 0x400 && p != 0x2f8 && inb((uint16_t)p) != 0xff;
		n++;
	}
	memset(buf, 0x11, sizeof(buf));
	const void *src = buf;
	void *dst = buf;
	uint64_t cnt = sizeof(buf);
	/* COM2's port, which no device claims: KVM hands the VMM up to a page per exit. */
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(cnt) : "d"(0x2f8) : "memory");
	cnt = sizeof(buf);
	__asm__ volatile("rep insb" : "+D"(dst), "+c"(cnt) : "d"(0x2f8) : "memory");
	for (unsigned i = 0; i < sizeof(buf); i++)
		bad += buf[i] != 0xff;
	hg_puts("unclaimed-ports: ");
	hg_putdec(n);
	hg_puts(" ports, 6 accesses each, and 8 KiB of string I/O\n");
	hg_expect(!bad, "an unclaimed port read did not return all ones");
	blk_after(env, env->vol);
	hg_done();
}

/* The agent's boot-timer port written thousands of times at every width, and read. */
static void boot_timer_abuse(struct hg_env *env)
{
	hg_class("boot-timer-abuse");
	for (unsigned i = 0; i < 5000; i++) {
		outb(BOOT_TIMER, (uint8_t)i);
		outw(BOOT_TIMER, (uint16_t)i);
		outl(BOOT_TIMER, i);
	}
	/* One byte wide: a 4-byte read runs past it and goes nowhere, so all ones. */
	hg_expect(inb(BOOT_TIMER) == 0, "the boot timer reads non-zero");
	hg_expect(inl(BOOT_TIMER) == 0xffffffff, "a 4-byte read of the 1-byte boot timer was served");
	blk_after(env, env->vol);
	hg_done();
}

/* The UART: divisor latch, loopback floods, every offset at every width, then put back. */
static void serial_abuse(struct hg_env *env)
{
	hg_class("serial-abuse");
	outb(COM1 + 3, 0x80);		/* DLAB */
	outb(COM1, 0x01);
	outb(COM1 + 1, 0xff);
	outb(COM1 + 3, 0x03);
	outb(COM1 + 4, 0x10);		/* loopback: nothing leaves */
	for (unsigned i = 0; i < 20000; i++)
		outb(COM1, (uint8_t)i);
	for (unsigned i = 0; i < 64; i++)
		(void)inb(COM1);
	for (uint16_t off = 0; off < 8; off++) {
		(void)inb(COM1 + off);
		(void)inw(COM1 + off);
		(void)inl(COM1 + off);
		if (off != 0 && off != 3 && off != 4)
			outb(COM1 + off, 0xff);
		outw(COM1 + off, 0xffff);
		outl(COM1 + off, 0xffffffff);
	}
	outb(COM1 + 3, 0x03);
	outb(COM1 + 4, 0x03);		/* loopback off: this class's line must come out */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 2, 0x00);
	blk_after(env, env->vol);
	hg_done();
}

#define FLOOD_LINES 4096
#define FLOOD_LINE  64

/*
 * 256 KiB through the transmit register with every UART interrupt enabled (the guest never
 * takes them: interrupts stay off), by `rep outsb`, a page per exit. Lines "sf NNNN x...x"
 * of 64 bytes, numbered: the test finds each on the console exactly once, in order. Then the
 * THR-empty interrupt must be pending, acknowledged by reading IIR, and output still work.
 */
static void serial_flood(struct hg_env *env)
{
	static char text[FLOOD_LINES * FLOOD_LINE];
	uint64_t t0;

	hg_class("serial-flood");
	for (unsigned i = 0; i < FLOOD_LINES; i++) {
		char *l = text + i * FLOOD_LINE;
		memset(l, 'x', FLOOD_LINE - 1);
		l[0] = 's';
		l[1] = 'f';
		l[2] = ' ';
		for (unsigned k = 0, v = i; k < 4; k++, v /= 10)
			l[6 - k] = (char)('0' + v % 10);
		l[7] = ' ';
		l[FLOOD_LINE - 1] = '\n';
	}
	outb(COM1 + 2, 0x07);		/* FIFOs on and cleared */
	outb(COM1 + 1, 0x0f);		/* every interrupt enabled */
	t0 = rdtsc();
	const void *src = text;
	uint64_t cnt = sizeof(text);
	__asm__ volatile("rep outsb" : "+S"(src), "+c"(cnt) : "d"(COM1) : "memory");
	hg_puts("serial-flood: ");
	hg_putdec(sizeof(text));
	hg_puts(" bytes in ");
	hg_putdec((rdtsc() - t0) / 1000000);
	hg_puts(" M TSC cycles\n");
	hg_expect((inb(COM1 + 2) & 0x0f) == 0x02, "no THR-empty interrupt pending after the flood");
	hg_expect((inb(COM1 + 2) & 0x0f) == 0x01, "reading IIR did not acknowledge THR-empty");
	hg_expect((inb(COM1 + 5) & 0x60) == 0x60, "LSR does not say the transmitter is empty");
	for (uint16_t off = 1; off < 8; off++)
		(void)inb(COM1 + off);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 2, 0x00);
	blk_after(env, env->vol);
	hg_done();
}

void classes_ports(struct hg_env *env)
{
	unclaimed_mmio(env);
	unclaimed_ports(env);
	boot_timer_abuse(env);
	serial_abuse(env);
	serial_flood(env);
}
