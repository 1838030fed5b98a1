#include "virtio_vsock.h"

#include <errno.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_vsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/vm.h"
#include "iov.h"
#include "../core/unix_addr.h"

/* Headers go to and from guest memory as they are: x86 is little-endian like virtio. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio-vsock fields are little-endian");

#define VSOCK_RXQ          0
#define VSOCK_TXQ          1
#define VSOCK_EVQ          2
#define VSOCK_QUEUE_SIZE   256
/*
 * Linux fills the whole rx queue with 4 KiB buffers at probe time: 64 take 256 KiB, a guest
 * socket's whole default receive credit, where 256 pinned 768 KiB more guest RAM per VM and
 * cost ~0.2-0.3 M more emulated instructions per boot on nested PVM hosts.
 */
#define VSOCK_RXQ_SIZE     64
#define VSOCK_HOST_CID     2
#define VSOCK_HDR          ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define VSOCK_PKT_MAX      (64u * 1024)		/* payload of one packet, either way */
#define VSOCK_BUF_ALLOC    (256u * 1024)	/* what we advertise; also the pending ring */
#define VSOCK_CREDIT_STEP  (VSOCK_BUF_ALLOC / 4)	/* forwarded bytes that earn an update */
#define VSOCK_PORT_FIRST   49152u		/* local ports of host-initiated connections */
#define VSOCK_SHUT_BOTH    (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)
#define VSOCK_ACCEPT_BATCH 16			/* accepts per wake-up: the rest on the next */

/* Control packets a connection owes the guest (struct vsock_conn.owe). */
#define VSOCK_OWE_REQUEST  1u
#define VSOCK_OWE_RESPONSE 2u
#define VSOCK_OWE_CREDIT   4u
#define VSOCK_OWE_SHUTDOWN 8u
#define VSOCK_OWE_RST      16u	/* the last packet: supersedes the others */

/* Inner epoll keys: connection indexes, then these. */
#define VSOCK_KEY_LISTEN   (VSOCK_MAX_CONNS + 0)
#define VSOCK_KEY_TIMER    (VSOCK_MAX_CONNS + 1)

static uint64_t vsock_now_ms(void)
{
	return clock_now_us() / 1000;
}

static uint64_t vsock_deadline(struct vsock *v)
{
	return vsock_now_ms() + atomic_load(&v->timeout_ms);
}

/* ---- connections ------------------------------------------------------------------- */

static void vsock_conn_close_fd(struct vsock *v, struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void vsock_conn_free(struct vsock *v, struct vsock_conn *c)
{
	vsock_conn_close_fd(v, c);
	free(c->pend);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static struct vsock_conn *vsock_conn_alloc(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].state == VSOCK_FREE)
			return &v->conn[i];
	return NULL;
}

/* Whether the guest knows this connection (and may address packets to it). */
static int vsock_conn_visible(const struct vsock_conn *c)
{
	switch (c->state) {
	case VSOCK_CONNECTING: return !(c->owe & VSOCK_OWE_REQUEST);
	case VSOCK_ESTABLISHED:
	case VSOCK_CLOSING: return 1;
	default: return 0;
	}
}

/* The connection with these ports; `all` also finds ones the guest has not heard of yet. */
static struct vsock_conn *vsock_conn_find(struct vsock *v, uint32_t local, uint32_t peer, int all)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conn[i];
		int candidate = all ? c->state >= VSOCK_CONNECTING : vsock_conn_visible(c);

		if (candidate && c->local_port == local && c->peer_port == peer)
			return c;
	}
	return NULL;
}

static int vsock_conn_watch(struct vsock *v, struct vsock_conn *c)
{
	/* Edge-triggered: readiness is remembered in c->readable and retried when credit,
	 * buffers or room return, so a socket we cannot serve yet never spins the loop. */
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = (uint64_t)(c - v->conn),
	};

	if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		int err = -errno;
		log_err("virtio-vsock: watching a host socket: %s", strerror(errno));
		return err;
	}
	return 0;
}

/* Closes the host socket and forgets the guest bytes that were waiting for it. */
static void vsock_conn_drop_host(struct vsock *v, struct vsock_conn *c)
{
	vsock_conn_close_fd(v, c);
	free(c->pend);
	c->pend = NULL;
	c->pend_len = 0;
}

/* Aborts a connection: the host socket is closed now, the guest gets an RST if it knows it. */
static void vsock_conn_reset(struct vsock *v, struct vsock_conn *c, const char *why, int guest_fault)
{
	if (guest_fault && !c->warned)
		log_warn("virtio-vsock: guest port %u to host port %u: %s; resetting it",
			 c->peer_port, c->local_port, why);
	else
		log_debug("virtio-vsock: guest port %u to host port %u: %s; resetting it",
			  c->peer_port, c->local_port, why);
	c->warned |= guest_fault;
	if (!vsock_conn_visible(c)) {
		vsock_conn_free(v, c);
		return;
	}
	vsock_conn_drop_host(v, c);
	c->owe = VSOCK_OWE_RST;
	c->deadline_ms = 0;
}

/* The guest is done with the connection: RST it, and close the host side once drained. */
static void vsock_conn_finish(struct vsock *v, struct vsock_conn *c)
{
	c->owe = VSOCK_OWE_RST;
	/* A host that stops reading gets a bounded time to take the rest. */
	c->deadline_ms = c->pend_len ? vsock_deadline(v) : 0;
	if (!c->pend_len)
		vsock_conn_close_fd(v, c);
}

/* The RST went out: the slot is free unless guest bytes still wait for the host. */
static void vsock_conn_after_rst(struct vsock *v, struct vsock_conn *c)
{
	if (c->fd >= 0 && c->pend_len) {
		c->state = VSOCK_DRAINING;
		c->deadline_ms = vsock_deadline(v);
	} else {
		vsock_conn_free(v, c);
	}
}

/* The host side can neither send nor receive any more: tell the guest, wait for its RST. */
static void vsock_host_gone(struct vsock *v, struct vsock_conn *c)
{
	vsock_conn_drop_host(v, c);
	c->shut_owed |= VSOCK_SHUT_BOTH;
	c->owe |= VSOCK_OWE_SHUTDOWN;
	c->state = VSOCK_CLOSING;
	c->deadline_ms = vsock_deadline(v);
}

/* Closes the host socket once nothing can flow either way. */
static void vsock_conn_check_done(struct vsock *v, struct vsock_conn *c)
{
	int host_sent_all = c->host_shut & VIRTIO_VSOCK_SHUTDOWN_SEND;
	int host_takes_none = (c->host_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) ||
			      ((c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->pend_len);

	if (c->state == VSOCK_ESTABLISHED && host_sent_all && host_takes_none)
		vsock_host_gone(v, c);
}

static void vsock_conn_credit_check(struct vsock_conn *c)
{
	if (c->state == VSOCK_ESTABLISHED && c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_CREDIT_STEP)
		c->owe |= VSOCK_OWE_CREDIT;
}

/* Bytes the guest may still receive on c (virtio 1.2 5.10.6.3.1); 0 if its counters lie. */
static uint32_t vsock_conn_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* ---- packets to the guest (rx queue) ----------------------------------------------- */

static void vsock_rst_push(struct vsock *v, uint32_t local, uint32_t peer, uint16_t type)
{
	if (v->rst_len == VSOCK_RST_RING) {
		log_debug("virtio-vsock: RST ring full; dropping one");
		return;
	}
	v->rst[(v->rst_head + v->rst_len++) % VSOCK_RST_RING] =
		(struct vsock_rst){ .local_port = local, .peer_port = peer, .type = type };
}

static void vsock_fail(struct vsock *v);

/* Holds a guest rx buffer with room for at least a header; 0 when none is available. */
static int vsock_rx_take(struct vsock *v)
{
	struct virtq *vq = &v->transport.vq[VSOCK_RXQ];
	int r;

	while (!v->rx_held) {
		r = virtq_pop(vq, &v->transport.vm->mem, &v->rx_chain);
		if (r < 0 || (r == 1 && virtq_chain_writable(&v->rx_chain) < VSOCK_HDR)) {
			if (r == 1)
				log_warn("virtio-vsock: rx buffer smaller than a packet header");
			vsock_fail(v);
			return 0;
		}
		if (r == 0 && !virtq_enable_notify(vq))
			return 0;
		v->rx_held = r;
	}
	return 1;
}

/* Writes header h (its payload already in place) into the held buffer and returns it. */
static void vsock_rx_put(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	struct virtq_chain *ch = &v->rx_chain;

	iov_from_buf(ch->iov + ch->nread, ch->nwrite, 0, h, VSOCK_HDR);
	virtq_push(&v->transport.vq[VSOCK_RXQ], ch->head, VSOCK_HDR + h->len);
	v->rx_held = 0;
}

/* A header from c's host end to its guest end; every one carries our credit. */
static void vsock_hdr_conn(struct vsock *v, struct vsock_conn *c, struct virtio_vsock_hdr *h,
			   uint16_t op, uint32_t flags, uint32_t len)
{
	*h = (struct virtio_vsock_hdr){
		.src_cid = VSOCK_HOST_CID, .dst_cid = v->guest_cid,
		.src_port = c->local_port, .dst_port = c->peer_port, .len = len,
		.type = VIRTIO_VSOCK_TYPE_STREAM, .op = op, .flags = flags,
		.buf_alloc = VSOCK_BUF_ALLOC, .fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_sent = c->fwd_cnt;
	c->owe &= ~VSOCK_OWE_CREDIT;	/* this packet is the update */
}

static void vsock_rx_ring_rst(struct vsock *v)
{
	const struct vsock_rst *r = &v->rst[v->rst_head];
	struct virtio_vsock_hdr h = {
		.src_cid = VSOCK_HOST_CID, .dst_cid = v->guest_cid,
		.src_port = r->local_port, .dst_port = r->peer_port,
		.type = r->type, .op = VIRTIO_VSOCK_OP_RST,
	};

	vsock_rx_put(v, &h);
	v->rst_head = (v->rst_head + 1) % VSOCK_RST_RING;
	v->rst_len--;
}

/* Sends the most urgent control packet c owes; 1 when one went out. */
static int vsock_rx_control(struct vsock *v, struct vsock_conn *c)
{
	static const uint16_t ops[] = {
		[0] = VIRTIO_VSOCK_OP_REQUEST, [1] = VIRTIO_VSOCK_OP_RESPONSE,
		[2] = VIRTIO_VSOCK_OP_CREDIT_UPDATE, [3] = VIRTIO_VSOCK_OP_SHUTDOWN,
		[4] = VIRTIO_VSOCK_OP_RST,
	};
	struct virtio_vsock_hdr h;
	/* A host client's REQUEST waits, after a restore, for the guest's first own REQUEST: one
	 * the guest took before its transport-reset event would be reset with the rest. */
	unsigned owe = c->owe & ~(v->restored_stale ? VSOCK_OWE_REQUEST : 0u), bit;

	if (!owe)
		return 0;
	/* RST first (it ends everything), then in bit order: REQUEST ... SHUTDOWN. */
	bit = owe & VSOCK_OWE_RST ? 4 : (unsigned)__builtin_ctz(owe);
	c->owe &= ~(1u << bit);
	vsock_hdr_conn(v, c, &h, ops[bit], ops[bit] == VIRTIO_VSOCK_OP_SHUTDOWN ? c->shut_owed : 0, 0);
	vsock_rx_put(v, &h);
	if (ops[bit] == VIRTIO_VSOCK_OP_RST) {
		c->owe = 0;
		vsock_conn_after_rst(v, c);
	}
	return 1;
}

/* The host end sent EOF: tell the guest (after all data, which went out before). */
static void vsock_host_eof(struct vsock *v, struct vsock_conn *c)
{
	c->host_shut |= VIRTIO_VSOCK_SHUTDOWN_SEND | (c->hup ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0);
	c->shut_owed |= VIRTIO_VSOCK_SHUTDOWN_SEND;
	c->owe |= VSOCK_OWE_SHUTDOWN;
	vsock_conn_check_done(v, c);
}

static int vsock_rx_data_ready(const struct vsock_conn *c)
{
	return c->state == VSOCK_ESTABLISHED && c->fd >= 0 && c->readable &&
	       !(c->owe & (VSOCK_OWE_RESPONSE | VSOCK_OWE_RST)) &&
	       !(c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
	       !(c->host_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && vsock_conn_credit(c) > 0;
}

/* Reads host bytes straight into the held guest buffer, within the guest's credit. */
static int vsock_rx_data(struct vsock *v, struct vsock_conn *c)
{
	struct virtq_chain *ch = &v->rx_chain;
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct msghdr msg = { .msg_iov = iov };
	struct virtio_vsock_hdr h;
	uint64_t room = virtq_chain_writable(ch) - VSOCK_HDR;
	uint32_t want = vsock_conn_credit(c);
	ssize_t n;

	if (want > room)
		want = (uint32_t)room;
	if (want > VSOCK_PKT_MAX)
		want = VSOCK_PKT_MAX;
	if (want == 0)
		return 0;
	msg.msg_iovlen = iov_slice(ch->iov + ch->nread, ch->nwrite, VSOCK_HDR, want, iov,
				   VIRTQ_MAX_SIZE);
	n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->readable = 0;
		return 0;
	}
	if (n < 0) {
		vsock_conn_reset(v, c, strerror(errno), 0);
		return vsock_rx_control(v, c);
	}
	if (n == 0) {
		vsock_host_eof(v, c);
		return vsock_rx_control(v, c);
	}
	vsock_hdr_conn(v, c, &h, VIRTIO_VSOCK_OP_RW, 0, (uint32_t)n);
	c->tx_cnt += (uint32_t)n;
	vsock_rx_put(v, &h);
	return 1;
}

/* Fills the held buffer with the next packet, round-robin over connections; 1 if pushed. */
static int vsock_rx_one(struct vsock *v)
{
	if (v->rst_len) {
		vsock_rx_ring_rst(v);
		return 1;
	}
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		unsigned k = (v->rr + i) % VSOCK_MAX_CONNS;
		struct vsock_conn *c = &v->conn[k];

		if (vsock_rx_control(v, c) || (vsock_rx_data_ready(c) && vsock_rx_data(v, c))) {
			v->rr = (k + 1) % VSOCK_MAX_CONNS;
			return 1;
		}
	}
	return 0;
}

static int vsock_rx_run(struct vsock *v)
{
	unsigned pushed = 0;

	while (!v->broken && vsock_rx_take(v) && vsock_rx_one(v)) {
		/* Now and then during long runs, so the guest can refill while we go on. */
		if (++pushed % 16 == 0)
			virtio_mmio_used(&v->transport, VSOCK_RXQ);
	}
	if (pushed % 16)
		virtio_mmio_used(&v->transport, VSOCK_RXQ);
	return pushed > 0;
}

/* ---- the host sockets -------------------------------------------------------------- */

/* The host end refuses further bytes (EPIPE): drop what waits and tell the guest. */
static void vsock_host_no_rcv(struct vsock *v, struct vsock_conn *c)
{
	c->fwd_cnt += c->pend_len;
	c->pend_len = 0;
	c->host_shut |= VIRTIO_VSOCK_SHUTDOWN_RCV;
	c->shut_owed |= VIRTIO_VSOCK_SHUTDOWN_RCV;
	c->owe |= VSOCK_OWE_SHUTDOWN;
	vsock_conn_check_done(v, c);
}

/* Handles a failed send on c's host socket; 0 when it only would block. */
static int vsock_host_send_failed(struct vsock *v, struct vsock_conn *c)
{
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	if (c->state == VSOCK_DRAINING)
		vsock_conn_free(v, c);
	else if (c->owe & VSOCK_OWE_RST)
		vsock_conn_drop_host(v, c);	/* the guest is gone already */
	else if (errno == EPIPE)
		vsock_host_no_rcv(v, c);
	else
		vsock_conn_reset(v, c, strerror(errno), 0);
	return -1;
}

/* After the pending bytes are all written: the deferred half-close or the final close. */
static void vsock_host_drained(struct vsock *v, struct vsock_conn *c)
{
	if (c->state == VSOCK_DRAINING) {
		vsock_conn_free(v, c);
	} else if (c->owe & VSOCK_OWE_RST) {
		vsock_conn_close_fd(v, c);
	} else if (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		shutdown(c->fd, SHUT_WR);
		vsock_conn_check_done(v, c);
	}
}

/* Writes pending guest bytes to the host; on EAGAIN the next EPOLLOUT brings us back. */
static void vsock_host_flush(struct vsock *v, struct vsock_conn *c)
{
	if (!c->pend_len)
		return;		/* the drained step below runs once, when the ring empties */
	while (c->pend_len && c->fd >= 0) {
		uint32_t first = VSOCK_BUF_ALLOC - c->pend_head;
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n;

		if (first > c->pend_len)
			first = c->pend_len;
		iov[0] = (struct iovec){ c->pend + c->pend_head, first };
		iov[1] = (struct iovec){ c->pend, c->pend_len - first };
		n = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			vsock_host_send_failed(v, c);
			return;
		}
		c->pend_head = (c->pend_head + (uint32_t)n) % VSOCK_BUF_ALLOC;
		c->pend_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
		if (c->deadline_ms)	/* draining after the guest left: progress extends it */
			c->deadline_ms = vsock_deadline(v);
	}
	vsock_conn_credit_check(c);
	if (!c->pend_len && c->fd >= 0)
		vsock_host_drained(v, c);
}

/* Copies [off, off+len) of a guest packet behind what already waits for the host. */
static int vsock_pend_append(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t off,
			     uint32_t len)
{
	uint32_t tail = (c->pend_head + c->pend_len) % VSOCK_BUF_ALLOC;
	uint32_t first = VSOCK_BUF_ALLOC - tail;

	if (!c->pend && !(c->pend = malloc(VSOCK_BUF_ALLOC)))
		return -ENOMEM;
	if (first > len)
		first = len;
	iov_to_buf(iov, n, off, c->pend + tail, first);
	iov_to_buf(iov, n, off + first, c->pend, len - first);
	c->pend_len += len;
	return 0;
}

/* Guest payload for the host: written now, or kept (within our credit) until EPOLLOUT. */
static void vsock_guest_data(struct vsock *v, struct vsock_conn *c, const struct iovec *in,
			     unsigned nin, uint32_t len)
{
	struct iovec iov[VIRTQ_MAX_SIZE];
	struct msghdr msg = { .msg_iov = iov };
	ssize_t n = 0;

	if (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) {
		vsock_conn_reset(v, c, "data after SHUTDOWN(SEND)", 1);
		return;
	}
	/* The guest may have no more than our buf_alloc unforwarded: that bounds the ring. */
	if (len > VSOCK_BUF_ALLOC - c->pend_len) {
		vsock_conn_reset(v, c, "data beyond the credit we gave", 1);
		return;
	}
	if (c->fd < 0 || (c->host_shut & VIRTIO_VSOCK_SHUTDOWN_RCV)) {
		c->fwd_cnt += len;	/* nobody takes them: consumed, so credit flows */
		vsock_conn_credit_check(c);
		return;
	}
	if (!c->pend_len && len) {
		msg.msg_iovlen = iov_slice(in, nin, VSOCK_HDR, len, iov, VIRTQ_MAX_SIZE);
		n = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && vsock_host_send_failed(v, c))
			return;
		n = n < 0 ? 0 : n;
		c->fwd_cnt += (uint32_t)n;
	}
	if ((uint32_t)n < len &&
	    vsock_pend_append(c, in, nin, VSOCK_HDR + (size_t)n, len - (uint32_t)n) < 0) {
		vsock_conn_reset(v, c, "no memory for pending bytes", 0);
		return;
	}
	vsock_conn_credit_check(c);
}

/* Parses "CONNECT <port>\n" (decimal, at most UINT32_MAX, nothing else on the line). */
static int vsock_parse_connect(const char *line, unsigned len, uint32_t *port)
{
	uint64_t value = 0;

	if (len < 10 || memcmp(line, "CONNECT ", 8) != 0 || line[len - 1] != '\n')
		return -EINVAL;
	for (unsigned i = 8; i < len - 1; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EINVAL;
		value = value * 10 + (uint64_t)(line[i] - '0');
		if (value > UINT32_MAX)
			return -EINVAL;
	}
	*port = (uint32_t)value;
	return 0;
}

static uint32_t vsock_alloc_port(struct vsock *v, uint32_t peer)
{
	/* At most VSOCK_MAX_CONNS ports are taken, so this ends within that many steps. */
	for (;;) {
		uint32_t port = v->next_port;

		v->next_port = port == UINT32_MAX ? VSOCK_PORT_FIRST : port + 1;
		if (!vsock_conn_find(v, port, peer, 1))
			return port;
	}
}

/* A complete line arrived: CONNECT opens the guest side, anything else closes the client. */
static void vsock_host_connect(struct vsock *v, struct vsock_conn *c)
{
	uint32_t port;

	if (vsock_parse_connect(c->line, c->line_len, &port) < 0) {
		log_debug("virtio-vsock: host client sent no valid CONNECT line; closing it");
		vsock_conn_free(v, c);
		return;
	}
	c->peer_port = port;
	c->local_port = vsock_alloc_port(v, port);
	c->state = VSOCK_CONNECTING;
	c->owe = VSOCK_OWE_REQUEST;
	c->deadline_ms = vsock_deadline(v);
}

static void vsock_host_line(struct vsock *v, struct vsock_conn *c)
{
	for (;;) {
		char buf[VSOCK_LINE_MAX];
		ssize_t n = recv(c->fd, buf, VSOCK_LINE_MAX - c->line_len, MSG_PEEK | MSG_DONTWAIT);
		char *nl;
		size_t take;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			vsock_conn_free(v, c);	/* the client left, or its socket failed */
			return;
		}
		nl = memchr(buf, '\n', (size_t)n);
		take = nl ? (size_t)(nl - buf) + 1 : (size_t)n;
		/* Only the line is consumed: what follows it is already stream data. */
		if (recv(c->fd, c->line + c->line_len, take, MSG_DONTWAIT) != (ssize_t)take) {
			vsock_conn_free(v, c);
			return;
		}
		c->line_len += (unsigned)take;
		if (nl || c->line_len == VSOCK_LINE_MAX) {
			vsock_host_connect(v, c);
			return;
		}
	}
}

/* The guest accepted a host-initiated connection: the client learns its port, data flows. */
static void vsock_host_established(struct vsock *v, struct vsock_conn *c)
{
	char ok[32];
	int len = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);

	c->state = VSOCK_ESTABLISHED;
	c->deadline_ms = 0;
	/* A fresh socket's buffer is empty: a short write means the client is gone. */
	if (send(c->fd, ok, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) != len)
		vsock_conn_reset(v, c, "host client gone before OK", 0);
}

static void vsock_accept(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_ACCEPT_BATCH; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("virtio-vsock: accept: %s", strerror(errno));
			return;
		}
		if (unix_is_abstract(v->uds_path) && !unix_peer_is_self(fd)) {
			log_debug("virtio-vsock: refused a client from another process");
			close(fd);
			continue;
		}
		c = v->broken ? NULL : vsock_conn_alloc(v);
		if (!c) {
			log_debug("virtio-vsock: %s; closing a host client",
				  v->broken ? "device broken" : "too many connections");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = VSOCK_HANDSHAKE;
		c->deadline_ms = vsock_deadline(v);
		if (vsock_conn_watch(v, c) < 0)
			vsock_conn_free(v, c);
	}
}

/* The host peer closed both directions; act now only if we will never read its EOF. */
static void vsock_host_hup(struct vsock *v, struct vsock_conn *c)
{
	if (c->state != VSOCK_ESTABLISHED)
		return;
	c->host_shut |= VIRTIO_VSOCK_SHUTDOWN_RCV;
	if ((c->host_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) || (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV))
		vsock_host_gone(v, c);
}

static void vsock_conn_event(struct vsock *v, struct vsock_conn *c, uint32_t events)
{
	if (c->fd < 0)
		return;		/* closed earlier in this batch */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = 1;
	/*
	 * A Unix peer that closed with our bytes unread leaves ECONNRESET (EPOLLERR) behind:
	 * what it sent first is still readable, so this ends the connection like a hang-up,
	 * and the read that reaches the error resets it.
	 */
	if (events & (EPOLLHUP | EPOLLERR))
		c->hup = 1;
	if (c->state == VSOCK_HANDSHAKE) {
		vsock_host_line(v, c);
		return;
	}
	if (events & EPOLLOUT)
		vsock_host_flush(v, c);
	if (c->hup && c->fd >= 0)
		vsock_host_hup(v, c);
}

/* ---- packets from the guest (tx queue) --------------------------------------------- */

/* Refuses a packet outside any connection: an RST back, never one for an RST. */
static void vsock_tx_refuse(struct vsock *v, const struct virtio_vsock_hdr *h, const char *why)
{
	if (h->op == VIRTIO_VSOCK_OP_RST)
		return;
	/* Stray packets after a close are a normal race; only a refused REQUEST is news. */
	if (!v->warned && h->op == VIRTIO_VSOCK_OP_REQUEST)
		log_warn("virtio-vsock: guest port %u to host port %u: %s; answering RST",
			 h->src_port, h->dst_port, why);
	else
		log_debug("virtio-vsock: guest port %u to host port %u, op %u: %s; answering RST",
			  h->src_port, h->dst_port, h->op, why);
	v->warned |= h->op == VIRTIO_VSOCK_OP_REQUEST;
	vsock_rst_push(v, h->dst_port, h->src_port,
		       h->type == VIRTIO_VSOCK_TYPE_SEQPACKET ? h->type : VIRTIO_VSOCK_TYPE_STREAM);
}

/* The guest connects to host port P: we connect to "<uds_path>_P" and answer. */
static void vsock_guest_connect(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un addr;
	char name[sizeof(addr.sun_path)];
	struct vsock_conn *c = vsock_conn_alloc(v);

	v->restored_stale = 0;	/* the guest has seen the reset: its sockets are new */
	log_debug("virtio-vsock: guest port %u connects to host port %u", h->src_port, h->dst_port);
	if (!c || vsock_conn_find(v, h->dst_port, h->src_port, 1)) {
		vsock_tx_refuse(v, h, c ? "port pair in use" : "too many connections");
		return;
	}
	*c = (struct vsock_conn){
		.state = VSOCK_ESTABLISHED, .local_port = h->dst_port, .peer_port = h->src_port,
		.peer_buf_alloc = h->buf_alloc, .peer_fwd_cnt = h->fwd_cnt,
		.owe = VSOCK_OWE_RESPONSE,
	};
	/* uds_path is sized so that this never truncates. */
	snprintf(name, sizeof(name), "%s_%u", v->uds_path, h->dst_port);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* AF_UNIX connects complete at once (EAGAIN means a full backlog: a refusal too). */
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, unix_addr(&addr, name)) < 0 ||
	    vsock_conn_watch(v, c) < 0) {
		log_debug("virtio-vsock: guest connect to %s: %s", name, strerror(errno));
		vsock_conn_free(v, c);
		vsock_rst_push(v, h->dst_port, h->src_port, VIRTIO_VSOCK_TYPE_STREAM);
	}
}

static void vsock_guest_shutdown(struct vsock *v, struct vsock_conn *c, uint32_t flags)
{
	c->guest_shut |= flags & VSOCK_SHUT_BOTH;
	if (c->state == VSOCK_CLOSING || c->guest_shut == VSOCK_SHUT_BOTH) {
		vsock_conn_finish(v, c);	/* the RST that completes a clean close */
		return;
	}
	/* Half-closes map onto the host socket; SEND waits until pending bytes are out. */
	if (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV)
		shutdown(c->fd, SHUT_RD);
	if ((c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->pend_len) {
		shutdown(c->fd, SHUT_WR);
		vsock_conn_check_done(v, c);
	}
}

/* A checked packet for a connection the guest knows. */
static void vsock_tx_conn(struct vsock *v, struct vsock_conn *c, const struct virtio_vsock_hdr *h,
			  const struct iovec *in, unsigned nin)
{
	if (c->owe & VSOCK_OWE_RST) {	/* we are resetting it: only its own RST matters */
		if (h->op == VIRTIO_VSOCK_OP_RST) {
			c->owe = 0;
			vsock_conn_after_rst(v, c);
		}
		return;
	}
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RST:
		vsock_conn_free(v, c);
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == VSOCK_CONNECTING)
			vsock_host_established(v, c);
		else
			vsock_conn_reset(v, c, "unexpected RESPONSE", 1);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
	case VIRTIO_VSOCK_OP_RW:
		if (c->state == VSOCK_CONNECTING)
			vsock_conn_reset(v, c, "data or SHUTDOWN before RESPONSE", 1);
		else if (h->op == VIRTIO_VSOCK_OP_SHUTDOWN)
			vsock_guest_shutdown(v, c, h->flags);
		else if (c->state == VSOCK_ESTABLISHED)
			vsock_guest_data(v, c, in, nin, h->len);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->owe |= VSOCK_OWE_CREDIT;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;		/* the credit fields above were the point */
	default:		/* REQUEST on a live connection */
		vsock_conn_reset(v, c, "REQUEST for an existing connection", 1);
		break;
	}
}

/* What makes a header unacceptable, or NULL. */
static const char *vsock_tx_check(const struct vsock *v, const struct virtio_vsock_hdr *h,
				  size_t payload_room)
{
	if (h->src_cid != v->guest_cid || h->dst_cid != VSOCK_HOST_CID)
		return "wrong cid";
	if (h->type != VIRTIO_VSOCK_TYPE_STREAM)
		return "unsupported socket type";
	if (h->op < VIRTIO_VSOCK_OP_REQUEST || h->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return "unknown op";
	if (h->len > VSOCK_PKT_MAX)
		return "payload over 64 KiB";
	if (h->len > payload_room)
		return "payload longer than its buffers";
	return NULL;
}

static void vsock_tx_packet(struct vsock *v, const struct virtq_chain *ch)
{
	const struct iovec *in = ch->iov;
	size_t size = iov_size(in, ch->nread);
	struct virtio_vsock_hdr h;
	struct vsock_conn *c;
	const char *bad;

	if (size < VSOCK_HDR) {
		if (!v->warned)
			log_warn("virtio-vsock: tx packet shorter than its header; dropped");
		v->warned = 1;
		return;
	}
	/* The guest's header: copied once, then trusted only as far as vsock_tx_check says. */
	iov_to_buf(in, ch->nread, 0, &h, VSOCK_HDR);
	c = vsock_conn_find(v, h.dst_port, h.src_port, 0);
	bad = vsock_tx_check(v, &h, size - VSOCK_HDR);
	if (bad && c)
		vsock_conn_reset(v, c, bad, 1);
	else if (bad)
		vsock_tx_refuse(v, &h, bad);
	else if (c)
		vsock_tx_conn(v, c, &h, in, ch->nread);
	else if (h.op == VIRTIO_VSOCK_OP_REQUEST)
		vsock_guest_connect(v, &h);
	else if (v->restored_stale)
		log_debug("virtio-vsock: guest port %u to host port %u: op %u of a connection from "
			  "before the restore; dropped", h.src_port, h.dst_port, h.op);
	else
		vsock_tx_refuse(v, &h, "no such connection");
}

static int vsock_tx_run(struct vsock *v)
{
	struct virtq *vq = &v->transport.vq[VSOCK_TXQ];
	int did = 0, r = 0;

	do {
		unsigned pushed = 0;

		/* Each packet may add one RST to the ring: stop while it is full. */
		while (v->rst_len < VSOCK_RST_RING &&
		       (r = virtq_pop(vq, &v->transport.vm->mem, &v->tx_chain)) == 1) {
			vsock_tx_packet(v, &v->tx_chain);
			virtq_push(vq, v->tx_chain.head, 0);
			pushed++;
		}
		if (r < 0) {
			vsock_fail(v);
			return did;
		}
		if (pushed)
			virtio_mmio_used(&v->transport, VSOCK_TXQ);
		did |= pushed > 0;
		if (v->rst_len == VSOCK_RST_RING)
			return did;	/* resumed once the rx side drains the ring */
	} while (virtq_enable_notify(vq));
	return did;
}

/* ---- the I/O thread's entry points ------------------------------------------------- */

static void vsock_free_all(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].state != VSOCK_FREE)
			vsock_conn_free(v, &v->conn[i]);
	v->rst_head = v->rst_len = 0;
	v->rx_held = 0;
}

/* A malformed queue: the driver must reset us; every host connection ends now. */
static void vsock_fail(struct vsock *v)
{
	virtio_mmio_broken(&v->transport);
	v->broken = 1;
	vsock_free_all(v);
}

/* Arms the timer for the nearest deadline (or disarms it). */
static void vsock_timer_arm(struct vsock *v)
{
	struct itimerspec its = { 0 };
	uint64_t next = 0;

	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		uint64_t d = v->conn[i].deadline_ms;
		if (v->conn[i].state != VSOCK_FREE && d && (!next || d < next))
			next = d;
	}
	if (next == v->timer_armed_ms)
		return;
	its.it_value.tv_sec = (time_t)(next / 1000);
	its.it_value.tv_nsec = (long)(next % 1000) * 1000000;
	if (timerfd_settime(v->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("virtio-vsock: timerfd_settime: %s", strerror(errno));
	v->timer_armed_ms = next;
}

static void vsock_expire(struct vsock *v)
{
	uint64_t now = vsock_now_ms(), ticks;

	if (read(v->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_debug("virtio-vsock: timerfd read: %s", strerror(errno));
	v->timer_armed_ms = 0;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conn[i];

		if (c->state == VSOCK_FREE || !c->deadline_ms || c->deadline_ms > now)
			continue;
		c->deadline_ms = 0;
		if (c->owe & VSOCK_OWE_RST)
			vsock_conn_drop_host(v, c);	/* the host stopped reading what is left */
		else if (c->state == VSOCK_CLOSING)
			vsock_conn_finish(v, c);	/* the guest never answered our SHUTDOWN */
		else if (c->state == VSOCK_CONNECTING)
			vsock_conn_reset(v, c, "guest did not answer the REQUEST", 0);
		else
			vsock_conn_free(v, c);	/* a silent client, or a host not reading */
	}
}

/* Moves packets both ways until neither side can progress, then re-arms the timer. */
static void vsock_settle(struct vsock *v)
{
	while (!v->broken) {
		int progress = vsock_tx_run(v);

		progress |= vsock_rx_run(v);
		if (!progress)
			break;
	}
	vsock_timer_arm(v);
}

static void vsock_on_ready(void *opaque, int fd, uint32_t events)
{
	struct vsock *v = opaque;
	struct epoll_event ev[64];
	int n = epoll_wait(v->epfd, ev, 64, 0);

	(void)fd;
	(void)events;
	for (int i = 0; i < n; i++) {
		uint64_t key = ev[i].data.u64;

		if (key == VSOCK_KEY_LISTEN)
			vsock_accept(v);
		else if (key == VSOCK_KEY_TIMER)
			vsock_expire(v);
		else if (key < VSOCK_MAX_CONNS)
			vsock_conn_event(v, &v->conn[key], ev[i].events);
	}
	vsock_settle(v);
}

static uint64_t vsock_features(void *dev)
{
	(void)dev;
	return 0;	/* stream sockets only: no VIRTIO_VSOCK_F_SEQPACKET */
}

static void vsock_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vsock *v = dev;
	struct virtio_vsock_config cfg = { .guest_cid = v->guest_cid };

	memcpy(data, (uint8_t *)&cfg + off, len);	/* the transport checked off + len */
}

static void vsock_activate(void *dev, uint64_t features)
{
	(void)features;
	vsock_settle(dev);
}

static void vsock_queue_notify(void *dev, unsigned q)
{
	struct vsock *v = dev;

	if (q != VSOCK_EVQ && !v->broken)	/* event buffers stay for a restore's reset */
		vsock_settle(v);
}

static void vsock_reset(void *dev)
{
	struct vsock *v = dev;

	vsock_free_all(v);
	v->broken = v->restored_stale = 0;
	v->rr = 0;
	vsock_timer_arm(v);
}

static unsigned vsock_in_flight(void *dev, unsigned q)
{
	struct vsock *v = dev;

	return q == VSOCK_RXQ ? (unsigned)v->rx_held : 0;
}

/*
 * Restored from a snapshot: none of the guest's connections has a host end any more. The
 * transport-reset event makes the driver reset every connected socket (ECONNRESET) and keep
 * its listeners (virtio 1.2 section 5.10.6.7), so the agent reconnects. Packets the guest
 * queued for those connections (before or after the restore) are dropped, not answered with
 * RST: an RST that overtakes the event closes the socket as if the peer had, without
 * ECONNRESET, and the agent would take its host for gone. Host clients' connections wait (an
 * exec right after the restore): the guest could take one before the event and reset it with
 * the old ones. The guest's first REQUEST follows the reset, and ends this.
 */
static void vsock_restored(void *dev)
{
	struct vsock *v = dev;
	struct virtq *vq = &v->transport.vq[VSOCK_EVQ];
	struct virtq_chain c;
	struct virtio_vsock_event ev = { .id = VIRTIO_VSOCK_EVENT_TRANSPORT_RESET };

	v->restored_stale = 1;
	if (virtq_pop(vq, &v->transport.vm->mem, &c) != 1 ||
	    iov_from_buf(c.iov + c.nread, c.nwrite, 0, &ev, sizeof(ev)) != sizeof(ev)) {
		log_warn("virtio-vsock: no event buffer for the transport reset");
		return;
	}
	virtq_push(vq, c.head, sizeof(ev));
	virtio_mmio_used(&v->transport, VSOCK_EVQ);
}

static const struct virtio_dev_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.queue_max = { [VSOCK_RXQ] = VSOCK_RXQ_SIZE, [VSOCK_TXQ] = VSOCK_QUEUE_SIZE,
		       [VSOCK_EVQ] = VSOCK_QUEUE_SIZE },
	.features = vsock_features,
	.config_size = sizeof(struct virtio_vsock_config),
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.in_flight = vsock_in_flight,
	.restored = vsock_restored,
};

/* ---- set-up ------------------------------------------------------------------------ */

/* Binds and listens on uds_path, replacing a stale socket file but nothing else. */
static int vsock_listen(struct vsock *v, struct err *e)
{
	struct sockaddr_un addr;
	socklen_t len = unix_addr(&addr, v->uds_path);
	struct stat st;

	if (!unix_is_abstract(v->uds_path) && lstat(v->uds_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			err_set(e, -EEXIST, "%s: exists and is not a socket", v->uds_path);
			return -EEXIST;
		}
		if (unlink(v->uds_path) < 0)
			return err_set(e, -errno, "%s: unlink: %s", v->uds_path, strerror(errno));
	}
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0 || bind(v->listen_fd, (struct sockaddr *)&addr, len) < 0 ||
	    listen(v->listen_fd, VSOCK_MAX_CONNS) < 0) {
		int err = -errno;
		err_set(e, err, "%s: %s", v->uds_path, strerror(errno));
		return err;
	}
	return 0;
}

/* The inner epoll with the listener and the timer in it (level-triggered both). */
static int vsock_setup_poll(struct vsock *v, struct err *e)
{
	struct epoll_event lev = { .events = EPOLLIN, .data.u64 = VSOCK_KEY_LISTEN };
	struct epoll_event tev = { .events = EPOLLIN, .data.u64 = VSOCK_KEY_TIMER };

	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->epfd < 0 || v->timer_fd < 0 ||
	    epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->listen_fd, &lev) < 0 ||
	    epoll_ctl(v->epfd, EPOLL_CTL_ADD, v->timer_fd, &tev) < 0) {
		int err = -errno;
		err_set(e, err, "virtio-vsock: epoll set-up: %s", strerror(errno));
		return err;
	}
	return 0;
}

/* The listener's file goes with it; an abstract name has none. */
static void vsock_unlink(const struct vsock *v)
{
	if (!unix_is_abstract(v->uds_path))
		unlink(v->uds_path);
}

static void vsock_close_fds(struct vsock *v)
{
	int *fds[] = { &v->listen_fd, &v->epfd, &v->timer_fd };

	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int vsock_attach(struct vsock *v, struct vm *vm, gpa_t base, unsigned irq, uint64_t guest_cid,
		 const char *uds_path, struct err *e)
{
	size_t len = strlen(uds_path);
	int err;

	memset(v, 0, sizeof(*v));
	v->listen_fd = v->epfd = v->timer_fd = -1;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conn[i].fd = -1;
	v->guest_cid = guest_cid;
	v->next_port = VSOCK_PORT_FIRST;
	atomic_store(&v->timeout_ms, VSOCK_TIMEOUT_MS);
	/* 0-2 name the hypervisor, the host and local; the upper 32 bits are reserved. */
	if (guest_cid < 3 || guest_cid >= UINT32_MAX) {
		err_set(e, -EINVAL, "vsock guest CID %llu: must be 3 to 4294967294",
			(unsigned long long)guest_cid);
		return -EINVAL;
	}
	if (len == 0 || len >= sizeof(v->uds_path)) {
		err_set(e, -ENAMETOOLONG, "%s: empty or too long for a Unix socket path", uds_path);
		return -ENAMETOOLONG;
	}
	memcpy(v->uds_path, uds_path, len + 1);
	err = vsock_listen(v, e);
	if (err)
		goto fail_fds;
	err = vsock_setup_poll(v, e);
	if (err)
		goto fail_unlink;
	err = virtio_mmio_attach(&v->transport, vm, base, irq, &vsock_ops, v);
	if (err)
		goto fail_unlink;
	err = io_thread_watch(&v->transport.io, v->epfd, EPOLLIN, vsock_on_ready, v);
	if (err)
		goto fail_detach;
	return 0;

fail_detach:
	virtio_mmio_detach(&v->transport);
fail_unlink:
	vsock_unlink(v);
fail_fds:
	vsock_close_fds(v);
	return err;
}

void vsock_detach(struct vsock *v)
{
	virtio_mmio_detach(&v->transport);	/* the I/O thread is gone after this */
	vsock_free_all(v);
	vsock_close_fds(v);
	vsock_unlink(v);
}
