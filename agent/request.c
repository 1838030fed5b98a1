/* Boot-time settings: "key=value\0" records the host appends to the initramfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "agent.h"

#define REQUEST_MAX (64 * 1024)

/* Returns the value if rec is "key=...", else NULL. */
static char *request_value(char *rec, const char *key)
{
	size_t n = strlen(key);

	return strncmp(rec, key, n) == 0 && rec[n] == '=' ? rec + n + 1 : NULL;
}

/* "ro|rw[,nosuid][,nodev][,noexec]": the mount flags besides read-only. */
static unsigned long request_mount_flags(char *mode)
{
	unsigned long flags = 0;

	for (char *save = NULL, *w = strtok_r(mode, ",", &save); w; w = strtok_r(NULL, ",", &save))
		flags |= !strcmp(w, "nosuid") ? MS_NOSUID : !strcmp(w, "nodev") ? MS_NODEV :
			 !strcmp(w, "noexec") ? MS_NOEXEC : 0;
	return flags;
}

/* "SERIAL:MODE:/guest/path" (a disk) or "PORT:MODE:/guest/path" (share, a directory). */
static int request_add_mount(struct boot_request *req, char *v, int share)
{
	char *mode = strchr(v, ':'), *path = mode ? strchr(mode + 1, ':') : NULL;
	unsigned long port = share ? strtoul(v, NULL, 10) : 0;

	if (!path || req->nmounts == AGENT_MAX_MOUNTS || (share && (!port || port > 0xffffffffUL)))
		return -EINVAL;
	*mode++ = '\0';
	*path++ = '\0';
	req->mounts[req->nmounts++] = (struct agent_mount){
		.serial = v, .port = (unsigned)port, .path = path,
		.read_only = strncmp(mode, "ro", 2) == 0, .flags = request_mount_flags(mode),
	};
	return 0;
}

static int request_add(struct boot_request *req, char *rec)
{
	char *v;

	if ((v = request_value(rec, RUN_KEY_ROOT)))
		req->root_serial = v;
	else if ((v = request_value(rec, RUN_KEY_OVERLAY)))
		req->overlay = strcmp(v, "0") != 0;
	else if ((v = request_value(rec, RUN_KEY_MOUNT)))
		return request_add_mount(req, v, 0);
	else if ((v = request_value(rec, RUN_KEY_SHARE)))
		return request_add_mount(req, v, 1);
	else if ((v = request_value(rec, RUN_KEY_QUIET)))
		req->quiet = strcmp(v, "1") == 0;
	else if ((v = request_value(rec, RUN_KEY_NO_AVX)))
		req->no_avx = strcmp(v, "1") == 0;
	else if ((v = request_value(rec, RUN_KEY_WARM)) && req->nwarm < AGENT_MAX_WARM)
		req->warm[req->nwarm++] = v;
	else if ((v = request_value(rec, RUN_KEY_HOSTNAME)))
		req->hostname = v;
	else if ((v = request_value(rec, RUN_KEY_NET_ADDR)))
		req->net.addr = v;
	else if ((v = request_value(rec, RUN_KEY_NET_GW)))
		req->net.gateway = v;
	else if ((v = request_value(rec, RUN_KEY_NET_MTU)))
		req->net.mtu = (unsigned)strtoul(v, NULL, 10);
	else if ((v = request_value(rec, RUN_KEY_NET_DNS)) && req->net.ndns < RUN_MAX_DNS)
		req->net.dns[req->net.ndns++] = v;
	/* Unknown keys are ignored: a newer host may say more than this agent knows. */
	return 0;
}

int boot_request_read(struct boot_request *req, const char **why)
{
	int fd = open(RUN_REQUEST_PATH, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	memset(req, 0, sizeof(*req));
	req->overlay = 1;
	*why = RUN_REQUEST_PATH;
	if (fd < 0)
		return -errno;	/* no request: no root disk, the initramfs stays the root */
	req->buf = malloc(REQUEST_MAX + 1);
	len = req->buf ? read(fd, req->buf, REQUEST_MAX) : -1;
	close(fd);
	if (len < 0)
		return -EIO;
	req->buf[len] = '\0';
	for (char *p = req->buf; p < req->buf + len; p += strlen(p) + 1)
		if (request_add(req, p)) {
			*why = "bad mount record in " RUN_REQUEST_PATH;
			return -EINVAL;
		}
	return 0;
}
