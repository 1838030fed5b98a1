/* The share server's connection loop: whole messages in, one reply each, in order. */
#include "p9_server.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Answers every whole message in buf[0..*have); keeps a partial one at the front. */
static int serve_buffered(struct p9_server *s, int fd, uint8_t *in, size_t *have, uint8_t *out)
{
	size_t off = 0;
	int err = 0;

	while (!err && *have - off >= 4) {
		uint32_t size = le32(in + off);
		if (size < P9_HDR || size > s->msize)	/* the guest's size, first checked here */
			return -EPROTO;
		if (*have - off < size)
			break;
		int n = p9_server_handle(s, in + off, size, out, P9_MSIZE_MAX);
		err = n < 0 ? n : write_all(fd, out, (size_t)n);
		off += size;
	}
	memmove(in, in + off, *have - off);
	*have -= off;
	return err;
}

int p9_server_run(struct p9_server *s, int fd, int stop_fd)
{
	uint8_t *in = malloc(2 * P9_MSIZE_MAX), *out = malloc(P9_MSIZE_MAX);
	size_t have = 0;
	int err = in && out ? 0 : -ENOMEM;

	while (!err) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			err = -errno;
		if (err || p[1].revents)
			break;	/* the VMM is gone or stopping */
		if (!p[0].revents)
			continue;
		ssize_t n = recv(fd, in + have, 2 * P9_MSIZE_MAX - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;	/* the VM is gone (or closed the share) */
		}
		have += (size_t)n;
		err = serve_buffered(s, fd, in, &have, out);
	}
	p9_server_reset(s);
	free(in);
	free(out);
	return err;
}
