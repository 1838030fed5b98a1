/*
 * One OCI hook run the way the runtime spec says: the program at `path` with `args` and `env`
 * exactly as given (an empty environment when `env` is absent), the container's state JSON on
 * its stdin, killed when `timeout` seconds pass. Compiled into both hvm-oci (host hooks) and
 * the agent (createContainer and startContainer, in the guest).
 */
#ifndef HVM_AGENT_HOOK_H
#define HVM_AGENT_HOOK_H

#include <stddef.h>

struct cJSON;

/* Runs hook (a config.json hook object) to its end; out_fd (-1: inherited) takes its stdout
 * and stderr. 0 when it exited 0, else -EIO (or -ENOMEM) with "hooks.KIND[I] PATH: why" in
 * why. */
int hook_run(const struct cJSON *hook, const char *kind, int index, const char *state,
	     int out_fd, char *why, size_t cap);

#endif
