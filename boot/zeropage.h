/* The zero page (struct boot_params) and e820 map of the Linux x86 boot protocol. */
#ifndef HVM_BOOT_ZEROPAGE_H
#define HVM_BOOT_ZEROPAGE_H

#include <asm/bootparam.h>
#include <stdint.h>

#include "image.h"

struct boot_initrd {
	gpa_t gpa;
	uint64_t size;		/* 0: no initramfs */
};

/* Fills `table` (room for `max` entries) with the guest's memory map; returns the count. */
unsigned boot_e820_build(const struct guest_mem *mem, struct boot_e820_entry *table, unsigned max);

/*
 * Writes the zero page at LAYOUT_ZERO_PAGE and the command line at LAYOUT_CMDLINE.
 * Returns 0, or -E2BIG (command line too long) / -EFAULT (RAM too small), logged.
 */
int boot_zeropage_write(const struct guest_mem *mem, const struct boot_image *img,
			const char *cmdline, const struct boot_initrd *initrd);

/*
 * Chooses where an initramfs of `size` bytes goes: the top of low RAM, page aligned, below
 * the kernel's limit and above the kernel. Returns 0 or -ENOMEM (why in e).
 */
int boot_initrd_place(const struct guest_mem *mem, const struct boot_image *img, uint64_t size,
		      gpa_t *gpa, struct err *e);

#endif
