/*
 * A raw guest kernel (booted with --kernel) that hangs in ring 0 with interrupts off: only
 * the host's --timeout can end it.
 */
	.code64
	.globl	_start
_start:
	cli
1:	jmp	1b
	.section .note.GNU-stack, "", @progbits
