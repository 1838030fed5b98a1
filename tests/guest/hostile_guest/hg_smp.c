/*
 * A second vCPU for the hostile guest: INIT-SIPI-SIPI through the local APIC, a real-mode
 * trampoline that goes straight to long mode on the VMM's boot GDT and page tables, and a
 * loop that runs whatever job the boot vCPU hands it. Lets two vCPUs write one device's
 * registers at once, which a single-CPU guest cannot.
 */
#include "hg.h"

#define TRAMPOLINE 0x10000ULL	/* below 1 MiB, page-aligned, free (core/layout.h) */
#define LAPIC      0xfee00000ULL
#define LAPIC_SVR  0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

/*
 * The trampoline, copied to TRAMPOLINE: the AP starts in real mode at CS = TRAMPOLINE >> 4,
 * IP 0. PAE, the boot PML4 (0x9000), EFER.LME, then PE and PG at once and a far jump to the
 * boot GDT's 64-bit code selector (0x10, boot/cpu.c): no 32-bit step is needed.
 */
__asm__(".section .text\n"
	".globl hg_tramp_start, hg_tramp_end\n"
	".code16\n"
	"hg_tramp_start:\n"
	"	cli\n"
	"	mov %cs, %ax\n"
	"	mov %ax, %ds\n"
	"	lgdtl (hg_tramp_gdt - hg_tramp_start)\n"
	"	mov $0x20, %eax\n"		/* CR4.PAE */
	"	mov %eax, %cr4\n"
	"	mov $0x9000, %eax\n"		/* LAYOUT_PML4 */
	"	mov %eax, %cr3\n"
	"	mov $0xc0000080, %ecx\n"	/* EFER */
	"	rdmsr\n"
	"	or $0x100, %eax\n"		/* LME */
	"	wrmsr\n"
	"	mov $0x80000011, %eax\n"	/* PG, ET, PE */
	"	mov %eax, %cr0\n"
	"	ljmpl $0x10, $(0x10000 + hg_tramp_64 - hg_tramp_start)\n"
	".code64\n"
	"hg_tramp_64:\n"
	"	mov $0x18, %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %ss\n"
	"	movabs $hg_ap_stack_top, %rsp\n"
	"	movabs $hg_ap_main, %rax\n"
	"	call *%rax\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	"hg_tramp_gdt:\n"
	"	.word 39\n"			/* the boot GDT: 5 entries */
	"	.long 0x1000\n"			/* LAYOUT_GDT */
	"hg_tramp_end:\n");

extern const uint8_t hg_tramp_start[], hg_tramp_end[];
static uint8_t hg_ap_stack[16384] __attribute__((aligned(16), used));
__asm__(".set hg_ap_stack_top, hg_ap_stack + 16384");

static void (*volatile ap_job)(void *);
static void *volatile ap_arg;
static volatile int ap_alive, ap_posted, ap_done;

void hg_ap_main(void);

/* The AP's C half: runs the one job the boot vCPU posts, says so, and halts for good (no
 * spinning: the host has few CPUs, and the boot vCPU's reset ends the machine anyway). */
void hg_ap_main(void)
{
	ap_alive = 1;
	while (!ap_posted)
		__asm__ volatile("pause");
	barrier();	/* the job and its argument were written before ap_posted */
	ap_job(ap_arg);
	barrier();	/* the job's effects before the done mark */
	ap_done = 1;
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void lapic_wr(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC + reg) = v;
}

static uint32_t lapic_rd(unsigned reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC + reg);
}

int hg_smp_start(void)
{
	memcpy((void *)(uintptr_t)TRAMPOLINE, hg_tramp_start, (size_t)(hg_tramp_end - hg_tramp_start));
	lapic_wr(LAPIC_SVR, lapic_rd(LAPIC_SVR) | 0x1ff);	/* software-enabled */
	lapic_wr(LAPIC_ICR_HI, 1u << 24);			/* APIC id 1: the second vCPU */
	lapic_wr(LAPIC_ICR_LO, 0x4500);				/* INIT, assert */
	hg_delay_ms(10);
	for (int i = 0; i < 2; i++) {
		lapic_wr(LAPIC_ICR_HI, 1u << 24);
		lapic_wr(LAPIC_ICR_LO, 0x4600 | (uint32_t)(TRAMPOLINE >> 12));	/* SIPI */
		hg_delay_ms(1);
	}
	for (unsigned ms = 0; ms < 1000 && !ap_alive; ms++)
		hg_delay_ms(1);
	return ap_alive;
}

void hg_smp_post(void (*job)(void *), void *arg)
{
	ap_job = job;
	ap_arg = arg;
	barrier();	/* job and argument before the flag that publishes them */
	ap_posted = 1;
}

int hg_smp_done(void)
{
	return ap_done;
}
