/* One hvm-run invocation: its flags, the machine, and what the guest reported. */
#ifndef HVM_RUN_H
#define HVM_RUN_H

#include <limits.h>

#include "../boot/cpio.h"
#include "../image/image.h"
#include "../vmm/machine.h"
#include "host_session.h"
#include "run_flags.h"
#include "run_metrics.h"

#define EXIT_HVM_ERROR  125
#define EXIT_TIMEOUT    124
#define RUN_LOG_TAIL    4096	/* console text kept for the post-mortem of a failed guest */
#define RUN_MAX_EXTRA   4	/* guest connections to the agent port besides the agent's */

struct run {
	struct run_flags flags;
	struct machine machine;
	struct machine_config cfg;
	struct run_metrics metrics;
	struct cpio boot;		/* boot settings for the agent (second initramfs) */
	struct run_net net;		/* backend and guest addresses; the machine takes the backend */
	struct image image;		/* --image, or the embedded default image */
	int image_resolved;		/* image came from image_resolve: free it */
	char vol_serial[RUN_MAX_VOLUMES][16];
	char kernel[PATH_MAX], initrd[PATH_MAX];
	char vsock_dir[PATH_MAX - 64];	/* private directory for the sockets, or "" */
	char vsock_uds[PATH_MAX];	/* the vsock bridge (--api-socket or in vsock_dir) */
	char agent_uds[PATH_MAX + 16];	/* vsock_uds_1024: where the agent's connection arrives */
	int listen_fd;
	int ready_fd;			/* eventfd: the agent reported ready */
	char *run_json;			/* the process spec for the boot session */
	struct host_session *agent;	/* the agent's session, once it connected */
	struct host_session *extra[RUN_MAX_EXTRA];
	char tail[RUN_LOG_TAIL];	/* ring of the latest console text */
	size_t tail_len;
};

/* run_loop.c: boots the VM and serves it until it stops; returns hvm-run's exit status. */
int run_vm(struct run *r);

/* run_exec.c: `hvm-run exec`: runs the command in the VM behind --api-socket. */
int run_exec(const struct run_flags *f);

#endif
