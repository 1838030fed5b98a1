/* Counting this process's threads and fds through /proc/self: the jail needs a process of
 * one thread, and the load and API tests watch both stay flat. */
#include "proc_self.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>

int proc_self_count(const char *dir)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/%s", dir);
	if (!(d = opendir(path)))
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}
