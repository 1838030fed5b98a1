#include "snap_vcpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kvm.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"

/* One ioctl on fd; 0 or -errno, logged as "what: why" with the vCPU (or -1: the VM). */
static int snap_ioctl(int fd, unsigned long req, void *arg, int id, const char *what)
{
	if (ioctl(fd, req, arg) < 0) {
		int err = -errno;
		if (id >= 0)
			log_err("snapshot: vCPU %d: %s: %s", id, what, strerror(errno));
		else
			log_err("snapshot: %s: %s", what, strerror(errno));
		return err;
	}
	return 0;
}

int snap_msr_list(int kvm_fd, uint32_t *idx, unsigned cap)
{
	struct kvm_msr_list *l = malloc(sizeof(*l) + cap * sizeof(uint32_t));
	int n;

	if (!l)
		return -ENOMEM;
	l->nmsrs = cap;
	n = snap_ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l, -1, "KVM_GET_MSR_INDEX_LIST");
	if (!n) {
		memcpy(idx, l->indices, l->nmsrs * sizeof(uint32_t));
		n = (int)l->nmsrs;
	}
	free(l);
	return n;
}

/*
 * Reads every listed MSR KVM will give: KVM_GET_MSRS stops at the first one it refuses (a
 * feature this CPU lacks), so that one is skipped and the rest read again.
 */
static int snap_read_msrs(struct vcpu *vcpu, const uint32_t *idx, unsigned n, struct snap_vcpu *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[SNAP_MAX_MSRS];
	} m;
	unsigned next = 0;

	s->nmsrs = 0;
	while (next < n && next < SNAP_MAX_MSRS) {
		unsigned batch = n - next;
		memset(&m.hdr, 0, sizeof(m.hdr));
		m.hdr.nmsrs = batch;
		for (unsigned i = 0; i < batch; i++)
			m.e[i] = (struct kvm_msr_entry){ .index = idx[next + i] };
		int got = ioctl(vcpu->fd, KVM_GET_MSRS, &m);
		if (got < 0) {
			log_err("snapshot: vCPU %u: KVM_GET_MSRS: %s", vcpu->id, strerror(errno));
			return -errno;
		}
		memcpy(&s->msrs[s->nmsrs], m.e, (size_t)got * sizeof(m.e[0]));
		s->nmsrs += (uint32_t)got;
		next += (unsigned)got + 1;	/* past the refused one */
	}
	return 0;
}

/* FPU, SSE, AVX...: KVM_GET_XSAVE2 where KVM has it (its size may pass 4 KiB), else XSAVE. */
static int snap_save_xsave(struct vcpu *vcpu, struct snap_vcpu *s)
{
	int size = ioctl(vcpu->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	if (size > (int)SNAP_XSAVE_MAX) {
		log_err("snapshot: vCPU %u: XSAVE state of %d bytes: at most %d", vcpu->id, size,
			SNAP_XSAVE_MAX);
		return -E2BIG;
	}
	if (size > (int)sizeof(struct kvm_xsave)) {
		s->xsave_len = (uint32_t)size;
		return snap_ioctl(vcpu->fd, KVM_GET_XSAVE2, s->xsave, (int)vcpu->id, "KVM_GET_XSAVE2");
	}
	s->xsave_len = sizeof(struct kvm_xsave);
	return snap_ioctl(vcpu->fd, KVM_GET_XSAVE, s->xsave, (int)vcpu->id, "KVM_GET_XSAVE");
}

int snap_vcpu_save(struct vcpu *vcpu, const uint32_t *msr_idx, unsigned nmsr, struct snap_vcpu *s)
{
	int id = (int)vcpu->id, fd = vcpu->fd;
	int err = snap_ioctl(fd, KVM_GET_MP_STATE, &s->mp_state, id, "KVM_GET_MP_STATE");

	if (!err)
		err = snap_ioctl(fd, KVM_GET_REGS, &s->regs, id, "KVM_GET_REGS");
	if (!err)
		err = snap_ioctl(fd, KVM_GET_SREGS, &s->sregs, id, "KVM_GET_SREGS");
	if (!err)
		err = snap_save_xsave(vcpu, s);
	if (!err)
		err = snap_ioctl(fd, KVM_GET_XCRS, &s->xcrs, id, "KVM_GET_XCRS");
	if (!err)
		err = snap_ioctl(fd, KVM_GET_DEBUGREGS, &s->debugregs, id, "KVM_GET_DEBUGREGS");
	if (!err)
		err = snap_ioctl(fd, KVM_GET_LAPIC, &s->lapic, id, "KVM_GET_LAPIC");
	if (!err)
		err = snap_read_msrs(vcpu, msr_idx, nmsr, s);
	if (!err)
		err = snap_ioctl(fd, KVM_GET_VCPU_EVENTS, &s->events, id, "KVM_GET_VCPU_EVENTS");
	return err;
}

static int snap_write_msrs(struct vcpu *vcpu, const struct snap_vcpu *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[SNAP_MAX_MSRS];
	} m;
	int set;

	if (s->nmsrs > SNAP_MAX_MSRS)
		return -EINVAL;
	memset(&m.hdr, 0, sizeof(m.hdr));
	m.hdr.nmsrs = s->nmsrs;
	memcpy(m.e, s->msrs, s->nmsrs * sizeof(m.e[0]));
	set = ioctl(vcpu->fd, KVM_SET_MSRS, &m);
	if (set != (int)s->nmsrs) {
		log_err("snapshot: vCPU %u: KVM_SET_MSRS: %d of %u set (MSR 0x%x refused)", vcpu->id,
			set, s->nmsrs, set >= 0 && set < (int)s->nmsrs ? s->msrs[set].index : 0);
		return set < 0 ? -errno : -EINVAL;
	}
	return 0;
}

/* An AMD (or Hygon) CPU's KVM, SVM, on bare metal or nested SVM (not PVM). */
static int snap_host_is_svm(const struct kvm *kvm)
{
	const struct kvm_cpuid2 *c = kvm->cpuid;

	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0)
			return !kvm_host_is_pvm() &&
			       ((c->entries[i].ecx == 0x444d4163 && c->entries[i].edx == 0x69746e65) ||
				(c->entries[i].ecx == 0x656e6975 && c->entries[i].edx == 0x6e65476e));
	return 0;
}

int snap_vcpu_load(struct vcpu *vcpu, const struct snap_vcpu *s)
{
	int id = (int)vcpu->id, fd = vcpu->fd;
	struct kvm_vcpu_events ev = s->events;
	struct kvm_sregs sregs = s->sregs;
	int err = snap_ioctl(fd, KVM_SET_MP_STATE, (void *)&s->mp_state, id, "KVM_SET_MP_STATE");

	/*
	 * SVM's KVM_GET_SREGS reports TR busy (type 11) whatever the hidden state holds, and
	 * QEMU's emulated SVM (the test host) refuses user port I/O through a TR that is not an
	 * available TSS (type 9): #GP at the agent's first OUT. No SVM check looks at the busy
	 * bit, so it goes back to 9 there; VMX requires 11, and keeps it.
	 */
	if (sregs.tr.type == 11 && snap_host_is_svm(vcpu->vm->kvm))
		sregs.tr.type = 9;
	if (!err)
		err = snap_ioctl(fd, KVM_SET_REGS, (void *)&s->regs, id, "KVM_SET_REGS");
	if (!err)
		err = snap_ioctl(fd, KVM_SET_SREGS, &sregs, id, "KVM_SET_SREGS");
	if (!err)
		err = snap_ioctl(fd, KVM_SET_XSAVE, (void *)s->xsave, id, "KVM_SET_XSAVE");
	if (!err)
		err = snap_ioctl(fd, KVM_SET_XCRS, (void *)&s->xcrs, id, "KVM_SET_XCRS");
	if (!err)
		err = snap_ioctl(fd, KVM_SET_DEBUGREGS, (void *)&s->debugregs, id, "KVM_SET_DEBUGREGS");
	/* The LAPIC before the MSRs: the TSC deadline MSR is written into the LAPIC's timer. */
	if (!err)
		err = snap_ioctl(fd, KVM_SET_LAPIC, (void *)&s->lapic, id, "KVM_SET_LAPIC");
	if (!err)
		err = snap_write_msrs(vcpu, s);
	/* Pending exceptions, NMIs and the interrupt shadow as they were, nothing newer. */
	ev.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
		    KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
	if (!err)
		err = snap_ioctl(fd, KVM_SET_VCPU_EVENTS, &ev, id, "KVM_SET_VCPU_EVENTS");
	return err;
}

int snap_vm_save(struct vm *vm, struct snap_vm *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	err = snap_ioctl(vm->fd, KVM_GET_IRQCHIP, &s->pic_master, -1, "KVM_GET_IRQCHIP (PIC master)");
	if (!err)
		err = snap_ioctl(vm->fd, KVM_GET_IRQCHIP, &s->pic_slave, -1, "KVM_GET_IRQCHIP (PIC slave)");
	if (!err)
		err = snap_ioctl(vm->fd, KVM_GET_IRQCHIP, &s->ioapic, -1, "KVM_GET_IRQCHIP (IOAPIC)");
	if (!err)
		err = snap_ioctl(vm->fd, KVM_GET_PIT2, &s->pit, -1, "KVM_GET_PIT2");
	if (!err)
		err = snap_ioctl(vm->fd, KVM_GET_CLOCK, &s->clock, -1, "KVM_GET_CLOCK");
	return err;
}

int snap_vm_load(struct vm *vm, const struct snap_vm *s)
{
	/* Only the guest's clock value: the host-time fields describe the old host moment. */
	struct kvm_clock_data clock = { .clock = s->clock.clock };
	int err = snap_ioctl(vm->fd, KVM_SET_IRQCHIP, (void *)&s->pic_master, -1,
			     "KVM_SET_IRQCHIP (PIC master)");

	if (!err)
		err = snap_ioctl(vm->fd, KVM_SET_IRQCHIP, (void *)&s->pic_slave, -1,
				 "KVM_SET_IRQCHIP (PIC slave)");
	if (!err)
		err = snap_ioctl(vm->fd, KVM_SET_IRQCHIP, (void *)&s->ioapic, -1,
				 "KVM_SET_IRQCHIP (IOAPIC)");
	if (!err)
		err = snap_ioctl(vm->fd, KVM_SET_PIT2, (void *)&s->pit, -1, "KVM_SET_PIT2");
	if (!err)
		err = snap_ioctl(vm->fd, KVM_SET_CLOCK, &clock, -1, "KVM_SET_CLOCK");
	return err;
}
