#include "oci_settings.h"

#include <stdio.h>
#include <string.h>

#include "oci_files.h"
#include "oci_log.h"
#include "oci_names.h"

#define GET(obj, key) cJSON_GetObjectItemCaseSensitive(obj, key)

static const char *const cap_sets[] = { "bounding", "effective", "inheritable", "permitted",
					"ambient" };

/* A limit as exact decimal text: JSON's doubles round 2^64-1 (unlimited) up to 2^64. */
static void limit_text(const cJSON *n, char *buf, size_t cap)
{
	if (n->valuedouble >= 18446744073709551615.0)
		snprintf(buf, cap, "18446744073709551615");
	else
		snprintf(buf, cap, "%.0f", n->valuedouble);
}

static void add_rlimits(cJSON *out, const cJSON *a)
{
	cJSON *list = cJSON_AddArrayToObject(out, "rlimits");
	const cJSON *r;
	char soft[32], hard[32];

	cJSON_ArrayForEach(r, a) {
		cJSON *o = cJSON_CreateObject();
		limit_text(GET(r, "soft"), soft, sizeof(soft));
		limit_text(GET(r, "hard"), hard, sizeof(hard));
		cJSON_AddNumberToObject(o, "type", oci_names_rlimit(GET(r, "type")->valuestring));
		cJSON_AddStringToObject(o, "soft", soft);
		cJSON_AddStringToObject(o, "hard", hard);
		cJSON_AddItemToArray(list, o);
	}
}

/* Each set as a bit mask (capability n is bit n; 41 bits fit a double exactly). */
static void add_caps(cJSON *out, const cJSON *caps)
{
	cJSON *o = cJSON_AddObjectToObject(out, "caps");

	for (size_t i = 0; i < sizeof(cap_sets) / sizeof(cap_sets[0]); i++) {
		unsigned long long mask = 0;
		const cJSON *c;
		cJSON_ArrayForEach(c, GET(caps, cap_sets[i]))
			mask |= 1ULL << oci_names_cap(c->valuestring);
		cJSON_AddNumberToObject(o, cap_sets[i], (double)mask);
	}
}

/* Copies doc's member key (if any) into out under name. */
static void copy(cJSON *out, const char *name, const cJSON *item)
{
	if (item)
		cJSON_AddItemToObject(out, name, cJSON_Duplicate(item, 1));
}

static void add_hooks(cJSON *out, const cJSON *hooks)
{
	const cJSON *cc = GET(hooks, "createContainer"), *sc = GET(hooks, "startContainer");
	cJSON *o;

	if (!cJSON_GetArraySize(cc) && !cJSON_GetArraySize(sc))
		return;
	o = cJSON_AddObjectToObject(out, "hooks");
	copy(o, "createContainer", cc);
	copy(o, "startContainer", sc);
}

/* Whether a mount's options make it a bind (whatever its type says). */
static int is_bind(const cJSON *m)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, GET(m, "options"))
		if (cJSON_IsString(o) && (!strcmp(o->valuestring, "bind") ||
					  !strcmp(o->valuestring, "rbind")))
			return 1;
	return 0;
}

/* The kernel file systems the agent mounts (oci_files_guest_mounts), in the config's order. */
static void add_mounts(cJSON *out, const cJSON *mounts)
{
	cJSON *list = NULL;
	const cJSON *m;

	cJSON_ArrayForEach(m, mounts) {
		const cJSON *type = GET(m, "type"), *dst = GET(m, "destination");
		if (!cJSON_IsString(type) || !cJSON_IsString(dst) || is_bind(m) ||
		    oci_files_guest_mounts(type->valuestring, dst->valuestring) != 2)
			continue;
		if (!list)
			list = cJSON_AddArrayToObject(out, "mounts");
		cJSON_AddItemToArray(list, cJSON_Duplicate(m, 1));
	}
}

char *oci_settings_build(const cJSON *doc)
{
	const cJSON *p = GET(doc, "process"), *l = GET(doc, "linux"), *u = GET(p, "user");
	cJSON *out = cJSON_CreateObject();
	char *text;

	if (!out)
		return NULL;
	add_rlimits(out, GET(p, "rlimits"));
	add_caps(out, GET(p, "capabilities"));
	if (cJSON_IsTrue(GET(p, "noNewPrivileges")))
		cJSON_AddTrueToObject(out, "noNewPrivileges");
	copy(out, "oomScoreAdj", GET(p, "oomScoreAdj"));
	copy(out, "umask", GET(u, "umask"));
	if (GET(u, "additionalGids"))	/* present, even empty: OCI's rules for groups */
		copy(out, "groups", GET(u, "additionalGids"));
	else
		cJSON_AddArrayToObject(out, "groups");
	copy(out, "sysctl", GET(l, "sysctl"));
	copy(out, "maskedPaths", GET(l, "maskedPaths"));
	copy(out, "readonlyPaths", GET(l, "readonlyPaths"));
	copy(out, "devices", GET(l, "devices"));
	copy(out, "uidMappings", GET(l, "uidMappings"));
	copy(out, "gidMappings", GET(l, "gidMappings"));
	copy(out, "domainname", GET(doc, "domainname"));
	copy(out, "rootfsPropagation", GET(l, "rootfsPropagation"));
	add_mounts(out, GET(doc, "mounts"));
	add_hooks(out, GET(doc, "hooks"));
	text = cJSON_PrintUnformatted(out);
	cJSON_Delete(out);
	return text;
}

/* Fields a VM does not apply, and why: each present one is one warning. */
static const struct {
	const char *parent, *key, *why;
} left_out[] = {
	{ "process", "apparmorProfile", "the process runs in its own kernel, outside the host's "
	  "AppArmor; the VMM is confined by its jail" },
	{ "process", "selinuxLabel", "the guest kernel has no SELinux; the VMM is confined by its "
	  "jail" },
	{ "linux", "mountLabel", "the guest kernel has no SELinux" },
	{ "linux", "seccomp", "the guest kernel is the boundary; the VMM's own threads run under "
	  "hvm's seccomp lists (docs/seccomp.md)" },
	{ "linux", "intelRdt", "not applied to the VMM" },
	{ "linux", "personality", "not applied in the guest" },
	{ "process", "ioPriority", "not applied in the guest" },
	{ "process", "scheduler", "not applied in the guest" },
};

/* linux.resources members no cgroup file of the VMM's gets, and why: each non-empty one is one
 * warning. (devices is not among them: every engine sends it, and the guest's devices are
 * its own kernel's, made from linux.devices.) */
static const struct {
	const char *key, *why;
} resources_left_out[] = {
	{ "hugepageLimits", "guest RAM is the VMM's ordinary memory, under memory.limit" },
	{ "network", "the guest's traffic leaves through passt or a TAP device, not the "
	  "container's sockets" },
	{ "rdma", "no RDMA device reaches the guest" },
	{ "unified", "hvm-oci writes the cgroup files of the fields it knows only" },
};

void oci_settings_warn(const cJSON *doc)
{
	const cJSON *ns, *res = GET(GET(doc, "linux"), "resources");

	for (size_t i = 0; i < sizeof(left_out) / sizeof(left_out[0]); i++)
		if (GET(GET(doc, left_out[i].parent), left_out[i].key))
			oci_warn("%s.%s: not applied: %s", left_out[i].parent, left_out[i].key,
				 left_out[i].why);
	for (size_t i = 0; i < sizeof(resources_left_out) / sizeof(resources_left_out[0]); i++) {
		const cJSON *v = GET(res, resources_left_out[i].key);
		if (v && !cJSON_IsNull(v) && (!(cJSON_IsArray(v) || cJSON_IsObject(v)) ||
					      cJSON_GetArraySize(v) > 0))
			oci_warn("linux.resources.%s: not applied: %s", resources_left_out[i].key,
				 resources_left_out[i].why);
	}
	cJSON_ArrayForEach(ns, GET(GET(doc, "linux"), "namespaces")) {
		const cJSON *type = GET(ns, "type"), *path = GET(ns, "path");
		if (cJSON_IsString(path) && path->valuestring[0] &&
		    strcmp(type->valuestring, "network") != 0)
			oci_warn("linux.namespaces: %s path %s: not joined: the container is a VM "
				 "with its own kernel, and so its own %s namespace",
				 type->valuestring, path->valuestring, type->valuestring);
	}
}
