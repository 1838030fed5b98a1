/* The console: agent records to the host as frames, and the agent's way out (reset). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "protocol.h"

static int console_fd = -1;

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* nowhere else to report a broken console */
		p += n;
		len -= (size_t)n;
	}
}

void console_open(void)
{
	struct termios t;

	console_fd = open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (console_fd < 0)
		console_fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (console_fd < 0)
		exit(EXIT_AGENT_ERROR);	/* the kernel panics and the host reports it */
	/* Raw: frames carry binary data; no \n -> \r\n, no echo, no signals. */
	if (tcgetattr(console_fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(console_fd, TCSANOW, &t);
	}
}

void frame_send(int type, const void *data, size_t len)
{
	unsigned char hdr[CFRAME_HEADER] = { CFRAME_MARK, (unsigned char)type };

	do {
		size_t chunk = len > CFRAME_MAX ? CFRAME_MAX : len;
		hdr[2] = chunk & 0xff;
		hdr[3] = (unsigned char)(chunk >> 8);
		write_all(console_fd, hdr, sizeof(hdr));
		write_all(console_fd, data, chunk);
		data = (const char *)data + chunk;
		len -= chunk;
	} while (len);
}

void agent_finish(int status)
{
	unsigned char code = (unsigned char)status;

	rootfs_release();
	frame_send(CFRAME_EXIT, &code, 1);
	tcdrain(console_fd);
	reboot(RB_AUTOBOOT);	/* reboot=k: the i8042 reset the VMM turns into a stop */
	for (;;)
		pause();
}

void agent_failf(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	frame_send(CFRAME_ERROR, msg, n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	agent_finish(EXIT_AGENT_ERROR);
}

void agent_fail(const char *what, int err)
{
	agent_failf("%s: %s", what, strerror(err));
}
