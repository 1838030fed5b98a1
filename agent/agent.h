/* hvm-agent internals: the guest's PID 1, split by job. */
#ifndef HVM_AGENT_H
#define HVM_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../proto/protocol.h"

#define AGENT_MAX_MOUNTS   8
#define AGENT_MAX_WARM     4	/* programs a template's boot reads ahead (warm.c) */
#define AGENT_MAX_SESSIONS 16
#define AGENT_OUTBUF       (256 * 1024)	/* per session: bytes waiting to go to the host */
#define AGENT_CTL_RESERVE  4096		/* of AGENT_OUTBUF, kept for an ERROR (<= 512 chars, escaped) or EXIT frame */
/* Output is relayed only while a whole stdio frame fits beside the control reserve. */
#define AGENT_OUT_ROOM(s)  (AGENT_OUTBUF - (s)->outlen >= \
			    PROTO_MAX_PAYLOAD + PROTO_HDR_SIZE + AGENT_CTL_RESERVE)
#define AGENT_INBUF        PROTO_STDIN_WINDOW	/* per process: all the stdin the host may have in flight */
#define EXIT_AGENT_ERROR   125
#define AGENT_MAX_GROUPS   64	/* additional gids a RUN request may give */

struct agent_mount {
	const char *serial;	/* the disk's virtio-blk serial */
	unsigned port;		/* a directory volume: 9p from this host vsock port; 0: a disk */
	const char *path;	/* where it goes in the guest root */
	int read_only;
	unsigned long flags;	/* MS_NOSUID, MS_NODEV, MS_NOEXEC as asked */
};

/* Boot-time settings from the initramfs (request.c); strings point into buf. */
struct boot_request {
	char *buf;
	const char *root_serial;
	int overlay;
	int quiet;
	int no_avx;
	const char *hostname;		/* NULL: the kernel's default */
	struct agent_mount mounts[AGENT_MAX_MOUNTS];
	int nmounts;
	const char *warm[AGENT_MAX_WARM];	/* programs to read into the page cache */
	int nwarm;
	struct agent_net {
		const char *addr;	/* "A.B.C.D/PREFIX"; NULL: no eth0 set-up */
		const char *gateway;
		unsigned mtu;		/* 0: the driver's */
		const char *dns[RUN_MAX_DNS];
		int ndns;
	} net;
};

/* One process run for a session (process.c). */
struct process {
	pid_t pid;			/* 0: none yet */
	int in_fd, out_fd, err_fd;	/* -1 when closed; with a tty out_fd == in_fd (the master) */
	int tty;
	int exited, status;		/* waitpid status once exited */
	int stdin_eof;			/* the host closed stdin: close in_fd once inbuf drains */
	uint8_t *inbuf;
	size_t inlen;
	size_t consumed;		/* stdin taken out of inbuf (written or dropped), not yet acknowledged */
};

/* A connection to the host carrying one process (session.c). */
struct session {
	int fd;				/* vsock socket, -1 when the slot is free */
	int main;			/* the boot session: its process exiting powers the VM off */
	int hello;			/* the host's HELLO arrived */
	struct proto_reader rd;
	uint8_t *out;			/* frames waiting to be written */
	size_t outlen;
	struct process proc;
	int closing;			/* flush out, then close */
	int reset;			/* the last failure was ECONNRESET: a restore's transport reset */
};

/* vsock.c: a stream to a host vsock port (answer awaited PROTO_CONNECT_TIMEOUT_S); fd or -errno. */
int vsock_connect_host(unsigned port);

/* console.c: the kernel console, for messages when no session exists. */
void console_open(void);
void console_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* request.c: reads RUN_REQUEST_PATH. Returns 0 or -errno with *why set. */
int boot_request_read(struct boot_request *req, const char **why);

/* rootfs.c: mounts the root disk (with its overlay) and volumes and moves into it. */
int rootfs_enter(const struct boot_request *req, char *why, size_t cap);
/* Mounts proc, sys, dev, dev/pts and dev/shm under dir (skipping what it cannot create). */
void rootfs_mount_kernel_fs(const char *dir);
/* Unmounts the volumes rootfs_enter mounted, after a sync: data reaches the disks. */
void rootfs_release(void);

/* warm.c: a template's boot reads req->warm's programs and runs the shell once, so that the
 * template's page cache holds them. */
void warm_page_cache(const struct boot_request *req);

/* user.c: resolves USER[:GROUP] in the current root and switches to it (in the child).
 * nextra < 0: docker's rules (an unknown uid keeps its gid as its one group); else OCI's:
 * the groups /etc/group gives the user, if any, and the nextra gids of extra. */
int user_switch(const char *spec, const gid_t *extra, int nextra, const char **home);

/* process_settings.c: a RUN request's OCI settings (docs/agent-protocol.md); each is 0 or
 * -errno. The whole VM's and the in-guest hooks, before the fork (why filled): */
struct cJSON;
int settings_apply_vm(const struct cJSON *run, char *why, size_t cap);
/* In the child, in this order: before its user namespace (rlimits, OOM score, umask: what a
 * namespace's root may not raise), before the user switch (bounding set), and after it
 * (capabilities, no_new_privs); they say why on stderr. */
int settings_limits(const struct cJSON *run);
int settings_before_user(const struct cJSON *run);
int settings_after_user(const struct cJSON *run);
/* The request's additional gids into gids (at most max); how many, -1 when it has none. */
int settings_groups(const struct cJSON *run, gid_t *gids, int max);

/* devices.c: linux.devices' nodes in the guest (the whole VM's, before the fork); 0 or
 * -errno with why filled. */
int devices_create(const struct cJSON *devices, char *why, size_t cap);

/* userns.c: linux.uidMappings/gidMappings, a user namespace for the process. Pipes between
 * the agent and the child, -1 when closed. */
struct userns_sync {
	int to_parent[2], to_child[2];
};
#define USERNS_SYNC_NONE { { -1, -1 }, { -1, -1 } }
/* Whether the request maps ids (and so wants a user namespace). */
int userns_wanted(const struct cJSON *run);
/* Before the fork: the pipes; 0 or -errno. */
int userns_prepare(struct userns_sync *s);
/* In the child: a new user namespace, then waits until the agent has mapped it; 0 or -errno
 * (said on stderr). */
int userns_child(struct userns_sync *s);
/* In the agent after the fork: waits for the child's namespace, writes its maps, lets it go
 * on; 0, or -errno with why filled and the child killed. Closes s. */
int userns_map(struct userns_sync *s, pid_t pid, const struct cJSON *run, char *why, size_t cap);
/* Closes what is left of s. */
void userns_close(struct userns_sync *s);

/* process.c: starts the process a RUN frame describes; 0 or -errno with why filled. */
int process_start(struct process *p, const uint8_t *json, size_t len, int no_avx,
		  char *why, size_t cap);
/* Sends a signal to the process; 0 or -errno. */
int process_signal(struct process *p, const uint8_t *json, size_t len);
/* Resizes the process's tty; 0 or -errno. */
int process_resize(struct process *p, const uint8_t *json, size_t len);
/* Queues stdin bytes (empty: EOF); 0, or -ENOBUFS when they overrun PROTO_STDIN_WINDOW. */
int process_stdin(struct process *p, const uint8_t *data, size_t len);
/* Writes queued stdin into the process (counted in consumed); closes it after EOF. */
void process_flush_stdin(struct process *p);
/* Closes every fd of the process (after its exit has been reported). */
void process_close(struct process *p);

/* net.c: lo always; eth0 (address, MTU, default route) when the host asked, over netlink. */
int net_configure(const struct agent_net *n, char *why, size_t cap);
/* Writes /etc/resolv.conf of the (entered) root from n->dns; 0 or -errno. */
int net_write_resolv_conf(const struct agent_net *n);

/* session.c */
struct session *session_add(int fd, int main_session);
/* Reads and handles what the host sent; 0, or -1 when the session must end. */
int session_read(struct session *s, int no_avx);

/* Writes queued frames; 0, or -1 when the socket failed. */
int session_flush(struct session *s);
/* Queues a frame (type, payload) for the host; -ENOBUFS when the buffer is full. */
int session_send(struct session *s, uint32_t type, const void *payload, size_t len);
/* Queues an ERROR frame with the message; the session ends once it is flushed. */
void session_error(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether stdin the process consumed should be acknowledged now. */
int session_ack_due(const struct session *s);
/* Queues the STDIN_ACK that is due, if the buffer has room beside the control reserve. */
void session_ack_stdin(struct session *s);
/* Queues the EXIT frame for the session's process. */
int session_send_exit(struct session *s);
/* Frees the session's buffers and closes it. */
void session_close(struct session *s);
/*
 * Moves the session, its process included, onto a new host connection fd (after a restore
 * reset the old one): HELLO again; frames queued for the old host are dropped.
 */
void session_reattach(struct session *s, int fd);

/* refresh.c: applies a REFRESH body (entropy, clock, host name); 0 or -errno with why. */
int refresh_apply(const uint8_t *json, size_t len, char *why, size_t cap);
extern struct session sessions[AGENT_MAX_SESSIONS];

#endif
