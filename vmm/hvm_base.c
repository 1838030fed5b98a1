/*
 * What every part of libhvm uses, below hvm.c and hvm_run.c alike: the error a call leaves on
 * the handle (its line and its kind), and where the default data files (kernel, initramfs,
 * image, hvm-image) are.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvm_export.h"
#include "hvm_internal.h"

static int hvm_fail_va(struct hvm *vm, enum hvm_error_kind kind, int err, const char *fmt,
		       va_list ap)
{
	vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
	vm->error_kind = err == -ENOMEM ? HVM_ERROR_RESOURCES : kind;
	return err;
}

int hvm_fail(struct hvm *vm, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hvm_fail_va(vm, vm->call_kind ? vm->call_kind : HVM_ERROR_USAGE, err, fmt, ap);
	va_end(ap);
	return err;
}

int hvm_fail_as(struct hvm *vm, enum hvm_error_kind kind, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hvm_fail_va(vm, kind, err, fmt, ap);
	va_end(ap);
	return err;
}

int hvm_fail_err(struct hvm *vm, enum hvm_error_kind kind, const struct err *e, int err)
{
	/* A step that failed without a word (none of its own to give) still gets one line. */
	return hvm_fail_as(vm, kind, err, "%s", err_is_set(e) ? e->msg : strerror(-err));
}

int hvm_stage(struct hvm *vm, enum hvm_error_kind kind, int err)
{
	if (err && !vm->error_kind)
		vm->error_kind = kind;
	return err;
}

int hvm_data_path(char *out, size_t cap, const char *name)
{
	const char *dir = getenv("HVM_DATA_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (dir && *dir)
		return snprintf(out, cap, "%s/%s", dir, name) < (int)cap ? 0 : -ENAMETOOLONG;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*(slash ? slash : exe) = '\0';
	/* Installed (make install): PREFIX/bin/hvm-run finds PREFIX/lib/hvm/NAME. */
	if (snprintf(out, cap, "%s/../lib/hvm/%s", exe, name) < (int)cap && access(out, F_OK) == 0)
		return 0;
	/* Built: everything side by side in the build directory. */
	return snprintf(out, cap, "%s/%s", exe, name) < (int)cap ? 0 : -ENAMETOOLONG;
}

HVM_API const char *hvm_error(const struct hvm *vm)
{
	return vm ? vm->error : "no handle";
}

HVM_API enum hvm_error_kind hvm_error_kind(const struct hvm *vm)
{
	if (!vm)
		return HVM_ERROR_USAGE;
	return vm->error[0] ? vm->error_kind : HVM_ERROR_NONE;
}
