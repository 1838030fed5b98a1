/*
 * The host cgroup's memory limit against guest RAM. A guest uses all the RAM it is given
 * sooner or later (its page cache fills what programs leave), so a VM whose RAM does not fit
 * the memory limit of the cgroup it runs in is OOM-killed by the host at some point of its
 * life, with nothing said. It is refused at start instead, naming the limit.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvm_internal.h"
#include "../core/err.h"

#define CGROUP_ROOT      "/sys/fs/cgroup"
#define CGROUP_MAX_DEPTH 64	/* a bounded walk up a cgroup path */

/* The number in FILE; UINT64_MAX for "max", a missing file or anything unreadable. */
static uint64_t cgroup_read_limit(const char *file)
{
	char buf[32] = "";
	FILE *f = fopen(file, "re");
	char *end;
	unsigned long long v;

	if (!f)
		return UINT64_MAX;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	v = strtoull(buf, &end, 10);
	return end == buf ? UINT64_MAX : (uint64_t)v;
}

/*
 * The lowest limit in LIMIT_FILE from the cgroup at BASE/PATH up to BASE (a limit binds the
 * whole subtree); *where names the cgroup holding it. UINT64_MAX when there is none.
 */
static uint64_t cgroup_lowest(const char *base, char *path, const char *limit_file,
			      char *where, size_t cap)
{
	uint64_t lowest = UINT64_MAX;
	char file[PATH_MAX];

	for (int depth = 0; depth < CGROUP_MAX_DEPTH; depth++) {
		uint64_t v;
		char *slash;

		snprintf(file, sizeof(file), "%s%s/%s", base, path, limit_file);
		v = cgroup_read_limit(file);
		if (v < lowest) {
			lowest = v;
			snprintf(where, cap, "%s", file);
		}
		slash = strrchr(path, '/');
		if (!slash || !path[0] || !strcmp(path, "/"))
			break;
		*slash = '\0';
	}
	return lowest;
}

/* This process's memory limit from /proc/self/cgroup (v2, else v1's memory controller). */
static uint64_t cgroup_memory_limit(char *where, size_t cap)
{
	char line[PATH_MAX + 32];
	FILE *f = fopen("/proc/self/cgroup", "re");
	uint64_t limit = UINT64_MAX;

	while (f && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, ':') ? strchr(strchr(line, ':') + 1, ':') : NULL;
		uint64_t v = UINT64_MAX;
		char at[PATH_MAX];

		line[strcspn(line, "\n")] = '\0';
		if (!path)
			continue;
		*path++ = '\0';
		if (!strcmp(line, "0:"))
			v = cgroup_lowest(CGROUP_ROOT, path, "memory.max", at, sizeof(at));
		else if (!strcmp(strchr(line, ':'), ":memory"))
			v = cgroup_lowest(CGROUP_ROOT "/memory", path, "memory.limit_in_bytes", at,
					  sizeof(at));
		if (v < limit) {	/* a hybrid host has both: the lower one binds */
			limit = v;
			snprintf(where, cap, "%s", at);
		}
	}
	if (f)
		fclose(f);
	return limit;
}

int hvm_cgroup_check_memory(uint64_t guest_mib, struct err *e)
{
	char where[PATH_MAX] = "";
	uint64_t limit = cgroup_memory_limit(where, sizeof(where));
	uint64_t need = (guest_mib << 20) + ((uint64_t)HVM_VMM_OVERHEAD_MIB << 20);

	if (limit >= need)
		return 0;
	err_set(e, -ENOMEM, "--memory %" PRIu64 " MiB: this process's cgroup allows %" PRIu64
		" MiB (%s); the guest and the VMM (~%u MiB) would be OOM-killed once the guest "
		"used its RAM",
		guest_mib, limit >> 20, where, HVM_VMM_OVERHEAD_MIB);
	return -ENOMEM;
}
