/*
 * RAM above the MMIO hole: with more than 3 GiB, low RAM ends at 0xc0000000 and the rest
 * starts at 4 GiB, and the VMM's host mapping of high RAM follows low RAM's directly. A
 * buffer across the hole's start, inside it or across its end must be refused, not served
 * from the host bytes that happen to lie there; one at 4 GiB is real RAM and served. Run only
 * in a boot of its own with --memory above 3072 (hostile.areas=high-ram).
 */
#include "classes.h"

#include <linux/virtio_blk.h>

#define HOLE       0xc0000000ULL
#define HIGH       0x100000000ULL
#define PDPT       0xa000ULL	/* core/layout.h LAYOUT_PDPT: the boot page tables' PDPT */
#define PTE_P_RW   0x3ULL
#define PTE_2M     0x80ULL
#define EXT4_MAGIC 0xef53

/* 4-5 GiB, in 2 MiB pages: the boot page tables map only the first 4 GiB. */
static uint64_t high_pd[512] __attribute__((aligned(4096)));

/* Maps [4 GiB, 5 GiB) identity, so that this guest can look at what the device wrote there. */
static void map_high_ram(void)
{
	uint64_t cr3;

	for (unsigned i = 0; i < 512; i++)
		high_pd[i] = (HIGH + ((uint64_t)i << 21)) | PTE_P_RW | PTE_2M;
	((volatile uint64_t *)(uintptr_t)PDPT)[4] = (uintptr_t)high_pd | PTE_P_RW;
	__asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3) :: "memory");
}

static void addr_in_mmio_hole_with_high_ram(struct hg_env *env)
{
	struct hg_dev *d = env->vol;
	volatile uint8_t *low_end = (volatile uint8_t *)(uintptr_t)(HOLE - 8);
	volatile uint8_t *high_start = (volatile uint8_t *)(uintptr_t)HIGH;
	static const uint64_t bad[] = { HOLE - 256, 0xd0000000ULL, HIGH - 256 };
	uint32_t len = 0;

	hg_class("addr-in-mmio-hole-with-high-ram");
	if (!hg_expect(env->high_ram_end > HIGH && hg_ram_end == HOLE,
		       "no RAM above 4 GiB, or low RAM not up to the hole (give --memory above 3072)")) {
		hg_done();
		return;
	}
	map_high_ram();
	for (unsigned i = 0; i < 8; i++)
		low_end[i] = high_start[i] = 0x5a;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
		hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 2, bad[i], 512, 0) == BLK_ST_BROKEN,
			  "a buffer across or in the MMIO hole did not make NEEDS_RESET");
	}
	for (unsigned i = 0; i < 8; i++)
		if (!hg_expect(low_end[i] == 0x5a && high_start[i] == 0x5a,
			       "the bytes beside the hole changed"))
			break;
	hg_expect(hg_up(d, 0, 16) == 0, "device would not come up");
	hg_expect(blk_request(d, VIRTIO_BLK_T_IN, 2, HIGH, 512, &len) == VIRTIO_BLK_S_OK && len == 513,
		  "a read into RAM at 4 GiB was not served");
	hg_expect((high_start[0x38] | high_start[0x39] << 8) == EXT4_MAGIC,
		  "the superblock did not land at 4 GiB");
	hg_puts("addr-in-mmio-hole-with-high-ram: RAM above 4 GiB up to ");
	hg_puthex(env->high_ram_end);
	hg_puts("\n");
	blk_after(env, d);
	hg_done();
}

void classes_high_ram(struct hg_env *env)
{
	addr_in_mmio_hole_with_high_ram(env);
}
