/*
 * The container's host cgroup (linux.cgroupsPath): made in every mounted hierarchy (v2, or
 * v1's controllers plus a hybrid host's unified one), linux.resources written into it, the
 * supervisor moved into it before it starts any thread or process, removed by `delete`.
 * ROOT/ID/cgroup records the path, the guest's RAM and the hierarchies where create made it.
 */
#ifndef HVM_OCI_CGROUP_H
#define HVM_OCI_CGROUP_H

#include <stddef.h>

#include "oci_cgroup_res.h"

#define OCI_CGROUP_FILE "cgroup"	/* the record, in the state directory */

/* linux.cgroupsPath as a cgroupfs path (systemd's slice:prefix:name when systemd, as runc's
 * fs driver maps it). 0, or -EINVAL with why in err. */
int oci_cgroup_resolve(const char *spec_path, int systemd, char *path, size_t cap, char *err,
		       size_t errcap);

/* Makes path (named as the spec did: spec_path) in every hierarchy, applies r and records it
 * with guest_mib, the VM's RAM, in dir. 0 (also when not root and refused: a warning, no
 * cgroup, as runc's rootless fs driver), or -errno after saying "linux.cgroupsPath: SPEC:
 * why"; nothing left then. */
int oci_cgroup_setup(const char *dir, const char *spec_path, const char *path,
		     const struct oci_resources *r, unsigned long long guest_mib);

/* Moves the calling process, all its threads, into dir's recorded cgroup (none: 0). */
int oci_cgroup_enter(const char *dir);

/* Writes r into dir's recorded cgroup (update). 0, -ENOENT without one, -EINVAL for a memory
 * limit the VM's RAM and the VMM do not fit (said), or -errno (said). */
int oci_cgroup_update(const char *dir, const struct oci_resources *r);

/* Removes dir's recorded cgroup where create made it, once empty; warns when it cannot. */
void oci_cgroup_remove(const char *dir);

/* dir's recorded cgroup path into path. 0, or -ENOENT when the container has none. */
int oci_cgroup_path(const char *dir, char *path, size_t cap);

/* The directory of path in the hierarchy with controller ("" for v2's own files: any
 * unified one); *v2 says which names its files have. 0 or -ENOENT. */
int oci_cgroup_dir(const char *path, const char *controller, char *buf, size_t cap, int *v2);

#endif
