/* A virtio-net fixture at slot 2 over a datagram socket pair, with the hblk.h layout. */
#ifndef HVM_TEST_HOSTILE_HNET_H
#define HVM_TEST_HOSTILE_HNET_H

#include <stddef.h>
#include <stdint.h>

#include "../../devices/virtio_net.h"
#include "hdrv.h"
#include "net.h"			/* NET_HDR */

extern struct vnet hnet;
extern struct hdrv hnet_g;
extern int hnet_host;			/* the host end of the datagram backend */

/* Attaches virtio-net at slot 2 and brings it up; 1 when it came up. */
int hnet_up(void);
/* Fills f with an Ethernet frame of len bytes to the device's MAC. */
void hnet_frame(uint8_t *f, size_t len);
/* One frame each way through a freshly initialised device; 1 when both arrive intact. */
int hnet_works(void);

#endif
