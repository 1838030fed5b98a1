/*
 * mkinitramfs: writes the built-in initramfs, which is just the agent as /init: every byte
 * of an initramfs is copied by guest kernel code, emulated on nested hosts (~1.5 s per MB),
 * so the root file system comes on a disk instead.
 * With --tree it packs a whole directory instead (the KVM test host's initramfs, tests/kvmhost).
 * Usage: mkinitramfs OUT AGENT | mkinitramfs --tree OUT DIR
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../boot/cpio.h"

static const char *const dirs[] = { "proc", "sys", "hvm" };

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

/* Deep enough for any initramfs we pack; a deeper tree is refused, not walked forever. */
#define TREE_MAX_DEPTH 16

/* Adds SRC's entries (directories, regular files, symlinks) under the archive name NAME. */
static void add_tree(struct cpio *c, const char *src, const char *name, int depth)
{
	char path[4096], member[4096], target[4096];
	struct dirent **ents;
	struct stat st;
	int n;

	if (depth > TREE_MAX_DEPTH)
		die(src, ELOOP);
	n = scandir(src, &ents, NULL, alphasort);	/* sorted: the same tree packs the same bytes */
	if (n < 0)
		die(src, errno);
	for (int i = 0; i < n; i++) {
		const char *e = ents[i]->d_name;

		if (strcmp(e, ".") && strcmp(e, "..")) {
			snprintf(path, sizeof(path), "%s/%s", src, e);
			snprintf(member, sizeof(member), "%s%s%s", name, *name ? "/" : "", e);
			if (lstat(path, &st) < 0)
				die(path, errno);
			if (S_ISDIR(st.st_mode)) {
				add(c, member, S_IFDIR | (st.st_mode & 07777), NULL, 0, 0, 0);
				add_tree(c, path, member, depth + 1);
			} else if (S_ISLNK(st.st_mode)) {
				ssize_t len = readlink(path, target, sizeof(target));

				if (len < 0 || (size_t)len == sizeof(target))
					die(path, len < 0 ? errno : ENAMETOOLONG);
				add(c, member, S_IFLNK | 0777, target, (size_t)len, 0, 0);
			} else if (S_ISREG(st.st_mode)) {
				size_t len;
				char *data = slurp(path, &len);

				add(c, member, S_IFREG | (st.st_mode & 07777), data, len, 0, 0);
				free(data);
			} else {
				die(path, EINVAL);
			}
		}
		free(ents[i]);
	}
	free(ents);
}

static void write_archive(struct cpio *c, const char *out)
{
	char tmp[4096];
	FILE *f;

	if (cpio_finish(c))
		die("trailer", ENOMEM);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	f = fopen(tmp, "wb");
	if (!f || fwrite(c->buf, 1, c->len, f) != c->len || fclose(f) != 0)
		die(tmp, errno);
	if (rename(tmp, out) < 0)
		die(out, errno);
	cpio_free(c);
}

int main(int argc, char **argv)
{
	int tree = argc == 4 && strcmp(argv[1], "--tree") == 0;
	struct cpio c;
	size_t len;
	char *agent;

	if (argc != 3 && !tree) {
		fprintf(stderr, "usage: mkinitramfs OUT AGENT | mkinitramfs --tree OUT DIR\n");
		return 2;
	}
	cpio_init(&c);
	/* The kernel opens /dev/console for init before anything is mounted. */
	add(&c, "dev", S_IFDIR | 0755, NULL, 0, 0, 0);
	add(&c, "dev/console", S_IFCHR | 0600, NULL, 0, 5, 1);
	if (tree) {
		add_tree(&c, argv[3], "", 0);
		write_archive(&c, argv[2]);
		return 0;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		add(&c, dirs[i], S_IFDIR | 0755, NULL, 0, 0, 0);
	agent = slurp(argv[2], &len);
	add(&c, "init", S_IFREG | 0755, agent, len, 0, 0);
	free(agent);
	write_archive(&c, argv[1]);
	return 0;
}
