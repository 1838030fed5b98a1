/*
 * The libhvm handle behind include/hvm.h: its configuration (what the setters recorded), the
 * machine and everything a run owns, and the state the service thread shares with callers.
 * Internal to vmm/hvm*.c.
 */
#ifndef HVM_INTERNAL_H
#define HVM_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "../boot/cpio.h"
#include "../image/image.h"
#include "../include/hvm.h"
#include "host_session.h"
#include "hvm_metrics.h"
#include "hvm_net.h"
#include "machine.h"

#define HVM_EXIT_TIMEOUT   124
#define HVM_EXIT_ERROR     125
#define HVM_DEFAULT_CPUS   2	/* at most; one when the host gives this process one CPU */
#define HVM_DEFAULT_MEM    128
#define HVM_DEFAULT_VOL    1024	/* MiB of a volume hvm creates */
#define HVM_MAX_VOLUMES    6
#define HVM_MAX_ENV        256
#define HVM_MAX_EXTRA      4	/* guest connections to the agent port besides the agent's */
#define HVM_LOG_TAIL       4096	/* console text kept for the post-mortem of a failed guest */
#define HVM_MAX_PENDING    16	/* signals queued for the service thread */
#define HVM_ERR_MAX        1024

struct hvm_volume {
	char *host;			/* disk image file (created and formatted when missing) */
	char *guest;			/* absolute mount point in the guest */
	int read_only;
	uint64_t size_mib;
};

/* What the setters recorded; strings are owned copies. */
struct hvm_config {
	char *kernel, *initrd, *cmdline_extra;	/* NULL: built-in / none */
	unsigned cpus;
	uint64_t mem_mib;
	char *image;			/* NULL: the built-in busybox image */
	int read_only;
	struct hvm_volume volumes[HVM_MAX_VOLUMES];
	int nvolumes;
	struct hvm_net_config net;
	char **args;			/* after the image's Entrypoint (replaces its Cmd) */
	char **argv;			/* the whole command line */
	char *shell;			/* sh -c SHELL */
	char *env[HVM_MAX_ENV + 1];	/* KEY=VALUE, NULL-terminated */
	int nenv;
	char *workdir, *user, *hostname;
	int in_fd, out_fd, err_fd;
	int tty;
	unsigned rows, cols;
	int console_fd;
	unsigned timeout_s;
	char *api_socket;
	int jail;			/* hvm_set_jail: confine the process at hvm_start */
	unsigned jail_uid, jail_gid;
};

/* Where a run is; only moves forward. */
enum hvm_phase { HVM_NEW, HVM_STARTING, HVM_RUNNING, HVM_ENDED };

struct hvm {
	pthread_mutex_t lock;		/* serializes API calls and guards the fields below */
	enum hvm_phase phase;
	char error[HVM_ERR_MAX];
	struct hvm_config cfg;

	/* Set up by hvm_start; afterwards touched by the service thread only. */
	struct machine machine;
	struct machine_config mcfg;
	struct hvm_metrics metrics;
	struct cpio boot;		/* boot settings for the agent (second initramfs) */
	struct hvm_net net;		/* backend and guest addresses; the machine takes the backend */
	struct image image;		/* the image, or the embedded default */
	int image_resolved;		/* image came from image_resolve: free it */
	int machine_made;		/* machine_create succeeded: destroy it */
	char vol_serial[HVM_MAX_VOLUMES][16];
	char kernel[PATH_MAX], initrd[PATH_MAX];
	char vsock_uds[PATH_MAX];	/* the vsock bridge: the api socket, or "@..." (abstract) */
	char agent_uds[PATH_MAX + 16];	/* vsock_uds_1024: where the agent's connection arrives */
	int listen_fd;
	int ready_fd;			/* eventfd: the agent reported ready (from a vCPU) */
	char *run_json;			/* the process spec for the boot session */
	struct host_session *agent;	/* the agent's session, once it connected */
	struct host_session *extra[HVM_MAX_EXTRA];
	char tail[HVM_LOG_TAIL];	/* ring of the latest console text */
	size_t tail_len;
	char tail_text[HVM_LOG_TAIL + 1];	/* the ring in order, once the VM stopped */
	pthread_t thread;
	int thread_started;

	/* Between callers and the service thread (under lock). */
	int wake_fd;			/* eventfd: pending work for the service thread */
	int done_fd;			/* eventfd: written once the run ended (never read) */
	int start_result;		/* machine_start's result, for hvm_start */
	pthread_cond_t started;		/* start_result is in */
	int start_known;
	int pending[HVM_MAX_PENDING];	/* signals for the service thread to deliver */
	int npending;
	int resize;			/* rows/cols below wait to be sent */
	unsigned resize_rows, resize_cols;
	int pause_asked;		/* hvm_pause/hvm_resume waits for the service thread */
	int pause_to;			/* what it asked: 1 pause, 0 resume */
	int pause_answered, pause_result;	/* vm_pause's or vm_resume's result is in */
	pthread_cond_t answered;	/* pause_answered, or the run ended */
	int stop;			/* hvm_destroy: end the run now */
	int status;			/* the run's status, once phase is HVM_ENDED */
};

/* Records "fmt..." as the handle's error and returns err (a -errno). */
int hvm_fail(struct hvm *vm, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* hvm_run.c: the service thread's body (machine_start, serve, tear down); arg is the handle. */
void *hvm_run_thread(void *arg);

/* hvm_run.c: the sockets, callbacks and machine for a configured handle; 0 or -errno. */
int hvm_run_prepare(struct hvm *vm);

/* hvm_run.c: frees what hvm_run_prepare and the service thread left (after the join). */
void hvm_run_cleanup(struct hvm *vm);

/* hvm_jail.c: jails the process around the prepared VM (kernel, disks, sockets' directory,
 * /dev/kvm) before the machine is built; 0 or -errno (logged). */
int hvm_jail_enter(struct hvm *vm);

/* hvm.c: the data file name next to the running binary or in $HVM_DATA_DIR; 0 or -errno. */
int hvm_data_path(char *out, size_t cap, const char *name);

#endif
