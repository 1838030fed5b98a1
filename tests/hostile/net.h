/* A virtio-net fixture at slot 2 over a datagram socket pair, with the victim.h layout. */
#ifndef HVM_TEST_HOSTILE_NET_H
#define HVM_TEST_HOSTILE_NET_H

#include <stdint.h>

#include "../../devices/virtio_net.h"
#include "hdrv.h"

enum { NRX, NTX };
#define NET_HDR 12u

extern struct vnet net;
extern struct hdrv nd;
extern int net_host;			/* the host end of the datagram backend */

/* Attaches virtio-net and brings it up with the MAC feature; the bystander too. */
void net_up(void);
/* Sends one TX chain of len bytes (header included); 1 when the device used it in time. */
int net_tx(uint32_t len);
/* Whether a frame reached the host end within ms. */
int host_got_frame(int ms);

#endif
