/* Kernel images: parse a vmlinux (ELF64) or a bzImage into a load plan, then place it in RAM. */
#ifndef HVM_BOOT_IMAGE_H
#define HVM_BOOT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/guest_mem.h"

#define BOOT_MAX_SEGMENTS 8
#define BOOT_SETUP_HEADER_MAX 0x80

enum boot_kind { BOOT_VMLINUX, BOOT_BZIMAGE };

struct boot_segment {
	uint64_t file_off;	/* where the bytes start in the file */
	uint64_t file_size;	/* bytes copied from the file */
	gpa_t gpa;		/* where they go */
	uint64_t mem_size;	/* bytes occupied in RAM; the tail past file_size is zero */
};

struct boot_image {
	enum boot_kind kind;
	gpa_t entry;				/* 64-bit entry point */
	gpa_t end;				/* first byte above everything the kernel occupies */
	uint32_t initrd_addr_max;		/* highest address the initramfs may end at */
	unsigned nseg;
	struct boot_segment seg[BOOT_MAX_SEGMENTS];
	size_t setup_header_len;		/* bzImage: bytes of setup header to copy */
	uint8_t setup_header[BOOT_SETUP_HEADER_MAX];
};

/*
 * Checks `file` (size bytes, named `name` in messages) and fills a load plan that fits in
 * RAM below low_end. Returns 0, or -ENOEXEC with why the file is not a usable kernel in e.
 */
int boot_image_parse(const uint8_t *file, size_t size, gpa_t low_end, const char *name,
		     struct boot_image *img, struct err *e);

/* ELF64 x86-64 vmlinux; same contract as boot_image_parse. */
int boot_elf_parse(const uint8_t *file, size_t size, gpa_t low_end, const char *name,
		   struct boot_image *img, struct err *e);

/* bzImage with a 64-bit entry (boot protocol 2.12+); same contract as boot_image_parse. */
int boot_bzimage_parse(const uint8_t *file, size_t size, gpa_t low_end, const char *name,
		       struct boot_image *img, struct err *e);

#endif
