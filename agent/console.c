/* The kernel console, for messages when no host session exists. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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
