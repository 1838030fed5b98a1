/*
 * The life of a libhvm VM: hvm_start prepares everything on the caller's thread (image, disks,
 * network, sockets for the vsock bridge, the machine) and starts the service thread, which
 * boots the vCPUs and runs one poll loop serving the agent's session (stdio through the
 * caller's fds, signals and window sizes from hvm_kill/hvm_resize), the timeout and the VM
 * stopping, then tears the machine down and reports through done_fd.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/unix_addr.h"
#include "../core/clock.h"
#include "hvm_export.h"
#include "hvm_internal.h"
#include "hvm_request.h"
#include "hvm_volume.h"
#include "../core/fd_write.h"
#include "../core/jail.h"
#include "../core/log.h"
#include "../core/seccomp.h"

enum { PF_STOP, PF_WAKE, PF_READY, PF_LISTEN, PF_CTL, PF_STDIN, PF_AGENT, PF_EXTRA };

static void signal_fd(int fd)
{
	uint64_t one = 1;

	/* An eventfd's counter cannot overflow from our few writes: this never fails. */
	if (write(fd, &one, sizeof(one)) < 0)
		log_debug("eventfd: %s", strerror(errno));
}

void hvm_wake(struct hvm *vm)
{
	signal_fd(vm->wake_fd);
}

/* The serial console carries only the kernel log: kept for post-mortems, copied to the
 * console fd when the caller asked for it. Runs on a vCPU thread. */
static void on_serial(void *opaque, uint8_t byte)
{
	struct hvm *vm = opaque;

	vm->tail[vm->tail_len++ % HVM_LOG_TAIL] = (char)byte;
	/* No waiting here: a console nobody reads must not stall the vCPU (the tail is kept). */
	if (vm->cfg.console_fd >= 0)
		fd_write_all(vm->cfg.console_fd, &byte, 1, 0);
}

/* The agent wrote the boot timer: sampled by the service thread, the vCPU goes on at once. */
static void on_ready(void *opaque)
{
	signal_fd(((struct hvm *)opaque)->ready_fd);
}

/* ---- preparing (caller's thread, lock held) -------------------------------------------- */

static int resolve_image(struct hvm *vm, struct err *e)
{
	char cache[PATH_MAX], helper[PATH_MAX];
	int err = image_cache_dir(cache, sizeof(cache));

	if (err)
		return err_set(e, err, "no cache directory: set XDG_CACHE_HOME or HOME");
	err = hvm_data_path(helper, sizeof(helper), "hvm-image");
	if (err)
		err_set(e, err, "hvm-image: %s", strerror(-err));
	if (!err)
		err = image_resolve(vm->cfg.image, cache, helper, &vm->image, e);
	if (!err)
		vm->image_resolved = 1;
	return err;
}

/* No image: the busybox image among the data files, with no run defaults of its own. */
static int default_image(struct hvm *vm, struct err *e)
{
	int err = hvm_data_path(vm->image.rootfs, sizeof(vm->image.rootfs), "hvm-rootfs.ext4");

	if (err || access(vm->image.rootfs, R_OK) < 0)
		return err_set(e, -ENOENT, "%s: the default image is missing (run make, or set "
			       "HVM_DATA_DIR)", vm->image.rootfs);
	return 0;
}

/* Disks in guest order: the image (read-only, shared by every VM using it), then volumes;
 * a directory volume is no disk but a 9p share on its own vsock port. */
static int plan_disks(struct hvm *vm, struct err *e)
{
	struct machine_config *c = &vm->mcfg;

	c->disks[c->ndisks++] = (struct machine_disk){
		.path = vm->image.rootfs, .read_only = 1, .serial = HVM_ROOT_SERIAL,
	};
	for (int i = 0; i < vm->cfg.nvolumes; i++) {
		struct hvm_volume *v = &vm->cfg.volumes[i];
		int err = hvm_volume_prepare(v->host, v->read_only, v->size_mib, e);
		if (err == HVM_VOLUME_DIR) {
			v->port = HVM_SHARE_PORT_BASE + (unsigned)i;
			err = hvm_share_open(&vm->shares[i], v->host, e);
			if (err)
				return err;
			continue;
		}
		if (err)
			return err;
		hvm_volume_serial(vm->vol_serial[i], sizeof(vm->vol_serial[i]), i);
		c->disks[c->ndisks++] = (struct machine_disk){
			.path = v->host, .read_only = v->read_only, .serial = vm->vol_serial[i],
		};
	}
	return 0;
}

/* The machine's config from ours: the kernel and initramfs default to the data files. */
static void base_config(struct hvm *vm, struct machine_config *c)
{
	const char *kernel = vm->cfg.kernel, *initrd = vm->cfg.initrd;

	if (!kernel && hvm_data_path(vm->kernel, sizeof(vm->kernel), "vmlinux") == 0)
		kernel = vm->kernel;
	if (!initrd && hvm_data_path(vm->initrd, sizeof(vm->initrd), "hvm-initramfs.cpio") == 0)
		initrd = vm->initrd;
	*c = (struct machine_config){
		.kernel_path = kernel, .initrd_path = initrd, .cpus = vm->cfg.cpus,
		.mem_mib = vm->cfg.mem_mib, .console = vm->cfg.console_fd >= 0,
		.cmdline_extra = vm->cfg.cmdline_extra, .vsock_cid = MACHINE_GUEST_CID,
	};
}

/* The image, disks, network and requests; each failure of the kind of its step. */
static int build_config(struct hvm *vm, struct err *e)
{
	struct machine_config *c = &vm->mcfg;
	int err;

	base_config(vm, c);
	err = hvm_stage(vm, HVM_ERROR_IMAGE, vm->cfg.image ? resolve_image(vm, e)
							  : default_image(vm, e));
	if (!err)
		err = hvm_stage(vm, HVM_ERROR_VOLUME, plan_disks(vm, e));
	vm->template_boot = !err && hvm_template_eligible(vm);	/* knows the shares from here */
	if (!err)
		err = hvm_stage(vm, HVM_ERROR_NETWORK, hvm_net_setup(&vm->cfg.net, &vm->net, e));
	if (!err && vm->net.backend) {
		c->net = vm->net.backend;
		memcpy(c->mac, vm->net.mac, sizeof(c->mac));
	}
	if (!err)
		err = hvm_request_boot(&vm->boot, &vm->cfg, &vm->net.guest, !c->console,
				       vm->template_boot ? &vm->image.config : NULL);
	if (!err)
		err = hvm_stage(vm, HVM_ERROR_COMMAND,
				hvm_request_process(&vm->cfg, &vm->image.config, &vm->run_json, e));
	c->initrd_extra = vm->boot.buf;
	c->initrd_extra_len = vm->boot.len;
	return err;
}

int hvm_listen_unix(const char *path, struct err *e)
{
	int fd = unix_listen(path, 8, SOCK_NONBLOCK);

	if (fd == -ENAMETOOLONG)
		err_set(e, fd, "%s: socket path too long", path);
	else if (fd < 0)
		err_set(e, fd, "%s: %s", path, strerror(-fd));
	return fd;
}

/* The vsock bridge's socket: the api socket, or a private abstract one. */
static int name_sockets(struct hvm *vm, struct err *e)
{
	if (vm->cfg.api_socket && vm->cfg.jail) {	/* jailed, the working directory is / */
		int err = jail_abspath(vm->cfg.api_socket, vm->vsock_uds, sizeof(vm->vsock_uds));
		if (err)
			return err_set(e, err, "%s: %s", vm->cfg.api_socket, strerror(-err));
	} else if (vm->cfg.api_socket) {
		snprintf(vm->vsock_uds, sizeof(vm->vsock_uds), "%s", vm->cfg.api_socket);
	} else {
		/* Abstract: no file for a killed VMM to leave behind. Random, since two VMMs in
		 * different PID namespaces may share a pid and a network namespace. */
		uint64_t r = 0;
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = clock_now_us();
		snprintf(vm->vsock_uds, sizeof(vm->vsock_uds), "@hvm-%d-%016llx", (int)getpid(),
			 (unsigned long long)(r ^ (uintptr_t)vm));
	}
	return 0;
}

/* The directory volumes' servers, forked before the jail: they run as the caller, each
 * confined to its directory and its own seccomp list (docs/volumes.md). */
static int start_shares(struct hvm *vm, struct err *e)
{
	/* Unprivileged, the jail keeps the caller's ids: the socket file is already theirs. */
	uid_t owner = vm->cfg.jail && !jail_unprivileged() ? (uid_t)vm->cfg.jail_uid : (uid_t)-1;
	int err = 0;

	for (int i = 0; !err && i < vm->cfg.nvolumes; i++)
		if (vm->cfg.volumes[i].port)
			err = hvm_share_start(&vm->shares[i], vm->vsock_uds,
					      vm->cfg.volumes[i].port, vm->cfg.volumes[i].read_only,
					      owner, (gid_t)vm->cfg.jail_gid, e);
	return err;
}

/* The agent's port next to the bridge's socket, and the control socket. */
static int setup_sockets(struct hvm *vm, struct err *e)
{
	snprintf(vm->agent_uds, sizeof(vm->agent_uds), "%s_%d", vm->vsock_uds, PROTO_PORT_MAIN);
	vm->listen_fd = hvm_listen_unix(vm->agent_uds, e);
	return vm->listen_fd < 0 ? vm->listen_fd : hvm_control_listen(vm, e);
}

/* Builds the machine and starts the service thread with every signal blocked: library
 * threads never run the caller's handlers (vCPUs unblock only their kick signal). */
static void attach_host_side(struct hvm *vm, struct machine_config *c)
{
	c->vsock_uds = vm->vsock_uds;
	c->serial_output = on_serial;
	c->serial_opaque = vm;
	c->on_ready = on_ready;
	c->ready_opaque = vm;
}

/* The part of the machine that failed to build, as the cause hvm_error_kind gives. */
static enum hvm_error_kind machine_kind(const struct hvm *vm)
{
	switch (vm->machine.failed) {
	case MACHINE_PART_CONFIG:
		return HVM_ERROR_USAGE;
	case MACHINE_PART_KERNEL:
		return HVM_ERROR_KERNEL;
	case MACHINE_PART_ROOT_DISK:
		return HVM_ERROR_IMAGE;
	case MACHINE_PART_DISK:
		return HVM_ERROR_VOLUME;
	case MACHINE_PART_SNAPSHOT:
		return HVM_ERROR_SNAPSHOT;
	default:
		return HVM_ERROR_RESOURCES;
	}
}

/* The restore of a snapshot or template; a template that fails is dropped and the run
 * boots (its failure a warning, not the start's error). */
static int restore_machine(struct hvm *vm, struct err *e)
{
	struct err why;
	int err;

	err_clear(&why);
	err = machine_restore(&vm->machine, &vm->mcfg, &vm->snap, vm->snap_mem_fd, vm->snap_dir,
			      vm->cfg.restore ? e : &why);
	vm->metrics.restored_us = clock_now_us();
	if (err && !vm->cfg.restore)
		err = hvm_template_fallback(vm, &why, e);
	return err;
}

static int create_machine(struct hvm *vm, struct err *e)
{
	sigset_t all, old;
	int err;

	attach_host_side(vm, &vm->mcfg);
	attach_host_side(vm, &vm->cold_mcfg);	/* a template's fallback: the same host side */
	vm->net.backend = NULL;	/* the machine owns it from here, whatever happens */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = vm->restored ? restore_machine(vm, e) : machine_create(&vm->machine, &vm->mcfg, e);
	hvm_stage(vm, machine_kind(vm), err);
	vm->machine_made = !err;
	vm->metrics.kvm_ready_us = vm->machine.kvm_ready_us;
	if (!err && (err = -pthread_create(&vm->thread, NULL, hvm_run_thread, vm)))
		err_set(e, err, "the service thread: %s", strerror(-err));
	vm->thread_started = !err;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

int hvm_run_prepare(struct hvm *vm, struct err *e)
{
	int err = vm->cfg.restore ? hvm_stage(vm, HVM_ERROR_SNAPSHOT, hvm_restore_prepare(vm, e))
				  : build_config(vm, e);

	if (!err)	/* the machine's RAM: the configured one, or a snapshot's */
		err = hvm_cgroup_check_memory(vm->mcfg.mem_mib, e);
	if (!err && hvm_template_eligible(vm))
		err = hvm_template_prepare(vm);

	vm->ready_fd = err ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!err && vm->ready_fd < 0)
		err = err_set(e, -errno, "eventfd: %s", strerror(errno));
	if (!err)
		err = name_sockets(vm, e);
	if (!err)
		err = start_shares(vm, e);
	if (!err && vm->cfg.jail)	/* everything outside the jail is open or made by now */
		err = hvm_jail_enter(vm, e);
	if (!err)
		err = setup_sockets(vm, e);
	if (!err)
		err = create_machine(vm, e);
	return hvm_stage(vm, HVM_ERROR_RESOURCES, err);	/* the host's, unless a step said */
}

/* ---- serving (service thread) ------------------------------------------------------------ */

static void drop_session(struct host_session **s)
{
	host_session_close(*s);
	free(*s);
	*s = NULL;
}

static void accept_session(struct hvm *vm)
{
	int fd = accept4(vm->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct host_session *s = fd < 0 ? NULL : malloc(sizeof(*s));

	/* On an abstract name anyone may connect: only our vsock device is the guest. */
	if (!s || (unix_is_abstract(vm->agent_uds) && !unix_peer_is_self(fd))) {
		if (fd >= 0)
			close(fd);
		free(s);
		return;
	}
	/* The agent is PID 1 and connects first; anything later is another guest program. */
	if (!vm->agent) {
		host_session_init(s, fd, "guest agent", vm->run_json, vm->cfg.in_fd >= 0, 1,
				  vm->cfg.out_fd, vm->cfg.err_fd);
		vm->run_json = NULL;
		/* A restored guest is a copy: REFRESH makes it its own before anything runs. A
		 * template's boot takes its host name from REFRESH too: it is not in the key. */
		s->refresh = vm->restored || vm->template_boot;
		s->refresh_hostname = vm->cfg.hostname;
		/* A template is written at agent-ready, before the command exists in the guest. */
		s->hold_run = vm->template_dirfd >= 0;
		vm->agent = s;
		return;
	}
	for (int i = 0; i < HVM_MAX_EXTRA; i++)
		if (!vm->extra[i]) {
			host_session_init(s, fd, "guest connection", NULL, 0, 0, -1, -1);
			vm->extra[i] = s;
			return;
		}
	free(s);
	close(fd);
}

/* A signal from hvm_kill: to the command once the agent runs it, else the VM stops. */
static int deliver(struct hvm *vm, int sig)
{
	struct host_session *a = vm->agent;

	if (a && a->done)
		return 0;	/* the command ended: its own status stands */
	if (sig != SIGKILL && a && a->hello) {
		host_session_signal(a, sig);
		return 0;
	}
	vm_stop(&vm->machine.vm, VM_STOP_HOST);
	return 128 + sig;
}

/* What callers asked for since the last wake-up; a status when that ends the run. */
static int take_requests(struct hvm *vm)
{
	uint64_t n;
	int status = 0;

	if (read(vm->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_debug("wake eventfd: %s", strerror(errno));
	pthread_mutex_lock(&vm->lock);
	if (vm->resize && vm->agent && vm->agent->hello && !vm->agent->done && vm->cfg.tty)
		host_session_resize(vm->agent, vm->resize_rows, vm->resize_cols);
	vm->resize = 0;
	for (int i = 0; i < vm->npending && !status; i++)
		status = deliver(vm, vm->pending[i]);
	vm->npending = 0;
	if (vm->snap_asked && !vm->snap_answered && !status) {
		err_clear(&vm->snap_error);
		vm->snap_result = hvm_snapshot_now(vm, vm->snap_dirfd, vm->snap_target,
						   vm->snap_stop, &vm->snap_error);
		vm->snapshot_stopped = !vm->snap_result && vm->snap_stop;
		vm->snap_answered = 1;
		pthread_cond_broadcast(&vm->answered);
	}
	if (vm->pause_asked && !vm->pause_answered && !status) {
		/* The vCPUs take no lock of the handle, so they can park while it is held. */
		vm->pause_result = vm->pause_to ? vm_pause(&vm->machine.vm)
						: vm_resume(&vm->machine.vm);
		vm->pause_answered = 1;
		pthread_cond_broadcast(&vm->answered);
	}
	if (vm->stop && !status) {
		vm_stop(&vm->machine.vm, VM_STOP_HOST);
		status = 128 + SIGKILL;
	}
	pthread_mutex_unlock(&vm->lock);
	return status;
}

static int poll_timeout(uint64_t deadline)
{
	uint64_t now = clock_now_us();

	if (!deadline)
		return -1;
	return now >= deadline ? 0 : (int)((deadline - now + 999) / 1000);
}

/* Fills the poll set; sessions only read or write when there is something to do. */
static int build_pollset(struct hvm *vm, struct pollfd *pf)
{
	struct host_session *a = vm->agent;
	int n = PF_EXTRA;

	pf[PF_STOP] = (struct pollfd){ .fd = vm->machine.vm.stop_fd, .events = POLLIN };
	pf[PF_WAKE] = (struct pollfd){ .fd = vm->wake_fd, .events = POLLIN };
	pf[PF_READY] = (struct pollfd){ .fd = vm->ready_fd, .events = POLLIN };
	pf[PF_LISTEN] = (struct pollfd){ .fd = vm->listen_fd, .events = POLLIN };
	pf[PF_CTL] = (struct pollfd){ .fd = vm->ctl_fd, .events = POLLIN };
	pf[PF_STDIN] = (struct pollfd){ .fd = a && host_session_wants_stdin(a) ? vm->cfg.in_fd : -1,
		.events = POLLIN };
	pf[PF_AGENT] = (struct pollfd){ .fd = a && !a->done ? a->fd : -1,
		.events = (short)(POLLIN | (a && a->outlen ? POLLOUT : 0)) };
	for (int i = 0; i < HVM_MAX_EXTRA; i++, n++) {
		struct host_session *x = vm->extra[i];
		pf[n] = (struct pollfd){ .fd = x ? x->fd : -1,
			.events = (short)(POLLIN | (x && x->outlen ? POLLOUT : 0)) };
	}
	return n;
}

static void serve_sessions(struct hvm *vm, const struct pollfd *pf)
{
	struct host_session *a = vm->agent;

	if (pf[PF_STDIN].revents)
		host_session_stdin(a, vm->cfg.in_fd);
	if (a && !a->done) {
		if (pf[PF_AGENT].revents & (POLLIN | POLLHUP | POLLERR))
			host_session_read(a);
		if (!a->done && host_session_flush(a) < 0)
			host_session_read(a);	/* learns how the connection broke */
	}
	for (int i = 0; i < HVM_MAX_EXTRA; i++) {
		struct host_session *x = vm->extra[i];
		if (x && ((pf[PF_EXTRA + i].revents && host_session_read(x) < 0) ||
			  host_session_flush(x) < 0)) {
			log_warn("%s", x->why[0] ? x->why : "guest connection: closed");
			drop_session(&vm->extra[i]);	/* the VM carries on */
		}
	}
}

/* The VM stopped: frames the agent sent just before may still wait in our socket. */
static void drain_agent(struct hvm *vm)
{
	struct host_session *a = vm->agent;
	struct pollfd p = { .fd = a ? a->fd : -1, .events = POLLIN };

	while (a && !a->done && a->fd >= 0 && poll(&p, 1, 0) == 1 && host_session_read(a) == 0)
		;
}

static void on_agent_ready(struct hvm *vm, struct pollfd *pf)
{
	vm->metrics.agent_ready_us = atomic_load(&vm->machine.timer.ready_us);
	/* The agent signals only after eth0 is configured: host clients can be answered now. */
	if (vm->machine.has_net)
		vnet_guest_up(&vm->machine.net);
	pf[PF_READY].fd = -1;
	close(vm->ready_fd);
	vm->ready_fd = -1;
	if (vm->template_dirfd >= 0)
		hvm_template_save(vm);	/* before the command: every run of it may start here */
	if (vm->agent)
		host_session_release_run(vm->agent);
	/* After the command is on its way: reading smaps is not free where syscalls are slow. */
	hvm_metrics_sample_rss(&vm->metrics, &vm->machine);
}

/*
 * A guest kernel panic names its cause on the console ("Kernel panic - not syncing: WHY");
 * the last one becomes the error, since "the guest reset" alone says nothing. 1 if found.
 */
static int panic_reason(struct hvm *vm)
{
	static const char mark[] = "Kernel panic - not syncing: ";
	const char *p = NULL, *next = vm->tail_text;
	int len;

	while ((next = strstr(next, mark)))
		p = next++;
	if (!p)
		return 0;
	p += sizeof(mark) - 1;
	len = (int)strcspn(p, "\r\n");
	/* init is the agent: its death panics the kernel with this text. */
	hvm_fail_as(vm, HVM_ERROR_GUEST, 0, "the guest kernel panicked: %.*s%s", len, p,
		    strncmp(p, "Attempted to kill init!", 23) ? "" :
		    " (the guest agent, PID 1, died)");
	return 1;
}

/* The guest ended without an exit status: why, and its last console text in order. */
static int lost_guest(struct hvm *vm)
{
	size_t n = vm->tail_len < HVM_LOG_TAIL ? vm->tail_len : HVM_LOG_TAIL;
	size_t start = vm->tail_len < HVM_LOG_TAIL ? 0 : vm->tail_len % HVM_LOG_TAIL;

	memcpy(vm->tail_text, vm->tail + start, n - start);
	memcpy(vm->tail_text + n - start, vm->tail, start);
	vm->tail_text[n] = '\0';
	pthread_mutex_lock(&vm->lock);
	if (!panic_reason(vm))
		hvm_fail_as(vm, HVM_ERROR_GUEST, 0,
			    "the guest stopped (%s) without reporting an exit status",
			    vm_state_name(vm_state(&vm->machine.vm)));
	pthread_mutex_unlock(&vm->lock);
	return HVM_EXIT_ERROR;
}

static int timed_out(struct hvm *vm)
{
	vm_stop(&vm->machine.vm, VM_STOP_HOST);
	pthread_mutex_lock(&vm->lock);
	hvm_fail_as(vm, HVM_ERROR_GUEST, 0, "timeout of %u s expired: VM stopped",
		    vm->cfg.timeout_s);
	pthread_mutex_unlock(&vm->lock);
	return HVM_EXIT_TIMEOUT;
}

/* How the run ended once the loop is over: the agent's report, or why there is none. */
static int run_status(struct hvm *vm)
{
	struct host_session *a = vm->agent;

	drain_agent(vm);
	if (vm->snapshot_stopped)
		return 0;	/* its command lives on in the snapshot */
	if (!a || !a->done)
		return lost_guest(vm);
	if (a->error) {
		pthread_mutex_lock(&vm->lock);
		hvm_fail_as(vm, HVM_ERROR_GUEST, 0, "%s", a->why);
		pthread_mutex_unlock(&vm->lock);
	}
	return a->status;	/* the command's own status, or 125 after an error */
}

/* Serves the VM until it stops (or the timeout / hvm_kill ends it); returns the status. */
static int serve_vm(struct hvm *vm)
{
	struct pollfd pf[PF_EXTRA + HVM_MAX_EXTRA];
	uint64_t deadline = vm->cfg.timeout_s ? clock_now_us() + vm->cfg.timeout_s * 1000000ULL : 0;
	int status = 0;

	while (vm_state(&vm->machine.vm) == VM_RUNNING && !status) {
		int n = build_pollset(vm, pf);
		if (poll(pf, (nfds_t)n, poll_timeout(deadline)) < 0 && errno != EINTR)
			break;
		if (deadline && clock_now_us() >= deadline)
			return timed_out(vm);
		if (pf[PF_READY].revents & POLLIN)
			on_agent_ready(vm, pf);
		if (pf[PF_WAKE].revents)
			status = take_requests(vm);
		if (pf[PF_LISTEN].revents)
			accept_session(vm);
		if (pf[PF_CTL].revents && hvm_control_serve(vm))
			vm->snapshot_stopped = 1;
		serve_sessions(vm, pf);
		if (vm->agent && vm->agent->done && vm->agent->fd >= 0) {
			vm->metrics.command_exit_us = clock_now_us();
			/*
			 * The agent powers off once it sees this. Not stopped from here, though a
			 * read-only guest has nothing to flush: that would kick a vCPU out of a
			 * running guest at every run's end, the path the test host's emulation
			 * is known to wedge in (docs/platform.md); its own power-off exits it.
			 */
			host_session_close(vm->agent);
		}
	}
	return status ? status : run_status(vm);
}

static void cleanup_sockets(struct hvm *vm)
{
	if (vm->listen_fd >= 0) {
		close(vm->listen_fd);
		if (!unix_is_abstract(vm->agent_uds))
			unlink(vm->agent_uds);
	}
	vm->listen_fd = -1;
}

void hvm_run_cleanup(struct hvm *vm)
{
	if (vm->machine_made)
		machine_destroy(&vm->machine);
	vm->machine_made = 0;
	if (vm->agent)
		drop_session(&vm->agent);
	for (int i = 0; i < HVM_MAX_EXTRA; i++)
		if (vm->extra[i])
			drop_session(&vm->extra[i]);
	cleanup_sockets(vm);
	for (int i = 0; i < HVM_VOLUMES_MAX; i++)
		hvm_share_stop(&vm->shares[i]);	/* after the machine: the guest is gone */
	if (vm->ready_fd >= 0)
		close(vm->ready_fd);
	vm->ready_fd = -1;
	hvm_net_teardown(&vm->net);
	hvm_control_close(vm);
	hvm_template_abandon(vm);
	hvm_restore_release(vm);
	cpio_free(&vm->boot);
	free(vm->run_json);
	vm->run_json = NULL;
	if (vm->image_resolved)
		image_free(&vm->image);
	vm->image_resolved = 0;
}

/* The run is over: metrics, teardown, then the status for hvm_wait. */
static void finish(struct hvm *vm, int status)
{
	vm->metrics.vm_exit_us = clock_now_us();
	vm->metrics.first_entry_us = atomic_load(&vm->machine.vm.first_entry_us);
	if (vm->metrics.vmm_rss_kib < 0)
		hvm_metrics_sample_rss(&vm->metrics, &vm->machine);
	hvm_metrics_sample_net(&vm->metrics, &vm->machine);
	hvm_run_cleanup(vm);
	pthread_mutex_lock(&vm->lock);
	vm->status = status;
	vm->phase = HVM_ENDED;
	signal_fd(vm->done_fd);
	pthread_cond_broadcast(&vm->answered);	/* a pause still waiting gets -ESRCH */
	pthread_mutex_unlock(&vm->lock);
}

/* Tells hvm_start how the boot went. */
static void report_start(struct hvm *vm, int err, const struct err *why)
{
	pthread_mutex_lock(&vm->lock);
	vm->start_result = err;
	if (err)
		hvm_fail_err(vm, HVM_ERROR_RESOURCES, why, err);
	else
		vm->phase = HVM_RUNNING;
	vm->start_known = 1;
	pthread_cond_broadcast(&vm->started);
	pthread_mutex_unlock(&vm->lock);
}

void *hvm_run_thread(void *arg)
{
	struct hvm *vm = arg;
	struct err why;
	int err;

	err_clear(&why);
	/* This thread's list goes on last: the vCPU threads inherit it and stack their own.
	 * (The hook where hvm-run's main thread used to install SECCOMP_MAIN.) */
	err = seccomp_install(SECCOMP_MAIN);
	if (err)
		err_set(&why, err, "seccomp: the service thread's allow-list: %s", strerror(-err));
	if (!err && (err = machine_start(&vm->machine)))
		err_set(&why, err, "starting the vCPUs: %s", strerror(-err));
	report_start(vm, err, &why);
	finish(vm, err ? HVM_EXIT_ERROR : serve_vm(vm));
	return NULL;
}

/* ---- the API ---------------------------------------------------------------------------- */

HVM_API int hvm_start(struct hvm *vm)
{
	struct err why;
	int err;

	pthread_mutex_lock(&vm->lock);
	if (vm->phase != HVM_NEW) {
		err = hvm_fail(vm, -EALREADY, "hvm_start: the VM was already started");
		pthread_mutex_unlock(&vm->lock);
		return err;
	}
	vm->error[0] = '\0';
	vm->error_kind = HVM_ERROR_NONE;	/* the steps name the cause (hvm_stage) */
	vm->phase = HVM_STARTING;
	err_clear(&why);
	err = hvm_run_prepare(vm, &why);
	if (err)
		hvm_fail_err(vm, vm->error_kind, &why, err);
	while (!err && !vm->start_known)
		pthread_cond_wait(&vm->started, &vm->lock);
	if (!err)
		err = vm->start_result;
	pthread_mutex_unlock(&vm->lock);
	if (err && vm->thread_started)
		pthread_join(vm->thread, NULL);	/* it tore everything down */
	if (err) {
		vm->thread_started = 0;
		hvm_run_cleanup(vm);
		pthread_mutex_lock(&vm->lock);
		vm->status = HVM_EXIT_ERROR;
		vm->phase = HVM_ENDED;
		signal_fd(vm->done_fd);
		pthread_mutex_unlock(&vm->lock);
	}
	return err;
}

HVM_API int hvm_wait(struct hvm *vm, int timeout_ms, int *status)
{
	uint64_t deadline = timeout_ms > 0 ? clock_now_us() + (uint64_t)timeout_ms * 1000 : 0;
	struct pollfd p = { .fd = vm->done_fd, .events = POLLIN };
	int n, left = timeout_ms;

	pthread_mutex_lock(&vm->lock);
	n = vm->phase == HVM_NEW;
	pthread_mutex_unlock(&vm->lock);
	if (n)
		return -EINVAL;
	while ((n = poll(&p, 1, left)) < 0 && errno == EINTR)
		if (deadline)
			left = poll_timeout(deadline);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	pthread_mutex_lock(&vm->lock);
	*status = vm->status;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

HVM_API int hvm_wait_fd(struct hvm *vm)
{
	int fd;

	pthread_mutex_lock(&vm->lock);
	fd = vm->phase == HVM_NEW ? -EINVAL : vm->done_fd;
	pthread_mutex_unlock(&vm->lock);
	return fd;
}

/* Locks vm for a call on a started VM: 0, -EINVAL before hvm_start, -ESRCH once it ended. */
static int running_lock(struct hvm *vm, const char *what)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->phase == HVM_NEW || vm->phase == HVM_STARTING)
		return hvm_fail(vm, -EINVAL, "%s: the VM is not started", what);
	if (vm->phase == HVM_ENDED)
		return hvm_fail(vm, -ESRCH, "%s: the VM has stopped", what);
	return 0;
}

HVM_API int hvm_kill(struct hvm *vm, int sig)
{
	int err = running_lock(vm, "hvm_kill");

	if (!err && (sig < 1 || sig > 64))
		err = hvm_fail(vm, -EINVAL, "signal %d: must be 1 to 64", sig);
	if (!err && vm->npending == HVM_MAX_PENDING)
		err = hvm_fail(vm, -EAGAIN, "hvm_kill: %d signals are waiting already",
			       HVM_MAX_PENDING);
	if (!err) {
		vm->pending[vm->npending++] = sig;
		signal_fd(vm->wake_fd);
	}
	pthread_mutex_unlock(&vm->lock);
	return err;
}

/* hvm_pause (pause 1) and hvm_resume (0): done by the service thread, which owns the
 * machine until the run ended; waits for its answer. */
static int pause_request(struct hvm *vm, int pause, const char *what)
{
	int err = running_lock(vm, what);

	while (!err && vm->pause_asked && vm->phase != HVM_ENDED)	/* one at a time */
		pthread_cond_wait(&vm->answered, &vm->lock);
	if (!err && vm->phase != HVM_ENDED) {
		vm->pause_asked = 1;
		vm->pause_to = pause;
		vm->pause_answered = 0;
		signal_fd(vm->wake_fd);
		while (!vm->pause_answered && vm->phase != HVM_ENDED)
			pthread_cond_wait(&vm->answered, &vm->lock);
		err = vm->pause_answered ? vm->pause_result : -ESRCH;
		vm->pause_asked = 0;
		pthread_cond_broadcast(&vm->answered);	/* the next caller in line */
	} else if (!err) {
		err = -ESRCH;
	}
	if (err == -EALREADY)
		hvm_fail(vm, err, "%s: the VM is %s", what, pause ? "paused already" : "not paused");
	else if (err == -ESRCH)
		hvm_fail(vm, err, "%s: the VM has stopped", what);
	pthread_mutex_unlock(&vm->lock);
	return err;
}

HVM_API int hvm_pause(struct hvm *vm)
{
	return pause_request(vm, 1, "hvm_pause");
}

HVM_API int hvm_resume(struct hvm *vm)
{
	return pause_request(vm, 0, "hvm_resume");
}

HVM_API int hvm_resize(struct hvm *vm, unsigned rows, unsigned cols)
{
	int err = running_lock(vm, "hvm_resize");

	if (!err && (!rows || !cols || rows > 0xffff || cols > 0xffff))
		err = hvm_fail(vm, -EINVAL, "terminal %ux%u: rows and columns are 1 to 65535",
			       rows, cols);
	if (!err) {
		vm->resize = 1;
		vm->resize_rows = rows;
		vm->resize_cols = cols;
		signal_fd(vm->wake_fd);
	}
	pthread_mutex_unlock(&vm->lock);
	return err;
}

HVM_API char *hvm_metrics_json(struct hvm *vm)
{
	char *json = NULL;

	pthread_mutex_lock(&vm->lock);
	if (vm->phase == HVM_ENDED)	/* the service thread writes them until then */
		json = hvm_metrics_to_json(&vm->metrics);
	pthread_mutex_unlock(&vm->lock);
	return json;
}

HVM_API const char *hvm_console_tail(struct hvm *vm)
{
	const char *tail;

	pthread_mutex_lock(&vm->lock);
	tail = vm->phase == HVM_ENDED ? vm->tail_text : "";
	pthread_mutex_unlock(&vm->lock);
	return tail;
}

HVM_API int hvm_cmdline(struct hvm *vm, char *buf, size_t cap)
{
	struct machine_config c;
	struct err too_long;	/* the caller's buffer, said below: not the guest's limit */
	int err;

	pthread_mutex_lock(&vm->lock);
	base_config(vm, &c);
	c.ndisks = 1;
	for (int i = 0; i < vm->cfg.nvolumes; i++)
		c.ndisks += !hvm_volume_is_dir(vm->cfg.volumes[i].host);
	c.vsock_uds = "";	/* only whether there is one counts here */
	/* Likewise the network backend: a placeholder that is never used. */
	c.net = hvm_net_resolve(&vm->cfg.net) == HVM_NET_NONE ? NULL : (struct net_backend *)buf;
	err_clear(&too_long);
	err = machine_cmdline(&c, buf, cap, &too_long);
	if (err)
		err = hvm_fail(vm, -ENOSPC, "the kernel command line is longer than %zu bytes", cap);
	pthread_mutex_unlock(&vm->lock);
	return err;
}
