/*
 * A machine written to a snapshot and rebuilt from one (docs/snapshot.md): the state file's
 * sections are the machine's config, the VM, each vCPU, the UART and each virtio transport.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "machine.h"
#include "../core/snap_file.h"
#include "../core/snap_vcpu.h"
#include "../core/vcpu.h"

#define SNAP_SERIAL_MAX 24

/* The config a snapshot was taken with; the disks' identities say whether they changed. */
struct snap_machine {
	uint32_t cpus, ndisks;
	uint64_t mem_mib;
	uint32_t has_vsock, has_net;
	uint64_t vsock_cid;
	uint8_t mac[6];
	uint8_t pvm;			/* taken on a nested-PVM host */
	uint8_t pad;
	uint32_t cpuid_crc;		/* KVM's supported CPUID there: the guest saw these features */
	struct snap_disk {
		char path[PATH_MAX];
		char serial[SNAP_SERIAL_MAX];
		uint32_t read_only;
		uint64_t size, dev, ino;
	} disk[MACHINE_MAX_DISKS];
};

/*
 * The CPU features the guest may have started using, as KVM offers them here: the vendor and
 * the feature leaves (1, 7, 0xd, 0x80000001). Not the whole table: some words name the host
 * CPU the ioctl happened to run on (APIC ids), which differ from call to call.
 */
static uint32_t machine_cpuid_crc(const struct kvm *kvm)
{
	const struct kvm_cpuid2 *c = kvm->cpuid;
	uLong crc = crc32(0L, Z_NULL, 0);

	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		uint32_t words[5] = { e->function, e->index, e->ecx, e->edx, 0 };
		if (e->function == 0 || e->function == 7 || e->function == 0xd ||
		    e->function == 0x80000001)
			words[4] = e->ebx;
		else if (e->function != 1)
			continue;
		if (e->function == 0xd)
			words[2] = e->eax;	/* the XSAVE components offered */
		crc = crc32(crc, (const Bytef *)words, sizeof(words));
	}
	return (uint32_t)crc;
}

/* The virtio transports in slot order: the disks, vsock, network (machine_attach_devices). */
static unsigned machine_transports(struct machine *m, struct virtio_mmio **t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->nblk; i++)
		t[n++] = &m->blk[i].transport;
	if (m->has_vsock)
		t[n++] = &m->vsock.transport;
	if (m->has_net)
		t[n++] = &m->net.transport;
	return n;
}

static int machine_describe(struct machine *m, const struct machine_config *cfg,
			    struct snap_machine *d, struct err *e)
{
	*d = (struct snap_machine){
		.cpus = cfg->cpus, .ndisks = m->nblk, .mem_mib = cfg->mem_mib,
		.has_vsock = (uint32_t)m->has_vsock, .has_net = (uint32_t)m->has_net,
		.vsock_cid = cfg->vsock_cid, .pvm = (uint8_t)kvm_host_is_pvm(),
		.cpuid_crc = machine_cpuid_crc(&m->kvm),
	};
	memcpy(d->mac, cfg->mac, sizeof(d->mac));
	for (unsigned i = 0; i < m->nblk; i++) {
		struct snap_disk *k = &d->disk[i];
		struct stat st;
		if (fstat(m->blk[i].fd, &st) < 0 ||
		    strlen(cfg->disks[i].path) >= sizeof(k->path)) {
			err_set(e, -EINVAL, "snapshot: disk %s: cannot record its identity",
				cfg->disks[i].path);
			return -EINVAL;
		}
		*k = (struct snap_disk){ .read_only = (uint32_t)cfg->disks[i].read_only,
					 .size = (uint64_t)st.st_size, .dev = st.st_dev, .ino = st.st_ino };
		strcpy(k->path, cfg->disks[i].path);
		snprintf(k->serial, sizeof(k->serial), "%s", cfg->disks[i].serial ? cfg->disks[i].serial : "");
	}
	return 0;
}

/* Everything but RAM, into s; the vCPUs parked and the device threads held. */
static int machine_capture(struct machine *m, const struct machine_config *cfg,
			   struct snap_state *s, struct err *e)
{
	struct virtio_mmio *t[MACHINE_MAX_DISKS + 2];
	uint32_t msrs[SNAP_MAX_MSRS];
	struct snap_machine d;
	struct snap_vm vm;
	struct serial_state uart;
	struct snap_vcpu *cpu = malloc(sizeof(*cpu));
	int n = snap_msr_list(m->kvm.fd, msrs, SNAP_MAX_MSRS);
	int err = n < 0 ? n : cpu ? machine_describe(m, cfg, &d, e) : -ENOMEM;
	unsigned nt = machine_transports(m, t);

	snap_state_reserve(s, SNAP_SECTION_BYTES(sizeof(d)) + SNAP_SECTION_BYTES(sizeof(vm)) +
			   m->vm.nvcpus * SNAP_SECTION_BYTES(sizeof(*cpu)) +
			   SNAP_SECTION_BYTES(sizeof(uart)) +
			   nt * SNAP_SECTION_BYTES(sizeof(struct virtio_mmio_state)));

	if (!err)
		err = snap_vm_save(&m->vm, &vm);
	snap_state_add(s, SNAP_SEC_MACHINE, 0, &d, sizeof(d));
	snap_state_add(s, SNAP_SEC_VM, 0, &vm, sizeof(vm));
	for (unsigned i = 0; !err && i < m->vm.nvcpus; i++) {
		memset(cpu, 0, sizeof(*cpu));
		err = snap_vcpu_save(&m->vm.vcpu[i], msrs, (unsigned)n, cpu);
		snap_state_add(s, SNAP_SEC_VCPU, i, cpu, sizeof(*cpu));
	}
	free(cpu);
	serial_save(&m->com1, &uart);
	snap_state_add(s, SNAP_SEC_SERIAL, 0, &uart, sizeof(uart));
	for (unsigned i = 0; !err && i < nt; i++) {
		struct virtio_mmio_state vs;
		virtio_mmio_save(t[i], &vs);
		snap_state_add(s, SNAP_SEC_VIRTIO, i, &vs, sizeof(vs));
	}
	return err ? err : s->err;
}

int machine_snapshot(struct machine *m, const struct machine_config *cfg, int dirfd,
		     const char *dir, struct err *e)
{
	struct virtio_mmio *t[MACHINE_MAX_DISKS + 2];
	unsigned nt = machine_transports(m, t);
	struct snap_state s = { 0 };
	int err;

	/* Devices write guest RAM on their own threads: none may run while RAM is read. */
	for (unsigned i = 0; i < nt; i++)
		io_thread_hold(&t[i]->io);
	err = machine_capture(m, cfg, &s, e);
	if (!err)
		err = snap_write(dirfd, dir, &s, &m->vm.mem, e);
	for (unsigned i = 0; i < nt; i++)
		io_thread_release(&t[i]->io);
	snap_state_free(&s);
	return err;
}

/* ---- restoring ------------------------------------------------------------------------ */

static int machine_bad(const char *dir, const char *why, struct err *e)
{
	err_set(e, -EINVAL, "snapshot %s/state: %s", dir, why);
	return -EINVAL;
}

int machine_config_from_snapshot(const struct snap_state *s, const char *dir,
				 struct machine_config *cfg, struct err *e)
{
	const struct snap_machine *d = snap_state_find(s, SNAP_SEC_MACHINE, 0, sizeof(*d));

	if (!d)
		return machine_bad(dir, "no machine section of this hvm's size", e);
	if (d->ndisks > MACHINE_MAX_DISKS)
		return machine_bad(dir, "too many disks", e);
	cfg->cpus = d->cpus;
	cfg->mem_mib = d->mem_mib;
	cfg->ndisks = d->ndisks;
	cfg->vsock_cid = d->vsock_cid;
	memcpy(cfg->mac, d->mac, sizeof(cfg->mac));
	for (unsigned i = 0; i < d->ndisks; i++) {
		const struct snap_disk *k = &d->disk[i];
		if (!memchr(k->path, 0, sizeof(k->path)) || !memchr(k->serial, 0, sizeof(k->serial)))
			return machine_bad(dir, "a disk name is not terminated", e);
		cfg->disks[i] = (struct machine_disk){ .path = k->path, .read_only = (int)k->read_only,
						       .serial = k->serial };
	}
	return machine_config_check(cfg, e);
}

/* The host and the disks must be those the guest saw; RAM's size that of the memory file. */
static int machine_check_match(struct machine *m, const struct snap_machine *d,
			       const struct snap_state *s, const char *dir, struct err *e)
{
	if (d->pvm != kvm_host_is_pvm() || d->cpuid_crc != machine_cpuid_crc(&m->kvm))
		return machine_bad(dir, "taken on a host whose CPU or KVM differs from this one",
				   e);
	if (d->mem_mib << 20 != s->mem_size)
		return machine_bad(dir, "its memory size does not match its memory file", e);
	if (d->has_vsock != (uint32_t)m->has_vsock || d->has_net != (uint32_t)m->has_net)
		return machine_bad(dir, "its devices differ from the ones given now", e);
	for (unsigned i = 0; i < m->nblk; i++) {
		struct stat st;
		if (fstat(m->blk[i].fd, &st) < 0 || (uint64_t)st.st_size != d->disk[i].size ||
		    st.st_dev != d->disk[i].dev || st.st_ino != d->disk[i].ino) {
			err_set(e, -EINVAL, "snapshot %s: disk %s changed since the snapshot "
				"(size or identity)", dir, d->disk[i].path);
			return -EINVAL;
		}
	}
	return 0;
}

static int machine_load(struct machine *m, const struct snap_state *s, const char *dir,
			struct err *e)
{
	struct virtio_mmio *t[MACHINE_MAX_DISKS + 2];
	const struct snap_machine *d = snap_state_find(s, SNAP_SEC_MACHINE, 0, sizeof(*d));
	const struct snap_vm *vm = snap_state_find(s, SNAP_SEC_VM, 0, sizeof(*vm));
	const struct serial_state *uart = snap_state_find(s, SNAP_SEC_SERIAL, 0, sizeof(*uart));
	int err = d && vm && uart ? machine_check_match(m, d, s, dir, e) :
		  machine_bad(dir, "a section is missing or of another size", e);

	/* The irqchip first: devices restored next may raise their lines at once. */
	if (!err)
		err = snap_vm_load(&m->vm, vm);
	for (unsigned i = 0; !err && i < m->vm.nvcpus; i++) {
		const struct snap_vcpu *c = snap_state_find(s, SNAP_SEC_VCPU, i, sizeof(*c));
		err = c ? snap_vcpu_load(&m->vm.vcpu[i], c)
			: machine_bad(dir, "a vCPU is missing", e);
	}
	if (!err && serial_load(&m->com1, uart))
		err = machine_bad(dir, "invalid UART state", e);
	for (unsigned i = 0, nt = machine_transports(m, t); !err && i < nt; i++) {
		const struct virtio_mmio_state *vs = snap_state_find(s, SNAP_SEC_VIRTIO, i, sizeof(*vs));
		err = vs ? virtio_mmio_load(t[i], vs) : machine_bad(dir, "a device is missing", e);
	}
	return err;
}

int machine_restore(struct machine *m, const struct machine_config *cfg,
		    const struct snap_state *s, int mem_fd, const char *dir, struct err *e)
{
	uint64_t t0 = clock_now_us(), built;
	int err = machine_build(m, cfg, mem_fd, e);

	if (err)
		return err;
	built = clock_now_us();
	err = machine_load(m, s, dir, e);
	if (err) {
		machine_destroy_parts(m);
		m->failed = MACHINE_PART_SNAPSHOT;
	}
	log_debug("restore: VM, vCPUs and devices built in %llu us, their state loaded in %llu us",
		  (unsigned long long)(built - t0), (unsigned long long)(clock_now_us() - built));
	return err;
}
