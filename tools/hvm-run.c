/* hvm-run: runs one command in a fresh micro-VM. parse flags -> build config -> boot -> report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vmm/log.h"
#include "run.h"
#include "run_request.h"
#include "run_tty.h"
#include "run_volume.h"

#ifndef HVM_VERSION
#define HVM_VERSION "0.1.0"
#endif

/* Default kernel, initramfs, image and helper live next to the hvm-run binary. */
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
	unsigned rows, cols;
	int err = 0;

	if (!f->kernel && locate_default(r->kernel, sizeof(r->kernel), "vmlinux") == 0)
		f->kernel = r->kernel;
	if (!f->initrd && locate_default(r->initrd, sizeof(r->initrd), "hvm-initramfs.cpio") == 0)
		f->initrd = r->initrd;
	*c = (struct machine_config){
		.kernel_path = f->kernel, .initrd_path = f->initrd, .cpus = f->cpus,
		.mem_mib = f->mem_mib, .console = f->console, .cmdline_extra = f->append,
		.vsock_cid = MACHINE_GUEST_CID,
	};
	if (f->print_cmdline)
		return 0;
	err = f->image ? resolve_image(r) : default_image(r);
	if (!err)
		err = plan_disks(r);
	if (!err)
		err = run_net_setup(&f->net, &r->net);
	if (!err && r->net.backend) {
		c->net = r->net.backend;
		memcpy(c->mac, r->net.mac, sizeof(c->mac));
	}
	if (!err)
		err = run_request_boot(&r->boot, f, &r->net.guest, !f->console);
	run_tty_size(STDIN_FILENO, &rows, &cols);
	if (!err)
		err = run_request_process(f, &r->image.config, rows, cols, &r->run_json);
	c->initrd_extra = r->boot.buf;
	c->initrd_extra_len = r->boot.len;
	return err;
}

static int print_cmdline(struct run *r)
{
	char cl[LAYOUT_CMDLINE_MAX];

	if (machine_cmdline(&r->cfg, cl, sizeof(cl)))
		return EXIT_HVM_ERROR;
	puts(cl);
	return 0;
}

int main(int argc, char **argv)
{
	static struct run r;
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
	if (r.flags.exec)
		return run_exec(&r.flags);
	if (build_config(&r)) {
		run_net_teardown(&r.net);
		return EXIT_HVM_ERROR;
	}
	if (r.flags.print_cmdline)
		return print_cmdline(&r);
	status = run_vm(&r);
	run_tty_restore();
	if (r.flags.metrics_json && run_metrics_write(&r.metrics, r.flags.metrics_json))
		status = status ? status : EXIT_HVM_ERROR;
	run_net_teardown(&r.net);
	cpio_free(&r.boot);
	free(r.run_json);
	if (r.image_resolved)
		image_free(&r.image);
	return status;
}
