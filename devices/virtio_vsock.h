/*
 * virtio-vsock (virtio 1.2 section 5.10) whose host side is AF_UNIX stream sockets, in the
 * shape Firecracker documents: a host program connects to uds_path and writes
 * "CONNECT <port>\n" to reach guest port <port> (answered "OK <host port>\n"); a guest
 * connecting to host port P reaches whoever listens on "<uds_path>_P". Everything runs on the
 * device's I/O thread; every host socket is non-blocking and every guest value is bounded.
 * A uds_path starting with '@' is an abstract socket name (devices/unix_addr.h): no files,
 * and only this process may connect. docs/vsock.md describes the protocol and the limits.
 */
#ifndef HVM_VIRTIO_VSOCK_H
#define HVM_VIRTIO_VSOCK_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/un.h>

#include "../core/err.h"
#include "virtio_mmio.h"

#define VSOCK_MAX_CONNS   128		/* host sockets the device serves at once */
#define VSOCK_LINE_MAX    32		/* the "CONNECT <port>\n" line, newline included */
#define VSOCK_RST_RING    64		/* RSTs owed for packets that match no connection */
#define VSOCK_TIMEOUT_MS  10000		/* guest answer to a REQUEST; graceful close; drain */

/* Where a connection is; the guest sees (and may address) CONNECTING to CLOSING only. */
enum vsock_state {
	VSOCK_FREE,
	VSOCK_HANDSHAKE,	/* host client accepted, its CONNECT line not yet complete */
	VSOCK_CONNECTING,	/* REQUEST owed or sent to the guest, awaiting its RESPONSE */
	VSOCK_ESTABLISHED,
	VSOCK_CLOSING,		/* host socket closed, SHUTDOWN sent; awaiting the guest's RST */
	VSOCK_DRAINING,		/* the guest is gone; pending bytes still go to the host */
};

/* One host socket paired with one guest (port, port); I/O thread only. */
struct vsock_conn {
	enum vsock_state state;
	int fd;				/* the host socket, -1 once closed */
	uint32_t local_port;		/* the host end (cid 2) */
	uint32_t peer_port;		/* the guest end */
	uint32_t owe;			/* VSOCK_OWE_* packets to send the guest */
	uint32_t shut_owed;		/* SHUTDOWN flags to tell the guest */
	uint32_t guest_shut;		/* SHUTDOWN flags the guest sent */
	uint32_t host_shut;		/* same meaning for the host side: RCV (EPIPE), SEND (EOF) */
	/* host -> guest credit (virtio 1.2 5.10.6.3) */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* guest -> host: bytes handed to the host socket, and the count last advertised */
	uint32_t fwd_cnt, fwd_cnt_sent;
	/* guest bytes the host socket did not take yet: a ring of VSOCK_BUF_ALLOC bytes */
	uint8_t *pend;
	uint32_t pend_head, pend_len;
	char line[VSOCK_LINE_MAX];
	unsigned line_len;
	uint64_t deadline_ms;		/* 0: none */
	int readable;			/* edge-triggered: read until EAGAIN */
	int hup;			/* the host peer closed both directions */
	int warned;			/* one warning per connection */
};

struct vsock {
	struct virtio_mmio transport;
	uint64_t guest_cid;
	/* Short enough that "<uds_path>_<any port>" still fits a sun_path. */
	char uds_path[sizeof(((struct sockaddr_un *)0)->sun_path) - sizeof("_4294967295") + 1];
	int listen_fd;
	int epfd;			/* inner epoll for every socket, watched by the I/O thread */
	int timer_fd;			/* fires at the nearest connection deadline */
	uint64_t timer_armed_ms;
	_Atomic unsigned timeout_ms;	/* VSOCK_TIMEOUT_MS; tests lower it before connecting */
	int broken;			/* the driver must reset the device */
	int warned;			/* one warning for guest misbehaviour outside connections */
	int restored_stale;		/* restored, no REQUEST since: unknown connections are old */
	uint32_t next_port;		/* local ports for host-initiated connections */
	unsigned rr;			/* round-robin start among connections */
	struct vsock_conn conn[VSOCK_MAX_CONNS];
	struct vsock_rst {
		uint32_t local_port, peer_port;
		uint16_t type;
	} rst[VSOCK_RST_RING];
	unsigned rst_head, rst_len;
	int rx_held;			/* rx_chain was popped and not yet used */
	struct virtq_chain rx_chain;
	struct virtq_chain tx_chain;
};

/*
 * Creates, binds and listens on uds_path (at most 96 bytes; a stale socket file is replaced,
 * nothing else) and attaches a virtio-vsock device with guest_cid (3 to 2^32-2) at base/irq;
 * 0 or -errno (why in e; the transport's own set-up failures are logged).
 */
int vsock_attach(struct vsock *v, struct vm *vm, gpa_t base, unsigned irq, uint64_t guest_cid,
		 const char *uds_path, struct err *e);

/* Stops the I/O thread, closes every socket and unlinks uds_path. */
void vsock_detach(struct vsock *v);

#endif
