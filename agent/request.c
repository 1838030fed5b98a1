/* The run request: "key=value\0" records the host appends to the initramfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "protocol.h"

#define AGENT_REQUEST_MAX (1024 * 1024)

/* Returns the value if rec is "key=...", else NULL. */
static char *request_value(char *rec, const char *key)
{
	size_t n = strlen(key);

	return strncmp(rec, key, n) == 0 && rec[n] == '=' ? rec + n + 1 : NULL;
}

/* "SERIAL:ro|rw:/guest/path" */
static void request_add_mount(struct request *req, char *v)
{
	char *mode = strchr(v, ':'), *path = mode ? strchr(mode + 1, ':') : NULL;

	if (!path || req->nmounts == AGENT_MAX_MOUNTS)
		agent_failf("run request: bad mount record \"%s\"", v);
	*mode++ = '\0';
	*path++ = '\0';
	req->mounts[req->nmounts++] = (struct agent_mount){
		.serial = v, .path = path, .read_only = strcmp(mode, "ro") == 0,
	};
}

static void request_add(struct request *req, char *rec)
{
	char *v;

	if ((v = request_value(rec, RUN_KEY_ARG)) && req->argc < AGENT_MAX_ARGS)
		req->argv[req->argc++] = v;
	else if ((v = request_value(rec, RUN_KEY_ENV)) && req->envc < AGENT_MAX_ENV)
		req->env[req->envc++] = v;
	else if ((v = request_value(rec, RUN_KEY_CWD)))
		req->cwd = v;
	else if ((v = request_value(rec, RUN_KEY_USER)))
		req->user = v;
	else if ((v = request_value(rec, RUN_KEY_ROOT)))
		req->root_serial = v;
	else if ((v = request_value(rec, RUN_KEY_OVERLAY)))
		req->overlay = strcmp(v, "0") != 0;
	else if ((v = request_value(rec, RUN_KEY_MOUNT)))
		request_add_mount(req, v);
	else if ((v = request_value(rec, RUN_KEY_QUIET)))
		req->quiet = strcmp(v, "1") == 0;
	else if ((v = request_value(rec, RUN_KEY_NO_AVX)))
		req->no_avx = strcmp(v, "1") == 0;
	/* Unknown keys are ignored: a newer host may say more than this agent knows. */
}

void request_read(struct request *req)
{
	int fd = open(RUN_REQUEST_PATH, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	memset(req, 0, sizeof(*req));
	req->overlay = 1;
	req->buf = malloc(AGENT_REQUEST_MAX + 1);
	if (fd < 0 || !req->buf)
		agent_fail(RUN_REQUEST_PATH, fd < 0 ? errno : ENOMEM);
	len = read(fd, req->buf, AGENT_REQUEST_MAX);
	close(fd);
	if (len < 0)
		agent_fail(RUN_REQUEST_PATH, errno);
	req->buf[len] = '\0';
	for (char *p = req->buf; p < req->buf + len; p += strlen(p) + 1)
		request_add(req, p);
	if (req->argc == 0)
		agent_failf("%s: no command", RUN_REQUEST_PATH);
}
