/* guest_ptr: the single checked accessor for guest addresses. */
#include <stdlib.h>

#include "../../core/layout.h"
#include "../../core/guest_mem.h"
#include "../harness.h"

static void small_ram(void)
{
	static uint8_t ram[1 << 20];
	struct guest_mem m;

	guest_mem_init(&m, ram, sizeof(ram));
	CHECK(guest_ptr(&m, 0, 16) == ram);
	CHECK(guest_ptr(&m, sizeof(ram) - 16, 16) == ram + sizeof(ram) - 16);
	CHECK(guest_ptr(&m, sizeof(ram) - 16, 17) == NULL);		/* runs off the end */
	CHECK(guest_ptr(&m, sizeof(ram), 0) == NULL);		/* just past RAM */
	CHECK(guest_ptr(&m, 0x1000, UINT64_MAX) == NULL);		/* gpa + len overflows */
	CHECK(guest_ptr(&m, UINT64_MAX, 2) == NULL);
	CHECK(guest_ptr(&m, LAYOUT_4G, 1) == NULL);			/* no high region */
	CHECK_EQ(guest_mem_low_end(&m), sizeof(ram));
}

static void split_around_hole(void)
{
	/* Fake host base: guest_ptr only computes pointers, it never dereferences them. */
	uint8_t *base = (uint8_t *)(uintptr_t)0x100000000000ULL;
	uint64_t ram = LAYOUT_MMIO_HOLE + (1ULL << 30);
	struct guest_mem m;

	guest_mem_init(&m, base, ram);
	CHECK_EQ(m.region[0].size, LAYOUT_MMIO_HOLE);
	CHECK_EQ(m.region[1].gpa, LAYOUT_4G);
	CHECK_EQ(m.region[1].size, 1ULL << 30);
	CHECK(guest_ptr(&m, LAYOUT_MMIO_HOLE - 8, 8) == base + LAYOUT_MMIO_HOLE - 8);
	CHECK(guest_ptr(&m, LAYOUT_MMIO_HOLE - 8, 16) == NULL);	/* straddles into the hole */
	CHECK(guest_ptr(&m, LAYOUT_IOAPIC, 4) == NULL);		/* MMIO, not RAM */
	CHECK(guest_ptr(&m, LAYOUT_4G, 8) == base + LAYOUT_MMIO_HOLE);
	CHECK(guest_ptr(&m, LAYOUT_4G + (1ULL << 30) - 1, 1) != NULL);
	CHECK(guest_ptr(&m, LAYOUT_4G + (1ULL << 30), 1) == NULL);
}

HARNESS_MAIN(small_ram, split_around_hole)
