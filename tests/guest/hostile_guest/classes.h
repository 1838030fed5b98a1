/* The hostile guest's attack classes, one file per area, and the helpers they share. */
#ifndef HVM_HOSTILE_GUEST_CLASSES_H
#define HVM_HOSTILE_GUEST_CLASSES_H

#include "hg.h"

struct hg_env {
	struct hg_dev *root;	/* read-only virtio-blk: the image */
	struct hg_dev *vol;	/* writable virtio-blk: the test's volume */
	struct hg_dev *vsock;
	struct hg_dev *net;	/* with --net user; NULL without */
	struct hg_dev *devs;
	unsigned ndevs;
	const char *cmdline;	/* the kernel command line (hostile.areas=...) */
	uint64_t high_ram_end;	/* end of the RAM above 4 GiB; 0 when there is none */
};

#define BLK_ST_TIMEOUT (-2)
#define BLK_ST_BROKEN  (-1)

/* One virtio-blk request through descriptors 0-2 of queue 0 (data_len 0: no data descriptor):
 * its status byte, BLK_ST_BROKEN if the device went NEEDS_RESET, BLK_ST_TIMEOUT. */
int blk_request(struct hg_dev *d, uint32_t type, uint64_t sector, uint64_t data_gpa,
		uint32_t data_len, uint32_t *used_len);
/* The disk's capacity in sectors, from its config space. */
uint64_t blk_capacity(const struct hg_dev *d);
/* A blk device is usable: up again, and sector 2 reads as an ext4 superblock. */
int blk_sane(struct hg_dev *d);
/* After an attack on d: reset it, check it serves again, and the other disk too. */
void blk_after(struct hg_env *env, struct hg_dev *d);
/* Publishes head and waits for NEEDS_RESET: the whole expected outcome of a bad chain. */
void expect_broken_by(struct hg_dev *d, uint16_t head, const char *what);
/* The same on queue q of any device. */
void expect_broken_q(struct hg_dev *d, unsigned q, uint16_t head, const char *what);

/* Sets descriptor i of queue 0. */
void desc_set(struct hg_dev *d, unsigned q, unsigned i, uint64_t addr, uint32_t len,
	      uint16_t flags, uint16_t next);

/* vsock: the device is up with receive buffers posted; 0 or -1. */
int vsock_up(struct hg_dev *d);
/* vsock: sends a packet and waits for the RST it must earn: 1 if it came, 0 if not. */
int vsock_earns_rst(struct hg_dev *d, uint64_t src_cid, uint64_t dst_cid, uint16_t type,
		    uint16_t op, uint32_t len, uint32_t payload);
/* vsock: the device answers a REQUEST to a port nobody listens on with an RST. */
int vsock_sane(struct hg_dev *d);

/* net: the device is up again and sends a normal frame. */
int net_sane(struct hg_dev *d);
/* net: sends frame (len bytes after a zeroed header) on the transmit queue; 1 once returned. */
int net_send(struct hg_dev *d, uint64_t frame, uint32_t len);
/* net: an ARP request for the gateway (60 bytes), which passt answers: its address. */
uint64_t net_arp_request(struct hg_dev *d);

/* Each runs its area's classes in order (one file each). */
void classes_transport(struct hg_env *env);	/* registers, queue set-up, features, status */
void classes_desc(struct hg_env *env);		/* descriptor chains and ring indices */
void classes_race(struct hg_env *env);		/* rings changing under the device */
void classes_fuzz(struct hg_env *env);		/* string, locked and random accesses */
void classes_net(struct hg_env *env);		/* virtio-net frames (nothing without net) */
void classes_blk(struct hg_env *env);		/* virtio-blk requests */
void classes_vsock(struct hg_env *env);		/* virtio-vsock packets and connections */
void classes_ports(struct hg_env *env);		/* unclaimed ranges, boot timer, UART */
void classes_rx(struct hg_env *env);		/* host traffic toward missing or changed rx queues */
void classes_smp(struct hg_env *env);		/* two vCPUs on one device */
void classes_high_ram(struct hg_env *env);	/* RAM above the MMIO hole (its own boot) */

/* All classes, in the order of docs/threat-model.md's table. */
void hg_run_classes(struct hg_env *env);
/* The last check: every device still serves a normal request. */
void hg_final_sanity(struct hg_env *env);

#endif
