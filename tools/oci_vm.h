/*
 * The container's supervisor: the process `create` forks and whose pid the engine gets. It
 * holds the libhvm handle, serves start, kill, pause and resume on ROOT/ID/ctl.sock, forwards
 * the signals it receives to the container's process, and exits with that process's status —
 * which is how conmon and containerd's shim (both subreapers) learn the container's exit.
 */
#ifndef HVM_OCI_VM_H
#define HVM_OCI_VM_H

#include <stddef.h>
#include <sys/types.h>

#include "oci_cli.h"
#include "oci_spec.h"

/*
 * Forks the supervisor for spec (bundle absolute, dir the new state directory) and waits
 * until it is ready: VM configured, image resolved, state.json written, ctl.sock listening.
 * Returns its pid, or -errno after the reason was reported (-EINVAL: it could not join
 * linux.cgroupsPath, which is the configuration's fault).
 */
pid_t oci_vm_create(const struct oci_cli *c, const char *dir, const char *bundle,
		    const struct oci_spec *spec);

/*
 * One request to the supervisor behind dir ("start", "kill 15", "pause", "resume"). Returns 0
 * when it answered "ok", -EIO with its message in msg when it refused, or -errno when it
 * cannot be reached.
 */
int oci_vm_request(const char *dir, const char *req, char *msg, size_t cap);

/* A unix socket path for dir/name that fits sun_path (a /proc/self/fd path when dir is
 * long; *dirfd then holds the directory open, else -1). 0 or -errno. */
int oci_sock_path(const char *dir, const char *name, char *buf, size_t cap, int *dirfd);

#endif
