#include "cpu.h"

#include <errno.h>
#include <string.h>

#include "../core/layout.h"
#include "../core/log.h"
#include "../core/vcpu.h"

#define X86_CR0_PE   (1ULL << 0)
#define X86_CR0_ET   (1ULL << 4)
#define X86_CR0_PG   (1ULL << 31)
#define X86_CR4_PAE  (1ULL << 5)
#define EFER_LME     (1ULL << 8)
#define EFER_LMA     (1ULL << 10)
#define PTE_PRESENT  (1ULL << 0)
#define PTE_WRITE    (1ULL << 1)
#define PTE_HUGE     (1ULL << 7)

/* GDT descriptors: flags/limit/base packed as the CPU reads them. */
#define GDT_ENTRY(flags, base, limit)					\
	((((base) & 0xff000000ULL) << 32) | (((flags) & 0xf0ffULL) << 40) |	\
	 (((limit) & 0xf0000ULL) << 32) | (((base) & 0x00ffffffULL) << 16) |	\
	 ((limit) & 0xffffULL))

enum { GDT_NULL, GDT_UNUSED, GDT_CODE64, GDT_DATA, GDT_TSS, GDT_COUNT };

static const uint64_t boot_gdt[GDT_COUNT] = {
	[GDT_CODE64] = GDT_ENTRY(0xa09b, 0, 0xfffff),	/* 64-bit code, present, exec/read */
	[GDT_DATA]   = GDT_ENTRY(0xc093, 0, 0xfffff),	/* 32-bit flat data, read/write */
	[GDT_TSS]    = GDT_ENTRY(0x008b, 0, 0xfffff),	/* busy TSS: VM entry wants a valid TR */
};

int boot_cpu_tables_write(const struct guest_mem *mem)
{
	uint64_t *gdt = guest_ptr(mem, LAYOUT_GDT, sizeof(boot_gdt));
	uint64_t *pml4 = guest_ptr(mem, LAYOUT_PML4, 0x1000);
	uint64_t *pdpt = guest_ptr(mem, LAYOUT_PDPT, 0x1000);
	uint64_t *pd = guest_ptr(mem, LAYOUT_PD, 0x1000 * LAYOUT_PD_COUNT);

	if (!gdt || !pml4 || !pdpt || !pd) {
		log_err("boot page tables: guest RAM too small");
		return -EFAULT;
	}
	memcpy(gdt, boot_gdt, sizeof(boot_gdt));
	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_WRITE;
	for (int i = 0; i < LAYOUT_PD_COUNT; i++)
		pdpt[i] = (LAYOUT_PD + 0x1000ULL * i) | PTE_PRESENT | PTE_WRITE;
	/* 2 MiB pages: no 1 GiB-page CPUID dependency, 16 KiB of tables for 4 GiB. */
	for (uint64_t i = 0; i < 512ULL * LAYOUT_PD_COUNT; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
	return 0;
}

static struct kvm_segment boot_segment(unsigned index)
{
	uint64_t d = boot_gdt[index];

	return (struct kvm_segment){
		.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24),
		.limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16)),
		.selector = (uint16_t)(index * 8),
		.type = (d >> 40) & 0xf,
		.s = (d >> 44) & 1,
		.dpl = (d >> 45) & 3,
		.present = (d >> 47) & 1,
		.avl = (d >> 52) & 1,
		.l = (d >> 53) & 1,
		.db = (d >> 54) & 1,
		.g = (d >> 55) & 1,
	};
}

void boot_cpu_sregs(struct kvm_sregs *sregs)
{
	struct kvm_segment code = boot_segment(GDT_CODE64), data = boot_segment(GDT_DATA);

	/* kvm_segment.limit is in bytes; the descriptor's is in 4 KiB units when G is set. */
	code.limit = data.limit = 0xffffffff;
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = boot_segment(GDT_TSS);
	sregs->tr.limit = 0xffffffff;
	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = sizeof(boot_gdt) - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	sregs->cr3 = LAYOUT_PML4;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}

void boot_cpu_regs(struct kvm_regs *regs, gpa_t entry)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2;	/* bit 1 is reserved-one; IF clear */
	regs->rip = entry;
	regs->rsi = LAYOUT_ZERO_PAGE;
	regs->rsp = LAYOUT_BOOT_STACK;
	regs->rbp = LAYOUT_BOOT_STACK;
}

int boot_cpu_set_state(struct vcpu *vcpu, gpa_t entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int err = vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");

	if (err)
		return err;
	boot_cpu_sregs(&sregs);
	err = vcpu_ioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	if (err)
		return err;
	boot_cpu_regs(&regs, entry);
	return vcpu_ioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}
