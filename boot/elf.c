/* vmlinux loader: every PT_LOAD is checked against the file size and guest RAM. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "image.h"
#include "../core/layout.h"
#include "../core/err.h"

#define ELF_MAX_PHDRS 64

static int elf_check_header(const Elf64_Ehdr *eh, size_t size, const char *name,
			    struct err *e)
{
	const char *why = NULL;

	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		why = "not a 64-bit ELF";
	else if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		why = "not little-endian";
	else if (eh->e_machine != EM_X86_64)
		why = "not an x86-64 ELF";
	else if (eh->e_type != ET_EXEC)
		why = "not an executable ELF";
	else if (eh->e_phentsize != sizeof(Elf64_Phdr))
		why = "bad program header size";
	else if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS)
		why = "bad program header count";
	else if (eh->e_phoff > size || size - eh->e_phoff < (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))
		why = "program headers extend past the end of the file";
	else if (eh->e_phoff % 8)
		why = "misaligned program headers";
	if (why) {
		err_set(e, -ENOEXEC, "%s: %s", name, why);
		return -ENOEXEC;
	}
	return 0;
}

static int elf_add_segment(const Elf64_Phdr *ph, unsigned idx, size_t size, gpa_t low_end,
			   const char *name, struct boot_image *img, struct err *e)
{
	const char *why = NULL;

	if (ph->p_offset > size || size - ph->p_offset < ph->p_filesz)
		why = "extends past the end of the file";
	else if (ph->p_filesz > ph->p_memsz)
		why = "file size larger than memory size";
	else if (ph->p_paddr < LAYOUT_HIGH_MEM)
		why = "loads below 1 MiB, over the boot structures";
	else if (ph->p_paddr >= low_end || low_end - ph->p_paddr < ph->p_memsz)
		why = "does not fit in guest RAM (try a larger --memory)";
	else if (img->nseg == BOOT_MAX_SEGMENTS)
		why = "too many loadable segments";
	if (why) {
		err_set(e, -ENOEXEC, "%s: PT_LOAD %u at 0x%llx: %s", name, idx,
			(unsigned long long)ph->p_paddr, why);
		return -ENOEXEC;
	}
	img->seg[img->nseg++] = (struct boot_segment){
		.file_off = ph->p_offset, .file_size = ph->p_filesz,
		.gpa = ph->p_paddr, .mem_size = ph->p_memsz,
	};
	if (ph->p_paddr + ph->p_memsz > img->end)
		img->end = ph->p_paddr + ph->p_memsz;
	return 0;
}

static int elf_entry_is_loaded(const struct boot_image *img)
{
	for (unsigned i = 0; i < img->nseg; i++)
		if (img->entry >= img->seg[i].gpa && img->entry - img->seg[i].gpa < img->seg[i].file_size)
			return 1;
	return 0;
}

int boot_elf_parse(const uint8_t *file, size_t size, gpa_t low_end, const char *name,
		   struct boot_image *img, struct err *e)
{
	Elf64_Ehdr eh;
	int err;

	if (size < sizeof(eh)) {
		err_set(e, -ENOEXEC, "%s: truncated ELF header", name);
		return -ENOEXEC;
	}
	memcpy(&eh, file, sizeof(eh));
	err = elf_check_header(&eh, size, name, e);
	if (err)
		return err;

	img->kind = BOOT_VMLINUX;
	img->entry = eh.e_entry;
	img->initrd_addr_max = 0x7fffffff;	/* any 64-bit kernel takes an initramfs below 2 GiB */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, file + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		err = elf_add_segment(&ph, i, size, low_end, name, img, e);
		if (err)
			return err;
	}
	if (img->nseg == 0) {
		err_set(e, -ENOEXEC, "%s: no loadable segments", name);
		return -ENOEXEC;
	}
	if (!elf_entry_is_loaded(img)) {
		err_set(e, -ENOEXEC, "%s: entry point 0x%llx is not inside a loaded segment", name,
			(unsigned long long)img->entry);
		return -ENOEXEC;
	}
	return 0;
}
