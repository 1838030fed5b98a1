/*
 * A bootable machine: a VM with its devices, a kernel and an initramfs loaded, ready to run.
 * This is what front ends (hvm-run, later libhvm's API) drive.
 */
#ifndef HVM_MACHINE_H
#define HVM_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"
#include "../core/layout.h"
#include "../devices/boot_timer.h"
#include "../devices/serial.h"
#include "../devices/virtio_blk.h"
#include "../devices/virtio_net.h"
#include "../devices/virtio_vsock.h"
#include "../core/kvm.h"
#include "../core/vm.h"

#define MACHINE_MAX_DISKS 8
#define MACHINE_GUEST_CID 3	/* the guest's vsock address (2 is the host) */

struct machine_disk {
	const char *path;		/* disk image file or block device */
	int read_only;
	const char *serial;		/* how the guest finds it: /sys/block/vdX/serial */
};

struct machine_config {
	const char *kvm_path;		/* normally "/dev/kvm" */
	const char *kernel_path;	/* vmlinux (ELF) or bzImage */
	const char *initrd_path;	/* newc cpio, or NULL */
	const uint8_t *initrd_extra;	/* a second cpio appended after initrd_path, or NULL */
	size_t initrd_extra_len;
	unsigned cpus;
	uint64_t mem_mib;
	int console;			/* full kernel log on the console */
	const char *cmdline_extra;	/* appended to the kernel command line, or NULL */
	struct machine_disk disks[MACHINE_MAX_DISKS];	/* virtio-blk disks, vda first */
	unsigned ndisks;
	const char *vsock_uds;		/* virtio-vsock bridged to this AF_UNIX path, or NULL */
	uint64_t vsock_cid;
	struct net_backend *net;	/* virtio-net on this backend (the machine takes it), or NULL */
	uint8_t mac[6];
	serial_output_fn *serial_output;/* every byte the guest sends on COM1 */
	void *serial_opaque;
	void (*on_ready)(void *opaque);	/* the agent wrote the boot timer */
	void *ready_opaque;
};

/* The part that failed to build: what the failure is about, for the caller to tell causes
 * apart (the message says the rest). */
enum machine_part {
	MACHINE_PART_NONE,
	MACHINE_PART_CONFIG,		/* a value out of range */
	MACHINE_PART_HOST,		/* KVM, guest RAM, threads, devices' host side */
	MACHINE_PART_KERNEL,		/* the kernel, initramfs or the boot structures */
	MACHINE_PART_ROOT_DISK,		/* disk 0 (vda) */
	MACHINE_PART_DISK,		/* another disk */
	MACHINE_PART_SNAPSHOT,		/* the snapshot being restored */
};

struct machine {
	enum machine_part failed;	/* after machine_build or machine_restore failed */
	struct kvm kvm;
	struct vm vm;
	struct serial com1;
	struct boot_timer timer;
	struct vblk blk[MACHINE_MAX_DISKS];
	unsigned nblk;			/* attached so far */
	struct vsock vsock;
	int has_vsock;
	struct vnet net;
	int has_net;
	char cmdline[LAYOUT_CMDLINE_MAX];
	uint64_t kvm_ready_us;		/* clock_now_us() once KVM and the VM exist */
};

/* Checks the config's values; returns 0 or -EINVAL with which one is wrong in e. */
int machine_config_check(const struct machine_config *cfg, struct err *e);

/* Composes the guest command line for cfg into out (devices included); 0 or -E2BIG (why in
 * e). */
int machine_cmdline(const struct machine_config *cfg, char *out, size_t cap, struct err *e);

/* Builds the VM, devices, loads kernel and initramfs; 0 or -errno (why in e, nothing left). */
int machine_create(struct machine *m, const struct machine_config *cfg, struct err *e);

/*
 * machine_create's body: with ram_fd >= 0, guest RAM is that snapshot memory file (mapped
 * copy-on-write from SNAP_MEM_OFFSET) and nothing is loaded into it; 0 or -errno.
 */
int machine_build(struct machine *m, const struct machine_config *cfg, int ram_fd,
		  struct err *e);

/* Frees what machine_build made, the vCPU threads joined or never started. */
void machine_destroy_parts(struct machine *m);

/*
 * Writes the machine into the directory dirfd (named dir in messages) as a snapshot: every
 * vCPU, the irqchip, PIT and clock, the devices, guest RAM (machine_snapshot.c). The vCPUs
 * must be paused (vm_pause); the device threads are held meanwhile. 0 or -errno (why in e).
 */
int machine_snapshot(struct machine *m, const struct machine_config *cfg, int dirfd,
		     const char *dir, struct err *e);

struct snap_state;

/*
 * The machine config a snapshot was taken with, for machine_restore: vCPUs, memory, disks
 * (strings point into s), vsock, network. The caller adds the back ends (vsock path, network
 * backend, callbacks). 0 or -EINVAL for a snapshot without a valid machine section (why in e).
 */
int machine_config_from_snapshot(const struct snap_state *s, const char *dir,
				 struct machine_config *cfg, struct err *e);

/*
 * Rebuilds a machine from a snapshot read by snap_read (machine_snapshot.c): RAM from mem_fd,
 * then the VM, vCPUs and devices as they were; refused (-EINVAL, why in e) when a disk changed
 * or this host's CPU or KVM differs. Ready for machine_start. 0 or -errno, nothing left.
 */
int machine_restore(struct machine *m, const struct machine_config *cfg,
		    const struct snap_state *s, int mem_fd, const char *dir, struct err *e);

/* Starts the vCPUs; 0 or -errno. */
int machine_start(struct machine *m);

/*
 * Waits until the VM stops or timeout_ms passes (-1: forever); returns the VM state
 * (VM_RUNNING on timeout). The VM's stop eventfd (m->vm.stop_fd) can be polled instead.
 */
enum vm_state machine_wait(struct machine *m, int timeout_ms);

/* Stops (if running), joins and frees everything a successful machine_create built. */
void machine_destroy(struct machine *m);

#endif
