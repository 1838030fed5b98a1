/* A virtio-vsock fixture, hblk.h layout (slot 3, queues of 64): the host connects in. */
#ifndef HVM_TEST_HOSTILE_HVS_H
#define HVM_TEST_HOSTILE_HVS_H

#include <linux/virtio_vsock.h>
#include <stdint.h>

#include "../../devices/virtio_vsock.h"
#include "hblk.h"
#include "hdrv.h"
#include "vs.h"				/* GUEST_CID, VS_HDR */

#define HVS_RXBUF(i) (H_BUF(&hvs_g) + 0x1000ULL * (i))	/* 4 KiB receive buffers */
#define HVS_TXHDR  (H_SLOT(3) + 0x80000)
#define HVS_TXDATA (H_SLOT(3) + 0x90000)
enum { HVS_RX, HVS_TX, HVS_EV };

extern struct vsock hvs;
extern struct hdrv hvs_g;
extern char hvs_uds[96];		/* the host side's socket */

/* Attaches virtio-vsock (guest cid 3) at slot 3 and brings it up; 1 when it came up. */
int hvs_up(void);
/* Posts receive buffer i. */
void hvs_rx_post(unsigned i);
/* The next packet the device sent the guest (its buffer posted again); 0 when none came. */
int hvs_recv(struct virtio_vsock_hdr *h, int ms);
/* Publishes n copies of one packet (h, then room payload bytes) without waiting. */
void hvs_tx_many(const struct virtio_vsock_hdr *h, uint32_t room, unsigned n);
/* A guest-to-host stream header. */
struct virtio_vsock_hdr hvs_hdr(uint16_t op, uint32_t src_port, uint32_t dst_port);
/* A host program connects to guest port 77 and the guest accepts; 1 when "OK" comes back. */
int hvs_works(void);

#endif
