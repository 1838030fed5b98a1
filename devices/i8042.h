/* The i8042 keyboard controller, reduced to what a guest uses to reset the machine. */
#ifndef HVM_I8042_H
#define HVM_I8042_H

struct vm;

/* Attaches ports 0x60/0x64; the reset command (0xfe) stops the VM as VM_STOP_RESET. */
int i8042_attach(struct vm *vm);

#endif
