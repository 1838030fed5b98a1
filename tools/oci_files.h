/*
 * Bind mounts of single files (/etc/hosts, /etc/resolv.conf, /etc/hostname, ...) as a micro-VM
 * can have them: copied into the rootfs directory before it becomes the guest's root disk.
 * Copies stay inside the rootfs: every path is resolved with RESOLVE_IN_ROOT, and a symlink at
 * the destination is replaced, never followed.
 */
#ifndef HVM_OCI_FILES_H
#define HVM_OCI_FILES_H

#include "oci_spec.h"

#define OCI_FILE_MAX (1u << 20)	/* larger file binds are skipped with a warning */

/*
 * Copies the source of every bind mount that is a regular file into root at its destination,
 * unless the copy there is already identical. Directory binds are the VM's shares
 * (oci_files_is_share); kernel file systems are the guest's (oci_files_guest_mounts); other
 * mounts are left out, a warning each. 0 or -errno for the first copy that failed (reported
 * with oci_err).
 */
int oci_files_copy(const struct oci_spec *s);

/*
 * What becomes of a mount of type at destination that is no bind: 1 when the guest has it
 * already (its /proc, /sys, /dev and the like), 2 when the agent mounts it (a tmpfs, proc,
 * sysfs, devpts or mqueue elsewhere: oci_settings_build sends it), 0 when a VM cannot have it.
 */
int oci_files_guest_mounts(const char *type, const char *destination);

/* 1 when m binds a host directory: the VM shares it over 9p (hvm_add_volume). */
int oci_files_is_share(const struct oci_mount *m);

#endif
