/* hvm-agent internals: the guest's PID 1, split by job. */
#ifndef HVM_AGENT_H
#define HVM_AGENT_H

#include <stddef.h>
#include <sys/types.h>

#define AGENT_MAX_ARGS   1024
#define AGENT_MAX_ENV    1024
#define AGENT_MAX_MOUNTS 8
#define EXIT_AGENT_ERROR 125

struct agent_mount {
	const char *serial;	/* the disk's virtio-blk serial */
	const char *path;	/* where it goes in the guest root */
	int read_only;
};

/* What the host asked for (request.c); strings point into buf. */
struct request {
	char *buf;
	char *argv[AGENT_MAX_ARGS + 1];
	int argc;
	char *env[AGENT_MAX_ENV + 1];
	int envc;
	const char *cwd, *user, *root_serial;
	int overlay;
	int quiet;
	int no_avx;
	struct agent_mount mounts[AGENT_MAX_MOUNTS];
	int nmounts;
};

/* console.c: frames to the host, and the two ways out. */
void console_open(void);
void frame_send(int type, const void *data, size_t len);
/* Reports status, syncs and unmounts volumes, resets the VM. */
void agent_finish(int status) __attribute__((noreturn));
/* Reports "what: strerror(err)" as the agent's failure and finishes with 125. */
void agent_fail(const char *what, int err) __attribute__((noreturn));
/* Reports a formatted failure and finishes with 125. */
void agent_failf(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* request.c: reads RUN_REQUEST_PATH; fails the agent on a malformed request. */
void request_read(struct request *req);

/* rootfs.c: mounts the root disk (with its overlay) and volumes and moves into it. */
void rootfs_enter(const struct request *req);
/* Mounts proc, sys, dev, dev/pts and dev/shm under dir (skipping what it cannot create). */
void rootfs_mount_kernel_fs(const char *dir);
/* Unmounts the volumes rootfs_enter mounted, after a sync: data reaches the disks. */
void rootfs_release(void);

/* user.c: resolves USER[:GROUP] in the current root and switches to it (in the child). */
int user_switch(const char *spec, const char **home);

#endif
