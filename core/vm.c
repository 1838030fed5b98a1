#include "vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"
#include "log.h"
#include "vcpu.h"

static int vm_ioctl(struct vm *vm, unsigned long req, void *arg, const char *what,
		    struct err *e)
{
	if (ioctl(vm->fd, req, arg) < 0) {
		int err = -errno;
		err_set(e, err, "%s: %s", what, strerror(errno));
		return err;
	}
	return 0;
}

static int vm_set_memory(struct vm *vm, struct err *e)
{
	for (int i = 0; i < 2; i++) {
		const struct guest_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = (uint32_t)i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->host,
		};

		if (r->size && vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot,
					"KVM_SET_USER_MEMORY_REGION", e))
			return -EINVAL;
	}
	return 0;
}

/*
 * Anonymous RAM, or a snapshot's memory file mapped copy-on-write: pages are read on first
 * touch, shared through the page cache by every VM mapping the same file until one writes.
 */
static int vm_map_ram(struct vm *vm, uint64_t ram_size, int ram_fd, uint64_t ram_off,
		      struct err *e)
{
	/* NORESERVE: a 4 GiB guest costs nothing until it touches its pages. */
	void *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_NORESERVE | (ram_fd < 0 ? MAP_ANONYMOUS : 0), ram_fd,
			 ram_fd < 0 ? 0 : (off_t)ram_off);

	if (ram == MAP_FAILED) {
		int err = -errno;
		err_set(e, err, "guest RAM (%llu MiB): %s", (unsigned long long)(ram_size >> 20),
			strerror(errno));
		return err;
	}
	madvise(ram, ram_size, MADV_DONTDUMP);	/* keep guest memory out of VMM core dumps */
	vm->map_size = ram_size;
	guest_mem_init(&vm->mem, ram, ram_size);
	return 0;
}

/* KVM's own pages for running real-mode code on VMX; set before the first vCPU exists. */
static int vm_set_kvm_pages(struct vm *vm, struct err *e)
{
	uint64_t idmap = LAYOUT_KVM_IDENTITY_MAP;

	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS) < 0) {
		int err = -errno;
		err_set(e, err, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return err;
	}
	return vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap, "KVM_SET_IDENTITY_MAP_ADDR", e);
}

static int vm_create_irqchip(struct vm *vm, struct err *e)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int err = vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL, "KVM_CREATE_IRQCHIP", e);

	if (!err)
		err = vm_ioctl(vm, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2", e);
	vm->irqchip = !err;
	return err;
}

int vm_create(struct vm *vm, struct kvm *kvm, uint64_t ram_size, unsigned flags, struct err *e)
{
	return vm_create_mapped(vm, kvm, ram_size, flags, -1, 0, e);
}

int vm_create_mapped(struct vm *vm, struct kvm *kvm, uint64_t ram_size, unsigned flags,
		     int ram_fd, uint64_t ram_off, struct err *e)
{
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->kvm = kvm;
	vm->fd = vm->stop_fd = -1;
	vm->pio.name = "pio";
	vm->mmio.name = "mmio";
	atomic_init(&vm->state, VM_RUNNING);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cv, NULL);
	do
		vm->fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
	while (vm->fd < 0 && errno == EINTR);
	if (vm->fd < 0) {
		err = -errno;
		err_set(e, err, "KVM_CREATE_VM: %s", strerror(errno));
		return err;
	}
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0) {
		err = -errno;
		err_set(e, err, "eventfd: %s", strerror(errno));
		goto fail;
	}
	/*
	 * Memory before the irqchip and KVM's TSS/identity pages: on PVM hosts adding a memslot
	 * after those costs ~7 ms instead of ~0.1 ms.
	 */
	err = vm_map_ram(vm, ram_size, ram_fd, ram_off, e);
	if (!err)
		err = vm_set_memory(vm, e);
	if (!err)
		err = vm_set_kvm_pages(vm, e);
	if (!err && !(flags & VM_NO_IRQCHIP))
		err = vm_create_irqchip(vm, e);
	if (err)
		goto fail;
	return 0;
fail:
	vm_destroy(vm);
	return err;
}

int vm_create_vcpus(struct vm *vm, unsigned nvcpus, struct err *e)
{
	if (nvcpus == 0 || (int)nvcpus > vm->kvm->max_vcpus) {
		err_set(e, -EINVAL, "%u vCPUs: this KVM allows 1 to %d", nvcpus,
			vm->kvm->max_vcpus);
		return -EINVAL;
	}
	vm->vcpu = calloc(nvcpus, sizeof(*vm->vcpu));
	if (!vm->vcpu)
		return -ENOMEM;
	for (unsigned i = 0; i < nvcpus; i++)
		vm->vcpu[i].fd = -1;
	/* Set first: every vCPU's CPUID describes the whole VM's topology. */
	vm->nvcpus = nvcpus;
	for (unsigned i = 0; i < nvcpus; i++) {
		int err = vcpu_create(&vm->vcpu[i], vm, i);
		if (err)
			return err;
	}
	return 0;
}

int vm_start(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		int err = vcpu_start(&vm->vcpu[i]);
		if (err) {
			vm_stop(vm, VM_STOP_ERROR);
			vm_join(vm);
			return err;
		}
	}
	return 0;
}

void vm_stop(struct vm *vm, enum vm_state why)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->state, &expected, (int)why))
		return;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpu[i]);
	if (write(vm->stop_fd, &one, sizeof(one)) < 0)
		log_debug("stop eventfd: %s", strerror(errno));
	/* Parked vCPUs and a vm_pause waiting for them see the stop. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cv);
	pthread_mutex_unlock(&vm->pause_lock);
}

static unsigned vm_started_vcpus(struct vm *vm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nvcpus; i++)
		n += vm->vcpu[i].thread_started != 0;
	return n;
}

int vm_pause(struct vm *vm)
{
	unsigned want = vm_started_vcpus(vm);
	int err = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (atomic_load(&vm->pause_wanted)) {
		pthread_mutex_unlock(&vm->pause_lock);
		return -EALREADY;
	}
	/* Stored before the kicks: a vCPU that leaves KVM_RUN through one then sees it. */
	atomic_store(&vm->pause_wanted, 1);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpu[i]);
	while (vm->parked < want && vm_state(vm) == VM_RUNNING)
		pthread_cond_wait(&vm->pause_cv, &vm->pause_lock);
	if (vm_state(vm) != VM_RUNNING)
		err = -ESRCH;
	pthread_mutex_unlock(&vm->pause_lock);
	return err;
}

int vm_resume(struct vm *vm)
{
	int err = 0;

	pthread_mutex_lock(&vm->pause_lock);
	if (!atomic_load(&vm->pause_wanted))
		err = -EALREADY;
	atomic_store(&vm->pause_wanted, 0);
	pthread_cond_broadcast(&vm->pause_cv);
	pthread_mutex_unlock(&vm->pause_lock);
	return err;
}

void vm_park(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cv);
	while (atomic_load(&vm->pause_wanted) && vm_state(vm) == VM_RUNNING)
		pthread_cond_wait(&vm->pause_cv, &vm->pause_lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_join(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_join(&vm->vcpu[i]);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	free(vm->vcpu);
	vm->vcpu = NULL;
	vm->nvcpus = 0;
	if (vm->map_size)
		munmap(vm->mem.base, vm->map_size);
	vm->map_size = 0;
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = vm->stop_fd = -1;
	pthread_cond_destroy(&vm->pause_cv);
	pthread_mutex_destroy(&vm->pause_lock);
}

const char *vm_state_name(enum vm_state state)
{
	static const char *const names[] = {
		[VM_RUNNING] = "running", [VM_STOP_RESET] = "guest reset",
		[VM_STOP_SHUTDOWN] = "triple fault", [VM_STOP_HALT] = "guest halted",
		[VM_STOP_ERROR] = "VMM error", [VM_STOP_HOST] = "stopped by host",
	};
	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}
