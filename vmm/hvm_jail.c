/*
 * libhvm's side of the self-jail (core/jail.c, docs/jail.md): hvm_jail_fork for front ends,
 * and the jail of a prepared VM: the paths its machine still opens once jailed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hvm_export.h"
#include "hvm_internal.h"
#include "../core/jail.h"
#include "../core/kvm.h"
#include "../core/err.h"

HVM_API int hvm_jail_fork(const sigset_t *forward, int *sig_fd, int *status)
{
	return jail_fork(forward, sig_fd, status);
}

HVM_API int hvm_jail_probe(char *why, size_t cap)
{
	const char *step = "";
	int err = jail_probe(&step);

	if (err && cap)
		snprintf(why, cap, "%s: %s", step, strerror(-err));
	else if (cap)
		why[0] = '\0';
	return err;
}

/* The directory of the api socket: the vsock device binds the socket there once jailed. */
static int socket_dir(const char *sock, char *out, size_t cap, struct err *e)
{
	int err = jail_abspath(sock, out, cap);
	char *slash = err ? NULL : strrchr(out, '/');

	if (err) {
		err_set(e, err, "jail: %s: %s", sock, strerror(-err));
		return err;
	}
	slash[slash == out] = '\0';	/* "/x" -> "/" */
	return 0;
}

int hvm_jail_enter(struct hvm *vm, struct err *e)
{
	const struct machine_config *m = &vm->mcfg;
	/* Unprivileged, the caller's own ids are the only ones its user namespace maps. */
	int own = jail_unprivileged();
	struct jail_config j = { .uid = own ? geteuid() : vm->cfg.jail_uid,
				 .gid = own ? getegid() : vm->cfg.jail_gid,
				 .max_memory = (vm->cfg.mem_mib << 20) + JAIL_MEM_SLACK,
				 .proc = vm->cfg.jail_proc };
	char dir[PATH_MAX];
	int err = jail_add(&j, m->kvm_path ? m->kvm_path : "/dev/kvm", JAIL_DEV, e);

	kvm_host_is_pvm();	/* reads /sys, which the jail hides; the answer is kept */
	/* /dev/net/tun is not among them: a TAP device is open before the jail. */
	if (!err)
		err = jail_add(&j, m->kernel_path, 0, e);
	if (!err)
		err = jail_add(&j, m->initrd_path, 0, e);
	for (unsigned i = 0; !err && i < m->ndisks; i++)
		err = jail_add(&j, m->disks[i].path, m->disks[i].read_only ? 0 : JAIL_RW, e);
	if (!err && vm->cfg.api_socket &&
	    !(err = socket_dir(vm->cfg.api_socket, dir, sizeof(dir), e)))
		err = jail_add(&j, dir, JAIL_DIR | JAIL_RW, e);
	return err ? err : jail_enter(&j, e);
}
