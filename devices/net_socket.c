/*
 * Socket backends: the passt/QEMU stream protocol (a 32-bit big-endian length before every
 * frame) and one frame per datagram. Both are non-blocking; the stream one buffers on both
 * sides so that a frame is always sent or received whole.
 */
#include "net_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "iov.h"

#define NET_STREAM_LEN   4u			/* the length prefix */
#define NET_STREAM_IN    (256u * 1024)		/* read-ahead: many frames per read() */
#define NET_STREAM_OUT   (256u * 1024)		/* frames batched until the device flushes */

_Static_assert(NET_STREAM_IN >= NET_STREAM_LEN + NET_BACKEND_FRAME_MAX, "a whole frame fits");
_Static_assert(NET_STREAM_OUT >= NET_STREAM_LEN + NET_BACKEND_FRAME_MAX, "a whole frame fits");

struct net_stream {
	struct net_backend be;
	uint8_t *in, *out;
	size_t in_start, in_end;	/* unparsed bytes read from the peer */
	size_t out_start, out_end;	/* bytes taken from the device, not yet written */
	int lost;			/* the peer broke the framing: nothing more is parsed */
};

static int net_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* The socket's type, or -errno when fd is no socket. */
static int net_sock_type(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	return type;
}

/* ---- stream ------------------------------------------------------------------------ */

static int net_stream_flush(struct net_backend *be)
{
	struct net_stream *s = (struct net_stream *)be;

	while (s->out_start < s->out_end) {
		ssize_t w = send(be->fd, s->out + s->out_start, s->out_end - s->out_start,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		s->out_start += (size_t)w;
	}
	s->out_start = s->out_end = 0;
	return 0;
}

static int net_stream_send(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct net_stream *s = (struct net_stream *)be;
	size_t len = iov_size(iov, n);
	uint32_t prefix = htonl((uint32_t)len);

	if (len > NET_BACKEND_FRAME_MAX)
		return -EMSGSIZE;
	/* Appended whole, or refused whole: the peer never sees part of a frame we gave up on. */
	if (NET_STREAM_OUT - s->out_end < NET_STREAM_LEN + len) {
		int err = net_stream_flush(be);
		if (err)
			return err;
	}
	memcpy(s->out + s->out_end, &prefix, NET_STREAM_LEN);
	iov_to_buf(iov, n, 0, s->out + s->out_end + NET_STREAM_LEN, len);
	s->out_end += NET_STREAM_LEN + len;
	return 0;
}

/* A complete frame at the front of the input: its length; 0 when more bytes are needed. */
static ssize_t net_stream_parse(struct net_stream *s)
{
	size_t have = s->in_end - s->in_start;
	uint32_t len;

	if (have < NET_STREAM_LEN)
		return 0;
	memcpy(&len, s->in + s->in_start, NET_STREAM_LEN);
	len = ntohl(len);
	/* The peer is trusted to frame, not to be sane: a length we cannot hold ends parsing. */
	if (len > NET_BACKEND_FRAME_MAX) {
		s->lost = 1;
		return -EPROTO;
	}
	return have - NET_STREAM_LEN >= len ? (ssize_t)len : 0;
}

/* Reads what the peer has; 1 when bytes came, 0 when none are waiting, or -errno. */
static int net_stream_fill(struct net_stream *s)
{
	ssize_t r;

	if (s->in_start) {	/* at most one partial frame moves */
		memmove(s->in, s->in + s->in_start, s->in_end - s->in_start);
		s->in_end -= s->in_start;
		s->in_start = 0;
	}
	do
		r = read(s->be.fd, s->in + s->in_end, NET_STREAM_IN - s->in_end);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ECONNRESET;
	if (r < 0)
		return errno == EWOULDBLOCK ? 0 : -errno;
	s->in_end += (size_t)r;
	return 1;
}

static ssize_t net_stream_recv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct net_stream *s = (struct net_stream *)be;
	ssize_t len;
	int r;

	if (s->lost)
		return -EPROTO;
	while ((len = net_stream_parse(s)) == 0) {
		r = net_stream_fill(s);
		if (r <= 0)
			return r;
	}
	if (len < 0)
		return len;
	s->in_start += NET_STREAM_LEN;
	if ((size_t)len > iov_size(iov, n)) {
		s->in_start += (size_t)len;
		return -EMSGSIZE;
	}
	iov_from_buf(iov, n, 0, s->in + s->in_start, (size_t)len);
	s->in_start += (size_t)len;
	return len;
}

static void net_stream_close(struct net_backend *be)
{
	struct net_stream *s = (struct net_stream *)be;

	close(be->fd);
	free(s->in);
	free(s->out);
	free(s);
}

static const struct net_backend_ops net_stream_ops = {
	.send = net_stream_send,
	.recv = net_stream_recv,
	.flush = net_stream_flush,
	.close = net_stream_close,
};

int net_stream_open(int fd, struct net_backend **out)
{
	struct net_stream *s;
	int err = net_sock_type(fd);

	if (err >= 0)
		err = err == SOCK_STREAM ? net_set_nonblock(fd) : -EINVAL;
	if (err) {
		log_err("stream network backend: fd %d: %s", fd,
			err == -EINVAL ? "not a stream socket" : strerror(-err));
		close(fd);
		return err;
	}
	s = calloc(1, sizeof(*s));
	if (s) {
		s->in = malloc(NET_STREAM_IN);
		s->out = malloc(NET_STREAM_OUT);
	}
	if (!s || !s->in || !s->out) {
		log_err("stream network backend: out of memory");
		if (s) {
			free(s->in);
			free(s->out);
		}
		free(s);
		close(fd);
		return -ENOMEM;
	}
	s->be = (struct net_backend){ .ops = &net_stream_ops, .fd = fd,
				     .mtu = NET_BACKEND_MTU_DEFAULT };
	snprintf(s->be.name, sizeof(s->be.name), "stream");
	*out = &s->be;
	return 0;
}

/* ---- datagrams --------------------------------------------------------------------- */

struct net_dgram {
	struct net_backend be;
	int seqpacket;		/* a zero-length read is the end, not an empty frame */
};

static int net_dgram_send(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t w;

	do
		w = sendmsg(be->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

static ssize_t net_dgram_recv(struct net_backend *be, const struct iovec *iov, unsigned n)
{
	struct net_dgram *d = (struct net_dgram *)be;
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = n };
	ssize_t r;

	for (;;) {
		r = recvmsg(be->fd, &m, MSG_DONTWAIT | MSG_TRUNC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EWOULDBLOCK ? 0 : -errno;
		if (r == 0 && d->seqpacket)
			return -ECONNRESET;
		if (r > 0)
			break;		/* an empty datagram is no frame: skip it */
	}
	/* MSG_TRUNC: r is the datagram's real length even when iov was too small. */
	return (size_t)r > iov_size(iov, n) ? -EMSGSIZE : r;
}

static void net_dgram_close(struct net_backend *be)
{
	close(be->fd);
	free(be);
}

static const struct net_backend_ops net_dgram_ops = {
	.send = net_dgram_send,
	.recv = net_dgram_recv,
	.close = net_dgram_close,
};

int net_dgram_open(int fd, struct net_backend **out)
{
	struct net_dgram *d;
	int type = net_sock_type(fd), err;

	err = type < 0 ? type : type == SOCK_DGRAM || type == SOCK_SEQPACKET ? 0 : -EINVAL;
	if (!err)
		err = net_set_nonblock(fd);
	if (!err && !(d = calloc(1, sizeof(*d))))
		err = -ENOMEM;
	if (err) {
		log_err("datagram network backend: fd %d: %s", fd,
			err == -EINVAL ? "not a datagram socket" : strerror(-err));
		close(fd);
		return err;
	}
	d->be = (struct net_backend){ .ops = &net_dgram_ops, .fd = fd,
				     .mtu = NET_BACKEND_MTU_DEFAULT };
	d->seqpacket = type == SOCK_SEQPACKET;
	snprintf(d->be.name, sizeof(d->be.name), "dgram");
	*out = &d->be;
	return 0;
}
