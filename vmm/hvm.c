/*
 * libhvm's handle: creation, the setters (which only record, checked, into vm->cfg),
 * destruction, and the process-wide settings. Starting and serving a VM is hvm_run.c; hvm_exec
 * is hvm_exec.c; the error a call leaves and the default data files are hvm_base.c.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../devices/virtio_net.h"
#include "hvm_export.h"
#include "hvm_internal.h"
#include "../core/log.h"
#include "../core/seccomp.h"

/*
 * Two vCPUs unless this process may run on only one host CPU: a server's guest kernel then
 * does its network work beside the server (nginx starts a worker per CPU), where with one
 * vCPU every accept and request waits in line; each further vCPU costs boot time, so more
 * are asked for.
 */
static unsigned hvm_default_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) < HVM_CPUS_DEFAULT)
		return 1;
	return HVM_CPUS_DEFAULT;
}

HVM_API int hvm_create(struct hvm **out)
{
	struct hvm *vm = calloc(1, sizeof(*vm));

	*out = NULL;
	if (!vm)
		return -ENOMEM;
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0 || vm->done_fd < 0) {
		int err = -errno;
		if (vm->wake_fd >= 0)
			close(vm->wake_fd);
		free(vm);
		return err;
	}
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->started, NULL);
	pthread_cond_init(&vm->answered, NULL);
	vm->cfg = (struct hvm_config){ .cpus = hvm_default_cpus(), .mem_mib = HVM_MEMORY_MIB_DEFAULT,
		.in_fd = -1, .out_fd = -1, .err_fd = -1, .console_fd = -1, .rows = 24, .cols = 80 };
	vm->listen_fd = vm->ready_fd = vm->ctl_fd = vm->snap_mem_fd = -1;
	for (int i = 0; i < HVM_VOLUMES_MAX; i++)
		hvm_share_init(&vm->shares[i]);
	vm->template_dirfd = vm->template_parentfd = -1;
	hvm_metrics_start(&vm->metrics);
	*out = vm;
	return 0;
}

/* Every setter starts here: takes the lock; -EBUSY (recorded) once the VM was started. A
 * failure of the setter is of kind (hvm_error_kind). */
static int setter_lock(struct hvm *vm, const char *what, enum hvm_error_kind kind)
{
	pthread_mutex_lock(&vm->lock);
	vm->error[0] = '\0';
	vm->call_kind = kind;
	if (vm->phase != HVM_NEW)
		return hvm_fail_as(vm, HVM_ERROR_USAGE, -EBUSY, "%s: the VM is already started",
				   what);
	return 0;
}

static int setter_unlock(struct hvm *vm, int err)
{
	vm->call_kind = HVM_ERROR_NONE;	/* calls other than setters: their own kinds */
	pthread_mutex_unlock(&vm->lock);
	return err;
}

/* Replaces *slot with a copy of value (NULL clears it); 0 or -ENOMEM. */
static int set_string(struct hvm *vm, char **slot, const char *value)
{
	char *copy = value ? strdup(value) : NULL;

	if (value && !copy)
		return hvm_fail(vm, -ENOMEM, "out of memory");
	free(*slot);
	*slot = copy;
	return 0;
}

static void free_list(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

/* A deep copy of a NULL-terminated list into *slot (NULL clears it); 0 or -ENOMEM. */
static int set_list(struct hvm *vm, char ***slot, const char *const *list)
{
	size_t n = 0;
	char **copy = NULL;

	while (list && list[n])
		n++;
	if (list && !(copy = calloc(n + 1, sizeof(*copy))))
		return hvm_fail(vm, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (!(copy[i] = strdup(list[i]))) {
			free_list(copy);
			return hvm_fail(vm, -ENOMEM, "out of memory");
		}
	free_list(*slot);
	*slot = copy;
	return 0;
}

/* A string setter's body: value copied into *field under the handle's lock. */
static int string_setter(struct hvm *vm, const char *fn, enum hvm_error_kind kind, char **field,
			 const char *value)
{
	int err = setter_lock(vm, fn, kind);

	return setter_unlock(vm, err ? err : set_string(vm, field, value));
}

HVM_API int hvm_set_kernel(struct hvm *vm, const char *path)
{
	return string_setter(vm, "hvm_set_kernel", HVM_ERROR_KERNEL, &vm->cfg.kernel, path);
}

HVM_API int hvm_set_initrd(struct hvm *vm, const char *path)
{
	return string_setter(vm, "hvm_set_initrd", HVM_ERROR_KERNEL, &vm->cfg.initrd, path);
}

HVM_API int hvm_set_cmdline_extra(struct hvm *vm, const char *words)
{
	return string_setter(vm, "hvm_set_cmdline_extra", HVM_ERROR_KERNEL, &vm->cfg.cmdline_extra,
			     words);
}

HVM_API int hvm_set_image(struct hvm *vm, const char *image)
{
	return string_setter(vm, "hvm_set_image", HVM_ERROR_IMAGE, &vm->cfg.image, image);
}

HVM_API int hvm_set_shell_command(struct hvm *vm, const char *command)
{
	return string_setter(vm, "hvm_set_shell_command", HVM_ERROR_COMMAND, &vm->cfg.shell,
			     command);
}

HVM_API int hvm_set_workdir(struct hvm *vm, const char *dir)
{
	return string_setter(vm, "hvm_set_workdir", HVM_ERROR_COMMAND, &vm->cfg.workdir, dir);
}

HVM_API int hvm_set_user(struct hvm *vm, const char *user)
{
	return string_setter(vm, "hvm_set_user", HVM_ERROR_COMMAND, &vm->cfg.user, user);
}

HVM_API int hvm_set_hostname(struct hvm *vm, const char *name)
{
	return string_setter(vm, "hvm_set_hostname", HVM_ERROR_COMMAND, &vm->cfg.hostname, name);
}

HVM_API int hvm_set_api_socket(struct hvm *vm, const char *path)
{
	return string_setter(vm, "hvm_set_api_socket", HVM_ERROR_USAGE, &vm->cfg.api_socket, path);
}

HVM_API int hvm_set_restore(struct hvm *vm, const char *dir)
{
	return string_setter(vm, "hvm_set_restore", HVM_ERROR_SNAPSHOT, &vm->cfg.restore, dir);
}

HVM_API int hvm_set_run_extra(struct hvm *vm, const char *json_object)
{
	size_t n = json_object ? strlen(json_object) : 0;
	int err = setter_lock(vm, "hvm_set_run_extra", HVM_ERROR_COMMAND);

	if (!err && json_object && (n < 2 || json_object[0] != '{' || json_object[n - 1] != '}'))
		err = hvm_fail(vm, -EINVAL, "hvm_set_run_extra: not a JSON object");
	return setter_unlock(vm, err ? err : set_string(vm, &vm->cfg.run_extra, json_object));
}

HVM_API int hvm_set_templates(struct hvm *vm, int mode)
{
	int err = setter_lock(vm, "hvm_set_templates", HVM_ERROR_USAGE);

	if (!err && (mode < HVM_TEMPLATES_OFF || mode > HVM_TEMPLATES_REPEATED))
		err = hvm_fail(vm, -EINVAL, "hvm_set_templates: mode %d is none of HVM_TEMPLATES_*",
			       mode);
	if (!err)
		vm->cfg.templates = mode;
	return setter_unlock(vm, err);
}

HVM_API int hvm_set_cpus(struct hvm *vm, unsigned cpus)
{
	int err = setter_lock(vm, "hvm_set_cpus", HVM_ERROR_USAGE);

	if (!err && (cpus < 1 || cpus > HVM_CPUS_MAX))
		err = hvm_fail(vm, -EINVAL, "%u vCPUs: must be 1 to %d", cpus, HVM_CPUS_MAX);
	if (!err)
		vm->cfg.cpus = cpus;
	return setter_unlock(vm, err);
}

HVM_API int hvm_set_memory(struct hvm *vm, uint64_t mib)
{
	int err = setter_lock(vm, "hvm_set_memory", HVM_ERROR_USAGE);

	if (!err && (mib < HVM_MEMORY_MIB_MIN || mib > HVM_MEMORY_MIB_MAX))
		err = hvm_fail(vm, -EINVAL, "%llu MiB of memory: must be %d to %d MiB",
			       (unsigned long long)mib, HVM_MEMORY_MIB_MIN, HVM_MEMORY_MIB_MAX);
	if (!err)
		vm->cfg.mem_mib = mib;
	return setter_unlock(vm, err);
}

HVM_API int hvm_set_read_only(struct hvm *vm, int read_only)
{
	int err = setter_lock(vm, "hvm_set_read_only", HVM_ERROR_IMAGE);

	if (!err)
		vm->cfg.read_only = !!read_only;
	return setter_unlock(vm, err);
}

static int add_volume(struct hvm *vm, const char *host, const char *guest, int read_only,
		      uint64_t size_mib)
{
	struct hvm_volume *v = &vm->cfg.volumes[vm->cfg.nvolumes];

	if (vm->cfg.nvolumes == HVM_VOLUMES_MAX)
		return hvm_fail(vm, -E2BIG, "volume %s: at most %d volumes", host, HVM_VOLUMES_MAX);
	if (!host || !*host || !guest || guest[0] != '/' || !guest[1])
		return hvm_fail(vm, -EINVAL, "volume %s:%s: give a host file and an absolute guest "
				"path", host ? host : "(null)", guest ? guest : "(null)");
	if (read_only & ~(HVM_VOLUME_RO | HVM_VOLUME_NOSUID | HVM_VOLUME_NODEV | HVM_VOLUME_NOEXEC))
		return hvm_fail(vm, -EINVAL, "volume %s: unknown flags %#x", host, (unsigned)read_only);
	*v = (struct hvm_volume){ .host = strdup(host), .guest = strdup(guest),
		.read_only = read_only & HVM_VOLUME_RO, .flags = (unsigned)read_only & ~HVM_VOLUME_RO,
		.size_mib = size_mib ? size_mib : HVM_VOLUME_MIB_DEFAULT };
	if (!v->host || !v->guest) {
		free(v->host);
		free(v->guest);
		return hvm_fail(vm, -ENOMEM, "out of memory");
	}
	vm->cfg.nvolumes++;
	return 0;
}

HVM_API int hvm_add_volume(struct hvm *vm, const char *host_file, const char *guest_path,
			   int read_only, uint64_t size_mib)
{
	int err = setter_lock(vm, "hvm_add_volume", HVM_ERROR_VOLUME);

	return setter_unlock(vm, err ? err : add_volume(vm, host_file, guest_path, read_only,
							  size_mib));
}

HVM_API int hvm_set_args(struct hvm *vm, const char *const *argv)
{
	int err = setter_lock(vm, "hvm_set_args", HVM_ERROR_COMMAND);

	return setter_unlock(vm, err ? err : set_list(vm, &vm->cfg.args, argv));
}

HVM_API int hvm_set_argv(struct hvm *vm, const char *const *argv)
{
	int err = setter_lock(vm, "hvm_set_argv", HVM_ERROR_COMMAND);

	if (!err && argv && !argv[0])
		err = hvm_fail(vm, -EINVAL, "hvm_set_argv: an empty command line");
	return setter_unlock(vm, err ? err : set_list(vm, &vm->cfg.argv, argv));
}

HVM_API int hvm_add_env(struct hvm *vm, const char *key_value)
{
	int err = setter_lock(vm, "hvm_add_env", HVM_ERROR_COMMAND);

	if (!err && (!key_value || !strchr(key_value, '=') || key_value[0] == '='))
		err = hvm_fail(vm, -EINVAL, "environment %s: use KEY=VALUE",
			       key_value ? key_value : "(null)");
	if (!err && vm->cfg.nenv == HVM_ENV_MAX)
		err = hvm_fail(vm, -E2BIG, "environment: at most %d variables", HVM_ENV_MAX);
	if (!err && !(vm->cfg.env[vm->cfg.nenv] = strdup(key_value)))
		err = hvm_fail(vm, -ENOMEM, "out of memory");
	if (!err)
		vm->cfg.nenv++;
	return setter_unlock(vm, err);
}

HVM_API int hvm_set_stdio(struct hvm *vm, int in_fd, int out_fd, int err_fd)
{
	int err = setter_lock(vm, "hvm_set_stdio", HVM_ERROR_USAGE);

	if (!err && (in_fd < -1 || out_fd < -1 || err_fd < -1))
		err = hvm_fail(vm, -EBADF, "hvm_set_stdio: fds are -1 or open descriptors");
	if (!err) {
		vm->cfg.in_fd = in_fd;
		vm->cfg.out_fd = out_fd;
		vm->cfg.err_fd = err_fd;
	}
	return setter_unlock(vm, err);
}

HVM_API int hvm_set_tty(struct hvm *vm, int tty, unsigned rows, unsigned cols)
{
	int err = setter_lock(vm, "hvm_set_tty", HVM_ERROR_USAGE);

	if (!err && tty && (!rows || !cols || rows > 0xffff || cols > 0xffff))
		err = hvm_fail(vm, -EINVAL, "terminal %ux%u: rows and columns are 1 to 65535",
			       rows, cols);
	if (!err) {
		vm->cfg.tty = !!tty;
		vm->cfg.rows = tty ? rows : 24;
		vm->cfg.cols = tty ? cols : 80;
	}
	return setter_unlock(vm, err);
}

HVM_API int hvm_set_console(struct hvm *vm, int fd)
{
	int err = setter_lock(vm, "hvm_set_console", HVM_ERROR_USAGE);

	if (!err)
		vm->cfg.console_fd = fd < 0 ? -1 : fd;
	return setter_unlock(vm, err);
}

HVM_API int hvm_set_timeout(struct hvm *vm, unsigned seconds)
{
	int err = setter_lock(vm, "hvm_set_timeout", HVM_ERROR_USAGE);

	if (!err)
		vm->cfg.timeout_s = seconds;
	return setter_unlock(vm, err);
}

/* ---- network -------------------------------------------------------------------------- */

HVM_API int hvm_set_net(struct hvm *vm, const char *mode)
{
	struct err why;
	int err = setter_lock(vm, "hvm_set_net", HVM_ERROR_NETWORK);

	err_clear(&why);
	if (!err && (err = hvm_net_parse_mode(&vm->cfg.net, mode ? mode : "(null)", &why)))
		hvm_fail_err(vm, HVM_ERROR_NETWORK, &why, err);
	return setter_unlock(vm, err);
}

HVM_API int hvm_add_port(struct hvm *vm, uint16_t host_port, uint16_t guest_port, int udp)
{
	struct hvm_net_config *n = &vm->cfg.net;
	int err = setter_lock(vm, "hvm_add_port", HVM_ERROR_NETWORK);

	if (!err && (!host_port || !guest_port))
		err = hvm_fail(vm, -EINVAL, "port %u:%u: ports are 1 to 65535", host_port, guest_port);
	if (!err && n->nports == HVM_NET_MAX_PORTS)
		err = hvm_fail(vm, -E2BIG, "at most %d published ports", HVM_NET_MAX_PORTS);
	if (!err)
		n->ports[n->nports++] = (struct hvm_net_port){ host_port, guest_port, !!udp };
	return setter_unlock(vm, err);
}

/* "A.B.C.D[,A.B.C.D...]" into the config's name servers. */
static int set_dns(struct hvm *vm, const char *list)
{
	struct hvm_net_config *n = &vm->cfg.net;
	const char *p = list;

	n->ndns = 0;
	while (p && *p) {
		size_t len = strcspn(p, ",");
		char ip[INET_ADDRSTRLEN];
		if (n->ndns == HVM_NET_DNS || len >= sizeof(ip))
			return hvm_fail(vm, -EINVAL, "name servers %s: at most %d IPv4 addresses",
					list, HVM_NET_DNS);
		memcpy(ip, p, len);
		ip[len] = '\0';
		if (!hvm_net_valid_ipv4(ip, 0))
			return hvm_fail(vm, -EINVAL, "name server %s: not an IPv4 address", ip);
		memcpy(n->dns[n->ndns++], ip, len + 1);
		p += len + (p[len] == ',');
	}
	return 0;
}

HVM_API int hvm_set_net_addr(struct hvm *vm, const char *cidr, const char *gateway,
			     const char *dns)
{
	struct hvm_net_config *n = &vm->cfg.net;
	int err = setter_lock(vm, "hvm_set_net_addr", HVM_ERROR_NETWORK);

	if (!err && cidr && !hvm_net_valid_ipv4(cidr, 1))
		err = hvm_fail(vm, -EINVAL, "address %s: use an IPv4 address with a prefix length "
			       "(10.0.0.2/24)", cidr);
	if (!err && gateway && !hvm_net_valid_ipv4(gateway, 0))
		err = hvm_fail(vm, -EINVAL, "gateway %s: use an IPv4 address (10.0.0.1)", gateway);
	if (!err)
		err = set_dns(vm, dns);
	if (!err) {
		snprintf(n->ip, sizeof(n->ip), "%s", cidr ? cidr : "");
		snprintf(n->gateway, sizeof(n->gateway), "%s", gateway ? gateway : "");
	}
	return setter_unlock(vm, err);
}

HVM_API int hvm_set_mac(struct hvm *vm, const char *mac)
{
	struct hvm_net_config *n = &vm->cfg.net;
	int err = setter_lock(vm, "hvm_set_mac", HVM_ERROR_NETWORK);

	if (!err && (!mac || net_parse_mac(mac, n->mac) < 0 || (n->mac[0] & 1)))
		err = hvm_fail(vm, -EINVAL, "MAC %s: use a unicast aa:bb:cc:dd:ee:ff",
			       mac ? mac : "(null)");
	if (!err)
		n->has_mac = 1;
	return setter_unlock(vm, err);
}

/* ---- the rest --------------------------------------------------------------------------- */

HVM_API int hvm_set_jail(struct hvm *vm, int on, unsigned uid, unsigned gid)
{
	int err = setter_lock(vm, "hvm_set_jail", HVM_ERROR_RESOURCES);

	if (!err && (on & ~(HVM_JAIL_ON | HVM_JAIL_PROC)))
		err = hvm_fail_as(vm, HVM_ERROR_USAGE, -EINVAL, "jail: flags %#x: only "
				  "HVM_JAIL_ON and HVM_JAIL_PROC", (unsigned)on);
	/* Not root: a user namespace of the caller's own, which maps only the caller's ids. */
	if (!err && on && geteuid() != 0 &&
	    ((uid != geteuid() && uid != HVM_JAIL_DEFAULT_ID) ||
	     (gid != getegid() && gid != HVM_JAIL_DEFAULT_ID)))
		err = hvm_fail(vm, -EPERM, "jail: uid %u, gid %u: an unprivileged jail runs as its "
			       "caller (uid %u, gid %u); only root chooses another", uid, gid,
			       (unsigned)geteuid(), (unsigned)getegid());
	if (!err) {
		vm->cfg.jail = !!on;
		vm->cfg.jail_proc = !!(on & HVM_JAIL_PROC);
		vm->cfg.jail_uid = uid;
		vm->cfg.jail_gid = gid;
	}
	return setter_unlock(vm, err);
}

static void free_config(struct hvm_config *c)
{
	char **strings[] = { &c->kernel, &c->initrd, &c->cmdline_extra, &c->image, &c->shell,
			     &c->workdir, &c->user, &c->hostname, &c->api_socket, &c->restore,
			     &c->run_extra };

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(*strings[i]);
	for (int i = 0; i < c->nvolumes; i++) {
		free(c->volumes[i].host);
		free(c->volumes[i].guest);
	}
	for (int i = 0; i < c->nenv; i++)
		free(c->env[i]);
	free_list(c->args);
	free_list(c->argv);
}

HVM_API void hvm_destroy(struct hvm *vm)
{
	uint64_t one = 1;

	if (!vm)
		return;
	pthread_mutex_lock(&vm->lock);
	vm->stop = 1;
	if (write(vm->wake_fd, &one, sizeof(one)) < 0)
		log_debug("wake eventfd: %s", strerror(errno));
	pthread_mutex_unlock(&vm->lock);
	if (vm->thread_started)
		pthread_join(vm->thread, NULL);
	hvm_run_cleanup(vm);
	free_config(&vm->cfg);
	close(vm->wake_fd);
	close(vm->done_fd);
	pthread_cond_destroy(&vm->started);
	pthread_cond_destroy(&vm->answered);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

HVM_API int hvm_set_log_level(const char *level)
{
	enum log_level l;

	if (!level || log_parse_level(level, &l))
		return -EINVAL;
	log_set_level(l);
	return 0;
}

HVM_API int hvm_set_seccomp(int on, int violation_exit)
{
	seccomp_set_enabled(on);
	seccomp_set_violation_exit(violation_exit);
	return 0;
}

HVM_API int hvm_seccomp_restrict_self(void)
{
	return seccomp_install(SECCOMP_MAIN);
}
