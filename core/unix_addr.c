#include "unix_addr.h"

#include <errno.h>
#include <sys/stat.h>

int unix_connect(const char *name, int flags)
{
	struct sockaddr_un a;
	int fd, err;

	if (strlen(name) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, unix_addr(&a, name)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int unix_listen(const char *name, int backlog, int flags)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, err;

	if (strlen(name) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	if (!unix_is_abstract(name) && lstat(name, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, unix_addr(&a, name)) < 0 || listen(fd, backlog) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
