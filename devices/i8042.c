#include "i8042.h"

#include <string.h>

#include "../core/layout.h"
#include "../core/bus.h"
#include "../core/vm.h"

#define I8042_CMD_RESET 0xfe	/* pulse the CPU reset line */

static void i8042_access(void *opaque, uint64_t offset, uint8_t *data, unsigned len, int is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		/* Status: both buffers empty, so a polling guest never waits; data: nothing. */
		memset(data, 0, len);
		return;
	}
	if (offset == PORT_I8042_CMD - PORT_I8042_DATA && len == 1 && data[0] == I8042_CMD_RESET)
		vm_stop(vm, VM_STOP_RESET);
}

int i8042_attach(struct vm *vm)
{
	/* One range for 0x60-0x64; port 0x61 between them never exits (KVM's PIT owns it). */
	return bus_register(&vm->pio, PORT_I8042_DATA, PORT_I8042_CMD - PORT_I8042_DATA + 1,
			    i8042_access, vm, "i8042");
}
