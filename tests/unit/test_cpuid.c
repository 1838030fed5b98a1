/* Per-vCPU CPUID: identity and topology, and no hypercall-based KVM features on PVM hosts. */
#include <asm/kvm_para.h>
#include <stdlib.h>

#include "../../core/vcpu.h"
#include "../harness.h"

#define ALL_KVM_FEATURES 0x0003ffffu	/* bits 0-17, what a recent KVM may offer */

/* Leaf 1 and KVM's feature leaf, as KVM_GET_SUPPORTED_CPUID would report them. */
static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 2 * sizeof(c->entries[0]));

	c->nent = 2;
	c->entries[0].function = 1;
	c->entries[0].ebx = 0xffff0800;	/* junk above the CLFLUSH size */
	c->entries[1].function = KVM_CPUID_FEATURES;
	c->entries[1].eax = ALL_KVM_FEATURES;
	c->entries[1].edx = 1u << KVM_HINTS_REALTIME;
	return c;
}

static void identity(void)
{
	struct kvm_cpuid2 *c = table();

	cpuid_patch_table(c, 3, 4, 0);
	CHECK_EQ(c->entries[0].ebx >> 24, 3);		/* initial APIC id */
	CHECK_EQ((c->entries[0].ebx >> 16) & 0xff, 4);	/* logical processors */
	CHECK_EQ(c->entries[0].ebx & 0xffff, 0x0800);
	CHECK(c->entries[0].ecx & (1u << 31));		/* hypervisor present */
	free(c);
}

/* Elsewhere VMCALL works, and PV IPIs save exits: KVM's leaf is passed on untouched. */
static void bare_metal_keeps_kvm_features(void)
{
	struct kvm_cpuid2 *c = table();

	cpuid_patch_table(c, 0, 4, 0);
	CHECK_EQ(c->entries[1].eax, ALL_KVM_FEATURES);
	CHECK_EQ(c->entries[1].edx, 1u << KVM_HINTS_REALTIME);
	free(c);
}

/* On PVM a guest-kernel VMCALL never completes: every feature used through one is hidden,
 * the MSR- and memory-based ones (kvm-clock, steal time, PV EOI, PV TLB flush) stay. */
static void pvm_hides_hypercall_features(void)
{
	struct kvm_cpuid2 *c = table();
	unsigned hypercalls = (1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_PV_SEND_IPI) |
			      (1u << KVM_FEATURE_PV_SCHED_YIELD) | (1u << KVM_FEATURE_HC_MAP_GPA_RANGE);

	cpuid_patch_table(c, 0, 4, 1);
	CHECK_EQ(c->entries[1].eax, ALL_KVM_FEATURES & ~hypercalls);
	CHECK(c->entries[1].eax & (1u << KVM_FEATURE_CLOCKSOURCE2));
	CHECK(c->entries[1].eax & (1u << KVM_FEATURE_STEAL_TIME));
	CHECK(c->entries[1].eax & (1u << KVM_FEATURE_PV_TLB_FLUSH));
	CHECK_EQ(c->entries[1].edx, 1u << KVM_HINTS_REALTIME);
	free(c);
}

HARNESS_MAIN(identity, bare_metal_keeps_kvm_features, pvm_hides_hypercall_features)
