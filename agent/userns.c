/*
 * linux.uidMappings and gidMappings: the container's process runs in a user namespace of its
 * own in the guest, mapped as the config says. The child makes the namespace; the agent,
 * privileged outside it, writes the maps (from inside, a process may map only its own ids);
 * the child waits for them before anything that needs its ids (capabilities, user switch).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define GET(obj, key) cJSON_GetObjectItemCaseSensitive(obj, key)
#define MAP_TEXT_MAX 16384	/* the kernel takes at most 340 lines of one map */

int userns_wanted(const cJSON *run)
{
	return cJSON_GetArraySize(GET(run, "uidMappings")) > 0 ||
	       cJSON_GetArraySize(GET(run, "gidMappings")) > 0;
}

int userns_prepare(struct userns_sync *s)
{
	if (pipe2(s->to_parent, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(s->to_child, O_CLOEXEC) < 0) {
		int err = -errno;
		userns_close(s);
		return err;
	}
	return 0;
}

void userns_close(struct userns_sync *s)
{
	for (int *fd = &s->to_parent[0]; fd <= &s->to_child[1]; fd++) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

int userns_child(struct userns_sync *s)
{
	char c = 0;

	close(s->to_parent[0]);
	close(s->to_child[1]);
	if (unshare(CLONE_NEWUSER) < 0) {
		dprintf(STDERR_FILENO, "hvm-agent: a user namespace: %s\n", strerror(errno));
		return -errno;
	}
	/* The agent maps us once it reads this; a read of anything but 'm' means it failed. */
	if (write(s->to_parent[1], "u", 1) != 1 || read(s->to_child[0], &c, 1) != 1 || c != 'm')
		return -EPERM;
	return 0;
}

/* The lines "containerID hostID size" of one OCI mapping array, into buf; 0 or -EINVAL. */
static int map_text(const cJSON *maps, char *buf, size_t cap)
{
	const cJSON *m;
	size_t len = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(m, maps) {
		const cJSON *c = GET(m, "containerID"), *h = GET(m, "hostID"), *n = GET(m, "size");
		if (!cJSON_IsNumber(c) || !cJSON_IsNumber(h) || !cJSON_IsNumber(n))
			return -EINVAL;
		len += (size_t)snprintf(buf + len, cap - len, "%.0f %.0f %.0f\n", c->valuedouble,
					h->valuedouble, n->valuedouble);
		if (len >= cap)
			return -EINVAL;
	}
	return 0;
}

/* Writes one map of pid's namespace (a single write, as the kernel wants); 0 or -errno. */
static int write_map(pid_t pid, const char *file, const cJSON *maps, char *why, size_t cap)
{
	static char text[MAP_TEXT_MAX];
	char path[64];
	int fd, err = map_text(maps, text, sizeof(text));

	if (err || !text[0]) {
		if (err)
			snprintf(why, cap, "linux.%sMappings: malformed", file[0] == 'u' ? "uid" : "gid");
		return err;
	}
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		err = -errno;
		snprintf(why, cap, "linux.%sMappings: writing %s: %s", file[0] == 'u' ? "uid" : "gid",
			 file, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return err;
}

int userns_map(struct userns_sync *s, pid_t pid, const cJSON *run, char *why, size_t cap)
{
	char c = 0;
	int err;

	close(s->to_parent[1]);
	s->to_parent[1] = -1;
	/* Bounded: the child's next step after the fork is the namespace, then this byte. */
	if (read(s->to_parent[0], &c, 1) != 1 || c != 'u') {
		snprintf(why, cap, "run: the process did not get its user namespace (see its stderr)");
		err = -ECHILD;
	} else {
		err = write_map(pid, "uid_map", GET(run, "uidMappings"), why, cap);
		if (!err)
			err = write_map(pid, "gid_map", GET(run, "gidMappings"), why, cap);
	}
	if (err)
		kill(pid, SIGKILL);
	else if (write(s->to_child[1], "m", 1) != 1)
		err = -errno;
	userns_close(s);
	return err;
}
