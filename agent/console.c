/* The kernel console (for messages when no host session exists) and the agent's way out. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "agent.h"

static int console_fd = -1;

void console_open(void)
{
	console_fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

void console_print(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || console_fd < 0)
		return;
	if ((size_t)n > sizeof(msg) - 2)
		n = sizeof(msg) - 2;
	msg[n++] = '\n';
	if (write(console_fd, "hvm-agent: ", 11) < 0 || write(console_fd, msg, (size_t)n) < 0)
		return;	/* nowhere else to say it */
}

void agent_poweroff(void)
{
	rootfs_release();
	reboot(RB_AUTOBOOT);	/* reboot=k: the i8042 reset the VMM turns into a stop */
	for (;;)
		pause();
}
