/*
 * What every convert_*.c file uses, so that they depend on it and convert.c on them, never
 * both ways: the stop signal, the messages, path checks, tree removal and the entry digest.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "convert.h"

static volatile sig_atomic_t convert_signal;

void convert_stop(int sig)
{
	convert_signal = sig;
}

int convert_stopped(void)
{
	return convert_signal;
}

/* ---- messages ------------------------------------------------------------------------ */

static void convert_vmsg(const struct convert *c, const char *tag, const char *fmt, va_list ap)
{
	if (c->progress)
		fputs("\r\033[K", stderr);	/* the message replaces the progress line */
	fprintf(stderr, "hvm-image: %s%s: ", tag, c->src);
	if (convert_stopped() && !*tag)
		fputs("interrupted", stderr);	/* whatever failed, it failed because of that */
	else
		vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int convert_bad(const struct convert *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	convert_vmsg(c, "", fmt, ap);
	va_end(ap);
	return convert_stopped() ? -EINTR : CONVERT_BAD;
}

int convert_err(const struct convert *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	convert_vmsg(c, "", fmt, ap);
	va_end(ap);
	return err == CONVERT_BAD || err >= 0 ? -EIO : err;
}

void convert_note(const struct convert *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	convert_vmsg(c, "note: ", fmt, ap);
	va_end(ap);
}

void convert_progress(const struct convert *c, const char *what)
{
	if (!c->progress)
		return;
	if (c->layers > 0)
		fprintf(stderr, "\r\033[Khvm-image: converting %s: %s %d/%d", c->src, what, c->layer,
			c->layers);
	else
		fprintf(stderr, "\r\033[Khvm-image: converting %s: %s", c->src, what);
}

/* ---- small helpers ------------------------------------------------------------------- */

int convert_path_ok(const char *rel)
{
	if (!rel || !*rel || rel[0] == '/')
		return 0;
	for (const char *p = rel; *p; ) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += n + (p[n] == '/');
	}
	return 1;
}

void convert_set_digest(struct convert *c, const char *kind, const char *hex)
{
	struct image img;
	struct sha256 s;

	/* The format name keeps a tar and a directory of equal bytes apart, the version keeps
	 * entries of an older converter from being reused. */
	sha256_init(&s);
	sha256_update(&s, IMAGE_FORMAT_VERSION, sizeof(IMAGE_FORMAT_VERSION));
	sha256_update(&s, kind, strlen(kind) + 1);
	sha256_update(&s, hex, strlen(hex));
	sha256_final_hex(&s, c->digest);
	c->cached = image_cache_load(c->cache_dir, c->digest, &img) == 0;
	if (c->cached)
		image_free(&img);
}
