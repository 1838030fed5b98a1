/* hvm-run: runs one command in a fresh micro-VM. parse flags -> build config -> boot -> report. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../boot/cpio.h"
#include "../vmm/clock.h"
#include "../vmm/log.h"
#include "../vmm/machine.h"
#include "console_demux.h"
#include "run_flags.h"
#include "run_metrics.h"
#include "run_request.h"
#include "run_volume.h"

#ifndef HVM_VERSION
#define HVM_VERSION "0.1.0"
#endif

#define EXIT_HVM_ERROR 125
#define EXIT_TIMEOUT   124
#define LOG_TAIL       4096	/* console text kept for the post-mortem of a failed guest */

struct run {
	struct run_flags flags;
	struct machine machine;
	struct machine_config cfg;
	struct console_demux demux;
	struct run_metrics metrics;
	struct cpio request;
	struct image image;		/* --image, or the embedded default image */
	int image_resolved;		/* image came from image_resolve: free it */
	char vol_serial[RUN_MAX_VOLUMES][16];
	char kernel[PATH_MAX], initrd[PATH_MAX];
	int exit_status;		/* from the agent's exit frame, -1 until then */
	int ready_fd;			/* eventfd: the agent reported ready */
	char tail[LOG_TAIL];		/* ring of the latest console text */
	size_t tail_len;
};

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* a closed stdout must not stop the VM: drop like a pipe reader gone */
		p += n;
		len -= (size_t)n;
	}
}

static void on_frame(void *opaque, int type, const uint8_t *payload, size_t len)
{
	struct run *r = opaque;

	switch (type) {
	case CFRAME_STDOUT: write_all(STDOUT_FILENO, payload, len); break;
	case CFRAME_STDERR: write_all(STDERR_FILENO, payload, len); break;
	case CFRAME_ERROR:
		fprintf(stderr, "hvm-run: guest agent: %.*s\n", (int)len, (const char *)payload);
		break;
	case CFRAME_EXIT:
		if (len == 1 && r->exit_status < 0) {
			r->exit_status = payload[0];
			r->metrics.command_exit_us = clock_now_us();
		}
		break;
	default:
		log_warn("console: unknown agent frame type 0x%02x ignored", type);
	}
}

static void on_log(void *opaque, uint8_t byte)
{
	struct run *r = opaque;

	r->tail[r->tail_len++ % LOG_TAIL] = (char)byte;
	if (r->flags.console)
		write_all(STDERR_FILENO, &byte, 1);
}

static void on_serial(void *opaque, uint8_t byte)
{
	console_demux_feed(&((struct run *)opaque)->demux, byte);
}

static void on_ready(void *opaque)
{
	struct run *r = opaque;

	uint64_t one = 1;

	/* Sampled by the main thread: the vCPU goes back to the guest at once. */
	if (write(r->ready_fd, &one, sizeof(one)) < 0)
		log_debug("ready eventfd: %s", strerror(errno));
}

/* Default kernel and initramfs live next to the hvm-run binary. */
static int locate_default(char *out, size_t cap, const char *name)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	char *slash;

	if (n < 0)
		return -errno;
	out[n] = '\0';
	slash = strrchr(out, '/');
	if (!slash || (size_t)(slash + 1 - out) + strlen(name) >= cap)
		return -ENAMETOOLONG;
	strcpy(slash + 1, name);
	return 0;
}

/* --image: found in the cache, or converted by the hvm-image helper next to hvm-run. */
static int resolve_image(struct run *r)
{
	char cache[PATH_MAX], helper[PATH_MAX];
	int err = image_cache_dir(cache, sizeof(cache));

	if (err) {
		fprintf(stderr, "hvm-run: no cache directory: set XDG_CACHE_HOME or HOME\n");
		return err;
	}
	err = locate_default(helper, sizeof(helper), "hvm-image");
	if (!err)
		err = image_resolve(r->flags.image, cache, helper, &r->image);
	if (!err)
		r->image_resolved = 1;
	return err;
}

/* No --image: the busybox image built next to hvm-run, with no run defaults of its own. */
static int default_image(struct run *r)
{
	int err = locate_default(r->image.rootfs, sizeof(r->image.rootfs), "hvm-rootfs.ext4");

	if (err || access(r->image.rootfs, R_OK) < 0) {
		fprintf(stderr, "hvm-run: %s: the default image is missing (run make)\n",
			r->image.rootfs);
		return -ENOENT;
	}
	return 0;
}

/* Disks in guest order: the image (read-only, shared by every VM using it), then volumes. */
static int plan_disks(struct run *r)
{
	struct machine_config *c = &r->cfg;

	c->disks[c->ndisks++] = (struct machine_disk){
		.path = r->image.rootfs, .read_only = 1, .serial = RUN_ROOT_SERIAL,
	};
	for (int i = 0; i < r->flags.nvolumes; i++) {
		const struct run_volume *v = &r->flags.volumes[i];
		int err = run_volume_prepare(v, r->flags.volume_size_mib);
		if (err)
			return err;
		run_volume_serial(r->vol_serial[i], sizeof(r->vol_serial[i]), i);
		c->disks[c->ndisks++] = (struct machine_disk){
			.path = v->host, .read_only = v->read_only, .serial = r->vol_serial[i],
		};
	}
	return 0;
}

static int build_config(struct run *r)
{
	struct run_flags *f = &r->flags;
	struct machine_config *c = &r->cfg;
	int err = 0;

	if (!f->kernel && locate_default(r->kernel, sizeof(r->kernel), "vmlinux") == 0)
		f->kernel = r->kernel;
	if (!f->initrd && locate_default(r->initrd, sizeof(r->initrd), "hvm-initramfs.cpio") == 0)
		f->initrd = r->initrd;
	*c = (struct machine_config){
		.kernel_path = f->kernel, .initrd_path = f->initrd, .cpus = f->cpus,
		.mem_mib = f->mem_mib, .console = f->console, .cmdline_extra = f->append,
		.serial_output = on_serial, .serial_opaque = r,
		.on_ready = on_ready, .ready_opaque = r,
	};
	r->demux = (struct console_demux){ .on_frame = on_frame, .on_log = on_log, .opaque = r };
	if (f->print_cmdline)
		return 0;
	err = f->image ? resolve_image(r) : default_image(r);
	if (!err)
		err = plan_disks(r);
	if (!err)
		err = run_request_build(&r->request, f, &r->image.config, !f->console);
	c->initrd_extra = r->request.buf;
	c->initrd_extra_len = r->request.len;
	return err;
}

/* SIGINT/TERM/HUP/QUIT stop the VM; they arrive through a signalfd in the wait loop. */
static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Prints why the guest ended without an exit status, with the last console lines. */
static void report_lost_guest(struct run *r, enum vm_state st)
{
	size_t n = r->tail_len < LOG_TAIL ? r->tail_len : LOG_TAIL;
	size_t start = r->tail_len < LOG_TAIL ? 0 : r->tail_len % LOG_TAIL;

	fprintf(stderr, "hvm-run: the guest stopped (%s) without reporting an exit status\n",
		vm_state_name(st));
	if (n && !r->flags.console) {
		fprintf(stderr, "hvm-run: last guest console output:\n");
		write_all(STDERR_FILENO, r->tail + start, n - start);
		write_all(STDERR_FILENO, r->tail, start);
		fputc('\n', stderr);
	}
}

/* Waits for the VM to stop, a signal or the timeout; returns hvm-run's exit status. */
static int wait_vm(struct run *r, int sigfd)
{
	struct pollfd p[3] = {
		{ .fd = r->machine.vm.stop_fd, .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = r->ready_fd, .events = POLLIN },
	};
	uint64_t deadline = r->flags.timeout_s ? clock_now_us() + r->flags.timeout_s * 1000000ULL : 0;

	while (vm_state(&r->machine.vm) == VM_RUNNING) {
		int ms = -1;
		if (deadline) {
			uint64_t now = clock_now_us();
			if (now >= deadline) {
				vm_stop(&r->machine.vm, VM_STOP_HOST);
				fprintf(stderr, "hvm-run: --timeout %u s expired: VM stopped\n",
					r->flags.timeout_s);
				return EXIT_TIMEOUT;
			}
			ms = (int)((deadline - now + 999) / 1000);
		}
		if (poll(p, 3, ms) < 0 && errno != EINTR)
			break;
		if (p[2].revents & POLLIN) {
			r->metrics.agent_ready_us = atomic_load(&r->machine.timer.ready_us);
			run_metrics_sample_rss(&r->metrics, &r->machine);
			p[2].fd = -1;
		}
		struct signalfd_siginfo si;
		if ((p[1].revents & POLLIN) && read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			vm_stop(&r->machine.vm, VM_STOP_HOST);
			return 128 + (int)si.ssi_signo;
		}
	}
	enum vm_state st = vm_state(&r->machine.vm);
	if (r->exit_status >= 0)
		return r->exit_status;
	report_lost_guest(r, st);
	return EXIT_HVM_ERROR;
}

static int run_vm(struct run *r)
{
	int sigfd = block_signals(), status = EXIT_HVM_ERROR;

	r->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sigfd < 0 || r->ready_fd < 0) {
		fprintf(stderr, "hvm-run: signalfd/eventfd: %s\n", strerror(errno));
		goto out;
	}
	if (machine_create(&r->machine, &r->cfg))
		goto out;
	r->metrics.kvm_ready_us = r->machine.kvm_ready_us;
	if (machine_start(&r->machine) == 0)
		status = wait_vm(r, sigfd);
	r->metrics.vm_exit_us = clock_now_us();
	r->metrics.first_entry_us = atomic_load(&r->machine.vm.first_entry_us);
	if (r->metrics.vmm_rss_kib < 0)
		run_metrics_sample_rss(&r->metrics, &r->machine);
	machine_destroy(&r->machine);
out:
	if (sigfd >= 0)
		close(sigfd);
	if (r->ready_fd >= 0)
		close(r->ready_fd);
	return status;
}

int main(int argc, char **argv)
{
	static struct run r = { .exit_status = -1 };
	enum log_level level;
	int status;

	run_metrics_start(&r.metrics);
	if (run_flags_parse(&r.flags, argc, argv))
		return EXIT_HVM_ERROR;
	if (r.flags.help || r.flags.version) {
		fputs(r.flags.help ? run_flags_usage : "hvm-run " HVM_VERSION "\n", stdout);
		return 0;
	}
	if (r.flags.log_level) {
		if (log_parse_level(r.flags.log_level, &level)) {
			fprintf(stderr, "hvm-run: --log-level %s: use error, warn, info or debug\n",
				r.flags.log_level);
			return EXIT_HVM_ERROR;
		}
		log_set_level(level);
	}
	if (build_config(&r))
		return EXIT_HVM_ERROR;
	if (r.flags.print_cmdline) {
		char cl[LAYOUT_CMDLINE_MAX];
		if (machine_cmdline(&r.cfg, cl, sizeof(cl)))
			return EXIT_HVM_ERROR;
		puts(cl);
		return 0;
	}
	status = run_vm(&r);
	if (r.flags.metrics_json && run_metrics_write(&r.metrics, r.flags.metrics_json))
		status = status ? status : EXIT_HVM_ERROR;
	cpio_free(&r.request);
	if (r.image_resolved)
		image_free(&r.image);
	return status;
}
