/* bzImage loader: the protected-mode payload goes to 1 MiB and is entered at its 64-bit entry. */
#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "image.h"
#include "../core/layout.h"
#include "../core/err.h"

#define BZ_HDR_OFFSET   0x1f1		/* struct setup_header inside the file and the zero page */
#define BZ_ENTRY64      0x200		/* 64-bit entry, relative to the payload start */
#define BZ_MIN_VERSION  0x020c		/* 2.12: first protocol with xloadflags */

int boot_bzimage_parse(const uint8_t *file, size_t size, gpa_t low_end, const char *name,
		       struct boot_image *img, struct err *e)
{
	struct setup_header hdr;
	const char *why = NULL;

	if (size < BZ_HDR_OFFSET + sizeof(hdr)) {
		err_set(e, -ENOEXEC, "%s: truncated bzImage header", name);
		return -ENOEXEC;
	}
	memcpy(&hdr, file + BZ_HDR_OFFSET, sizeof(hdr));
	size_t setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
	size_t payload_off = (setup_sects + 1) * 512;
	/* The header ends at 0x202 + the jump offset stored in its second byte. */
	size_t hdr_len = 0x202 + file[0x201] - BZ_HDR_OFFSET;
	uint64_t mem_size = size - payload_off;

	if (hdr.boot_flag != 0xaa55)
		why = "bad boot flag";
	else if (hdr.version < BZ_MIN_VERSION)
		why = "boot protocol older than 2.12";
	else if (!(hdr.xloadflags & XLF_KERNEL_64))
		why = "no 64-bit entry point";
	else if (payload_off >= size)
		why = "setup sectors extend past the end of the file";
	else if (hdr_len > sizeof(img->setup_header) || hdr_len > sizeof(hdr))
		why = "setup header too long";
	if (!why) {
		if (hdr.init_size > mem_size)
			mem_size = hdr.init_size;
		if (LAYOUT_HIGH_MEM + mem_size > low_end)
			why = "does not fit in guest RAM (try a larger --memory)";
	}
	if (why) {
		err_set(e, -ENOEXEC, "%s: bzImage: %s", name, why);
		return -ENOEXEC;
	}

	img->kind = BOOT_BZIMAGE;
	img->entry = LAYOUT_HIGH_MEM + BZ_ENTRY64;
	img->end = LAYOUT_HIGH_MEM + mem_size;
	img->initrd_addr_max = hdr.initrd_addr_max;
	img->nseg = 1;
	img->seg[0] = (struct boot_segment){
		.file_off = payload_off, .file_size = size - payload_off,
		.gpa = LAYOUT_HIGH_MEM, .mem_size = mem_size,
	};
	img->setup_header_len = hdr_len;
	memcpy(img->setup_header, file + BZ_HDR_OFFSET, hdr_len);
	return 0;
}
