/* Kernel image parsing: a good vmlinux, and each way a file can be corrupt or not fit. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../boot/image.h"
#include "../../core/layout.h"
#include "../harness.h"

#define RAM_END (128ULL << 20)
#define FILE_SIZE 0x3000

struct fake_elf {
	uint8_t bytes[FILE_SIZE];
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
};

/* Two PT_LOADs (text at 16 MiB, data+bss after) and a PT_NOTE, like a real vmlinux. */
static void fake_elf_init(struct fake_elf *f)
{
	memset(f->bytes, 0, sizeof(f->bytes));
	f->eh = (Elf64_Ehdr *)f->bytes;
	f->ph = (Elf64_Phdr *)(f->bytes + sizeof(Elf64_Ehdr));
	memcpy(f->eh->e_ident, ELFMAG, SELFMAG);
	f->eh->e_ident[EI_CLASS] = ELFCLASS64;
	f->eh->e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh->e_type = ET_EXEC;
	f->eh->e_machine = EM_X86_64;
	f->eh->e_entry = 0x1000000;
	f->eh->e_phoff = sizeof(Elf64_Ehdr);
	f->eh->e_phentsize = sizeof(Elf64_Phdr);
	f->eh->e_phnum = 3;
	f->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = 0x1000000,
				 .p_filesz = 0x1000, .p_memsz = 0x1000 };
	f->ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x100, .p_filesz = 0x10 };
	f->ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x2000, .p_paddr = 0x1001000,
				 .p_filesz = 0x800, .p_memsz = 0x5000 };
}

static int parse(struct fake_elf *f, size_t size, struct boot_image *img)
{
	return boot_image_parse(f->bytes, size, RAM_END, "test-kernel", img, NULL);
}

static void good_vmlinux(void)
{
	struct fake_elf f;
	struct boot_image img;

	fake_elf_init(&f);
	CHECK_EQ(parse(&f, sizeof(f.bytes), &img), 0);
	CHECK_EQ(img.kind, BOOT_VMLINUX);
	CHECK_EQ(img.entry, 0x1000000);
	CHECK_EQ(img.nseg, 2);
	CHECK_EQ(img.seg[0].gpa, 0x1000000);
	CHECK_EQ(img.seg[0].file_off, 0x1000);
	CHECK_EQ(img.seg[1].file_size, 0x800);
	CHECK_EQ(img.seg[1].mem_size, 0x5000);
	CHECK_EQ(img.end, 0x1006000);
}

/* Applies one corruption and expects -ENOEXEC. */
static void expect_reject(void (*corrupt)(struct fake_elf *), size_t size)
{
	struct fake_elf f;
	struct boot_image img;

	fake_elf_init(&f);
	if (corrupt)
		corrupt(&f);
	CHECK_EQ(parse(&f, size, &img), -ENOEXEC);
}

static void c_class32(struct fake_elf *f) { f->eh->e_ident[EI_CLASS] = ELFCLASS32; }
static void c_machine(struct fake_elf *f) { f->eh->e_machine = EM_AARCH64; }
static void c_type(struct fake_elf *f) { f->eh->e_type = ET_DYN; }
static void c_phoff(struct fake_elf *f) { f->eh->e_phoff = FILE_SIZE - 8; }
static void c_phnum(struct fake_elf *f) { f->eh->e_phnum = 0; }
static void c_phentsize(struct fake_elf *f) { f->eh->e_phentsize = 12; }
static void c_past_eof(struct fake_elf *f) { f->ph[2].p_filesz = FILE_SIZE; }
static void c_offset_wrap(struct fake_elf *f) { f->ph[0].p_offset = UINT64_MAX - 0x10; }
static void c_filesz(struct fake_elf *f) { f->ph[0].p_memsz = 0x10; }
static void c_low(struct fake_elf *f) { f->ph[0].p_paddr = 0x7000; }
static void c_too_big(struct fake_elf *f) { f->ph[2].p_memsz = RAM_END; }
static void c_paddr_wrap(struct fake_elf *f) { f->ph[2].p_paddr = UINT64_MAX - 0x100; }
static void c_entry(struct fake_elf *f) { f->eh->e_entry = 0x5000000; }
static void c_no_load(struct fake_elf *f) { f->ph[0].p_type = PT_NULL; f->ph[2].p_type = PT_NULL; }

static void corrupt_files_rejected(void)
{
	void (*const corruptions[])(struct fake_elf *) = {
		c_class32, c_machine, c_type, c_phoff, c_phnum, c_phentsize, c_past_eof,
		c_offset_wrap, c_filesz, c_low, c_too_big, c_paddr_wrap, c_entry, c_no_load,
	};

	for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++)
		expect_reject(corruptions[i], FILE_SIZE);
	expect_reject(NULL, 40);	/* truncated header */
}

static void not_a_kernel(void)
{
	static const char text[] = "root:x:0:0:root:/root:/bin/bash\n";
	struct boot_image img;

	CHECK_EQ(boot_image_parse((const uint8_t *)text, sizeof(text), RAM_END, "passwd", &img,
				  NULL), -ENOEXEC);
	CHECK_EQ(boot_image_parse((const uint8_t *)"\177ELF", 4, RAM_END, "stub", &img, NULL),
		 -ENOEXEC);
}

/* Random bytes behind an ELF magic, as the acceptance test's junk file: never accepted. */
static void random_junk(void)
{
	static uint8_t junk[100000];
	struct boot_image img;

	srand(1);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)rand();
		memcpy(junk, ELFMAG, SELFMAG);
		CHECK_EQ(boot_image_parse(junk, sizeof(junk), RAM_END, "junk", &img, NULL),
			 -ENOEXEC);
	}
}

/* The real HyperKernel, when it has been built: it must parse and fit 32 MiB. */
static void built_vmlinux(void)
{
	int fd = open("build/vmlinux", O_RDONLY);
	struct boot_image img;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	const uint8_t *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK_EQ(boot_image_parse(p, (size_t)st.st_size, LAYOUT_MIN_RAM, "build/vmlinux", &img,
				  NULL), 0);
	CHECK_EQ(img.kind, BOOT_VMLINUX);
	CHECK(img.entry >= LAYOUT_HIGH_MEM);
	munmap((void *)p, (size_t)st.st_size);
	close(fd);
}

HARNESS_MAIN(good_vmlinux, corrupt_files_rejected, not_a_kernel, random_junk, built_vmlinux)
