/*
 * The hostile-guest suite, the 16550 UART: an output flood, and every register abused.
 * docs/threat-model.md lists the classes; hrun.h says how they run.
 */
#include <stdatomic.h>
#include <string.h>

#include "../../core/clock.h"
#include "../../devices/serial.h"
#include "hblk.h"
#include "hdrv.h"
#include "hrun.h"
#include "victim.h"

/* ---- attack class: serial ------------------------------------------------------------- */

static _Atomic uint64_t serial_bytes;

static void serial_count(void *opaque, uint8_t byte)
{
	(void)opaque;
	(void)byte;
	atomic_fetch_add(&serial_bytes, 1);
}

static void a_serial_flood(void)
{
	static struct serial s;
	uint8_t v = 'A', junk[8];
	uint64_t t0;

	EXPECT(serial_attach(&s, &hdrv_vm, 0x3f8, 4, serial_count, NULL) == 0);
	bystander_up();
	/* 4 MiB of output as fast as the vCPU can write THR, interrupts on. */
	v = 0x0f;
	serial_access(&s, 1, &v, 1, 1);
	t0 = clock_now_us();
	for (unsigned i = 0; i < (4u << 20); i++) {
		v = (uint8_t)i;
		serial_access(&s, 0, &v, 1, 1);
	}
	EXPECT(atomic_load(&serial_bytes) == (4u << 20));
	EXPECT(clock_now_us() - t0 < 10 * 1000 * 1000);
	/* Register offsets past the 8 ports and odd widths are ignored. */
	for (uint64_t off = 0; off < 16; off++) {
		memset(junk, 0xa5, sizeof(junk));
		serial_access(&s, off, junk, 1, 0);
	}
	EXPECT(blk_healthy(&by));
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

static const struct hrun_class classes[] = {
	{ "serial-flood", a_serial_flood, CLASS_S },
	{ "serial-register-abuse", serial_register_abuse, H_CLASS_S },
};

int main(int argc, char **argv)
{
	return hrun_main("hostile_serial", classes, sizeof(classes) / sizeof(classes[0]), make_disk, argc,
			 argv);
}
