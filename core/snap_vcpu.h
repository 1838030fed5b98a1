/*
 * What KVM holds for a vCPU and for the VM around it (irqchip, PIT, clock), read out of a
 * stopped VM and written into a new one: the processor half of a snapshot (docs/snapshot.md).
 * The records are plain structs, stored as they are in the snapshot's state file.
 */
#ifndef HVM_SNAP_VCPU_H
#define HVM_SNAP_VCPU_H

#include <linux/kvm.h>
#include <stdint.h>

struct vcpu;
struct vm;

#define SNAP_MAX_MSRS  256	/* KVM 6.1 lists about 120 saveable MSRs */
#define SNAP_XSAVE_MAX 16384	/* KVM_GET_XSAVE2's size with every state component */

/* One vCPU: in the order snap_vcpu_load writes it back. */
struct snap_vcpu {
	struct kvm_mp_state mp_state;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	uint32_t nmsrs;
	uint32_t xsave_len;		/* bytes of xsave used: 4096, or KVM_CAP_XSAVE2's size */
	struct kvm_msr_entry msrs[SNAP_MAX_MSRS];
	uint8_t xsave[SNAP_XSAVE_MAX];	/* struct kvm_xsave, grown as KVM_GET_XSAVE2 wants */
};

/* The VM's in-kernel devices and clock. */
struct snap_vm {
	struct kvm_irqchip pic_master, pic_slave, ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* The list of MSRs KVM can save (KVM_GET_MSR_INDEX_LIST) into idx; their count or -errno. */
int snap_msr_list(int kvm_fd, uint32_t *idx, unsigned cap);

/* Reads vCPU's state (its thread parked, its last exit completed); 0 or -errno (logged). */
int snap_vcpu_save(struct vcpu *vcpu, const uint32_t *msr_idx, unsigned nmsr, struct snap_vcpu *s);

/* Writes s into a created, not yet started vCPU; 0 or -errno (logged). */
int snap_vcpu_load(struct vcpu *vcpu, const struct snap_vcpu *s);

/* Reads the VM's irqchip, PIT and clock (vCPUs parked); 0 or -errno (logged). */
int snap_vm_save(struct vm *vm, struct snap_vm *s);

/* Writes them into a new VM before its vCPUs start; 0 or -errno (logged). */
int snap_vm_load(struct vm *vm, const struct snap_vm *s);

#endif
