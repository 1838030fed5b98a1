/*
 * A raw guest kernel (booted with --kernel) that triple-faults at once: it loads an empty
 * IDT, so its first exception (a non-canonical load: #GP) cannot be delivered, which makes a
 * double fault that cannot be delivered either. KVM then reports a shutdown exit.
 */
	.code64
	.globl	_start
_start:
	lidt	empty_idt(%rip)
	movabs	$0xdead000000000000, %rax
	mov	(%rax), %rax
1:	hlt
	jmp	1b

empty_idt:
	.word	0
	.quad	0
	.section .note.GNU-stack, "", @progbits
