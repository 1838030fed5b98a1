#include "oci_spec.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/hvm.h"
#include "oci_settings.h"
#include "oci_validate.h"

char *oci_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *b = realloc(buf, cap ? cap * 2 : 8192);
			if (!b) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
			cap = cap ? cap * 2 : 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static char *dup_str(const cJSON *item)
{
	return cJSON_IsString(item) ? strdup(item->valuestring) : NULL;
}

/* A JSON array of strings as a NULL-terminated vector; absent: an empty one. */
static int string_array(const cJSON *a, char ***out, const char *what, char *err, int errcap)
{
	int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0, i = 0;
	char **v = calloc((size_t)n + 1, sizeof(*v));
	const cJSON *e;

	if (!v)
		return -ENOMEM;
	if (a && !cJSON_IsArray(a))
		goto bad;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e))
			goto bad;
		if (!(v[i++] = strdup(e->valuestring)))
			goto nomem;
	}
	*out = v;
	return 0;
bad:
	snprintf(err, (size_t)errcap, "%s must be an array of strings", what);
	for (int k = 0; k < i; k++)
		free(v[k]);
	free(v);
	return -EINVAL;
nomem:
	for (int k = 0; k < i; k++)
		free(v[k]);
	free(v);
	return -ENOMEM;
}

static void free_vec(char **v)
{
	for (int i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* A uint32 field (absent: 0), as runc reads it: anything else is refused, never wrapped. */
static int uint32_field(const cJSON *n, const char *name, uint32_t *out, char *err, int errcap)
{
	*out = 0;
	if (!n)
		return 0;
	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > UINT32_MAX ||
	    n->valuedouble != (double)(uint32_t)n->valuedouble) {
		snprintf(err, (size_t)errcap, "%s: must be an integer from 0 to %u", name, UINT32_MAX);
		return -EINVAL;
	}
	*out = (uint32_t)n->valuedouble;
	return 0;
}

static int process_from(const cJSON *p, struct oci_process *out, char *err, int errcap)
{
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(p, "user");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(p, "consoleSize");
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(user, "uid");
	const cJSON *gid = cJSON_GetObjectItemCaseSensitive(user, "gid");
	int e;

	*out = (struct oci_process){ 0 };
	if (!cJSON_IsObject(p)) {
		snprintf(err, (size_t)errcap, "process: missing or not an object");
		return -EINVAL;
	}
	e = string_array(cJSON_GetObjectItemCaseSensitive(p, "args"), &out->args, "process.args",
			 err, errcap);
	if (!e)
		e = string_array(cJSON_GetObjectItemCaseSensitive(p, "env"), &out->env, "process.env",
				 err, errcap);
	if (e)
		return e;
	if (!out->args[0]) {
		snprintf(err, (size_t)errcap, "process.args: must not be empty");
		return -EINVAL;
	}
	out->cwd = dup_str(cJSON_GetObjectItemCaseSensitive(p, "cwd"));
	out->terminal = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "terminal"));
	e = uint32_field(uid, "process.user.uid", &out->uid, err, errcap);
	if (!e)
		e = uint32_field(gid, "process.user.gid", &out->gid, err, errcap);
	if (!e && cJSON_IsObject(size))
		e = uint32_field(cJSON_GetObjectItemCaseSensitive(size, "height"),
				 "process.consoleSize.height", &out->rows, err, errcap);
	if (!e && cJSON_IsObject(size))
		e = uint32_field(cJSON_GetObjectItemCaseSensitive(size, "width"),
				 "process.consoleSize.width", &out->cols, err, errcap);
	return e;
}

/* A reason may quote the bundle's strings: it stays one line, whatever they hold. */
static void one_line(char *err)
{
	for (unsigned char *c = (unsigned char *)err; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = '?';
}

int oci_process_parse(const char *json, struct oci_process *p, char *err, int errcap)
{
	cJSON *doc = cJSON_Parse(json);
	int e;

	if (!doc) {
		snprintf(err, (size_t)errcap, "process: invalid JSON");
		*p = (struct oci_process){ 0 };
		return -EINVAL;
	}
	e = process_from(doc, p, err, errcap);
	cJSON_Delete(doc);
	if (e) {
		one_line(err);
		oci_process_free(p);
	}
	return e;
}

static int has_option(const cJSON *options, const char *want)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, options)
		if (cJSON_IsString(o) && strcmp(o->valuestring, want) == 0)
			return 1;
	return 0;
}

static int mounts_from(const cJSON *a, struct oci_spec *s)
{
	const cJSON *m;

	s->mounts = calloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*s->mounts));
	if (!s->mounts)
		return -ENOMEM;
	cJSON_ArrayForEach(m, a) {
		struct oci_mount *o = &s->mounts[s->nmounts];
		const cJSON *opts = cJSON_GetObjectItemCaseSensitive(m, "options");

		o->destination = dup_str(cJSON_GetObjectItemCaseSensitive(m, "destination"));
		if (!o->destination)
			continue;
		o->source = dup_str(cJSON_GetObjectItemCaseSensitive(m, "source"));
		o->type = dup_str(cJSON_GetObjectItemCaseSensitive(m, "type"));
		o->bind = (o->type && strcmp(o->type, "bind") == 0) || has_option(opts, "bind") ||
			  has_option(opts, "rbind");
		o->read_only = has_option(opts, "ro") || has_option(opts, "rro");
		o->nosuid = has_option(opts, "nosuid") || has_option(opts, "rnosuid");
		o->nodev = has_option(opts, "nodev") || has_option(opts, "rnodev");
		o->noexec = has_option(opts, "noexec") || has_option(opts, "rnoexec");
		s->nmounts++;
	}
	return 0;
}

/* "0-3,7": how many CPUs a cpuset string names; 0 when it names none or is malformed. */
static unsigned cpuset_count(const char *s)
{
	unsigned n = 0;

	while (*s) {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s)
			return 0;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || b < a)
				return 0;
		}
		n += b - a >= HVM_CPUS_MAX ? HVM_CPUS_MAX : (unsigned)(b - a + 1);	/* no wrap */
		if (n > HVM_CPUS_MAX)
			n = HVM_CPUS_MAX;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return 0;
	}
	return n;
}

/* linux.resources: memory limit -> guest RAM, less what the VMM needs beside it, so that VM
 * and VMM fit the host cgroup the limit is also written to; CPU quota (or cpuset) -> vCPUs. */
static void resources_from(const cJSON *r, struct oci_spec *s)
{
	const cJSON *mem = cJSON_GetObjectItemCaseSensitive(r, "memory");
	const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(r, "cpu");
	const cJSON *limit = cJSON_GetObjectItemCaseSensitive(mem, "limit");
	const cJSON *quota = cJSON_GetObjectItemCaseSensitive(cpu, "quota");
	const cJSON *period = cJSON_GetObjectItemCaseSensitive(cpu, "period");
	const cJSON *cpus = cJSON_GetObjectItemCaseSensitive(cpu, "cpus");

	if (cJSON_IsNumber(limit) && limit->valuedouble > 0) {
		/* Converted only within range; a limit past any machine is the library's to refuse. */
		double mib = limit->valuedouble / (1 << 20) - HVM_VMM_OVERHEAD_MIB;
		s->mem_mib = mib > (double)UINT32_MAX ? UINT32_MAX : mib < 0 ? 0 : (uint64_t)mib;
		if (s->mem_mib < HVM_MEMORY_MIB_MIN)
			s->mem_mib = HVM_MEMORY_MIB_MIN;
	}
	if (cJSON_IsNumber(quota) && quota->valuedouble > 0) {
		double p = cJSON_IsNumber(period) && period->valuedouble > 0 ? period->valuedouble
									   : 100000;
		double n = quota->valuedouble / p;
		s->cpus = n >= HVM_CPUS_MAX ? HVM_CPUS_MAX : (unsigned)n + (n > (unsigned)n);
	} else if (cJSON_IsString(cpus)) {
		s->cpus = cpuset_count(cpus->valuestring);
	}
	if (s->cpus > HVM_CPUS_MAX)
		s->cpus = HVM_CPUS_MAX;
}

static void namespaces_from(const cJSON *a, struct oci_spec *s)
{
	const cJSON *ns;

	cJSON_ArrayForEach(ns, a) {
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(ns, "type");
		const cJSON *path = cJSON_GetObjectItemCaseSensitive(ns, "path");
		if (cJSON_IsString(type) && strcmp(type->valuestring, "network") == 0 &&
		    cJSON_IsString(path) && path->valuestring[0])
			s->netns = strdup(path->valuestring);
	}
}

static int root_from(const cJSON *root, const char *bundle, struct oci_spec *s, char *err,
		     int errcap)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(root, "path");

	if (!cJSON_IsString(path) || !path->valuestring[0]) {
		snprintf(err, (size_t)errcap, "root.path: missing in config.json");
		return -EINVAL;
	}
	if (path->valuestring[0] == '/')
		s->root = strdup(path->valuestring);
	else if (asprintf(&s->root, "%s/%s", bundle, path->valuestring) < 0)
		s->root = NULL;
	s->root_read_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "readonly"));
	return s->root ? 0 : -ENOMEM;
}

static int spec_from(const cJSON *doc, const char *bundle, struct oci_spec *s, char *err,
		     int errcap)
{
	const cJSON *linux_ = cJSON_GetObjectItemCaseSensitive(doc, "linux");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(doc, "annotations");
	const cJSON *hooks = cJSON_GetObjectItemCaseSensitive(doc, "hooks");
	int e = oci_validate(doc, err, errcap);

	if (!e)
		e = process_from(cJSON_GetObjectItemCaseSensitive(doc, "process"), &s->process, err,
				 errcap);
	if (!e)
		e = root_from(cJSON_GetObjectItemCaseSensitive(doc, "root"), bundle, s, err, errcap);
	if (!e)
		e = mounts_from(cJSON_GetObjectItemCaseSensitive(doc, "mounts"), s);
	if (e)
		return e;
	s->hostname = dup_str(cJSON_GetObjectItemCaseSensitive(doc, "hostname"));
	resources_from(cJSON_GetObjectItemCaseSensitive(linux_, "resources"), s);
	oci_res_init(&s->res);
	if (oci_res_from_json(cJSON_GetObjectItemCaseSensitive(linux_, "resources"), &s->res, err,
			      (size_t)errcap))
		return -EINVAL;
	s->cgroups_path = dup_str(cJSON_GetObjectItemCaseSensitive(linux_, "cgroupsPath"));
	if (s->cgroups_path && !s->cgroups_path[0]) {	/* "": none, as runc's default */
		free(s->cgroups_path);
		s->cgroups_path = NULL;
	}
	namespaces_from(cJSON_GetObjectItemCaseSensitive(linux_, "namespaces"), s);
	s->annotations = cJSON_IsObject(ann) ? cJSON_PrintUnformatted(ann) : strdup("{}");
	if (cJSON_IsObject(hooks) && !(s->hooks = cJSON_PrintUnformatted(hooks)))
		return -ENOMEM;
	if (!(s->guest = oci_settings_build(doc)))
		return -ENOMEM;
	oci_settings_warn(doc);
	return s->annotations ? 0 : -ENOMEM;
}

int oci_spec_parse(const char *json, const char *bundle, struct oci_spec *s, char *err, int errcap)
{
	cJSON *doc = cJSON_Parse(json);
	int e;

	*s = (struct oci_spec){ 0 };
	if (!doc) {
		snprintf(err, (size_t)errcap, "config.json: invalid JSON");
		return -EINVAL;
	}
	e = spec_from(doc, bundle, s, err, errcap);
	cJSON_Delete(doc);
	if (e == -ENOMEM)
		snprintf(err, (size_t)errcap, "config.json: out of memory");
	if (e) {
		one_line(err);
		oci_spec_free(s);
	}
	return e;
}

void oci_process_free(struct oci_process *p)
{
	free_vec(p->args);
	free_vec(p->env);
	free(p->cwd);
	*p = (struct oci_process){ 0 };
}

void oci_spec_free(struct oci_spec *s)
{
	oci_process_free(&s->process);
	for (int i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].source);
		free(s->mounts[i].type);
	}
	free(s->mounts);
	free(s->root);
	free(s->hostname);
	free(s->netns);
	free(s->annotations);
	free(s->hooks);
	free(s->guest);
	free(s->cgroups_path);
	*s = (struct oci_spec){ 0 };
}
