/*
 * A container's record under --root: ROOT/ID/state.json, written atomically by the container's
 * supervisor process, read by every other hvm-oci command. "stopped" is never written: it is
 * what a record says once its supervisor (pid + start time, so a reused pid does not count)
 * is gone.
 */
#ifndef HVM_OCI_STATE_H
#define HVM_OCI_STATE_H

#include <stddef.h>
#include <sys/types.h>

#define OCI_SPEC_VERSION "1.0.2"
#define OCI_STATE_FILE   "state.json"
#define OCI_CTL_SOCKET   "ctl.sock"	/* the supervisor's control socket, in the state dir */
#define OCI_API_SOCKET   "api.sock"	/* the VM's vsock bridge (hvm_exec), in the state dir */

struct oci_state {
	char *id;
	pid_t pid;			/* the supervisor: exits with the container's status */
	unsigned long long pid_start;	/* its start time in clock ticks (/proc/PID/stat) */
	char *bundle;
	char *annotations;		/* JSON object text */
	char *status;			/* "created", "running" or "paused" as last written */
	char *created;			/* RFC 3339 */
};

/* ROOT/ID into buf; -EINVAL for an id that is empty, ".", "..", or holds '/'. */
int oci_state_dir(const char *root, const char *id, char *buf, size_t cap);

/* Writes dir/state.json through a temporary file and rename(2). 0 or -errno. */
int oci_state_write(const char *dir, const struct oci_state *st);

/* Reads dir/state.json. 0, -ENOENT (no such container) or -EINVAL. */
int oci_state_read(const char *dir, struct oci_state *st);

/* Parses state.json text (what oci_state_read does after reading). */
int oci_state_parse(const char *json, struct oci_state *st);

/* "created", "running", "paused" or "stopped": the record's status checked against the
 * supervisor (a paused VM whose supervisor is gone is stopped too). */
const char *oci_state_status(const struct oci_state *st);

/* The start time of pid in clock ticks; 0 when it does not exist or is a zombie. */
unsigned long long oci_pid_start(pid_t pid);

/* The OCI state document for `hvm-oci state` (malloc'd, pretty-printed like runc), or NULL. */
char *oci_state_json(const struct oci_state *st, const char *status);

/* The current time as RFC 3339 with nanoseconds, as runc writes "created". */
void oci_now_rfc3339(char *buf, size_t cap);

/* Writes pid as text to path through a temporary file and rename(2), as runc does. */
int oci_write_pid_file(const char *path, pid_t pid);

void oci_state_free(struct oci_state *st);

#endif
