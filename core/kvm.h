/* The host's KVM: /dev/kvm opened, its API version and every capability hvm uses checked. */
#ifndef HVM_KVM_H
#define HVM_KVM_H

#include <linux/kvm.h>
#include <stddef.h>

#include "err.h"

struct kvm {
	int fd;
	int vcpu_mmap_size;	/* size of each vCPU's struct kvm_run mapping */
	int max_vcpus;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID, the base every vCPU's CPUID starts from */
};

/* Opens path (normally /dev/kvm) and checks it; returns 0 or -errno with the missing piece in
 * e. */
int kvm_open(struct kvm *kvm, const char *path, struct err *e);

/* Releases what kvm_open acquired. */
void kvm_close(struct kvm *kvm);

/* The i-th capability kvm_open requires: its name, its number in *cap; NULL past the end. */
const char *kvm_required_cap(size_t i, int *cap);

/* Returns 1 when the host's KVM is the nested PVM kind (guest ring 0 emulated), else 0. */
int kvm_host_is_pvm(void);

#endif
