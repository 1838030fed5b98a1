/* A KVM virtual machine: guest RAM, in-kernel irqchip and PIT, buses, vCPUs, and how it stops. */
#ifndef HVM_VM_H
#define HVM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bus.h"
#include "guest_mem.h"
#include "kvm.h"

enum vm_state {
	VM_RUNNING,
	VM_STOP_RESET,		/* guest asked for a reset (i8042, reboot): its normal way out */
	VM_STOP_SHUTDOWN,	/* triple fault */
	VM_STOP_HALT,		/* every way forward closed: HLT with interrupts off */
	VM_STOP_ERROR,		/* KVM or the VMM failed (emulation failure, entry failure, ...) */
	VM_STOP_HOST,		/* the host side asked (timeout, signal, API call) */
};

struct vcpu;

/* vm_create flags */
#define VM_NO_IRQCHIP 1u	/* no in-kernel PIC/IOAPIC/LAPIC/PIT: HLT exits to the VMM */

struct vm {
	struct kvm *kvm;
	int fd;
	struct guest_mem mem;
	uint64_t map_size;
	struct bus pio, mmio;
	unsigned nvcpus;
	struct vcpu *vcpu;
	int irqchip;			/* in-kernel PIC, IOAPIC, LAPICs and PIT present */
	_Atomic int state;		/* enum vm_state; leaves VM_RUNNING once */
	int stop_fd;			/* eventfd: readable once the VM has stopped */
	_Atomic uint64_t first_entry_us; /* clock_now_us() just before vCPU 0's first KVM_RUN */
	_Atomic int pause_wanted;	/* vm_pause: vCPUs park instead of entering KVM_RUN */
	pthread_mutex_t pause_lock;	/* guards parked; pause_cv waits on it */
	pthread_cond_t pause_cv;	/* parked changed, the pause ended or the VM stopped */
	unsigned parked;		/* vCPU threads waiting in vm_park */
};

/* Creates the VM with ram_size bytes of lazily allocated RAM; 0 or -errno (why in e). */
int vm_create(struct vm *vm, struct kvm *kvm, uint64_t ram_size, unsigned flags, struct err *e);

/* Like vm_create, with RAM mapped copy-on-write from ram_fd at ram_off (-1: anonymous). */
int vm_create_mapped(struct vm *vm, struct kvm *kvm, uint64_t ram_size, unsigned flags,
		     int ram_fd, uint64_t ram_off, struct err *e);

/* Creates nvcpus vCPUs (not yet running); 0 or -errno (a count KVM refuses: why in e; a
 * vCPU that fails: logged). */
int vm_create_vcpus(struct vm *vm, unsigned nvcpus, struct err *e);

/* Starts every vCPU thread; 0 or -errno (logged; started ones are stopped again). */
int vm_start(struct vm *vm);

/* Moves the VM out of VM_RUNNING (the first caller's reason wins) and kicks every vCPU. */
void vm_stop(struct vm *vm, enum vm_state why);

/* Stops every started vCPU and returns once none runs guest code: 0, -EALREADY when paused
 * already, -ESRCH when the VM stopped meanwhile. vm_stop still works on a paused VM. */
int vm_pause(struct vm *vm);

/* Lets the vCPUs of a paused VM run again: 0, or -EALREADY when it is not paused. */
int vm_resume(struct vm *vm);

/* A vCPU thread's wait while the VM is paused (vcpu.c); returns once resumed or stopped. */
void vm_park(struct vm *vm);

/* Returns the current state. */
static inline enum vm_state vm_state(struct vm *vm)
{
	return (enum vm_state)atomic_load(&vm->state);
}

/* Waits for all vCPU threads to return (after vm_stop). */
void vm_join(struct vm *vm);

/* Frees everything; the VM must be stopped and joined, or never started. */
void vm_destroy(struct vm *vm);

/* Sets the level of an interrupt line of the in-kernel PIC/IOAPIC; 0 or -errno (logged). */
int vm_irq_line(struct vm *vm, unsigned irq, int level);

/* Human-readable name of a state, for messages. */
const char *vm_state_name(enum vm_state state);

#endif
