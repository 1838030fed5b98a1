#include "oci_update.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oci_update_size(const char *text, int64_t *out)
{
	static const char units[] = "kmgtp";
	const char *u = NULL;
	int shift = 0;
	char *end;
	long long v;

	if (strcmp(text, "-1") == 0) {	/* unlimited */
		*out = -1;
		return 0;
	}
	v = strtoll(text, &end, 10);
	if (end == text || v < 0 || text[0] == '-')
		return -EINVAL;
	end += *end == ' ';
	if (*end && (u = strchr(units, *end | 0x20))) {
		shift = 10 * (int)(u - units + 1);
		end++;
		end += (*end | 0x20) == 'i';
	}
	end += (*end | 0x20) == 'b';
	if (*end || v > (INT64_MAX >> shift))
		return -EINVAL;
	*out = (int64_t)v << shift;
	return 0;
}

/* A plain integer flag (may be negative: -1 for no quota). */
static int integer(const char *text, int64_t *out)
{
	char *end;
	long long v = strtoll(text, &end, 10);

	if (end == text || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int bad(const char *flag, const char *value, char *err, size_t errcap)
{
	snprintf(err, errcap, "update: invalid value for --%s: %s", flag, value);
	return -EINVAL;
}

/* The numeric flags: each given one into its resource. */
static int numbers(const struct oci_update_args *u, struct oci_resources *r, char *err,
		   size_t errcap)
{
	const struct {
		const char *flag, *text;
		int64_t *to;
		int size;
	} f[] = {
		{ "memory", u->memory, &r->mem_limit, 1 },
		{ "memory-swap", u->memory_swap, &r->mem_swap, 1 },
		{ "cpu-shares", u->cpu_shares, &r->cpu_shares, 0 },
		{ "cpu-quota", u->cpu_quota, &r->cpu_quota, 0 },
		{ "cpu-period", u->cpu_period, &r->cpu_period, 0 },
		{ "pids-limit", u->pids_limit, &r->pids_limit, 0 },
		{ "blkio-weight", u->blkio_weight, &r->blkio_weight, 0 },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (!f[i].text)
			continue;
		if (f[i].size ? oci_update_size(f[i].text, f[i].to) : integer(f[i].text, f[i].to))
			return bad(f[i].flag, f[i].text, err, errcap);
	}
	if (u->blkio_weight && (r->blkio_weight < 10 || r->blkio_weight > 1000))
		return bad("blkio-weight", u->blkio_weight, err, errcap);	/* 10..1000 */
	return 0;
}

int oci_update_parse(const struct oci_update_args *u, const char *resources_json,
		     struct oci_resources *r, char *err, size_t errcap)
{
	const struct {
		const char *flag, *text;
		char *to;
	} lists[] = { { "cpuset-cpus", u->cpuset_cpus, r->cpus },
		      { "cpuset-mems", u->cpuset_mems, r->mems } };

	oci_res_init(r);
	if (resources_json) {
		cJSON *doc = cJSON_Parse(resources_json);
		int e = doc ? oci_res_from_json(doc, r, err, errcap) : -EINVAL;

		if (!doc)
			snprintf(err, errcap, "update: --resources: invalid JSON");
		cJSON_Delete(doc);
		if (e)
			return e;
	}
	for (size_t i = 0; i < 2; i++) {
		if (!lists[i].text)
			continue;
		if (strlen(lists[i].text) >= OCI_RES_VALUE_LEN ||
		    strspn(lists[i].text, "0123456789,-") != strlen(lists[i].text))
			return bad(lists[i].flag, lists[i].text, err, errcap);
		snprintf(lists[i].to, OCI_RES_VALUE_LEN, "%s", lists[i].text);
	}
	return numbers(u, r, err, errcap);
}
