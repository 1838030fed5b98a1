/*
 * The kernel loaders (ELF vmlinux and bzImage) over hostile files: whatever boot_image_parse
 * accepts must load exactly as vmm/machine.c would, inside the file and inside guest RAM,
 * and the zero page and initramfs placement that follow must cope with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../boot/image.h"
#include "../../boot/zeropage.h"
#include "../../core/log.h"

#define RAM (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static struct guest_mem mem;

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_boot_image: %s\n", why);
	abort();
}

/* Places the segments as machine_load_kernel does; every one must be inside file and RAM. */
static void load(const uint8_t *file, size_t size, const struct boot_image *img)
{
	if (img->nseg == 0 || img->nseg > BOOT_MAX_SEGMENTS)
		fail("accepted with no or too many segments");
	if (img->setup_header_len > BOOT_SETUP_HEADER_MAX)
		fail("setup header longer than its buffer");
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct boot_segment *s = &img->seg[i];
		uint8_t *dst = guest_ptr(&mem, s->gpa, s->mem_size);

		if (s->file_off > size || s->file_size > size - s->file_off)
			fail("segment outside the file");
		if (!dst || s->gpa + s->mem_size > guest_mem_low_end(&mem))
			fail("segment outside low RAM");
		if (s->file_size > s->mem_size)
			fail("segment's file part larger than its memory");
		memcpy(dst, file + s->file_off, s->file_size);
		memset(dst + s->file_size, 0, s->mem_size - s->file_size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_image img;
	struct boot_initrd initrd = { .size = 4096 };

	if (!ram) {
		ram = calloc(1, RAM);
		guest_mem_init(&mem, ram, RAM);
		log_set_level(LOG_ERROR);	/* rejected files still log errors: run.sh closes stderr */
	}
	if (boot_image_parse(data, size, guest_mem_low_end(&mem), "fuzz", &img, NULL) < 0)
		return 0;
	load(data, size, &img);
	if (boot_initrd_place(&mem, &img, initrd.size, &initrd.gpa, NULL) < 0)
		initrd.size = 0;
	else if (!guest_ptr(&mem, initrd.gpa, initrd.size) || initrd.gpa < img.end)
		fail("initramfs placed outside RAM or over the kernel");
	boot_zeropage_write(&mem, &img, "console=ttyS0 quiet", &initrd);
	return 0;
}
