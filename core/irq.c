/* Interrupt lines into KVM's in-kernel PIC and IOAPIC. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "log.h"
#include "vm.h"

int vm_irq_line(struct vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level line = { .irq = irq, .level = level ? 1 : 0 };

	if (!vm->irqchip)
		return -ENODEV;	/* a bare VM has no interrupt controller to signal */
	if (ioctl(vm->fd, KVM_IRQ_LINE, &line) < 0) {
		int err = -errno;
		log_err("KVM_IRQ_LINE %u: %s", irq, strerror(errno));
		return err;
	}
	return 0;
}
