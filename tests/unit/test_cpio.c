/* The newc writer, read back by an independent parser written from the format description. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../../boot/cpio.h"
#include "../harness.h"

struct entry {
	char name[256];
	unsigned mode, size, rmaj, rmin;
	const uint8_t *data;
};

static unsigned hex8(const uint8_t *p)
{
	char buf[9];

	memcpy(buf, p, 8);
	buf[8] = '\0';
	return (unsigned)strtoul(buf, NULL, 16);
}

/* Reads the entry at *off; returns 0 and advances, or -1 when malformed. */
static int read_entry(const struct cpio *c, size_t *off, struct entry *e)
{
	const uint8_t *h = c->buf + *off;

	if (*off + 110 > c->len || memcmp(h, "070701", 6) != 0)
		return -1;
	e->mode = hex8(h + 14);
	e->size = hex8(h + 54);
	e->rmaj = hex8(h + 78);
	e->rmin = hex8(h + 86);
	unsigned namesize = hex8(h + 94);
	if (namesize == 0 || namesize > sizeof(e->name) || h[110 + namesize - 1] != '\0')
		return -1;
	memcpy(e->name, h + 110, namesize);
	size_t data = (*off + 110 + namesize + 3) & ~(size_t)3;
	e->data = c->buf + data;
	*off = (data + e->size + 3) & ~(size_t)3;
	return *off <= c->len ? 0 : -1;
}

static void roundtrip(void)
{
	struct cpio c;
	struct entry e;
	size_t off = 0;

	cpio_init(&c);
	CHECK_EQ(cpio_add(&c, "/dev", S_IFDIR | 0755, NULL, 0, 0, 0), 0);
	CHECK_EQ(cpio_add(&c, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1), 0);
	CHECK_EQ(cpio_add(&c, "init", S_IFREG | 0755, "abcde", 5, 0, 0), 0);
	CHECK_EQ(cpio_add(&c, "bin/sh", S_IFLNK | 0777, "busybox", 7, 0, 0), 0);
	CHECK_EQ(cpio_finish(&c), 0);
	CHECK_EQ(c.len % 4, 0);

	CHECK_EQ(read_entry(&c, &off, &e), 0);
	CHECK_STR(e.name, "dev");	/* leading slash dropped */
	CHECK(S_ISDIR(e.mode));
	CHECK_EQ(read_entry(&c, &off, &e), 0);
	CHECK_STR(e.name, "dev/console");
	CHECK(S_ISCHR(e.mode));
	CHECK_EQ(e.rmaj, 5);
	CHECK_EQ(e.rmin, 1);
	CHECK_EQ(read_entry(&c, &off, &e), 0);
	CHECK_STR(e.name, "init");
	CHECK_EQ(e.size, 5);
	CHECK(memcmp(e.data, "abcde", 5) == 0);
	CHECK_EQ(e.mode & 07777, 0755);
	CHECK_EQ(read_entry(&c, &off, &e), 0);
	CHECK_STR(e.name, "bin/sh");
	CHECK(S_ISLNK(e.mode));
	CHECK(memcmp(e.data, "busybox", 7) == 0);
	CHECK_EQ(read_entry(&c, &off, &e), 0);
	CHECK_STR(e.name, "TRAILER!!!");
	CHECK_EQ(off, c.len);
	cpio_free(&c);
}

static void bad_entries(void)
{
	struct cpio c;
	char longname[5000];

	cpio_init(&c);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ(cpio_add(&c, "", S_IFREG | 0644, NULL, 0, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add(&c, "/", S_IFDIR | 0755, NULL, 0, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add(&c, longname, S_IFREG | 0644, NULL, 0, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add(&c, "d", S_IFDIR | 0755, "data", 4, 0, 0), -EINVAL);
	CHECK_EQ(c.len, 0);
	cpio_free(&c);
}

static void large_file(void)
{
	struct cpio c;
	struct entry e;
	size_t off = 0, n = 3 * 1024 * 1024 + 1;
	uint8_t *data = malloc(n);

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7);
	cpio_init(&c);
	CHECK_EQ(cpio_add(&c, "big", S_IFREG | 0644, data, n, 0, 0), 0);
	CHECK_EQ(read_entry(&c, &off, &e), 0);
	CHECK_EQ(e.size, n);
	CHECK(memcmp(e.data, data, n) == 0);
	cpio_free(&c);
	free(data);
}

HARNESS_MAIN(roundtrip, bad_entries, large_file)
