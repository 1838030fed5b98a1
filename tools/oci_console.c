#include "oci_console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../core/unix_addr.h"
#include "oci_log.h"

static int send_fd(int sock, const char *name, int fd)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

void oci_console_size(int fd, unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

int oci_console_open(const char *socket_path, unsigned rows, unsigned cols)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), slave = -1, sock = -1, err = 0;
	struct termios t;
	char *name = NULL;

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || !(name = ptsname(master)))
		err = -errno;
	if (!err && (slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		err = -errno;
	if (!err && tcgetattr(slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(slave, TCSANOW, &t);
	}
	if (!err && rows && cols)
		ioctl(slave, TIOCSWINSZ, &(struct winsize){ .ws_row = (unsigned short)rows,
							     .ws_col = (unsigned short)cols });
	if (!err && (sock = unix_connect(socket_path, 0)) < 0)
		err = sock;
	if (!err)
		err = send_fd(sock, name, master);
	if (err) {
		oci_err("console socket %s: %s", socket_path, strerror(-err));
		if (slave >= 0)
			close(slave);
		slave = err;
	}
	if (sock >= 0)
		close(sock);
	if (master >= 0)
		close(master);
	return slave;
}
