/*
 * What every part of libhvm uses, below hvm.c and hvm_run.c alike: the error a call leaves on
 * the handle, and where the default data files (kernel, initramfs, image, hvm-image) are.
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

int hvm_fail(struct hvm *vm, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
	va_end(ap);
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
