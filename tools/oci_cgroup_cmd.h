/* The verbs that read or change a container's host cgroup: update, events --stats, ps. */
#ifndef HVM_OCI_CGROUP_CMD_H
#define HVM_OCI_CGROUP_CMD_H

#include "oci_cli.h"

/* c's verb for the container whose state directory is dir and whose status is status.
 * Returns the exit status (0, 1 for a refused value, 125 otherwise; said why). */
int oci_cgroup_cmd(const struct oci_cli *c, const char *dir, const char *status);

#endif
