#include "dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void dir_empty(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			dir_remove_at(fd, e->d_name);
	if (d)
		closedir(d);
	else
		close(fd);
}

void dir_remove_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		unlinkat(dirfd, name, 0);
		return;
	}
	fchmod(fd, 0700);	/* an image's read-only directory must not pin our work tree */
	dir_empty(fd);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}
