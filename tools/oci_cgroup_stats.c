#include "oci_cgroup_stats.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci_cgroup.h"

#define KEYED_LINES_MAX 256	/* lines of a keyed file such as cpu.stat or memory.events */

/* The number in dir/file ("max": UINT64_MAX); 0 when it cannot be read. */
static uint64_t read_u64(const char *dir, const char *file)
{
	char path[PATH_MAX + 64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!(f = fopen(path, "re")))
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strncmp(buf, "max", 3) == 0 ? UINT64_MAX : strtoull(buf, NULL, 10);
}

/* The value of "key N" in dir/file (cpu.stat, cpuacct.stat); 0 when absent. */
static uint64_t read_keyed(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX + 64], line[256], name[128];
	unsigned long long v;
	uint64_t found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (!(f = fopen(path, "re")))
		return 0;
	for (int i = 0; i < KEYED_LINES_MAX && fgets(line, sizeof(line), f); i++)
		if (sscanf(line, "%127s %llu", name, &v) == 2 && strcmp(name, key) == 0)
			found = v;
	fclose(f);
	return found;
}

/* An exact unsigned number: cJSON's doubles would round byte counts past 2^53. */
static void add_u64(cJSON *o, const char *name, uint64_t v)
{
	char text[32];

	snprintf(text, sizeof(text), "%" PRIu64, v);
	cJSON_AddRawToObject(o, name, text);
}

static void add_cpu(cJSON *data, const char *path)
{
	cJSON *usage = cJSON_AddObjectToObject(cJSON_AddObjectToObject(data, "cpu"), "usage");
	uint64_t tick_ns = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);
	char dir[PATH_MAX];
	int v2;

	if (!oci_cgroup_dir(path, "cpuacct", dir, sizeof(dir), &v2) && !v2) {
		add_u64(usage, "total", read_u64(dir, "cpuacct.usage"));
		add_u64(usage, "kernel", read_keyed(dir, "cpuacct.stat", "system") * tick_ns);
		add_u64(usage, "user", read_keyed(dir, "cpuacct.stat", "user") * tick_ns);
	} else if (!oci_cgroup_dir(path, "", dir, sizeof(dir), &v2) && v2) {
		add_u64(usage, "total", read_keyed(dir, "cpu.stat", "usage_usec") * 1000);
		add_u64(usage, "kernel", read_keyed(dir, "cpu.stat", "system_usec") * 1000);
		add_u64(usage, "user", read_keyed(dir, "cpu.stat", "user_usec") * 1000);
	}
}

static void add_memory(cJSON *data, const char *path)
{
	cJSON *usage = cJSON_AddObjectToObject(cJSON_AddObjectToObject(data, "memory"), "usage");
	char dir[PATH_MAX];
	int v2;

	if (oci_cgroup_dir(path, "memory", dir, sizeof(dir), &v2))
		return;
	if (!v2) {
		add_u64(usage, "usage", read_u64(dir, "memory.usage_in_bytes"));
		add_u64(usage, "max", read_u64(dir, "memory.max_usage_in_bytes"));
		add_u64(usage, "limit", read_u64(dir, "memory.limit_in_bytes"));
		add_u64(usage, "failcnt", read_u64(dir, "memory.failcnt"));
	} else {
		add_u64(usage, "usage", read_u64(dir, "memory.current"));
		add_u64(usage, "max", read_u64(dir, "memory.peak"));
		add_u64(usage, "limit", read_u64(dir, "memory.max"));
		add_u64(usage, "failcnt", read_keyed(dir, "memory.events", "max"));
	}
}

static void add_pids(cJSON *data, const char *path)
{
	cJSON *pids = cJSON_AddObjectToObject(data, "pids");
	char dir[PATH_MAX];
	uint64_t max;
	int v2;

	if (oci_cgroup_dir(path, "pids", dir, sizeof(dir), &v2))
		return;
	max = read_u64(dir, "pids.max");
	add_u64(pids, "current", read_u64(dir, "pids.current"));
	add_u64(pids, "limit", max == UINT64_MAX ? 0 : max);	/* runc's 0: no limit */
}

char *oci_cgroup_stats(const char *id, const char *path)
{
	cJSON *doc = cJSON_CreateObject(), *data;
	char *text = NULL;

	if (!doc)
		return NULL;
	cJSON_AddStringToObject(doc, "type", "stats");
	cJSON_AddStringToObject(doc, "id", id);
	data = cJSON_AddObjectToObject(doc, "data");
	if (data) {
		add_cpu(data, path);
		add_memory(data, path);
		add_pids(data, path);
		text = cJSON_PrintUnformatted(doc);
	}
	cJSON_Delete(doc);
	return text;
}

int oci_cgroup_pids(const char *path, pid_t *pids, int cap)
{
	char dir[PATH_MAX], file[PATH_MAX + 16];
	FILE *f;
	int n = 0, v2, pid;

	if (oci_cgroup_dir(path, "pids", dir, sizeof(dir), &v2) &&
	    oci_cgroup_dir(path, "", dir, sizeof(dir), &v2))
		return -ENOENT;
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	if (!(f = fopen(file, "re")))
		return -errno;
	while (n < cap && fscanf(f, "%d", &pid) == 1)
		pids[n++] = pid;
	fclose(f);
	return n;
}
