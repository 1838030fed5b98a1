/*
 * The hostile-guest suite, virtio-net: frames too short and too long to send, and a receive
 * flood with no buffer posted. docs/threat-model.md lists the classes; hrun.h says how they run.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "hdrv.h"
#include "hrun.h"
#include "net.h"
#include "victim.h"

/* ---- attack classes: virtio-net ------------------------------------------------------- */

static void a_net_tx_short(void)
{
	net_up();
	EXPECT(net_tx(0));
	EXPECT(net_tx(5));
	EXPECT(net_tx(NET_HDR));
	EXPECT(net_tx(NET_HDR + 13));		/* one byte short of an Ethernet header */
	EXPECT(atomic_load(&net.tx_dropped_short) == 4);
	EXPECT(!host_got_frame(100));
	EXPECT(!hdrv_needs_reset(&nd));
	EXPECT(net_tx(NET_HDR + 60));		/* a normal frame still goes out */
	EXPECT(host_got_frame(WAIT_MS));
	EXPECT(blk_healthy(&by));
}

static void a_net_tx_long(void)
{
	net_up();
	EXPECT(net_tx(NET_HDR + net.frame_max + 1));
	EXPECT(net_tx(NET_HDR + 65536));
	EXPECT(net_tx(NET_HDR + 0x100000));
	EXPECT(atomic_load(&net.tx_dropped_oversize) == 3);
	EXPECT(!host_got_frame(100));
	EXPECT(net_tx(NET_HDR + net.frame_max));	/* the largest legal frame goes out */
	EXPECT(host_got_frame(WAIT_MS));
	EXPECT(blk_healthy(&by));
}

static void a_net_rx_flood(void)
{
	uint8_t frame[1514];
	uint64_t c0, c1, end;
	unsigned sent = 0;

	net_up();
	memset(frame, 0xff, 6);			/* broadcast */
	memset(frame + 6, 0x02, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	/* The guest posted no receive buffers; the host sends as fast as the socket takes. */
	c0 = hrun_cpu_ms();
	end = clock_now_us() + 1000 * 1000;
	while (clock_now_us() < end) {
		if (send(net_host, frame, sizeof(frame), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
			sent++;
		else
			usleep(1000);
	}
	usleep(300 * 1000);
	c1 = hrun_cpu_ms();
	EXPECT(sent > 0);
	EXPECT(atomic_load(&net.rx_dropped_no_buffer) > 0);
	EXPECT(atomic_load(&net.rx_frames) == 0);
	/* Idle afterwards: the I/O thread sleeps, it does not spin on the full backend. */
	c0 = hrun_cpu_ms();
	usleep(1000 * 1000);
	c1 = hrun_cpu_ms();
	EXPECT(c1 - c0 < 200);
	if (c1 - c0 >= 200)
		fprintf(stderr, "process CPU over 1 s idle: %llu ms\n", (unsigned long long)(c1 - c0));
	EXPECT(!hdrv_needs_reset(&nd));
	EXPECT(blk_healthy(&by));
}

static const struct hrun_class classes[] = {
	{ "net-tx-short", a_net_tx_short, CLASS_S },
	{ "net-tx-long", a_net_tx_long, CLASS_S },
	{ "net-rx-flood", a_net_rx_flood, CLASS_S },
};

int main(int argc, char **argv)
{
	return hrun_main("hostile_net", classes, sizeof(classes) / sizeof(classes[0]), make_disk, argc,
			 argv);
}
