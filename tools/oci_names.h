/*
 * The names config.json uses for Linux capabilities and resource limits, and their numbers.
 * The host resolves every name, so the guest agent only ever sees numbers.
 */
#ifndef HVM_OCI_NAMES_H
#define HVM_OCI_NAMES_H

#define OCI_CAP_LAST 40		/* CAP_CHECKPOINT_RESTORE, Linux 5.9 */

/* "CAP_NET_RAW" -> 13; -1 when the name is not a capability. */
int oci_names_cap(const char *name);

/* "RLIMIT_NOFILE" -> 7; -1 when the name is not a resource limit. */
int oci_names_rlimit(const char *name);

#endif
