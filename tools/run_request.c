#include "run_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../agent/protocol.h"
#include "../vmm/kvm.h"
#include "host_session.h"

struct records {
	char *buf;
	size_t len, cap;
	int err;
};

/* Appends "key=value\0"; remembers -ENOMEM for the end instead of checking every call. */
static void put(struct records *r, const char *key, const char *value)
{
	size_t need = strlen(key) + 1 + strlen(value) + 1;

	if (r->err)
		return;
	if (r->len + need > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		while (cap < r->len + need)
			cap *= 2;
		char *buf = realloc(r->buf, cap);
		if (!buf) {
			r->err = -ENOMEM;
			return;
		}
		r->buf = buf;
		r->cap = cap;
	}
	r->len += (size_t)sprintf(r->buf + r->len, "%s=%s", key, value) + 1;
}

void run_volume_serial(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "hvm-vol%d", i);
}

/* eth0's settings; none when the guest has no network device. */
static void put_net(struct records *r, const struct run_net_guest *net)
{
	char mtu[16];

	if (!net || !net->addr[0])
		return;
	put(r, RUN_KEY_NET_ADDR, net->addr);
	if (net->gateway[0])
		put(r, RUN_KEY_NET_GW, net->gateway);
	snprintf(mtu, sizeof(mtu), "%u", net->mtu);
	put(r, RUN_KEY_NET_MTU, mtu);
	for (int i = 0; i < net->ndns; i++)
		put(r, RUN_KEY_NET_DNS, net->dns[i]);
}

int run_request_boot(struct cpio *out, const struct run_flags *f, const struct run_net_guest *net,
		     int quiet)
{
	struct records r = { 0 };
	char rec[PATH_MAX + 64], serial[32];
	int err;

	put(&r, RUN_KEY_ROOT, RUN_ROOT_SERIAL);
	put(&r, RUN_KEY_OVERLAY, f->read_only ? "0" : "1");
	for (int i = 0; i < f->nvolumes; i++) {
		run_volume_serial(serial, sizeof(serial), i);
		snprintf(rec, sizeof(rec), "%s:%s:%s", serial, f->volumes[i].read_only ? "ro" : "rw",
			 f->volumes[i].guest);
		put(&r, RUN_KEY_MOUNT, rec);
	}
	put_net(&r, net);
	if (quiet)
		put(&r, RUN_KEY_QUIET, "1");
	if (kvm_host_is_pvm())
		put(&r, RUN_KEY_NO_AVX, "1");
	err = r.err;
	cpio_init(out);
	if (!err)
		err = cpio_add(out, "hvm", S_IFDIR | 0755, NULL, 0, 0, 0);
	if (!err)
		err = cpio_add(out, RUN_REQUEST_PATH, S_IFREG | 0444, r.buf, r.len, 0, 0);
	if (!err)
		err = cpio_finish(out);
	free(r.buf);
	return err;
}

/* A NULL-terminated list: head entries, then tail entries. */
static char **list_join(char *const *head, char *const *tail, int ntail)
{
	int nhead = 0;
	char **list;

	while (head && head[nhead])
		nhead++;
	if (ntail < 0)
		for (ntail = 0; tail && tail[ntail]; ntail++)
			;
	list = calloc((size_t)(nhead + ntail + 1), sizeof(*list));
	if (!list)
		return NULL;
	/* An image without Entrypoint or Cmd has NULL lists: memcpy from NULL is undefined. */
	if (nhead)
		memcpy(list, head, (size_t)nhead * sizeof(*list));
	if (ntail)
		memcpy(list + nhead, tail, (size_t)ntail * sizeof(*list));
	return list;
}

/*
 * docker's rules: --cmd replaces everything with a shell command; arguments after "--"
 * replace the image's Cmd and follow its Entrypoint; otherwise Entrypoint + Cmd.
 */
static char **compose_argv(const struct run_flags *f, const struct image_config *cfg)
{
	static char sh[] = "/bin/sh", dash_c[] = "-c";
	char **argv;

	if (f->cmd) {
		char *shell[] = { sh, dash_c, (char *)f->cmd, NULL };
		return list_join(shell, NULL, 0);
	}
	argv = f->nargs ? list_join(cfg->entrypoint, f->args, f->nargs)
			: list_join(cfg->entrypoint, cfg->cmd, -1);
	if (argv && !argv[0]) {
		fprintf(stderr, "hvm-run: %s: no command given and the image sets no Entrypoint or "
			"Cmd; give --cmd or -- PROGRAM\n", f->image ? f->image : "run");
		free(argv);
		return NULL;
	}
	return argv;
}

/* Image Env first, then -e in order (KEY alone takes our value): the agent lets later win. */
static char **compose_env(const struct run_flags *f, const struct image_config *cfg, char **owned)
{
	char *flags[RUN_MAX_ENV + 1] = { NULL };
	int n = 0;

	for (int i = 0; i < f->nenv; i++) {
		const char *v = getenv(f->env[i]);
		if (strchr(f->env[i], '='))
			flags[n++] = (char *)f->env[i];
		else if (v && asprintf(&owned[i], "%s=%s", f->env[i], v) > 0)
			flags[n++] = owned[i];
	}
	return list_join(cfg->env, flags, n);
}

int run_request_process(const struct run_flags *f, const struct image_config *cfg,
			unsigned rows, unsigned cols, char **json)
{
	char *owned[RUN_MAX_ENV] = { NULL };
	char **argv = compose_argv(f, cfg), **env = argv ? compose_env(f, cfg, owned) : NULL;
	const char *cwd = f->workdir ? f->workdir : cfg->workdir;
	const char *user = f->user ? f->user : cfg->user;
	int err = 0;

	if (!argv)
		err = -EINVAL;
	else if (!env || !(*json = host_session_run_json(argv, env, cwd, user, f->tty, rows, cols,
							  f->interactive)))
		err = -ENOMEM;
	for (int i = 0; i < RUN_MAX_ENV; i++)
		free(owned[i]);
	free(argv);
	free(env);
	return err;
}
