#include "hvm_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../proto/protocol.h"
#include "host_session.h"
#include "hvm_internal.h"
#include "hvm_volume.h"
#include "../core/kvm.h"
#include "../core/err.h"

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

/* eth0's settings; none when the guest has no network device. */
static void put_net(struct records *r, const struct hvm_net_guest *net)
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

/*
 * What a template's boot reads ahead: the shell (--cmd) and the image's own program. Never
 * the run's command: the template is shared by every command of its configuration.
 */
static void put_warm(struct records *r, const struct image_config *img)
{
	const char *prog = img->entrypoint && img->entrypoint[0] ? img->entrypoint[0] :
			   img->cmd && img->cmd[0] ? img->cmd[0] : NULL;

	put(r, RUN_KEY_WARM, "/bin/sh");
	if (prog && strcmp(prog, "/bin/sh"))
		put(r, RUN_KEY_WARM, prog);
}

int hvm_request_boot(struct cpio *out, const struct hvm_config *c, const struct hvm_net_guest *net,
		     int quiet, const struct image_config *warm)
{
	struct records r = { 0 };
	char rec[PATH_MAX + 64], serial[32];
	int err;

	put(&r, RUN_KEY_ROOT, HVM_ROOT_SERIAL);
	put(&r, RUN_KEY_OVERLAY, c->read_only ? "0" : "1");
	for (int i = 0; i < c->nvolumes; i++) {
		const struct hvm_volume *v = &c->volumes[i];
		if (v->port)	/* a directory: the agent mounts 9p from this vsock port */
			snprintf(serial, sizeof(serial), "%u", v->port);
		else
			hvm_volume_serial(serial, sizeof(serial), i);
		snprintf(rec, sizeof(rec), "%s:%s%s%s%s:%s", serial, v->read_only ? "ro" : "rw",
			 v->flags & HVM_VOLUME_NOSUID ? ",nosuid" : "",
			 v->flags & HVM_VOLUME_NODEV ? ",nodev" : "",
			 v->flags & HVM_VOLUME_NOEXEC ? ",noexec" : "", v->guest);
		put(&r, v->port ? RUN_KEY_SHARE : RUN_KEY_MOUNT, rec);
	}
	put_net(&r, net);
	/* A template's boot keeps the default: every host name of its key shares it, each run's
	 * own arrives with REFRESH. */
	put(&r, RUN_KEY_HOSTNAME, c->hostname && !warm ? c->hostname : HVM_DEFAULT_HOSTNAME);
	if (quiet)
		put(&r, RUN_KEY_QUIET, "1");
	if (kvm_host_is_pvm())
		put(&r, RUN_KEY_NO_AVX, "1");
	if (warm)
		put_warm(&r, warm);
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
 * docker's rules: a shell command or a whole argv replaces everything; arguments replace the
 * image's Cmd and follow its Entrypoint; otherwise Entrypoint + Cmd.
 */
static char **compose_argv(const struct hvm_config *c, const struct image_config *img,
			    struct err *e)
{
	static char sh[] = "/bin/sh", dash_c[] = "-c";
	char **argv;

	if (c->shell) {
		char *shell[] = { sh, dash_c, c->shell, NULL };
		return list_join(shell, NULL, 0);
	}
	if (c->argv)
		argv = list_join(c->argv, NULL, 0);
	else
		argv = c->args ? list_join(img->entrypoint, c->args, -1)
			       : list_join(img->entrypoint, img->cmd, -1);
	if (argv && !argv[0]) {
		err_set(e, -EINVAL, "%s: no command given and the image sets no Entrypoint or "
			"Cmd; give a shell command or arguments", c->image ? c->image : "run");
		free(argv);
		return NULL;
	}
	return argv;
}

/* run_json with the members of extra ("{...}") appended; frees run_json. NULL: no memory. */
static char *splice_extra(char *run_json, const char *extra)
{
	size_t a, b;
	char *out;

	if (!run_json || !extra || strspn(extra + 1, " \t\r\n}") == strlen(extra + 1))
		return run_json;
	a = strlen(run_json);
	b = strlen(extra);
	out = malloc(a + b);
	if (out) {	/* {"argv":...} + {"x":1} -> {"argv":...,"x":1} */
		memcpy(out, run_json, a - 1);
		out[a - 1] = ',';
		memcpy(out + a, extra + 1, b - 1);
		out[a + b - 1] = '\0';
	}
	free(run_json);
	return out;
}

int hvm_request_process(const struct hvm_config *c, const struct image_config *img, char **json,
			struct err *e)
{
	char **argv = compose_argv(c, img, e);
	/* Image Env first, then ours in order: the agent lets later ones win. */
	char **env = argv ? list_join(img->env, (char *const *)c->env, c->nenv) : NULL;
	const char *cwd = c->workdir ? c->workdir : img->workdir;
	const char *user = c->user ? c->user : img->user;
	int err = 0;

	if (!argv)
		err = -EINVAL;
	else if (!env || !(*json = splice_extra(host_session_run_json(argv, env, cwd, user, c->tty,
									c->rows, c->cols,
									c->in_fd >= 0),
						 c->run_extra)))
		err = -ENOMEM;
	free(argv);
	free(env);
	return err;
}
