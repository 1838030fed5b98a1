/* What `events --stats` and `ps` read from a container's cgroup, in runc's shapes. */
#ifndef HVM_OCI_CGROUP_STATS_H
#define HVM_OCI_CGROUP_STATS_H

#include <sys/types.h>

/* runc's {"type":"stats","id":ID,"data":{cpu, memory, pids}} for the cgroup at path
 * (malloc'd, one line), or NULL when out of memory. */
char *oci_cgroup_stats(const char *id, const char *path);

/* The processes in the cgroup at path into pids; their count (at most cap) or -errno. */
int oci_cgroup_pids(const char *path, pid_t *pids, int cap);

#endif
