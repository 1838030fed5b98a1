/* bzImage parsing: the setup header decides where the payload goes and where it is entered. */
#include <asm/bootparam.h>
#include <errno.h>

#include "../../boot/image.h"
#include "../../core/layout.h"
#include "../harness.h"

#define RAM_END (128ULL << 20)

static uint8_t file[64 * 1024];

static struct setup_header *fake_bzimage(void)
{
	struct setup_header *h = (struct setup_header *)(file + 0x1f1);

	memset(file, 0, sizeof(file));
	h->setup_sects = 3;
	h->boot_flag = 0xaa55;
	h->jump = 0x66eb;		/* jmp over the header: file[0x201] = 0x66 */
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020f;
	h->xloadflags = XLF_KERNEL_64;
	h->initrd_addr_max = 0x7fffffff;
	h->init_size = 0x200000;
	return h;
}

static void good_bzimage(void)
{
	struct boot_image img;

	fake_bzimage();
	CHECK_EQ(boot_image_parse(file, sizeof(file), RAM_END, "bz", &img, NULL), 0);
	CHECK_EQ(img.kind, BOOT_BZIMAGE);
	CHECK_EQ(img.entry, LAYOUT_HIGH_MEM + 0x200);
	CHECK_EQ(img.nseg, 1);
	CHECK_EQ(img.seg[0].file_off, 4 * 512);
	CHECK_EQ(img.seg[0].file_size, sizeof(file) - 4 * 512);
	CHECK_EQ(img.seg[0].mem_size, 0x200000);	/* init_size: room to decompress */
	CHECK_EQ(img.end, LAYOUT_HIGH_MEM + 0x200000);
	CHECK_EQ(img.setup_header_len, 0x202 + 0x66 - 0x1f1);
	CHECK_EQ(img.setup_header[0], 3);
}

static void bad_bzimages(void)
{
	struct boot_image img;

	fake_bzimage()->version = 0x0204;
	CHECK_EQ(boot_image_parse(file, sizeof(file), RAM_END, "old", &img, NULL), -ENOEXEC);
	fake_bzimage()->xloadflags = 0;
	CHECK_EQ(boot_image_parse(file, sizeof(file), RAM_END, "32-bit only", &img, NULL),
		 -ENOEXEC);
	fake_bzimage()->boot_flag = 0;
	CHECK_EQ(boot_image_parse(file, sizeof(file), RAM_END, "no flag", &img, NULL), -ENOEXEC);
	fake_bzimage()->setup_sects = 200;
	CHECK_EQ(boot_image_parse(file, sizeof(file), RAM_END, "setup past EOF", &img, NULL),
		 -ENOEXEC);
	fake_bzimage()->init_size = 0xffffffff;
	CHECK_EQ(boot_image_parse(file, sizeof(file), RAM_END, "too big", &img, NULL), -ENOEXEC);
	fake_bzimage();
	CHECK_EQ(boot_image_parse(file, 0x1f1 + 10, RAM_END, "truncated", &img, NULL), -ENOEXEC);
}

HARNESS_MAIN(good_bzimage, bad_bzimages)
