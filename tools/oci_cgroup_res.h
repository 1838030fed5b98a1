/*
 * linux.resources as the values of cgroup files, v1 and v2 names, and systemd's
 * slice:prefix:name as the cgroupfs path runc's fs driver uses. Pure: no file is touched.
 */
#ifndef HVM_OCI_CGROUP_RES_H
#define HVM_OCI_CGROUP_RES_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define OCI_RES_UNSET INT64_MIN	/* a resource the spec or the update leaves as it is */
#define OCI_RES_MAX_FILES 12
#define OCI_RES_VALUE_LEN 256

struct oci_resources {
	int64_t mem_limit, mem_swap;	/* bytes; -1 unlimited; swap is memory + swap, as OCI */
	int64_t cpu_shares, cpu_quota, cpu_period;
	int64_t pids_limit;		/* <= 0 (but set): unlimited */
	int64_t blkio_weight;		/* 10..1000 */
	char cpus[OCI_RES_VALUE_LEN], mems[OCI_RES_VALUE_LEN];	/* "" unset */
};

/* One write: FILE of CONTROLLER's hierarchy gets VALUE. */
struct oci_res_file {
	const char *controller;		/* "memory", "cpu", "cpuset", "pids", "blkio" or "io" */
	const char *file;
	char value[OCI_RES_VALUE_LEN];
};

/* Every resource unset. */
void oci_res_init(struct oci_resources *r);

/* linux.resources (NULL: none) into r; -EINVAL with the field and why in err. */
int oci_res_from_json(const cJSON *res, struct oci_resources *r, char *err, size_t errcap);

/* The files to write for r, v1 or v2 names, in an order the kernel accepts; the count, or
 * -EINVAL with why in err (v2 cannot say some swap settings). */
int oci_res_files(const struct oci_resources *r, int v2, struct oci_res_file *out, int cap,
		  char *err, size_t errcap);

/* "slice:prefix:name" as runc's systemd driver names the unit, as a cgroupfs path
 * ("a-b.slice" nests in "a.slice"; an empty slice is system.slice). 0 or -EINVAL. */
int oci_res_systemd_path(const char *spec, char *buf, size_t cap);

#endif
