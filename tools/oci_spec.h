/*
 * The parts of an OCI bundle's config.json (and of an exec process.json) that a micro-VM can
 * honour, as plain C. Parsing is pure: no file system changes, no VM.
 */
#ifndef HVM_OCI_SPEC_H
#define HVM_OCI_SPEC_H

#include <stdint.h>

#include "oci_cgroup_res.h"


struct oci_process {
	char **args;		/* NULL-terminated */
	char **env;		/* NULL-terminated, KEY=VALUE */
	char *cwd;		/* NULL: "/" */
	uint32_t uid, gid;
	int terminal;
	uint32_t rows, cols;	/* consoleSize; 0 when absent */
};

struct oci_mount {
	char *destination;
	char *source;
	char *type;
	int bind;		/* type "bind" or options hold "bind"/"rbind" */
	int read_only;
	int nosuid, nodev, noexec;	/* options honoured for directory shares */
};

struct oci_spec {
	struct oci_process process;
	char *root;		/* root.path, absolute (bundle-relative paths resolved) */
	int root_read_only;
	char *hostname;
	struct oci_mount *mounts;
	int nmounts;
	uint64_t mem_mib;	/* 0: the library's default */
	unsigned cpus;		/* 0: the library's default */
	char *netns;		/* linux.namespaces network path, or NULL */
	char *annotations;	/* the annotations object as compact JSON ("{}" when none) */
	char *hooks;		/* the hooks object as compact JSON, or NULL */
	char *guest;		/* the agent's settings and in-guest hooks (oci_settings.h) */
	char *cgroups_path;	/* linux.cgroupsPath as written, or NULL */
	struct oci_resources res;	/* linux.resources for the host cgroup */
};

/*
 * Parses config.json text; bundle is the absolute bundle directory. Returns 0, or -EINVAL /
 * -ENOMEM with the reason in err.
 */
int oci_spec_parse(const char *json, const char *bundle, struct oci_spec *s, char *err, int errcap);

/* Parses an exec process.json (the "process" object of a spec on its own). */
int oci_process_parse(const char *json, struct oci_process *p, char *err, int errcap);

/* Frees what the parsers allocated. */
void oci_spec_free(struct oci_spec *s);
void oci_process_free(struct oci_process *p);

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL with errno set. */
char *oci_read_file(const char *path);

#endif
