/* Zero page, e820 map and initramfs placement, checked on a plain buffer. */
#include <errno.h>
#include <stdlib.h>

#include "../../core/layout.h"
#include "../../boot/zeropage.h"
#include "../harness.h"

#define RAM (64ULL << 20)

static uint8_t *ram;
static struct guest_mem mem;

static void setup(void)
{
	ram = calloc(1, RAM);
	guest_mem_init(&mem, ram, RAM);
}

static void e820_small_guest(void)
{
	struct boot_e820_entry t[8];
	unsigned n = boot_e820_build(&mem, t, 8);

	CHECK_EQ(n, 4);
	CHECK_EQ(t[0].addr, 0);
	CHECK_EQ(t[0].size, LAYOUT_BASE_MEM_END);
	CHECK_EQ(t[0].type, 1);
	CHECK_EQ(t[1].addr, LAYOUT_BASE_MEM_END);	/* MP table and legacy area: reserved */
	CHECK_EQ(t[1].type, 2);
	CHECK_EQ(t[2].addr, LAYOUT_HIGH_MEM);
	CHECK_EQ(t[2].addr + t[2].size, RAM);
	CHECK_EQ(t[3].type, 2);			/* KVM's TSS and identity map */
	CHECK_EQ(t[3].addr + t[3].size, LAYOUT_4G);
}

static void e820_large_guest(void)
{
	struct guest_mem big;
	struct boot_e820_entry t[8];

	guest_mem_init(&big, (uint8_t *)(uintptr_t)0x100000000000ULL, 6ULL << 30);
	CHECK_EQ(boot_e820_build(&big, t, 8), 5);
	CHECK_EQ(t[2].addr + t[2].size, LAYOUT_MMIO_HOLE);
	CHECK_EQ(t[4].addr, LAYOUT_4G);
	CHECK_EQ(t[4].size, (6ULL << 30) - LAYOUT_MMIO_HOLE);
	CHECK_EQ(t[4].type, 1);
}

static void zero_page_fields(void)
{
	struct boot_image img = { .kind = BOOT_VMLINUX, .entry = 0x1000000, .end = 0x2000000,
				  .initrd_addr_max = 0x7fffffff };
	struct boot_initrd initrd = { .gpa = 0x3000000, .size = 12345 };
	struct boot_params *bp = (struct boot_params *)(ram + LAYOUT_ZERO_PAGE);

	CHECK_EQ(boot_zeropage_write(&mem, &img, "console=ttyS0 quiet", &initrd), 0);
	CHECK_EQ(bp->hdr.boot_flag, 0xaa55);
	CHECK_EQ(bp->hdr.header, 0x53726448);
	CHECK_EQ(bp->hdr.type_of_loader, 0xff);
	CHECK_EQ(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	CHECK_STR((char *)ram + LAYOUT_CMDLINE, "console=ttyS0 quiet");
	CHECK_EQ(bp->hdr.ramdisk_image, 0x3000000);
	CHECK_EQ(bp->hdr.ramdisk_size, 12345);
	CHECK_EQ(bp->e820_entries, 4);
	CHECK_EQ(bp->e820_table[2].addr, LAYOUT_HIGH_MEM);
}

static void long_cmdline_rejected(void)
{
	struct boot_image img = { .kind = BOOT_VMLINUX };
	struct boot_initrd initrd = { 0 };
	char cl[LAYOUT_CMDLINE_MAX + 1];

	memset(cl, 'a', sizeof(cl) - 1);
	cl[sizeof(cl) - 1] = '\0';
	CHECK_EQ(boot_zeropage_write(&mem, &img, cl, &initrd), -E2BIG);
	cl[LAYOUT_CMDLINE_MAX - 1] = '\0';	/* 2047 characters: the most that fits */
	CHECK_EQ(boot_zeropage_write(&mem, &img, cl, &initrd), 0);
}

static void initrd_placement(void)
{
	struct boot_image img = { .end = 0x2000000, .initrd_addr_max = 0x7fffffff };
	gpa_t gpa;

	CHECK_EQ(boot_initrd_place(&mem, &img, 5000, &gpa, NULL), 0);
	CHECK_EQ(gpa % 4096, 0);
	CHECK(gpa + 5000 <= RAM);
	CHECK(gpa >= RAM - 3 * 4096);
	img.initrd_addr_max = 0x2ffffff;	/* an old kernel's limit wins over the top of RAM */
	CHECK_EQ(boot_initrd_place(&mem, &img, 5000, &gpa, NULL), 0);
	CHECK(gpa + 5000 <= 0x3000000);
	img.initrd_addr_max = 0x7fffffff;
	/* Down into the kernel. */
	CHECK_EQ(boot_initrd_place(&mem, &img, RAM - 0x1000000, &gpa, NULL), -ENOMEM);
	CHECK_EQ(boot_initrd_place(&mem, &img, UINT64_MAX, &gpa, NULL), -ENOMEM);
}

HARNESS_MAIN(setup, e820_small_guest, e820_large_guest, zero_page_fields, long_cmdline_rejected,
	     initrd_placement)
