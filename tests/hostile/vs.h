/* A virtio-vsock fixture, victim.h layout (slot 3, queues of 16): the guest connects out. */
#ifndef HVM_TEST_HOSTILE_VS_H
#define HVM_TEST_HOSTILE_VS_H

#include <linux/virtio_vsock.h>
#include <stdint.h>

#include "../../devices/virtio_vsock.h"
#include "hdrv.h"

#define VS_HDR     ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define GUEST_CID  3

enum { VRX, VTX };
#define VRX_BUF (VS_HDR + 4096)

extern struct vsock vs;
extern struct hdrv vd;
extern char uds[88];			/* the host side's socket */

/* Posts receive buffer `head`. */
void vs_rx_post(uint16_t head);
/* Attaches virtio-vsock, brings it up and posts every receive buffer; the bystander too. */
void vs_up(void);
/* One TX packet: h and a payload buffer of room bytes; 1 when used in time. */
int vs_tx(const struct virtio_vsock_hdr *h, uint32_t room);
/* The next RX packet's header (its buffer posted again); 0 when none came in ms. */
int vs_rx(struct virtio_vsock_hdr *h, int ms);
/* The next non-credit packet addressed to guest port `port`. */
int vs_rx_for(uint32_t port, struct virtio_vsock_hdr *h, int ms);
/* A guest-to-host stream header. */
struct virtio_vsock_hdr vs_hdr(uint32_t sport, uint32_t dport, uint16_t op, uint32_t len);
/* The guest connects from sport to host port dport; 1 on RESPONSE. */
int vs_guest_connect(uint32_t sport, uint32_t dport);
/* A fresh connection carries bytes to the host listener lfd; the bystander still works. */
void vs_still_works(int lfd, uint32_t sport, uint32_t dport);
/* Listens where the device connects host port `port`; the listening fd. */
int vs_listen_port(uint32_t port);

#endif
