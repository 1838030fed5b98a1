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
#include "../image/sha256.h"
#include "../include/hvm.h"
#include "host_session.h"
#include "hvm_metrics.h"
#include "hvm_net.h"
#include "hvm_share.h"
#include "machine.h"
#include "../core/err.h"
#include "../core/snap_file.h"

#define HVM_EXIT_TIMEOUT   124
#define HVM_EXIT_ERROR     125
#define HVM_MAX_EXTRA      4	/* guest connections to the agent port besides the agent's */
#define HVM_LOG_TAIL       4096	/* console text kept for the post-mortem of a failed guest */
#define HVM_MAX_PENDING    16	/* signals queued for the service thread */
#define HVM_ERR_MAX        ERR_MAX
#define HVM_TEMPLATES_MAX_MIB 2048	/* disk the templates may take; the oldest go first */
#define HVM_TEMPLATES_MAX  256		/* templates looked at when evicting */

struct hvm_volume {
	char *host;			/* disk image file (created and formatted when missing),
					 * or a directory (shared over 9p) */
	char *guest;			/* absolute mount point in the guest */
	int read_only;
	unsigned flags;			/* HVM_VOLUME_NOSUID, _NODEV, _NOEXEC */
	uint64_t size_mib;
	unsigned port;			/* a directory's host vsock port, once planned; 0: a disk */
};

/* What the setters recorded; strings are owned copies. */
struct hvm_config {
	char *kernel, *initrd, *cmdline_extra;	/* NULL: built-in / none */
	unsigned cpus;
	uint64_t mem_mib;
	char *image;			/* NULL: the built-in busybox image */
	int read_only;
	struct hvm_volume volumes[HVM_VOLUMES_MAX];
	int nvolumes;
	struct hvm_net_config net;
	char **args;			/* after the image's Entrypoint (replaces its Cmd) */
	char **argv;			/* the whole command line */
	char *shell;			/* sh -c SHELL */
	char *env[HVM_ENV_MAX + 1];	/* KEY=VALUE, NULL-terminated */
	int nenv;
	char *workdir, *user, *hostname;
	char *run_extra;		/* hvm_set_run_extra: "{...}" members added to RUN */
	int in_fd, out_fd, err_fd;
	int tty;
	unsigned rows, cols;
	int console_fd;
	unsigned timeout_s;
	char *api_socket;
	int jail;			/* hvm_set_jail: confine the process at hvm_start */
	int jail_proc;			/* HVM_JAIL_PROC: a /proc in the jail */
	unsigned jail_uid, jail_gid;
	char *restore;			/* hvm_set_restore: a snapshot directory to resume */
	int templates;			/* hvm_set_templates: an HVM_TEMPLATES_* mode */
};

/* Where a run is; only moves forward. */
enum hvm_phase { HVM_NEW, HVM_STARTING, HVM_RUNNING, HVM_ENDED };

struct hvm {
	pthread_mutex_t lock;		/* serializes API calls and guards the fields below */
	enum hvm_phase phase;
	char error[HVM_ERR_MAX];	/* hvm_error: the last call's failure, "" */
	enum hvm_error_kind error_kind;	/* hvm_error_kind: its cause, once error is set */
	enum hvm_error_kind call_kind;	/* what a failure of the running setter is about */
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
	char vol_serial[HVM_VOLUMES_MAX][16];
	struct hvm_share shares[HVM_VOLUMES_MAX];	/* directory volumes' 9p servers */
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

	/* Snapshots and templates (hvm_snapshot.c, hvm_template.c). */
	struct snap_state snap;		/* a restore's state; the machine config points into it */
	int snap_mem_fd;		/* its memory file, -1 */
	char snap_dir[PATH_MAX];	/* where it came from, for messages */
	int restored;			/* the machine came from snap: REFRESH the agent */
	int template_boot;		/* may become a template: generic host name, warm cache */
	struct machine_config cold_mcfg;	/* a template's run as a cold boot, if it fails */
	int template_dirfd;		/* a template being made at agent-ready, -1 */
	int template_parentfd;		/* the templates directory (for the final rename), -1
					 * when jailed: the template is staged for adoption */
	char template_tmp[64], template_key[SHA256_HEX];
	int ctl_fd;			/* the control socket's listener (api socket + ".ctl"), -1 */
	char ctl_path[PATH_MAX + 8];

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
	int snap_asked, snap_answered;	/* hvm_snapshot waits for the service thread */
	int snap_dirfd, snap_stop, snap_result;
	const char *snap_target;	/* the directory's name, for messages */
	struct err snap_error;		/* why the service thread's snapshot failed */
	int snapshot_stopped;		/* a snapshot with stop ended the VM: status 0 */
	int status;			/* the run's status, once phase is HVM_ENDED */
};

/* Records "fmt..." as the handle's error, of the running call's kind (vm->call_kind; out of
 * memory: HVM_ERROR_RESOURCES), and returns err (a -errno). */
int hvm_fail(struct hvm *vm, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* hvm_fail of the given kind. */
int hvm_fail_as(struct hvm *vm, enum hvm_error_kind kind, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records the failure an error object holds (its line, else strerror(-err)) as the handle's
 * error of kind; returns err. */
int hvm_fail_err(struct hvm *vm, enum hvm_error_kind kind, const struct err *e, int err);

/* For hvm_start's steps: a failure (err) is of kind unless a step inside it said already;
 * returns err. */
int hvm_stage(struct hvm *vm, enum hvm_error_kind kind, int err);

/* hvm_run.c: the service thread's body (machine_start, serve, tear down); arg is the handle. */
void *hvm_run_thread(void *arg);

/* hvm_run.c: the sockets, callbacks and machine for a configured handle; 0 or -errno, why
 * in e and the cause in vm->error_kind. */
int hvm_run_prepare(struct hvm *vm, struct err *e);

/* hvm_run.c: frees what hvm_run_prepare and the service thread left (after the join). */
void hvm_run_cleanup(struct hvm *vm);

/* hvm_cgroup.c: 0, or -ENOMEM (why in e, naming the limit) when guest_mib and the VMM do
 * not fit the memory limit of this process's cgroup (v2, or v1's memory controller). */
int hvm_cgroup_check_memory(uint64_t guest_mib, struct err *e);

/* hvm_jail.c: jails the process around the prepared VM (kernel, disks, sockets' directory,
 * /dev/kvm) before the machine is built; 0 or -errno (why in e, or logged by the jail). */
int hvm_jail_enter(struct hvm *vm, struct err *e);

/* hvm_snapshot.c: reads the snapshot of cfg.restore and plans the machine from it; 0 or
 * -errno (why in e). */
int hvm_restore_prepare(struct hvm *vm, struct err *e);

/* hvm_snapshot.c: frees a restore's state and memory file (after the machine is built, or
 * when it will not be). */
void hvm_restore_release(struct hvm *vm);

/* hvm_snapshot.c: pauses the machine, writes it to dirfd (named dir), resumes it unless stop
 * (then the VM stops); on the service thread. 0 or -errno (why in e). */
int hvm_snapshot_now(struct hvm *vm, int dirfd, const char *dir, int stop, struct err *e);

/* hvm_snapshot.c: the control socket next to the api socket; 0 or -errno (why in e). */
int hvm_control_listen(struct hvm *vm, struct err *e);

/* hvm_snapshot.c: serves one connection on the control socket (a snapshot request); returns
 * 1 when the VM should stop now (a snapshot with stop), else 0. */
int hvm_control_serve(struct hvm *vm);

/* hvm_snapshot.c: closes and removes the control socket. */
void hvm_control_close(struct hvm *vm);

/*
 * hvm_template.c: with templates on, after build_config: a template of this configuration
 * switches the run to a restore from it; else a new one is prepared, to be written at
 * agent-ready (hvm_template_save). 0, or -errno for what must fail the start (logged).
 */
int hvm_template_prepare(struct hvm *vm);

/* hvm_template.c: 1 if this run's configuration may start from (or save) a template; after
 * plan_disks, which tells the directory volumes (a port each). */
int hvm_template_eligible(const struct hvm *vm);

/* hvm_template.c: the template failed to restore (why: what failed, said as a warning):
 * removes it and builds the machine cold instead; machine_create's result (why in e). */
int hvm_template_fallback(struct hvm *vm, const struct err *why, struct err *e);

/* hvm_template.c: writes the template being made (service thread, the agent ready). */
void hvm_template_save(struct hvm *vm);

/* hvm_template.c: drops a template that was not completed. */
void hvm_template_abandon(struct hvm *vm);

/* hvm_run.c: wakes the service thread for what callers asked (under lock). */
void hvm_wake(struct hvm *vm);

/* hvm_run.c: listens on path ('@': abstract), replacing a socket file a killed VMM left
 * behind; the fd or -errno (why in e). */
int hvm_listen_unix(const char *path, struct err *e);

/* hvm_base.c: the data file name in $HVM_DATA_DIR, else BINDIR/../lib/hvm when there (installed),
 * else next to the running binary (a build directory); 0 or -errno. */
int hvm_data_path(char *out, size_t cap, const char *name);

#endif
