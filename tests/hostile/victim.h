/*
 * A virtio-blk fixture: a victim (slot 0) on a patterned 1 MiB disk and a
 * read-only bystander (slot 1) on the same image, brought up with F_BASE and queues of QSIZE.
 * Each device the guest drives gets 2 MiB of RAM: rings at +0x1000, buffers from +0x10000.
 */
#ifndef HVM_TEST_HOSTILE_VICTIM_H
#define HVM_TEST_HOSTILE_VICTIM_H

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdint.h>

#include "../../devices/virtio_blk.h"
#include "hdrv.h"

#define MMIO_BASE  0xd0000000ULL
#define QSIZE      16
#define WAIT_MS    2000
#define CLASS_S    20			/* alarm() per class */
#define DISK_SECT  2048ULL		/* 1 MiB disk */

#define SLOT(k)    (0x200000ULL * (k))
#define BUF(s)     ((s) + 0x10000ULL)

#define S_AD (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER)
#define F_BASE ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC))

/* Buffers inside a device slot: header, data (up to 64 KiB), status. */
#define B_HDR(g)    (BUF((g)->slot))
#define B_DATA(g)   (BUF((g)->slot) + 0x1000)
#define B_STATUS(g) (BUF((g)->slot) + 0x20000)

extern char disk_path[96];
extern struct vblk victim_blk, bystander_blk;
extern struct hdrv vb, by;		/* the victim's and the bystander's drivers */

/* Resets the device and brings it up like a well-behaved driver, with queues of QSIZE. */
void drv_init(struct hdrv *g, struct virtio_mmio *t, gpa_t slot, unsigned nq, uint64_t f);
/* Places a blk header in g's slot and returns a descriptor for it. */
struct vring_desc blk_hdr(struct hdrv *g, uint32_t type, uint64_t sector);
/* Publishes d[0..n) on queue 0 as one chain from table slot 0. */
void chain_publish(struct hdrv *g, const struct vring_desc *d, unsigned n);
/* A normal 3-descriptor request; the status byte, or -1 when not used in time. */
int blk_req(struct hdrv *g, uint32_t type, uint64_t sector, uint32_t len, uint32_t *used_len);
/* The byte pattern of the disk image: sector s, byte i. */
uint8_t disk_byte(uint64_t s, unsigned i);
/* Whether g still serves a read of sector 5 with the right bytes. */
int blk_healthy(struct hdrv *g);
/* Writes the patterned disk image at disk_path (every program's per-class prepare). */
void make_disk(void);
/* Attaches the bystander and brings it up, once per class. */
void bystander_up(void);
/* Attaches the victim and brings it up; the bystander too. */
void blk_up(void);
/* After an attack: a reset brings the victim back, and both serve reads. */
void blk_recovers(void);
/* Expects the victim to set DEVICE_NEEDS_RESET and the config interrupt without serving. */
void expect_broken(void);

#endif
