/*
 * `hvm-run check`: every item hvm depends on, checked in order (the KVM ones build on each
 * other), printed one line each as "ok|warn|fail  NAME  what was found [-> fix: ...]" or as
 * one JSON object.
 */
#include "run_check.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void (*check_fn)(struct check_ctx *c, struct check_item *it);

static const struct {
	const char *name;
	int required;
	check_fn fn;
} checks[] = {
	{ "kvm.device", 1, check_kvm_device },
	{ "kvm.api", 1, check_kvm_api },
	{ "kvm.caps", 1, check_kvm_caps },	/* the KVM items build on each other: in order */
	{ "kvm.pvm", 0, check_kvm_pvm },
	{ "testhost", 0, check_testhost },
	{ "kernel", 1, check_kernel },
	{ "initramfs", 1, check_initramfs },
	{ "image", 1, check_rootfs },
	{ "hvm-image", 1, check_helper },
	{ "cache", 1, check_cache },
	{ "skopeo", 0, check_skopeo },
	{ "passt", 0, check_passt },
	{ "tun", 0, check_tun },
	{ "namespaces", 0, check_userns },
	{ "cgroups", 0, check_cgroups },
	{ "engines", 0, check_engines },
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static const char *const status_names[] = { "ok", "warn", "fail" };

void check_set(struct check_item *it, enum check_status st, const char *fmt, ...)
{
	va_list ap;

	it->status = st;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
}

void check_fix(struct check_item *it, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(it->fix, sizeof(it->fix), fmt, ap);
	va_end(ap);
}

int check_on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char file[PATH_MAX];

	for (const char *p = path && *path ? path : "/usr/local/bin:/usr/bin:/bin"; *p; ) {
		size_t n = strcspn(p, ":");
		if (n && snprintf(file, sizeof(file), "%.*s/%s", (int)n, p, prog) < (int)sizeof(file) &&
		    access(file, X_OK) == 0)
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

/* s as a JSON string. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct check_item *items, int ok)
{
	printf("{\"ok\": %s, \"checks\": [", ok ? "true" : "false");
	for (size_t i = 0; i < NCHECKS; i++) {
		const struct check_item *it = &items[i];
		printf("%s\n  {\"name\": ", i ? "," : "");
		json_str(it->name);
		printf(", \"status\": \"%s\", \"required\": %s, \"detail\": ",
		       status_names[it->status], it->required ? "true" : "false");
		json_str(it->detail);
		printf(", \"fix\": ");
		json_str(it->fix);
		putchar('}');
	}
	printf("\n]}\n");
}

static void print_text(const struct check_item *items, int ok)
{
	for (size_t i = 0; i < NCHECKS; i++) {
		const struct check_item *it = &items[i];
		printf("%-4s  %-10s  %s%s%s\n", status_names[it->status], it->name, it->detail,
		       it->fix[0] ? " -> fix: " : "", it->fix);
	}
	printf("%s\n", ok ? "hvm can run here" : "hvm cannot run here: fix the items marked fail");
}

int run_check(int json)
{
	static struct check_item items[NCHECKS];
	struct check_ctx c = { .kvm_fd = -1 };
	int ok = 1;

	for (size_t i = 0; i < NCHECKS; i++) {
		items[i] = (struct check_item){ .name = checks[i].name,
						.required = checks[i].required };
		checks[i].fn(&c, &items[i]);
		if (items[i].required && items[i].status != CHECK_OK)
			ok = 0;
	}
	if (c.kvm_fd >= 0)
		close(c.kvm_fd);
	if (json)
		print_json(items, ok);
	else
		print_text(items, ok);
	return ok ? 0 : 1;
}
