#include "machine.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../boot/cmdline.h"
#include "../boot/cpu.h"
#include "../boot/image.h"
#include "../boot/mptable.h"
#include "../boot/zeropage.h"
#include "../devices/i8042.h"
#include "../core/clock.h"
#include "../core/jail.h"
#include "../core/log.h"
#include "../core/snap_file.h"
#include "../core/vcpu.h"
#include "../include/hvm.h"

/* The public limits (include/hvm.h) are the ones the machine can build. */
_Static_assert(HVM_CPUS_MAX <= MPTABLE_MAX_CPUS, "more vCPUs than the MP table announces");
_Static_assert((uint64_t)HVM_MEMORY_MIB_MIN << 20 >= LAYOUT_MIN_RAM, "RAM below the boot minimum");

struct mapped_file {
	int fd;
	const uint8_t *data;
	size_t size;
};

/* Maps a whole regular file read-only, keeping its fd; 0 or -errno, why in e with the path. */
static int map_file(const char *path, struct mapped_file *f, struct err *e)
{
	struct stat st;
	int err = 0;

	f->data = NULL;
	f->fd = jail_open(path, O_RDONLY | O_CLOEXEC);	/* opened already when jailed */
	if (f->fd < 0 || fstat(f->fd, &st) < 0) {
		err = -errno;
		err_set(e, err, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		err_set(e, -EINVAL, "%s: not a regular file", path);
	} else if (st.st_size == 0) {
		err = -ENOEXEC;
		err_set(e, -ENOEXEC, "%s: empty file", path);
	} else {
		f->size = (size_t)st.st_size;
		f->data = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);
		if (f->data == MAP_FAILED) {
			f->data = NULL;
			err = -errno;
			err_set(e, err, "%s: mmap: %s", path, strerror(errno));
		}
	}
	return err;
}

static void unmap_file(struct mapped_file *f)
{
	if (f->data)
		munmap((void *)f->data, f->size);
	if (f->fd >= 0)
		close(f->fd);
	f->data = NULL;
	f->fd = -1;
}

/*
 * Puts len bytes of the file at offset off into guest RAM at gpa. Whole pages are mapped
 * copy-on-write from the page cache rather than copied: nothing is read until the guest
 * touches it, which keeps exec -> first instruction short. A partial last page (or an
 * offset that does not share gpa's page alignment) is copied.
 */
static int place_file(struct vm *vm, const struct mapped_file *f, uint64_t off, gpa_t gpa,
		      uint64_t len, struct err *e)
{
	const uint64_t page = 4096;
	uint8_t *dst = guest_ptr(&vm->mem, gpa, len);
	uint64_t mapped = 0;

	if (!dst || off > f->size || len > f->size - off)
		return -EFAULT;
	if ((off % page) == (gpa % page) && (gpa % page) == 0)
		mapped = len & ~(page - 1);
	if (mapped && mmap(dst, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, f->fd,
			   (off_t)off) == MAP_FAILED) {
		int err = -errno;
		err_set(e, err, "mapping a file into guest RAM: %s", strerror(errno));
		return err;
	}
	memcpy(dst + mapped, f->data + off + mapped, len - mapped);
	return 0;
}

static const unsigned machine_virtio_irqs[] = LAYOUT_VIRTIO_IRQS;

/* Virtio-mmio slot i: 4 KiB at a fixed address, and its interrupt line. */
static gpa_t machine_virtio_base(unsigned i)
{
	return LAYOUT_VIRTIO_MMIO + i * LAYOUT_VIRTIO_MMIO_SIZE;
}

/* Virtio-mmio slots in use: the disks, then vsock, then the network. */
static unsigned machine_virtio_count(const struct machine_config *cfg)
{
	return cfg->ndisks + (cfg->vsock_uds ? 1 : 0) + (cfg->net ? 1 : 0);
}

int machine_config_check(const struct machine_config *cfg, struct err *e)
{
	if (cfg->cpus < 1 || cfg->cpus > HVM_CPUS_MAX) {
		err_set(e, -EINVAL, "%u vCPUs: must be 1 to %d", cfg->cpus, HVM_CPUS_MAX);
		return -EINVAL;
	}
	if (cfg->mem_mib < HVM_MEMORY_MIB_MIN || cfg->mem_mib > HVM_MEMORY_MIB_MAX) {
		err_set(e, -EINVAL, "%llu MiB of memory: must be %d to %d MiB",
			(unsigned long long)cfg->mem_mib, HVM_MEMORY_MIB_MIN, HVM_MEMORY_MIB_MAX);
		return -EINVAL;
	}
	if (cfg->ndisks > MACHINE_MAX_DISKS) {
		err_set(e, -EINVAL, "%u disks: at most %d", cfg->ndisks, MACHINE_MAX_DISKS);
		return -EINVAL;
	}
	if (cfg->vsock_uds && (cfg->vsock_cid < 3 || cfg->vsock_cid > 0xfffffffeULL)) {
		err_set(e, -EINVAL, "vsock CID %llu: must be 3 to 4294967294",
			(unsigned long long)cfg->vsock_cid);
		return -EINVAL;
	}
	return 0;
}

int machine_cmdline(const struct machine_config *cfg, char *out, size_t cap, struct err *e)
{
	uint8_t seed[CMDLINE_SEED_BYTES];
	struct cmdline_opts opts = {
		.console = cfg->console,
		.pvm = kvm_host_is_pvm(),
		.extra = cfg->cmdline_extra,
	};

	/* A fresh seed per boot, so guests never share their RNG state. */
	if (getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed))
		opts.seed = seed;
	int err = boot_cmdline_build(out, cap, &opts, e);
	explicit_bzero(seed, sizeof(seed));
	/* One word per virtio-mmio device: the kernel has no other way to find them. */
	for (unsigned i = 0; !err && i < machine_virtio_count(cfg); i++) {
		char word[64];
		snprintf(word, sizeof(word), "virtio_mmio.device=4K@0x%llx:%u",
			 (unsigned long long)machine_virtio_base(i), machine_virtio_irqs[i]);
		err = boot_cmdline_append(out, cap, word, e);
	}
	return err;
}

static int machine_load_kernel(struct machine *m, const char *path, struct boot_image *img,
			       struct err *e)
{
	struct mapped_file f;
	int err = map_file(path, &f, e);

	if (!err)
		err = boot_image_parse(f.data, f.size, guest_mem_low_end(&m->vm.mem), path, img, e);
	for (unsigned i = 0; !err && i < img->nseg; i++)
		err = place_file(&m->vm, &f, img->seg[i].file_off, img->seg[i].gpa,
				 img->seg[i].file_size, e);
	unmap_file(&f);
	return err;
}

/* The initramfs file and the extra archive go back to back: Linux unpacks both. */
static int machine_load_initrd(struct machine *m, const struct machine_config *cfg,
			       const struct boot_image *img, struct boot_initrd *initrd,
			       struct err *e)
{
	struct mapped_file f = { .fd = -1 };
	int err = 0;

	memset(initrd, 0, sizeof(*initrd));
	if (cfg->initrd_path && (err = map_file(cfg->initrd_path, &f, e)))
		return err;
	uint64_t base = (f.size + 3) & ~3ULL;	/* each archive starts 4-byte aligned */
	uint64_t total = base + cfg->initrd_extra_len;

	if (total && !(err = boot_initrd_place(&m->vm.mem, img, total, &initrd->gpa, e))) {
		if (f.size)
			err = place_file(&m->vm, &f, 0, initrd->gpa, f.size, e);
		if (!err && cfg->initrd_extra_len)
			memcpy(guest_ptr(&m->vm.mem, initrd->gpa + base, cfg->initrd_extra_len),
			       cfg->initrd_extra, cfg->initrd_extra_len);
		initrd->size = total;
	}
	unmap_file(&f);
	return err;
}

static int machine_attach_devices(struct machine *m, const struct machine_config *cfg,
				  struct err *e)
{
	int err = serial_attach(&m->com1, &m->vm, PORT_COM1, PORT_COM1_IRQ, cfg->serial_output,
				cfg->serial_opaque);

	if (!err)
		err = i8042_attach(&m->vm);
	if (!err)
		err = boot_timer_attach(&m->timer, &m->vm, cfg->on_ready, cfg->ready_opaque);
	for (unsigned i = 0; !err && i < cfg->ndisks; i++) {
		const struct machine_disk *d = &cfg->disks[i];
		err = vblk_attach(&m->blk[i], &m->vm, machine_virtio_base(i), machine_virtio_irqs[i],
				  d->path, d->read_only, d->serial, e);
		if (!err)
			m->nblk++;
		else
			m->failed = i ? MACHINE_PART_DISK : MACHINE_PART_ROOT_DISK;
	}
	if (!err && cfg->vsock_uds) {
		unsigned slot = cfg->ndisks;
		err = vsock_attach(&m->vsock, &m->vm, machine_virtio_base(slot),
				   machine_virtio_irqs[slot], cfg->vsock_cid, cfg->vsock_uds, e);
		m->has_vsock = !err;
	}
	if (!err && cfg->net) {
		unsigned slot = cfg->ndisks + (cfg->vsock_uds ? 1 : 0);
		err = vnet_attach(&m->net, &m->vm, machine_virtio_base(slot),
				  machine_virtio_irqs[slot], cfg->mac, cfg->net);
		m->has_net = !err;
	}
	return err;
}

static void machine_detach_devices(struct machine *m)
{
	if (m->has_net)
		vnet_detach(&m->net);
	m->has_net = 0;
	if (m->has_vsock)
		vsock_detach(&m->vsock);
	m->has_vsock = 0;
	for (unsigned i = 0; i < m->nblk; i++)
		vblk_detach(&m->blk[i]);
	m->nblk = 0;
}

static int machine_boot_setup(struct machine *m, const struct machine_config *cfg,
			      struct err *e)
{
	struct boot_image img;
	struct boot_initrd initrd;
	int err = machine_load_kernel(m, cfg->kernel_path, &img, e);

	if (!err)
		err = machine_load_initrd(m, cfg, &img, &initrd, e);
	if (!err)
		err = machine_cmdline(cfg, m->cmdline, sizeof(m->cmdline), e);
	if (!err)
		err = boot_zeropage_write(&m->vm.mem, &img, m->cmdline, &initrd);
	if (!err)
		err = boot_cpu_tables_write(&m->vm.mem);
	if (!err)
		err = boot_mptable_write(&m->vm.mem, cfg->cpus);
	if (!err)
		err = boot_cpu_set_state(&m->vm.vcpu[0], img.entry);
	return err;
}

int machine_build(struct machine *m, const struct machine_config *cfg, int ram_fd,
		  struct err *e)
{
	int err;

	memset(m, 0, sizeof(*m));
	m->vm.fd = m->vm.stop_fd = -1;
	m->failed = MACHINE_PART_CONFIG;
	err = machine_config_check(cfg, e);
	if (!err && ram_fd < 0 && !cfg->kernel_path)
		err = err_set(e, -EINVAL, "no kernel given");
	if (err)
		return err;
	m->failed = MACHINE_PART_HOST;	/* unless a step below says otherwise */
	err = kvm_open(&m->kvm, cfg->kvm_path ? cfg->kvm_path : "/dev/kvm", e);
	if (err)
		return err;
	err = vm_create_mapped(&m->vm, &m->kvm, cfg->mem_mib << 20, 0, ram_fd, SNAP_MEM_OFFSET,
			       e);
	if (err)
		goto fail_kvm;
	m->kvm_ready_us = clock_now_us();
	err = vm_create_vcpus(&m->vm, cfg->cpus, e);
	if (!err)
		err = machine_attach_devices(m, cfg, e);
	if (!err && ram_fd < 0 && (err = machine_boot_setup(m, cfg, e)))
		m->failed = MACHINE_PART_KERNEL;
	if (err)
		goto fail_vm;
	m->failed = MACHINE_PART_NONE;
	return 0;
fail_vm:
	machine_destroy_parts(m);
	return err;
fail_kvm:
	kvm_close(&m->kvm);
	return err;
}

void machine_destroy_parts(struct machine *m)
{
	machine_detach_devices(m);
	vm_destroy(&m->vm);
	pthread_mutex_destroy(&m->com1.lock);
	kvm_close(&m->kvm);
}

int machine_create(struct machine *m, const struct machine_config *cfg, struct err *e)
{
	return machine_build(m, cfg, -1, e);
}

int machine_start(struct machine *m)
{
	return vm_start(&m->vm);
}

enum vm_state machine_wait(struct machine *m, int timeout_ms)
{
	struct pollfd p = { .fd = m->vm.stop_fd, .events = POLLIN };

	while (vm_state(&m->vm) == VM_RUNNING) {
		int n = poll(&p, 1, timeout_ms);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			break;
	}
	return vm_state(&m->vm);
}

void machine_destroy(struct machine *m)
{
	vm_stop(&m->vm, VM_STOP_HOST);
	vm_join(&m->vm);
	machine_destroy_parts(m);
}
