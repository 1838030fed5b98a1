/* `hvm-run check`: what this host lacks for hvm, one line per item with the fix. */
#ifndef HVM_RUN_CHECK_H
#define HVM_RUN_CHECK_H

enum check_status { CHECK_OK, CHECK_WARN, CHECK_FAIL };

/* One item's verdict; the check functions fill it. */
struct check_item {
	const char *name;		/* "kvm.device", ... */
	int required;			/* hvm cannot run without it: a fail makes check exit 1 */
	enum check_status status;
	char detail[256];		/* what was found */
	char fix[256];			/* what to do, "" when nothing */
};

/* The shared state of one check run: KVM checks need the device the first one opened. */
struct check_ctx {
	int kvm_fd;			/* open /dev/kvm, or -1 */
	int kvm_api;			/* it speaks KVM_API_VERSION */
	int kvm_ok;			/* the device answers as KVM with every capability */
};

/* Sets its verdict: status, then printf-style detail. */
void check_set(struct check_item *it, enum check_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets the fix line, printf-style. */
void check_fix(struct check_item *it, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Whether prog is an executable in a directory of $PATH (or the usual ones). */
int check_on_path(const char *prog);

/* check_kvm.c: /dev/kvm, its API and capabilities, nested PVM, the test host. */
void check_kvm_device(struct check_ctx *c, struct check_item *it);
void check_kvm_api(struct check_ctx *c, struct check_item *it);
void check_kvm_caps(struct check_ctx *c, struct check_item *it);
void check_kvm_pvm(struct check_ctx *c, struct check_item *it);
void check_testhost(struct check_ctx *c, struct check_item *it);

/* check_host.c: data files, the cache, networking, jail, container engines. */
void check_kernel(struct check_ctx *c, struct check_item *it);
void check_initramfs(struct check_ctx *c, struct check_item *it);
void check_rootfs(struct check_ctx *c, struct check_item *it);
void check_helper(struct check_ctx *c, struct check_item *it);
void check_cache(struct check_ctx *c, struct check_item *it);
void check_skopeo(struct check_ctx *c, struct check_item *it);
void check_passt(struct check_ctx *c, struct check_item *it);
void check_tun(struct check_ctx *c, struct check_item *it);
void check_userns(struct check_ctx *c, struct check_item *it);
void check_cgroups(struct check_ctx *c, struct check_item *it);
void check_engines(struct check_ctx *c, struct check_item *it);

/* Runs every check, prints them (as JSON with json); 0 when every required one is ok, else 1. */
int run_check(int json);

#endif
