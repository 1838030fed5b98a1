/*
 * libhvm: run a command inside a KVM micro-VM from your own program.
 * The full reference, with every error and the threading rules: docs/libhvm.md.
 *
 * One opaque handle per VM. Configure it with one call per concern, start it, wait for the
 * command, destroy it. Every call returns 0 or -errno; after a failure hvm_error() says what
 * and why in one line, and hvm_error_kind() which cause it was. No call exits, installs
 * handlers for the caller's signals, changes the caller's terminal or touches global state
 * (except the two process-wide settings at the end), and no error is kept per thread: two
 * VMs in one process are independent, and each handle may be used from several threads
 * (calls on one handle are serialized by the library).
 *
 * Lifecycle: hvm_create -> hvm_set_* -> hvm_start -> hvm_wait (any number of times, with a
 * timeout) / hvm_kill / hvm_resize -> hvm_destroy. Setters fail with -EBUSY after
 * hvm_start; hvm_start a second time fails with -EALREADY.
 *
 * Exit status convention (hvm_wait): the command's own exit code; 128+N when it died of
 * signal N (or hvm_kill(N) stopped the VM before the command ran); 124 when the VM was
 * stopped by the timeout of hvm_set_timeout; 125 when hvm or the guest failed (hvm_error()
 * says why).
 */
#ifndef HVM_H
#define HVM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HVM_API_VERSION 1

struct hvm;

/* The limits the setters check and the defaults they start from, for front ends to show or
 * clamp to; a front end need not check them again. */
#define HVM_CPUS_MAX            32		/* what the MP table announces */
#define HVM_CPUS_DEFAULT        2		/* at most: 1 where the caller may use one host CPU */
#define HVM_MEMORY_MIB_MIN      32		/* boot structures, a kernel and an initramfs */
#define HVM_MEMORY_MIB_DEFAULT  128		/* pages are allocated when the guest touches them */
#define HVM_MEMORY_MIB_MAX      (1024 * 1024)	/* 1 TiB */
/* What the VMM itself needs beside guest RAM (threads, KVM's page tables, buffers), as a host
 * cgroup's memory limit must allow it: hvm_start refuses guest RAM + this over the limit. */
#define HVM_VMM_OVERHEAD_MIB    32

/* A new, unconfigured VM handle: 0 or -ENOMEM. Defaults: HVM_CPUS_DEFAULT vCPUs (1 where the
 * calling process may run on one host CPU only), HVM_MEMORY_MIB_DEFAULT MiB, the built-in
 * kernel, initramfs and busybox image (found in $HVM_DATA_DIR, else in ../lib/hvm from the
 * running binary's directory when installed, else next to the binary), no network, stdio
 * not connected (/dev/null and discarded output). */
int hvm_create(struct hvm **out);

/* The last error on this handle as "what: why", or "" when none. Valid until the next call
 * on the handle (copy it when other threads use the handle too). */
const char *hvm_error(const struct hvm *vm);

/*
 * What the last error on this handle was about (the same failure hvm_error describes), for
 * callers that act on the cause rather than show it; the -errno a call returned says how it
 * failed. Out of memory is HVM_ERROR_RESOURCES whatever the call.
 */
enum hvm_error_kind {
	HVM_ERROR_NONE,		/* no error on the handle */
	HVM_ERROR_USAGE,	/* a value out of range, a call out of order (-EBUSY, -EALREADY) */
	HVM_ERROR_KERNEL,	/* the kernel or initramfs: missing, not a kernel, too big */
	HVM_ERROR_IMAGE,	/* the root image: missing, not an image, its conversion failed */
	HVM_ERROR_VOLUME,	/* a volume: its file or directory, or its settings */
	HVM_ERROR_NETWORK,	/* the network settings, or passt or the TAP device failed */
	HVM_ERROR_COMMAND,	/* the command: none given nor in the image, or its settings */
	HVM_ERROR_SNAPSHOT,	/* a snapshot to restore or being written */
	HVM_ERROR_RESOURCES,	/* the host: KVM, memory, the cgroup's limit, sockets, the jail */
	HVM_ERROR_GUEST,	/* the guest failed after the start (panic, dead agent, timeout) */
};
enum hvm_error_kind hvm_error_kind(const struct hvm *vm);

/* ---- what to boot ---------------------------------------------------------------------- */

/* Guest kernel: an ELF vmlinux or a bzImage; NULL: the built-in HyperKernel. */
int hvm_set_kernel(struct hvm *vm, const char *path);
/* Initramfs to boot instead of the built-in one (the agent); NULL: built-in. */
int hvm_set_initrd(struct hvm *vm, const char *path);
/* Extra words for the guest kernel command line (NULL: none). */
int hvm_set_cmdline_extra(struct hvm *vm, const char *words);
/* vCPUs (1..HVM_CPUS_MAX) and guest RAM in MiB (HVM_MEMORY_MIB_MIN..HVM_MEMORY_MIB_MAX).
 * -EINVAL outside the limits. */
int hvm_set_cpus(struct hvm *vm, unsigned cpus);
int hvm_set_memory(struct hvm *vm, uint64_t mib);

/* ---- the root file system and disks ---------------------------------------------------- */

/* Root file system: a directory, tar/tar.gz, docker-save tar or OCI layout; converted once
 * and cached by content (under $XDG_CACHE_HOME/hvm). NULL: the built-in busybox image.
 * The image's Entrypoint/Cmd/Env/WorkingDir/User become the process defaults. */
int hvm_set_image(struct hvm *vm, const char *image);
/* The root as is, read-only (no writable tmpfs overlay). */
int hvm_set_read_only(struct hvm *vm, int read_only);
/* Mount flags a volume may take besides read-only (or them into read_only). */
#define HVM_VOLUME_RO     0x1
#define HVM_VOLUME_NOSUID 0x2
#define HVM_VOLUME_NODEV  0x4
#define HVM_VOLUME_NOEXEC 0x8
#define HVM_VOLUMES_MAX        6	/* volumes of one VM */
#define HVM_VOLUME_MIB_DEFAULT 1024	/* the size of a disk image hvm creates */
/* A disk image file mounted at guest_path (absolute; created and formatted ext4 with
 * size_mib when missing; size_mib 0: HVM_VOLUME_MIB_DEFAULT), or a host directory shared
 * with the guest over 9p, served by a process of hvm's own confined to it
 * (docs/volumes.md). read_only: 0, 1, or HVM_VOLUME_* flags. At most HVM_VOLUMES_MAX;
 * -E2BIG after that. */
int hvm_add_volume(struct hvm *vm, const char *host_file, const char *guest_path, int read_only,
		   uint64_t size_mib);

/* ---- network --------------------------------------------------------------------------- */

/* "none" (default), "user" (rootless, passt) or "tap" / "tap:NAME" (root). */
int hvm_set_net(struct hvm *vm, const char *mode);
/* Publishes guest_port on the host's host_port (TCP, or UDP when udp); at most 16. Without
 * hvm_set_net it implies "user"; with "none" or "tap", hvm_start fails with -EINVAL. */
int hvm_add_port(struct hvm *vm, uint16_t host_port, uint16_t guest_port, int udp);
/* With "tap": the guest's address "A.B.C.D/N", gateway and name servers ("A.B.C.D", up to
 * three separated by commas); each may be NULL. */
int hvm_set_net_addr(struct hvm *vm, const char *cidr, const char *gateway, const char *dns);
/* The guest's MAC "aa:bb:cc:dd:ee:ff" (unicast); default random, locally administered. */
int hvm_set_mac(struct hvm *vm, const char *mac);

/* ---- the command ----------------------------------------------------------------------- */

/* argv (NULL-terminated) replaces the image's Cmd and follows its Entrypoint (docker's rule);
 * argv NULL: the image's own. */
int hvm_set_args(struct hvm *vm, const char *const *argv);
/* Runs `/bin/sh -c command` instead of the image's Entrypoint and Cmd. */
int hvm_set_shell_command(struct hvm *vm, const char *command);
/* Replaces the whole process command line, ignoring the image's Entrypoint and Cmd. */
int hvm_set_argv(struct hvm *vm, const char *const *argv);
#define HVM_ENV_MAX 256
/* Adds KEY=VALUE to the environment (wins over the image's Env). At most HVM_ENV_MAX. */
int hvm_add_env(struct hvm *vm, const char *key_value);
/* Working directory, and user as "USER[:GROUP]" (names or numbers) in the guest. */
int hvm_set_workdir(struct hvm *vm, const char *dir);
int hvm_set_user(struct hvm *vm, const char *user);
/* Guest host name (default "hvm"). */
int hvm_set_hostname(struct hvm *vm, const char *name);
/* More members for the agent's RUN request, as the text of a JSON object ("{...}"): the
 * process settings and in-guest hooks of docs/agent-protocol.md. NULL: none. -EINVAL when
 * it is not an object. */
int hvm_set_run_extra(struct hvm *vm, const char *json_object);

/*
 * Where the command's stdio goes: the library relays bytes between these fds and the guest
 * on its own thread (it does not close them; they must stay open until hvm_wait reported the
 * end). in_fd -1: the command's stdin is empty (EOF at once); out_fd/err_fd -1: output
 * discarded. With tty, the command gets a pseudo-terminal of rows x cols; out_fd carries
 * both its output streams and err_fd is unused.
 */
int hvm_set_stdio(struct hvm *vm, int in_fd, int out_fd, int err_fd);
int hvm_set_tty(struct hvm *vm, int tty, unsigned rows, unsigned cols);

/* The guest kernel log goes to fd (-1: nowhere, the default). */
int hvm_set_console(struct hvm *vm, int fd);
/* Stop the VM after seconds (0: never); hvm_wait then reports 124. */
int hvm_set_timeout(struct hvm *vm, unsigned seconds);
/* Exposes the VM's vsock bridge at path ("CONNECT <port>\n"); see docs/vsock.md. Needed for
 * hvm_exec() from other processes. */
int hvm_set_api_socket(struct hvm *vm, const char *path);

/*
 * Resume the VM saved in the snapshot directory dir (hvm_snapshot, `hvm-run snapshot`)
 * instead of booting: its processes go on where they were, and the command it ran reports to
 * this handle (stdio, exit status). Its vCPUs, memory and disks are the snapshot's; the
 * network is this handle's (of the same kind). NULL: boot. docs/snapshot.md.
 */
int hvm_set_restore(struct hvm *vm, const char *dir);

/*
 * Warm starts (default off in the library, on in hvm-run): the first start of a
 * configuration boots and saves a template of the booted VM, before its command runs, under
 * $XDG_CACHE_HOME/hvm/templates; later starts of the same configuration restore it and run
 * their command there. A template that fails to restore is dropped and the VM boots.
 * HVM_TEMPLATES_REPEATED saves one only at a configuration's second boot, for callers whose
 * configurations are mostly seen once (hvm-oci: an engine's containers differ by the files
 * it gives each), who would otherwise pay a snapshot and its disk space for every start.
 */
enum { HVM_TEMPLATES_OFF, HVM_TEMPLATES_ON, HVM_TEMPLATES_REPEATED };
int hvm_set_templates(struct hvm *vm, int mode);

/*
 * Self-jail (docs/jail.md): hvm_start confines the whole process once the image,
 * volumes, network and kernel are ready and before the machine is built: new mount, IPC and
 * UTS namespaces, an empty read-only root but for the api socket's directory (/dev/kvm, the
 * kernel, initramfs and disks are opened before), rlimits on open files and address space,
 * no capabilities, uid and gid, no_new_privs. The process must have no other thread then and
 * runs one VM; the calling thread stays jailed (hvm_start fails on any jail error). Not root,
 * the process first enters a user namespace of its own that maps only the caller's uid and
 * gid, and runs as the caller: uid and gid must then be the caller's or HVM_JAIL_DEFAULT_ID
 * (-EPERM otherwise).
 */
#define HVM_JAIL_DEFAULT_ID 65534	/* nobody / nogroup: a root caller's jail */
/* on: 0 (no jail), or HVM_JAIL_ON with HVM_JAIL_PROC or not. */
#define HVM_JAIL_ON	1
#define HVM_JAIL_PROC	2	/* also a /proc of the jail's own PID namespace (hvm_jail_fork's),
				 * as a container has: what engines read there (podman top) */
int hvm_set_jail(struct hvm *vm, int on, unsigned uid, unsigned gid);

/* The guest kernel command line as configured so far (the random seed differs per boot),
 * into buf: 0, or -ENOSPC. */
int hvm_cmdline(struct hvm *vm, char *buf, size_t cap);

/* ---- running --------------------------------------------------------------------------- */

/* Creates the VM and boots it; returns once the vCPUs run (the command starts when the
 * guest agent is up). -EALREADY when already started; other -errno with hvm_error() and,
 * for the cause, hvm_error_kind(): HVM_ERROR_IMAGE, _KERNEL, _VOLUME, _NETWORK, _COMMAND,
 * _SNAPSHOT (hvm_set_restore) or _RESOURCES. */
int hvm_start(struct hvm *vm);

/*
 * Waits up to timeout_ms (-1: forever, 0: poll) for the command to end and the VM to stop;
 * 0 with *status set (see the convention above), or -ETIMEDOUT, or -EINVAL when not started.
 */
int hvm_wait(struct hvm *vm, int timeout_ms, int *status);

/* An fd (owned by the handle) that polls readable once hvm_wait would not block; -EINVAL
 * when not started. For event loops that wait on more than the VM. */
int hvm_wait_fd(struct hvm *vm);

/* Delivers signal sig (1..64) to the command in the guest; SIGKILL, or any signal before
 * the guest agent runs the command, stops the VM at once (the status is then 128+sig).
 * -ESRCH when it has already ended, -EINVAL when not started. */
int hvm_kill(struct hvm *vm, int sig);

/* The command's terminal size (with hvm_set_tty); -EINVAL when not started. */
int hvm_resize(struct hvm *vm, unsigned rows, unsigned cols);

/* Stops every vCPU; on return no guest instruction runs until hvm_resume. The guest's clock
 * goes on (it sees the time jump), and so do the host side of its devices, hvm_set_timeout's
 * clock, SIGKILL and hvm_destroy; other signals wait for the resume. 0; -EALREADY when
 * paused already; -EINVAL when not started; -ESRCH once it ended. */
int hvm_pause(struct hvm *vm);

/* Lets a paused VM run again. 0; -EALREADY when not paused; -EINVAL / -ESRCH as hvm_pause. */
int hvm_resume(struct hvm *vm);

/*
 * Writes the running VM into directory dir (created 0700 when missing; files 0600): every
 * vCPU, device and guest RAM (sparse); then it runs on, or stops with stop (hvm_wait then
 * reports 0: its command lives on in the snapshot). The guest does not notice. 0, -ESRCH
 * when it is not running, other -errno with hvm_error().
 */
int hvm_snapshot(struct hvm *vm, const char *dir, int stop);

/* hvm_snapshot for the VM behind api_socket in another process (`hvm-run snapshot`); 0 or
 * -errno (logged on stderr). */
int hvm_snapshot_socket(const char *api_socket, const char *dir, int stop);

/* Boot phase timings (us since hvm_create, or since exec when the launcher exported
 * HVM_T0_US) and VMM memory, as a JSON object; malloc'd, or NULL until the VM stopped. */
char *hvm_metrics_json(struct hvm *vm);

/* The last 4 KiB of the guest's console (its kernel log), for the post-mortem of a guest that
 * ended without an exit status; "" before the VM stopped. Valid until hvm_destroy. */
const char *hvm_console_tail(struct hvm *vm);

/* Stops the VM if it runs, waits for it, frees everything (passt, sockets, temp files). */
void hvm_destroy(struct hvm *vm);

/*
 * Runs one more process in the running VM behind api_socket (see hvm_set_api_socket),
 * relaying its stdio to in_fd/out_fd/err_fd like hvm_set_stdio; blocks until it ends.
 * argv NULL-terminated, env (may be NULL) of KEY=VALUE. 0 with *status, or -errno (logged
 * on stderr: there is no handle to keep the message).
 */
int hvm_exec(const char *api_socket, const char *const *argv, const char *const *env,
	     const char *cwd, const char *user, int tty, int in_fd, int out_fd, int err_fd,
	     int *status);

/* hvm_exec that also serves sig_fd, a signalfd(2) the caller made for the signals it wants
 * forwarded: SIGWINCH resizes the process's terminal to in_fd's size, any other signal goes
 * to the process. sig_fd -1: as hvm_exec. */
int hvm_exec_signals(const char *api_socket, const char *const *argv, const char *const *env,
		     const char *cwd, const char *user, int tty, int in_fd, int out_fd, int err_fd,
		     int sig_fd, int *status);

/*
 * The PID namespace of the jail, for a front end about to run one jailed VM: forks the
 * process; the child is PID 1 of a new PID namespace. In the child: returns 0 and *sig_fd
 * reads one struct signalfd_siginfo (<sys/signalfd.h>) per signal of `forward` sent to the
 * parent (a terminal's too: the child leaves those signals at their default action, which
 * makes the kernel drop copies sent to it from outside its namespace, so each arrives once);
 * EOF when the parent is gone, and the child is killed then. In the parent: returns 1 once
 * the child ended, with *status its exit code or 128+N after signal N. -EPERM when not
 * root, other -errno (logged on stderr) when nothing was forked.
 */
int hvm_jail_fork(const sigset_t *forward, int *sig_fd, int *status);

/*
 * Whether this process could jail itself here (hvm_set_jail, hvm_jail_fork): tries what a
 * jail needs from the host (a user namespace when not root, the other namespaces, a tmpfs)
 * in a child that then exits. 0, or -errno with why ("STEP: REASON") in why; nothing is
 * logged. hvm-run jails unprivileged runs by default when this says yes.
 */
int hvm_jail_probe(char *why, size_t cap);

/* ---- process-wide settings (the only state shared by every handle) --------------------- */

/* The level of the library's diagnostics on stderr ("hvm: LEVEL: ..."): "error", "warn"
 * (default), "info" or "debug"; -EINVAL otherwise. */
int hvm_set_log_level(const char *level);

/*
 * Seccomp allow-lists on the library's threads (on by default): on 0 turns them off for VMs
 * started afterwards (debugging only; warns on stderr). violation_exit >= 0: a forbidden
 * system call ends the process with that status after its report; < 0 (default): the
 * process dies of SIGSYS. docs/seccomp.md lists what each thread may do.
 */
int hvm_set_seccomp(int on, int violation_exit);

/* Loads, on the calling thread, the allow-list of a thread that only waits for, signals
 * and destroys started VMs (hvm-run's main thread after hvm_start); it cannot be lifted.
 * 0 (also when seccomp is off) or -errno. */
int hvm_seccomp_restrict_self(void);

#ifdef __cplusplus
}
#endif

#endif
