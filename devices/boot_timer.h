/* Boot timer: a port the agent writes once when it is ready; the VMM notes the moment. */
#ifndef HVM_BOOT_TIMER_H
#define HVM_BOOT_TIMER_H

#include <stdatomic.h>
#include <stdint.h>

struct vm;

struct boot_timer {
	_Atomic uint64_t ready_us;	/* clock_now_us() of the first write, 0 before */
	void (*notify)(void *opaque);	/* called once, from the vCPU thread, after ready_us is set */
	void *opaque;
};

/* Attaches the timer at PORT_BOOT_TIMER; 0 or -errno (logged). */
int boot_timer_attach(struct boot_timer *t, struct vm *vm, void (*notify)(void *), void *opaque);

#endif
