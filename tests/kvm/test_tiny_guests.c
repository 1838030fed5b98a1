/*
 * Tiny hand-made guests, one VMM path each: port I/O reaches devices, the i8042 reset and a
 * triple fault stop the VM cleanly, HLT without an irqchip stops it, MMIO reaches the bus,
 * and the host can stop spinning vCPUs (including an AP still waiting for its SIPI).
 * Each guest is a few bytes of 64-bit code entered like a kernel: long mode, identity map.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../boot/cpu.h"
#include "../../core/layout.h"
#include "../../devices/boot_timer.h"
#include "../../devices/i8042.h"
#include "../../devices/serial.h"
#include "../../core/vcpu.h"
#include "../../core/vm.h"
#include "../harness.h"

#define CODE_GPA 0x100000
#define RAM (32ULL << 20)
#define WAIT_MS 120000	/* emulated ring 0 is slow on nested hosts; a hang still fails */

static struct kvm kvm;

struct capture {
	char bytes[64];
	size_t len;
};

static void capture_byte(void *opaque, uint8_t byte)
{
	struct capture *c = opaque;

	if (c->len < sizeof(c->bytes) - 1)
		c->bytes[c->len++] = (char)byte;
}

/* Builds a VM with code at CODE_GPA and vCPU 0 at its first byte. */
static int guest_create(struct vm *vm, const uint8_t *code, size_t len, unsigned cpus,
			unsigned flags)
{
	int err = vm_create(vm, &kvm, RAM, flags, NULL);

	if (!err)
		err = vm_create_vcpus(vm, cpus, NULL);
	if (!err)
		err = boot_cpu_tables_write(&vm->mem);
	if (!err) {
		memcpy(guest_ptr(&vm->mem, CODE_GPA, len), code, len);
		err = boot_cpu_set_state(&vm->vcpu[0], CODE_GPA);
	}
	return err;
}

static enum vm_state guest_run(struct vm *vm)
{
	struct pollfd p = { .fd = vm->stop_fd, .events = POLLIN };

	if (vm_start(vm))
		return VM_STOP_ERROR;
	if (poll(&p, 1, WAIT_MS) != 1)
		vm_stop(vm, VM_STOP_HOST);	/* hung: report it as such */
	vm_join(vm);
	return vm_state(vm);
}

/* out 'H','i' to COM1, then the i8042 reset command. */
static void serial_then_reset(void)
{
	static const uint8_t code[] = {
		0x66, 0xba, 0xf8, 0x03,		/* mov $0x3f8, %dx */
		0xb0, 'H', 0xee,		/* mov $'H', %al; out %al, (%dx) */
		0xb0, 'i', 0xee,		/* mov $'i', %al; out %al, (%dx) */
		0xb0, 0xfe, 0xe6, 0x64,		/* mov $0xfe, %al; out %al, $0x64 */
		0xeb, 0xfe,			/* jmp . */
	};
	struct capture cap = { 0 };
	struct serial com1;
	struct vm vm;

	CHECK_EQ(guest_create(&vm, code, sizeof(code), 1, 0), 0);
	CHECK_EQ(serial_attach(&com1, &vm, PORT_COM1, PORT_COM1_IRQ, capture_byte, &cap), 0);
	CHECK_EQ(i8042_attach(&vm), 0);
	CHECK_EQ(guest_run(&vm), VM_STOP_RESET);
	CHECK_STR(cap.bytes, "Hi");
	vm_destroy(&vm);
}

/* ud2 with a zero-length IDT: #UD, #GP, #DF, then shutdown. */
static void triple_fault(void)
{
	static const uint8_t code[] = { 0x0f, 0x0b };
	struct vm vm;

	CHECK_EQ(guest_create(&vm, code, sizeof(code), 1, 0), 0);
	CHECK_EQ(guest_run(&vm), VM_STOP_SHUTDOWN);
	vm_destroy(&vm);
}

/* Without an in-kernel irqchip HLT exits to the VMM, which stops. */
static void hlt_without_irqchip(void)
{
	static const uint8_t code[] = { 0xfa, 0xf4 };	/* cli; hlt */
	struct vm vm;

	CHECK_EQ(guest_create(&vm, code, sizeof(code), 1, VM_NO_IRQCHIP), 0);
	CHECK_EQ(guest_run(&vm), VM_STOP_HALT);
	vm_destroy(&vm);
}

static uint32_t mmio_seen;
static unsigned mmio_len;

static void mmio_probe(void *opaque, uint64_t offset, uint8_t *data, unsigned len, int is_write)
{
	(void)opaque;
	if (is_write && offset == 8) {
		mmio_len = len;
		memcpy(&mmio_seen, data, len < 4 ? len : 4);
	} else if (!is_write) {
		memset(data, 0x5a, len);
	}
}

/* A 4-byte MMIO write reaches the device; a read of an unclaimed address reads all ones. */
static void mmio_and_unclaimed(void)
{
	static const uint8_t code[] = {
		0xbb, 0x00, 0x00, 0x00, 0xd0,		/* mov $0xd0000000, %ebx */
		0xc7, 0x43, 0x08, 0x78, 0x56, 0x34, 0x12, /* movl $0x12345678, 8(%rbx) */
		0x8b, 0x83, 0x00, 0x10, 0x00, 0x00,	/* mov 0x1000(%rbx), %eax: unclaimed */
		0x66, 0xba, 0xf8, 0x03, 0xee,		/* out %al, COM1: the byte read */
		0x8b, 0x03,				/* mov (%rbx), %eax: the probe's 0x5a */
		0xee,					/* out %al, COM1 */
		0xb0, 0xfe, 0xe6, 0x64,			/* reset */
		0xeb, 0xfe,
	};
	struct capture cap = { 0 };
	struct serial com1;
	struct vm vm;

	CHECK_EQ(guest_create(&vm, code, sizeof(code), 1, 0), 0);
	CHECK_EQ(bus_register(&vm.mmio, LAYOUT_VIRTIO_MMIO, 0x100, mmio_probe, NULL, "probe"), 0);
	CHECK_EQ(serial_attach(&com1, &vm, PORT_COM1, PORT_COM1_IRQ, capture_byte, &cap), 0);
	CHECK_EQ(i8042_attach(&vm), 0);
	CHECK_EQ(guest_run(&vm), VM_STOP_RESET);
	CHECK_EQ(mmio_len, 4);
	CHECK_EQ(mmio_seen, 0x12345678);
	CHECK_EQ(cap.len, 2);
	CHECK_EQ((uint8_t)cap.bytes[0], 0xff);
	CHECK_EQ((uint8_t)cap.bytes[1], 0x5a);
	vm_destroy(&vm);
}

static int ready_calls;

static void on_ready(void *opaque)
{
	(void)opaque;
	ready_calls++;
}

/* Two writes to the boot-timer port: one timestamp, one notification. */
static void boot_timer_once(void)
{
	static const uint8_t code[] = {
		0x66, 0xba, 0x40, 0x04,		/* mov $0x440, %dx */
		0xee, 0xee,			/* out %al, (%dx) twice */
		0xb0, 0xfe, 0xe6, 0x64,		/* reset */
		0xeb, 0xfe,
	};
	struct boot_timer timer;
	struct vm vm;

	CHECK_EQ(guest_create(&vm, code, sizeof(code), 1, 0), 0);
	CHECK_EQ(boot_timer_attach(&timer, &vm, on_ready, NULL), 0);
	CHECK_EQ(i8042_attach(&vm), 0);
	CHECK_EQ(guest_run(&vm), VM_STOP_RESET);
	CHECK(atomic_load(&timer.ready_us) > 0);
	CHECK_EQ(ready_calls, 1);
	vm_destroy(&vm);
}

/* A spinning BSP and an AP parked before its SIPI both leave KVM_RUN when the host stops. */
static void host_stop_kicks_every_vcpu(void)
{
	static const uint8_t code[] = { 0xeb, 0xfe };
	struct pollfd p;
	struct vm vm;

	CHECK_EQ(guest_create(&vm, code, sizeof(code), 2, 0), 0);
	CHECK_EQ(vm_start(&vm), 0);
	p = (struct pollfd){ .fd = vm.stop_fd, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 200), 0);	/* still running */
	vm_stop(&vm, VM_STOP_HOST);
	vm_join(&vm);			/* a missed kick hangs here and the test times out */
	CHECK_EQ(vm_state(&vm), VM_STOP_HOST);
	vm_destroy(&vm);
}

#define COUNTER_GPA 0x200000

/* Whether the guest's counter leaves `from` within WAIT_MS. */
static int counter_moves(const uint64_t *counter, uint64_t from)
{
	for (int waited = 0; waited < WAIT_MS; waited++) {
		if (__atomic_load_n(counter, __ATOMIC_RELAXED) != from)
			return 1;
		usleep(1000);
	}
	return 0;
}

/* A paused guest runs no instruction until resumed (its AP, parked before its SIPI, too), and
 * a stop reaches vCPUs that wait in the pause. */
static void pause_holds_every_vcpu(void)
{
	/* inc qword [COUNTER_GPA]; jmp back */
	static const uint8_t code[] = { 0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xeb, 0xf6 };
	const uint64_t *counter;
	uint64_t seen;
	struct vm vm;

	CHECK_EQ(guest_create(&vm, code, sizeof(code), 2, 0), 0);
	counter = guest_ptr(&vm.mem, COUNTER_GPA, sizeof(*counter));
	CHECK(counter != NULL);
	CHECK_EQ(vm_start(&vm), 0);
	CHECK(counter_moves(counter, 0));
	CHECK_EQ(vm_pause(&vm), 0);
	CHECK_EQ(vm_pause(&vm), -EALREADY);
	seen = __atomic_load_n(counter, __ATOMIC_RELAXED);
	usleep(300000);
	CHECK_EQ(__atomic_load_n(counter, __ATOMIC_RELAXED), seen);
	CHECK_EQ(vm_resume(&vm), 0);
	CHECK_EQ(vm_resume(&vm), -EALREADY);
	CHECK(counter_moves(counter, seen));
	CHECK_EQ(vm_pause(&vm), 0);
	vm_stop(&vm, VM_STOP_HOST);
	vm_join(&vm);			/* a parked vCPU that missed the stop hangs here */
	CHECK_EQ(vm_state(&vm), VM_STOP_HOST);
	vm_destroy(&vm);
}

/* Two devices may not claim the same port. */
static void overlapping_ranges_refused(void)
{
	struct vm vm;
	struct serial a, b;

	CHECK_EQ(guest_create(&vm, (const uint8_t *)"\xeb\xfe", 2, 1, 0), 0);
	CHECK_EQ(serial_attach(&a, &vm, PORT_COM1, 4, capture_byte, NULL), 0);
	CHECK_EQ(serial_attach(&b, &vm, PORT_COM1 + 4, 4, capture_byte, NULL), -EEXIST);
	vm_destroy(&vm);
}

static void open_kvm(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "SKIP: /dev/kvm not usable here\n");
		exit(HARNESS_SKIP);
	}
	CHECK_EQ(kvm_open(&kvm, "/dev/kvm", NULL), 0);
}

HARNESS_MAIN(open_kvm, serial_then_reset, triple_fault, hlt_without_irqchip, mmio_and_unclaimed,
	     boot_timer_once, host_stop_kicks_every_vcpu, pause_holds_every_vcpu,
	     overlapping_ranges_refused)
