/* CPU state for the 64-bit boot protocol: GDT, identity page tables, registers. */
#ifndef HVM_BOOT_CPU_H
#define HVM_BOOT_CPU_H

#include <linux/kvm.h>

#include "../core/guest_mem.h"

struct vcpu;

/* Writes the boot GDT and page tables identity-mapping the first 4 GiB; 0 or -EFAULT. */
int boot_cpu_tables_write(const struct guest_mem *mem);

/* Sets long mode, paging and flat segments from the boot GDT into sregs (others kept). */
void boot_cpu_sregs(struct kvm_sregs *sregs);

/* Registers at the 64-bit entry: RIP = entry, RSI = zero page, interrupts off. */
void boot_cpu_regs(struct kvm_regs *regs, gpa_t entry);

/* Puts the boot vCPU at the 64-bit kernel entry (long mode, flat segments); 0 or -errno. */
int boot_cpu_set_state(struct vcpu *vcpu, gpa_t entry);

#endif
