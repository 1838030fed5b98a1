#include "image.h"

#include <errno.h>
#include <string.h>

#include "../core/err.h"

int boot_image_parse(const uint8_t *file, size_t size, gpa_t low_end, const char *name,
		     struct boot_image *img, struct err *e)
{
	memset(img, 0, sizeof(*img));
	if (size >= 4 && memcmp(file, "\177ELF", 4) == 0)
		return boot_elf_parse(file, size, low_end, name, img, e);
	if (size >= 0x206 && memcmp(file + 0x202, "HdrS", 4) == 0)
		return boot_bzimage_parse(file, size, low_end, name, img, e);
	err_set(e, -ENOEXEC, "%s: not a kernel (neither an ELF vmlinux nor a bzImage)", name);
	return -ENOEXEC;
}
