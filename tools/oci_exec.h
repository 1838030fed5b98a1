/* `hvm-oci exec`: one more process in a running container, through the VM's vsock bridge. */
#ifndef HVM_OCI_EXEC_H
#define HVM_OCI_EXEC_H

#include "oci_cli.h"

/*
 * Runs the process of --process (or the command after ID) in the container behind dir.
 * Without --detach: returns its exit status (125 when it could not be run). With --detach:
 * forks a process that runs it and exits with its status, writes that pid to --pid-file,
 * returns 0.
 */
int oci_exec(const struct oci_cli *c, const char *dir);

#endif
