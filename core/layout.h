/*
 * The one map of guest physical memory and I/O ports. Every fixed guest address lives here.
 *
 *   0x0000_0000  real-mode IVT/BDA (left zero)
 *   0x0000_1000  boot GDT
 *   0x0000_7000  zero page (struct boot_params)
 *   0x0000_8ff0  boot stack top (grows down; only used if the kernel calls before it sets up its own)
 *   0x0000_9000  PML4, then PDPT, then 4 page directories: identity map of the first 4 GiB
 *   0x0002_0000  kernel command line
 *   0x0009_fc00  MP table (last KiB of base memory: where Linux looks for it)
 *   0x000a_0000  legacy VGA/BIOS hole, e820-reserved up to 1 MiB
 *   0x0010_0000  bzImage protected-mode payload (a vmlinux loads at its own p_paddr, 16 MiB)
 *   ...          RAM; the initramfs sits at the top of low RAM
 *   0xc000_0000  MMIO hole up to 4 GiB: virtio-mmio devices, IOAPIC, LAPIC, KVM's TSS
 *   0x1_0000_0000 RAM above the hole, when the guest has more than 3 GiB
 */
#ifndef HVM_BOOT_LAYOUT_H
#define HVM_BOOT_LAYOUT_H

#define LAYOUT_GDT              0x1000ULL
#define LAYOUT_ZERO_PAGE        0x7000ULL
#define LAYOUT_BOOT_STACK       0x8ff0ULL
#define LAYOUT_PML4             0x9000ULL
#define LAYOUT_PDPT             0xa000ULL
#define LAYOUT_PD               0xb000ULL	/* 4 pages: 0xb000-0xefff */
#define LAYOUT_PD_COUNT         4		/* 4 x 1 GiB of 2 MiB pages */
#define LAYOUT_CMDLINE          0x20000ULL
#define LAYOUT_CMDLINE_MAX      2048		/* COMMAND_LINE_SIZE of x86 Linux */
#define LAYOUT_MPTABLE          0x9fc00ULL
#define LAYOUT_MPTABLE_MAX      0x400ULL
#define LAYOUT_BASE_MEM_END     0x9fc00ULL	/* usable RAM below the MP table */
#define LAYOUT_HIGH_MEM         0x100000ULL	/* 1 MiB: where bzImage payloads load */

/* Lowest RAM size that still holds the boot structures, a kernel and an initramfs. */
#define LAYOUT_MIN_RAM          (32ULL << 20)

#define LAYOUT_MMIO_HOLE        0xc0000000ULL
#define LAYOUT_4G               0x100000000ULL
#define LAYOUT_VIRTIO_MMIO      0xd0000000ULL	/* first virtio-mmio device, 4 KiB each */
#define LAYOUT_VIRTIO_MMIO_SIZE 0x1000ULL
/*
 * Interrupt lines for virtio-mmio devices, in device order: the free ISA lines, then IOAPIC
 * pins 16-23 (the MP table announces all 24 pins). 4 is COM1, 8 the RTC's, 0-2 the PIT/PIC's.
 */
#define LAYOUT_VIRTIO_IRQS      { 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 }
#define LAYOUT_IOAPIC_PINS      24
#define LAYOUT_IOAPIC           0xfec00000ULL
#define LAYOUT_LAPIC            0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xfeffc000ULL	/* KVM_SET_IDENTITY_MAP_ADDR: 1 page */
#define LAYOUT_KVM_TSS          0xfeffd000ULL	/* KVM_SET_TSS_ADDR: 3 pages */

/* Boot GDT selectors, as the Linux 64-bit boot protocol expects (__BOOT_CS, __BOOT_DS). */
#define LAYOUT_BOOT_CS          0x10
#define LAYOUT_BOOT_DS          0x18

/* I/O ports. */
#define PORT_I8042_DATA         0x60
#define PORT_I8042_CMD          0x64
#define PORT_COM1               0x3f8
#define PORT_COM1_IRQ           4
/* Boot timer: the agent writes one byte here when it is ready to run the command. */
#define PORT_BOOT_TIMER         0x440

#endif
