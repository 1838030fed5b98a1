/*
 * mkinitramfs: writes the built-in initramfs, which is just the agent as /init: every byte
 * of an initramfs is copied by guest kernel code, emulated on nested hosts (~1.5 s per MB),
 * so the root file system comes on a disk instead.
 * Usage: mkinitramfs OUT AGENT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../boot/cpio.h"

static const char *const dirs[] = { "dev", "proc", "sys", "hvm" };

static void die(const char *what, int err)
{
	fprintf(stderr, "mkinitramfs: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		die(path, errno);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die(path, buf ? EIO : ENOMEM);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void add(struct cpio *c, const char *name, mode_t mode, const void *data, size_t len,
		unsigned major, unsigned minor)
{
	int err = cpio_add(c, name, mode, data, len, major, minor);

	if (err)
		die(name, err);
}

int main(int argc, char **argv)
{
	struct cpio c;
	size_t len;
	char *agent, tmp[4096];
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: mkinitramfs OUT AGENT\n");
		return 2;
	}
	cpio_init(&c);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		add(&c, dirs[i], S_IFDIR | 0755, NULL, 0, 0, 0);
	/* The kernel opens /dev/console for init before anything is mounted. */
	add(&c, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1);
	agent = slurp(argv[2], &len);
	add(&c, "init", S_IFREG | 0755, agent, len, 0, 0);
	free(agent);
	if (cpio_finish(&c))
		die("trailer", ENOMEM);

	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	f = fopen(tmp, "wb");
	if (!f || fwrite(c.buf, 1, c.len, f) != c.len || fclose(f) != 0)
		die(tmp, errno);
	if (rename(tmp, argv[1]) < 0)
		die(argv[1], errno);
	cpio_free(&c);
	return 0;
}
