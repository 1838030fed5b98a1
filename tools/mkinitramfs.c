/*
 * mkinitramfs: writes the built-in initramfs: the agent as /init plus a busybox root.
 * Usage: mkinitramfs OUT AGENT BUSYBOX APPLETS
 * APPLETS is `busybox --list`, stored as /etc/busybox.applets. No applet symlinks: each costs
 * ~30 ms of emulated unpacking on nested hosts, and neither the shell (standalone applets)
 * nor the agent (runs busybox for a listed name it cannot find) needs them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../boot/cpio.h"

static const char *const dirs[] = { "bin", "dev", "etc", "proc", "root", "sys", "tmp" };

static const char etc_passwd[] = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n";
static const char etc_group[] = "root:x:0:\nnogroup:x:65534:\n";

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
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void add(struct cpio *c, const char *name, mode_t mode, const void *data, size_t len)
{
	int err = cpio_add(c, name, mode, data, len, 0, 0);

	if (err)
		die(name, err);
}

int main(int argc, char **argv)
{
	struct cpio c;
	size_t len;
	char *data;
	int err;

	if (argc != 5) {
		fprintf(stderr, "usage: mkinitramfs OUT AGENT BUSYBOX APPLETS\n");
		return 2;
	}
	cpio_init(&c);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		add(&c, dirs[i], S_IFDIR | 0755, NULL, 0);
	/* The kernel opens /dev/console for init before anything is mounted. */
	if ((err = cpio_add(&c, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1)))
		die("dev/console", err);
	add(&c, "etc/passwd", S_IFREG | 0644, etc_passwd, strlen(etc_passwd));
	add(&c, "etc/group", S_IFREG | 0644, etc_group, strlen(etc_group));
	data = slurp(argv[2], &len);
	add(&c, "init", S_IFREG | 0755, data, len);
	free(data);
	data = slurp(argv[3], &len);
	add(&c, "bin/busybox", S_IFREG | 0755, data, len);
	free(data);
	add(&c, "bin/sh", S_IFLNK | 0777, "busybox", strlen("busybox"));
	data = slurp(argv[4], &len);
	add(&c, "etc/busybox.applets", S_IFREG | 0644, data, len);
	free(data);
	if ((err = cpio_finish(&c)))
		die("trailer", err);

	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(c.buf, 1, c.len, f) != c.len || fclose(f) != 0)
		die(tmp, errno);
	if (rename(tmp, argv[1]) < 0)
		die(argv[1], errno);
	cpio_free(&c);
	return 0;
}
