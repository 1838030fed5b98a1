/*
 * A virtio-blk fixture on scratch 1 MiB disks, the victim A (slot 0) and
 * the bystander B (slot 1), brought up with every feature offered. 1 MiB of RAM per device
 * from 1 MiB up, rings at the slot's start, buffers from +0x10000.
 */
#ifndef HVM_TEST_HOSTILE_HBLK_H
#define HVM_TEST_HOSTILE_HBLK_H

#include <linux/virtio_blk.h>
#include <stdint.h>

#include "../../devices/virtio_blk.h"
#include "hdrv.h"

#define H_SLOT(k)     (0x100000ULL * ((k) + 1))	/* 1 MiB of RAM per device */
#define H_BUF(d)      ((d)->slot + 0x10000ULL)	/* request buffers: the rest of the slot */
#define H_MMIO(k)     (0xd0000000ULL + 0x1000ULL * (k))
#define H_WAIT_MS     3000		/* generous: only reached when something is wrong */
#define H_CLASS_S     40		/* a class running longer than this hangs */
#define H_DISK_SECTORS 2048		/* 1 MiB test disks */

struct hblk {
	struct vblk dev;
	struct hdrv g;
	char path[128];
};

/* Buffers inside the slot: header, data (up to 64 KiB), status. */
#define HBLK_HDR(b)    (H_BUF(&(b)->g))
#define HBLK_DATA(b)   (H_BUF(&(b)->g) + 0x1000)
#define HBLK_STATUS(b) (H_BUF(&(b)->g) + 0x800)

#define HDR_LEN ((uint32_t)sizeof(struct virtio_blk_outhdr))

extern struct hblk A, B;

/* Creates a scratch disk and attaches it at MMIO slot k; 1 when its driver came up. */
int hblk_up(struct hblk *b, unsigned k, int read_only);
/* Detaches b and removes its disk. */
void hblk_down(struct hblk *b);
/* One request from descriptors 0..2; the status byte, or -1 when broken or unanswered. */
int hblk_req(struct hblk *b, uint32_t type, uint64_t sector, uint32_t len, uint32_t *used_len);
/* Writes a pattern to `sector` and reads it back; 1 when the disk works. */
int hblk_works(struct hblk *b, uint64_t sector);
/* Resets b through the status register; 1 when it came up again and works. */
int hblk_recovers(struct hblk *b);
/* Attaches A and B; 1 when both came up. */
int world_up(void);
/* The end of a blk attack: B works, A works after a reset, nothing spins; both detached. */
void world_end(void);

/* The victim refused a malformed request by asking for a reset, not by serving it. */
#define hblk_expect_broken(d, q) hblk_expect_broken_at(d, q, __FILE__, __LINE__)
/* hblk_expect_broken, reporting file:line. */
void hblk_expect_broken_at(struct hdrv *d, unsigned q, const char *file, int line);
/* Publishes descriptor head on A's queue, expects A to break, and resets A back to work. */
#define attack_breaks_a(head) attack_breaks_a_at(head, __FILE__, __LINE__)
/* attack_breaks_a, reporting file:line. */
void attack_breaks_a_at(uint16_t head, const char *file, int line);

#endif
