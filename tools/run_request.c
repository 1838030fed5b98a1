#include "run_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../agent/protocol.h"
#include "../vmm/kvm.h"

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

static void put_list(struct records *r, const char *key, char *const *list)
{
	for (; list && *list; list++)
		put(r, key, *list);
}

/*
 * docker's rules: --cmd replaces everything with a shell command; arguments after "--"
 * replace the image's Cmd and follow its Entrypoint; otherwise Entrypoint + Cmd.
 */
static int put_command(struct records *r, const struct run_flags *f, const struct image_config *cfg)
{
	int n = 0;

	if (f->cmd) {
		put(r, RUN_KEY_ARG, "/bin/sh");
		put(r, RUN_KEY_ARG, "-c");
		put(r, RUN_KEY_ARG, f->cmd);
		return 0;
	}
	for (char *const *e = cfg->entrypoint; e && *e; e++, n++)
		put(r, RUN_KEY_ARG, *e);
	if (f->nargs) {
		put_list(r, RUN_KEY_ARG, f->args);
		return 0;
	}
	for (char *const *c = cfg->cmd; c && *c; c++, n++)
		put(r, RUN_KEY_ARG, *c);
	if (n == 0) {
		fprintf(stderr, "hvm-run: %s: no command given and the image sets no Entrypoint or "
			"Cmd; give --cmd or -- PROGRAM\n", f->image ? f->image : "run");
		return -EINVAL;
	}
	return 0;
}

/* Image Env first, then -e in order: the agent lets later values win. */
static void put_env(struct records *r, const struct run_flags *f, const struct image_config *cfg)
{
	char buf[8192];

	put_list(r, RUN_KEY_ENV, cfg->env);
	for (int i = 0; i < f->nenv; i++) {
		const char *v = strchr(f->env[i], '=') ? NULL : getenv(f->env[i]);
		if (strchr(f->env[i], '='))
			put(r, RUN_KEY_ENV, f->env[i]);
		else if (v && snprintf(buf, sizeof(buf), "%s=%s", f->env[i], v) < (int)sizeof(buf))
			put(r, RUN_KEY_ENV, buf);
	}
}

void run_volume_serial(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "hvm-vol%d", i);
}

static void put_mounts(struct records *r, const struct run_flags *f)
{
	char rec[4200], serial[32];

	for (int i = 0; i < f->nvolumes; i++) {
		run_volume_serial(serial, sizeof(serial), i);
		snprintf(rec, sizeof(rec), "%s:%s:%s", serial, f->volumes[i].read_only ? "ro" : "rw",
			 f->volumes[i].guest);
		put(r, RUN_KEY_MOUNT, rec);
	}
}

int run_request_build(struct cpio *out, const struct run_flags *f, const struct image_config *cfg,
		      int quiet)
{
	struct records r = { 0 };
	int err = put_command(&r, f, cfg);
	const char *cwd = f->workdir ? f->workdir : cfg->workdir;
	const char *user = f->user ? f->user : cfg->user;

	put_env(&r, f, cfg);
	if (cwd && *cwd)
		put(&r, RUN_KEY_CWD, cwd);
	if (user && *user)
		put(&r, RUN_KEY_USER, user);
	put(&r, RUN_KEY_ROOT, RUN_ROOT_SERIAL);
	put(&r, RUN_KEY_OVERLAY, f->read_only ? "0" : "1");
	put_mounts(&r, f);
	if (quiet)
		put(&r, RUN_KEY_QUIET, "1");
	if (kvm_host_is_pvm())
		put(&r, RUN_KEY_NO_AVX, "1");
	if (!err)
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
