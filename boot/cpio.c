#include "cpio.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CPIO_HEADER_LEN 110	/* "070701" + 13 fields of 8 hex digits */

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
	c->next_ino = 1;
}

void cpio_free(struct cpio *c)
{
	free(c->buf);
	cpio_init(c);
}

static int cpio_reserve(struct cpio *c, size_t more)
{
	if (more > SIZE_MAX / 2 - c->len)
		return -ENOMEM;
	if (c->len + more <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap : 4096;
	while (cap < c->len + more)
		cap *= 2;
	uint8_t *buf = realloc(c->buf, cap);
	if (!buf)
		return -ENOMEM;
	c->buf = buf;
	c->cap = cap;
	return 0;
}

/* newc pads both the header+name and the data to 4 bytes. */
static void cpio_put_padded(struct cpio *c, const void *p, size_t len)
{
	memcpy(c->buf + c->len, p, len);
	c->len += len;
	while (c->len % 4)
		c->buf[c->len++] = 0;
}

int cpio_add(struct cpio *c, const char *name, mode_t mode, const void *data, size_t len,
	     unsigned rdev_major, unsigned rdev_minor)
{
	char header[CPIO_HEADER_LEN + 1];
	size_t namesize;
	int err;

	while (*name == '/')
		name++;
	namesize = strlen(name) + 1;
	if (namesize == 1 || namesize > PATH_MAX || len > UINT32_MAX)
		return -EINVAL;
	if (len && !S_ISREG(mode) && !S_ISLNK(mode))
		return -EINVAL;
	err = cpio_reserve(c, CPIO_HEADER_LEN + namesize + len + 8);
	if (err)
		return err;
	snprintf(header, sizeof(header),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 c->next_ino++, (unsigned)mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u,
		 (unsigned)len, 0u, 0u, rdev_major, rdev_minor, (unsigned)namesize, 0u);
	memcpy(c->buf + c->len, header, CPIO_HEADER_LEN);
	c->len += CPIO_HEADER_LEN;
	cpio_put_padded(c, name, namesize);
	if (len)
		cpio_put_padded(c, data, len);
	return 0;
}

int cpio_finish(struct cpio *c)
{
	return cpio_add(c, "TRAILER!!!", 0, NULL, 0, 0, 0);
}
