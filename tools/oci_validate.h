/*
 * runc's refusals at `create`, for a config.json a runtime cannot run as written: unknown
 * rlimits and capabilities, namespace paths of the wrong type or missing, invalid mount
 * options, relative cgroup paths, malformed hooks. Reads the file system (namespace paths)
 * and changes nothing.
 */
#ifndef HVM_OCI_VALIDATE_H
#define HVM_OCI_VALIDATE_H

#include <cjson/cJSON.h>

/* 0, or -EINVAL with "field: why" in err. */
int oci_validate(const cJSON *doc, char *err, int errcap);

/* The CLONE_NEW* type of a namespace name ("ipc", "network", ...); 0 when unknown. */
int oci_validate_ns_type(const char *name);

#endif
