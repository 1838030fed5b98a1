/* `hvm-oci update`'s flags and -r JSON as resources: pure, for the command and the tests. */
#ifndef HVM_OCI_UPDATE_H
#define HVM_OCI_UPDATE_H

#include <stddef.h>

#include "oci_cgroup_res.h"
#include "oci_cli.h"

/* A byte count as runc takes it: "-1", "1048576", "512m", "1g", "2GiB" (binary units).
 * 0 or -EINVAL. */
int oci_update_size(const char *text, int64_t *out);

/* u (and the linux.resources JSON text resources_json, NULL when none; the flags override
 * it) into r. 0, or -EINVAL with the flag and why in err. */
int oci_update_parse(const struct oci_update_args *u, const char *resources_json,
		     struct oci_resources *r, char *err, size_t errcap);

#endif
