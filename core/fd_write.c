/* Writing guest output to the caller's fds, which may be non-blocking (inherited O_NONBLOCK). */
#include "fd_write.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

int fd_write_all(int fd, const void *buf, size_t len, int may_wait)
{
	const char *p = buf;

	if (fd < 0)
		return -EBADF;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && may_wait) {
			/* A full pipe is a slow reader, not a gone one: wait as a blocking fd does. */
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
