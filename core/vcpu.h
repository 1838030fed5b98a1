/* A vCPU: its KVM file, its kvm_run page, its thread and the run loop. */
#ifndef HVM_VCPU_H
#define HVM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>

#include "guest_mem.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;		/* also its APIC id */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int thread_started;
};

/* Creates vCPU `id` with CPUID, MSRs, FPU and LAPIC set up; 0 or -errno (logged). */
int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned id);

/* One ioctl on the vCPU's file; on failure logs "vCPU N: what: why"; 0 or -errno. */
int vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg, const char *what);

/* Starts the vCPU's thread, which runs the guest until the VM stops; 0 or -errno. */
int vcpu_start(struct vcpu *vcpu);

/* Makes the vCPU leave KVM_RUN promptly (used by vm_stop); safe from any thread. */
void vcpu_kick(struct vcpu *vcpu);

/* Waits for the vCPU's thread, if it was started. */
void vcpu_join(struct vcpu *vcpu);

/* Releases the vCPU's file and mapping. */
void vcpu_destroy(struct vcpu *vcpu);

/* Sets up this vCPU's CPUID from what KVM supports (APIC id, topology, hypervisor bit). */
int cpuid_setup(struct vcpu *vcpu);

/* Turns KVM's supported CPUID into vCPU `id`'s of `n`: APIC id, topology, hypervisor bit; on a
 * PVM host (`pvm`) no KVM paravirt feature that needs a hypercall. Pure; unit-tested. */
void cpuid_patch_table(struct kvm_cpuid2 *cpuid, unsigned id, unsigned n, int pvm);

#endif
