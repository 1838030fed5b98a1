#include "vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "seccomp.h"
#include "vm.h"

#define MSR_IA32_MISC_ENABLE     0x1a0
#define MSR_IA32_MISC_FAST_STRING 1ULL
#define MSR_MTRR_DEF_TYPE        0x2ff
#define MTRR_ENABLE_WRITEBACK    ((1ULL << 11) | 6)
#define APIC_LVT0                0x350
#define APIC_LVT1                0x360
#define APIC_MODE_NMI            4
#define APIC_MODE_EXTINT         7

/* A signal whose only job is to interrupt KVM_RUN; its handler does nothing. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

static void vcpu_install_kick_handler(void)
{
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg, const char *what)
{
	if (ioctl(vcpu->fd, req, arg) < 0) {
		int err = -errno;
		log_err("vCPU %u: %s: %s", vcpu->id, what, strerror(errno));
		return err;
	}
	return 0;
}

static int vcpu_set_msrs(struct vcpu *vcpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entry[2];
	} msrs = {
		.hdr.nmsrs = 2,
		.entry = {
			{ .index = MSR_IA32_MISC_ENABLE, .data = MSR_IA32_MISC_FAST_STRING },
			/* Without firmware nobody else enables MTRRs; all-uncached would crawl. */
			{ .index = MSR_MTRR_DEF_TYPE, .data = MTRR_ENABLE_WRITEBACK },
		},
	};
	int n = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);

	if (n != 2) {
		log_err("vCPU %u: KVM_SET_MSRS: set %d of 2", vcpu->id, n);
		return n < 0 ? -errno : -EINVAL;
	}
	return 0;
}

static int vcpu_set_fpu(struct vcpu *vcpu)
{
	/* The x87 and SSE control words a CPU has after FNINIT / reset. */
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	return vcpu_ioctl(vcpu, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
}

static void lapic_set_lvt(struct kvm_lapic_state *lapic, unsigned reg, unsigned mode)
{
	uint32_t v;

	memcpy(&v, lapic->regs + reg, sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(lapic->regs + reg, &v, sizeof(v));
}

/* LINT0 receives the 8259's interrupts, LINT1 NMIs: what the MP table announces. */
static int vcpu_set_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	int err = vcpu_ioctl(vcpu, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC");

	if (err)
		return err;
	lapic_set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
	return vcpu_ioctl(vcpu, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC");
}

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned id)
{
	int err;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		err = -errno;
		log_err("vCPU %u: KVM_CREATE_VCPU: %s", id, strerror(errno));
		return err;
	}
	vcpu->run = mmap(NULL, (size_t)vm->kvm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		err = -errno;
		log_err("vCPU %u: mmap kvm_run: %s", id, strerror(errno));
		return err;
	}
	err = cpuid_setup(vcpu);
	if (!err)
		err = vcpu_set_msrs(vcpu);
	if (!err)
		err = vcpu_set_fpu(vcpu);
	if (!err && vm->irqchip)
		err = vcpu_set_lapic(vcpu);
	return err;
}

/* Logs what is needed to find an emulator gap: suberror, RIP and the code bytes there. */
static void vcpu_report_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs;
	char code[3 * 16 + 1] = "unreadable";

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0) {
		log_err("vCPU %u: KVM internal error, suberror %u", vcpu->id, run->internal.suberror);
		return;
	}
	struct kvm_translation tr = { .linear_address = regs.rip };
	if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
		const uint8_t *p = guest_ptr(&vcpu->vm->mem, tr.physical_address, 16);
		for (int i = 0; p && i < 16; i++)
			snprintf(code + 3 * i, sizeof(code) - 3 * (size_t)i, "%02x ", p[i]);
	}
	log_err("vCPU %u: KVM internal error, suberror %u at RIP 0x%llx, code: %s", vcpu->id,
		run->internal.suberror, (unsigned long long)regs.rip, code);
}

static void vcpu_handle_pio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	int is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* count > 1 for string I/O (rep outsb/insb): one access per element. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		if (bus_access(&vcpu->vm->pio, run->io.port, data, run->io.size, is_write))
			log_debug("vCPU %u: unclaimed port %s 0x%x", vcpu->id,
				  is_write ? "write" : "read", run->io.port);
}

static void vcpu_handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_RESET:
		vm_stop(vcpu->vm, VM_STOP_RESET);
		break;
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_stop(vcpu->vm, VM_STOP_RESET);
		break;
	default:
		log_err("vCPU %u: system event %u", vcpu->id, vcpu->run->system_event.type);
		vm_stop(vcpu->vm, VM_STOP_ERROR);
	}
}

/* Turns one exit into a bus access or a VM stop. */
static void vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_pio(vcpu);
		break;
	case KVM_EXIT_MMIO:
		if (bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			       run->mmio.is_write))
			log_debug("vCPU %u: unclaimed MMIO at 0x%llx", vcpu->id,
				  (unsigned long long)run->mmio.phys_addr);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_HLT:
		vm_stop(vcpu->vm, VM_STOP_HALT);
		break;
	case KVM_EXIT_SHUTDOWN:
		vm_stop(vcpu->vm, VM_STOP_SHUTDOWN);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_handle_system_event(vcpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_report_internal_error(vcpu);
		vm_stop(vcpu->vm, VM_STOP_ERROR);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		log_err("vCPU %u: VM entry failed, reason 0x%llx", vcpu->id,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_stop(vcpu->vm, VM_STOP_ERROR);
		break;
	default:
		log_err("vCPU %u: unexpected KVM exit %u", vcpu->id, run->exit_reason);
		vm_stop(vcpu->vm, VM_STOP_ERROR);
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	int unfinished = 0;	/* the last exit was I/O: KVM completes it at the next KVM_RUN */
	char name[16];
	sigset_t kick;

	snprintf(name, sizeof(name), "vcpu %u", vcpu->id);
	prctl(PR_SET_NAME, name, 0, 0, 0);	/* as the device threads: found by name */
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	/* Before the first KVM_RUN: no guest instruction runs on an unfiltered thread. */
	if (seccomp_install(SECCOMP_VCPU)) {
		vm_stop(vm, VM_STOP_ERROR);
		return NULL;
	}
	if (vcpu->id == 0)
		atomic_store(&vm->first_entry_us, clock_now_us());

	while (vm_state(vm) == VM_RUNNING) {
		if (atomic_load(&vm->pause_wanted) && !unfinished) {
			vm_park(vm);
			continue;
		}
		if (unfinished && atomic_load(&vm->pause_wanted))
			/*
			 * KVM finishes an I/O exit (a port or MMIO read's value into the guest's
			 * register) only on the next KVM_RUN: one with immediate_exit does that
			 * and returns, so a parked vCPU's state is whole (a snapshot reads it).
			 */
			vcpu->run->immediate_exit = 1;
		unfinished = 0;
		if (ioctl(vcpu->fd, KVM_RUN, 0) == 0) {
			vcpu_handle_exit(vcpu);
			unfinished = vcpu->run->exit_reason == KVM_EXIT_IO ||
				     vcpu->run->exit_reason == KVM_EXIT_MMIO;
			continue;
		}
		if (errno == EINTR || errno == EAGAIN) {
			/* A kick: the loop tells whether it was a stop or a pause. */
			vcpu->run->immediate_exit = 0;
			/* Clear before the loop reads state and pause_wanted: a kick whose
			 * immediate_exit this store overwrote is then seen by those loads. */
			atomic_thread_fence(memory_order_seq_cst);
			continue;
		}
		log_err("vCPU %u: KVM_RUN: %s", vcpu->id, strerror(errno));
		vm_stop(vm, VM_STOP_ERROR);
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int err;

	pthread_once(&once, vcpu_install_kick_handler);
	err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (err) {
		log_err("vCPU %u: pthread_create: %s", vcpu->id, strerror(err));
		return -err;
	}
	vcpu->thread_started = 1;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->run)
		return;
	/*
	 * Set before the signal: a vCPU about to enter KVM_RUN then returns at once. The
	 * pthread_kill system call orders this store before the signal's delivery.
	 */
	vcpu->run->immediate_exit = 1;
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->thread_started)
		pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->vm->kvm->vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
