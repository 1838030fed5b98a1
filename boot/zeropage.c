#include "zeropage.h"

#include <errno.h>
#include <string.h>

#include "../core/layout.h"
#include "../core/log.h"

#define ZP_LOADER_UNDEFINED  0xff	/* type_of_loader: "not a registered boot loader" */
#define ZP_PROTOCOL_VERSION  0x020f	/* what we fill in for a vmlinux, which has no header */

static void e820_add(struct boot_e820_entry *t, unsigned *n, unsigned max, uint64_t addr,
		     uint64_t size, uint32_t type)
{
	if (size == 0 || *n >= max)
		return;
	t[*n] = (struct boot_e820_entry){ .addr = addr, .size = size, .type = type };
	(*n)++;
}

unsigned boot_e820_build(const struct guest_mem *mem, struct boot_e820_entry *table, unsigned max)
{
	const uint32_t ram = 1, reserved = 2;	/* E820_TYPE_RAM, E820_TYPE_RESERVED */
	gpa_t low_end = guest_mem_low_end(mem);
	unsigned n = 0;

	e820_add(table, &n, max, 0, LAYOUT_BASE_MEM_END, ram);
	/* The MP table and the legacy ROM/VGA area stay out of the kernel's allocator. */
	e820_add(table, &n, max, LAYOUT_BASE_MEM_END, LAYOUT_HIGH_MEM - LAYOUT_BASE_MEM_END, reserved);
	e820_add(table, &n, max, LAYOUT_HIGH_MEM, low_end - LAYOUT_HIGH_MEM, ram);
	e820_add(table, &n, max, LAYOUT_KVM_IDENTITY_MAP, LAYOUT_4G - LAYOUT_KVM_IDENTITY_MAP, reserved);
	e820_add(table, &n, max, mem->region[1].gpa, mem->region[1].size, ram);
	return n;
}

static void zp_fill_header(struct boot_params *bp, const struct boot_image *img)
{
	if (img->kind == BOOT_BZIMAGE) {
		/* The boot protocol wants the kernel's own header, then the loader's fields. */
		memcpy(&bp->hdr, img->setup_header, img->setup_header_len);
		return;
	}
	bp->hdr.boot_flag = 0xaa55;
	bp->hdr.header = 0x53726448;	/* "HdrS" */
	bp->hdr.version = ZP_PROTOCOL_VERSION;
	bp->hdr.kernel_alignment = 0x200000;
}

int boot_zeropage_write(const struct guest_mem *mem, const struct boot_image *img,
			const char *cmdline, const struct boot_initrd *initrd)
{
	struct boot_params *bp = guest_ptr(mem, LAYOUT_ZERO_PAGE, sizeof(*bp));
	size_t len = strlen(cmdline);
	char *cl = guest_ptr(mem, LAYOUT_CMDLINE, LAYOUT_CMDLINE_MAX);

	if (!bp || !cl) {
		log_err("zero page: guest RAM too small");
		return -EFAULT;
	}
	if (len >= LAYOUT_CMDLINE_MAX) {
		log_err("kernel command line: %zu bytes, the limit is %d", len, LAYOUT_CMDLINE_MAX - 1);
		return -E2BIG;
	}
	memcpy(cl, cmdline, len + 1);

	memset(bp, 0, sizeof(*bp));
	zp_fill_header(bp, img);
	bp->hdr.type_of_loader = ZP_LOADER_UNDEFINED;
	bp->hdr.loadflags |= LOADED_HIGH;
	bp->hdr.cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	bp->hdr.cmdline_size = LAYOUT_CMDLINE_MAX - 1;
	bp->hdr.ramdisk_image = (uint32_t)initrd->gpa;
	bp->hdr.ramdisk_size = (uint32_t)initrd->size;
	bp->ext_ramdisk_image = (uint32_t)(initrd->gpa >> 32);
	bp->ext_ramdisk_size = (uint32_t)(initrd->size >> 32);
	bp->e820_entries = (uint8_t)boot_e820_build(mem, bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	return 0;
}

int boot_initrd_place(const struct guest_mem *mem, const struct boot_image *img, uint64_t size,
		      gpa_t *gpa, struct err *e)
{
	gpa_t top = guest_mem_low_end(mem);

	if ((uint64_t)img->initrd_addr_max + 1 < top)
		top = (uint64_t)img->initrd_addr_max + 1;
	if (size > top || ((top - size) & ~0xfffULL) < img->end) {
		err_set(e, -ENOMEM, "initramfs: %llu bytes do not fit between the kernel and the "
			"top of RAM (try a larger --memory)", (unsigned long long)size);
		return -ENOMEM;
	}
	*gpa = (top - size) & ~0xfffULL;
	return 0;
}
