/* Intel MultiProcessor Specification 1.4 table: how a kernel without ACPI finds CPUs and IRQs. */
#ifndef HVM_BOOT_MPTABLE_H
#define HVM_BOOT_MPTABLE_H

#include "../core/guest_mem.h"

/* Most CPUs whose entries fit in the space layout.h reserves for the table. */
#define MPTABLE_MAX_CPUS 32

/* Writes the floating pointer and configuration table at LAYOUT_MPTABLE; 0, -EINVAL, -EFAULT. */
int boot_mptable_write(const struct guest_mem *mem, unsigned ncpus);

#endif
