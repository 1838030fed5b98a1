/*
 * The OCI hooks that run on the host, in the runtime's namespaces: prestart and
 * createRuntime at create, poststart at start, poststop at delete. config.json's "hooks"
 * object is kept in the state directory (hooks.json) from create on, so start and delete run
 * what create was given. createContainer and startContainer run in the guest (agent/hook.c).
 */
#ifndef HVM_OCI_HOOKS_H
#define HVM_OCI_HOOKS_H

#define OCI_HOOKS_FILE "hooks.json"

/* Writes hooks_json (NULL: nothing) to dir/hooks.json. 0 or -errno (logged). */
int oci_hooks_save(const char *dir, const char *hooks_json);

/* dir/hooks.json's text (malloc'd), or NULL when the container has no hooks. */
char *oci_hooks_load(const char *dir);

/*
 * Runs the hooks of kind in hooks_json in order, state on their stdin. fatal: the first
 * failure is an error and the rest do not run (-EIO); else each failure is a warning in
 * --log and all run (0).
 */
int oci_hooks_run(const char *hooks_json, const char *kind, const char *state, int fatal);

#endif
