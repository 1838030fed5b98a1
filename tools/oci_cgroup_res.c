#include "oci_cgroup_res.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GET(obj, key) cJSON_GetObjectItemCaseSensitive(obj, key)
#define SLICE_MAX_PARTS 32	/* a bounded walk over a slice name's dash-separated parts */

void oci_res_init(struct oci_resources *r)
{
	*r = (struct oci_resources){ .mem_limit = OCI_RES_UNSET, .mem_swap = OCI_RES_UNSET,
				     .cpu_shares = OCI_RES_UNSET, .cpu_quota = OCI_RES_UNSET,
				     .cpu_period = OCI_RES_UNSET, .pids_limit = OCI_RES_UNSET,
				     .blkio_weight = OCI_RES_UNSET };
}

/* A number member into *out (untouched when absent, or 0: runc's "not set" for each of
 * these); JSON's doubles hold these exactly. Past int64 it is clamped, not converted (UB):
 * above to INT64_MAX, below to -1, the "no limit" that every negative value means here. */
static int number(const cJSON *obj, const char *key, const char *field, int64_t *out, char *err,
		  size_t errcap)
{
	const cJSON *n = GET(obj, key);

	if (!n || cJSON_IsNull(n))
		return 0;
	if (!cJSON_IsNumber(n)) {
		snprintf(err, errcap, "linux.resources.%s: must be a number", field);
		return -EINVAL;
	}
	if (n->valuedouble != 0)
		*out = n->valuedouble >= 9.2e18 ? INT64_MAX :
		       n->valuedouble <= -9.2e18 ? -1 : (int64_t)n->valuedouble;
	return 0;
}

static int string(const cJSON *obj, const char *key, char *out, size_t cap, char *err,
		  size_t errcap)
{
	const cJSON *s = GET(obj, key);

	if (!s || cJSON_IsNull(s))
		return 0;
	if (!cJSON_IsString(s) || strlen(s->valuestring) >= cap) {
		snprintf(err, errcap, "linux.resources.cpu.%s: must be a cpu list string", key);
		return -EINVAL;
	}
	snprintf(out, cap, "%s", s->valuestring);
	return 0;
}

int oci_res_from_json(const cJSON *res, struct oci_resources *r, char *err, size_t errcap)
{
	const cJSON *mem = GET(res, "memory"), *cpu = GET(res, "cpu");
	int e = 0;

	if (res && !cJSON_IsObject(res) && !cJSON_IsNull(res)) {
		snprintf(err, errcap, "linux.resources: must be an object");
		return -EINVAL;
	}
	e = e ? e : number(mem, "limit", "memory.limit", &r->mem_limit, err, errcap);
	e = e ? e : number(mem, "swap", "memory.swap", &r->mem_swap, err, errcap);
	e = e ? e : number(cpu, "shares", "cpu.shares", &r->cpu_shares, err, errcap);
	e = e ? e : number(cpu, "quota", "cpu.quota", &r->cpu_quota, err, errcap);
	e = e ? e : number(cpu, "period", "cpu.period", &r->cpu_period, err, errcap);
	e = e ? e : string(cpu, "cpus", r->cpus, sizeof(r->cpus), err, errcap);
	e = e ? e : string(cpu, "mems", r->mems, sizeof(r->mems), err, errcap);
	e = e ? e : number(GET(res, "pids"), "limit", "pids.limit", &r->pids_limit, err, errcap);
	e = e ? e : number(GET(res, "blockIO"), "weight", "blockIO.weight", &r->blkio_weight, err,
			   errcap);
	return e;
}

/* Appends one write; its value printed from fmt. */
static void add(struct oci_res_file *out, int *n, int cap, const char *ctl, const char *file,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add(struct oci_res_file *out, int *n, int cap, const char *ctl, const char *file,
		const char *fmt, ...)
{
	va_list ap;

	if (*n >= cap)
		return;
	out[*n].controller = ctl;
	out[*n].file = file;
	va_start(ap, fmt);
	vsnprintf(out[*n].value, sizeof(out[*n].value), fmt, ap);
	va_end(ap);
	++*n;
}

/* "max" for unlimited (negative), else the number: the v2 and pids.max spelling. */
static void max_text(int64_t v, char *buf, size_t cap)
{
	if (v < 0)
		snprintf(buf, cap, "max");
	else
		snprintf(buf, cap, "%" PRId64, v);
}

/* memory.swap.max is swap alone where OCI's swap is memory + swap: runc's conversion. */
static int swap_v2(const struct oci_resources *r, char *buf, size_t cap, char *err,
		   size_t errcap)
{
	if (r->mem_swap == -1) {
		snprintf(buf, cap, "max");
		return 0;
	}
	if (r->mem_limit == OCI_RES_UNSET || r->mem_limit < 0 || r->mem_swap < r->mem_limit) {
		snprintf(err, errcap, "linux.resources.memory.swap: %" PRId64 ": cgroup v2 needs a "
			 "memory limit at or below it (swap is memory + swap)", r->mem_swap);
		return -EINVAL;
	}
	snprintf(buf, cap, "%" PRId64, r->mem_swap - r->mem_limit);
	return 0;
}

static void files_v1(const struct oci_resources *r, struct oci_res_file *out, int *n, int cap)
{
	if (r->mem_limit != OCI_RES_UNSET)
		add(out, n, cap, "memory", "memory.limit_in_bytes", "%" PRId64, r->mem_limit);
	if (r->mem_swap != OCI_RES_UNSET)
		add(out, n, cap, "memory", "memory.memsw.limit_in_bytes", "%" PRId64, r->mem_swap);
	if (r->cpu_shares != OCI_RES_UNSET)
		add(out, n, cap, "cpu", "cpu.shares", "%" PRId64, r->cpu_shares);
	if (r->cpu_period != OCI_RES_UNSET)	/* before the quota: a quota is of a period */
		add(out, n, cap, "cpu", "cpu.cfs_period_us", "%" PRId64, r->cpu_period);
	if (r->cpu_quota != OCI_RES_UNSET)
		add(out, n, cap, "cpu", "cpu.cfs_quota_us", "%" PRId64,
		    r->cpu_quota > 0 ? r->cpu_quota : -1);
	if (r->blkio_weight != OCI_RES_UNSET)
		add(out, n, cap, "blkio", "blkio.weight", "%" PRId64, r->blkio_weight);
}

static int files_v2(const struct oci_resources *r, struct oci_res_file *out, int *n, int cap,
		    char *err, size_t errcap)
{
	char v[32], p[32] = "";

	if (r->mem_limit != OCI_RES_UNSET) {
		max_text(r->mem_limit, v, sizeof(v));
		add(out, n, cap, "memory", "memory.max", "%s", v);
	}
	if (r->mem_swap != OCI_RES_UNSET) {
		if (swap_v2(r, v, sizeof(v), err, errcap))
			return -EINVAL;
		add(out, n, cap, "memory", "memory.swap.max", "%s", v);
	}
	if (r->cpu_shares > 0)	/* runc's mapping of shares 2..262144 onto weight 1..10000 */
		add(out, n, cap, "cpu", "cpu.weight", "%" PRId64,
		    1 + ((r->cpu_shares - 2) * 9999) / 262142);
	if (r->cpu_quota != OCI_RES_UNSET || r->cpu_period != OCI_RES_UNSET) {
		max_text(r->cpu_quota > 0 ? r->cpu_quota : -1, v, sizeof(v));
		if (r->cpu_period > 0)
			snprintf(p, sizeof(p), " %" PRId64, r->cpu_period);
		add(out, n, cap, "cpu", "cpu.max", "%s%s", v, p);
	}
	if (r->blkio_weight != OCI_RES_UNSET)	/* runc's mapping of 10..1000 onto 1..10000 */
		add(out, n, cap, "io", "io.weight", "%" PRId64,
		    1 + ((r->blkio_weight - 10) * 9999) / 990);
	return 0;
}

int oci_res_files(const struct oci_resources *r, int v2, struct oci_res_file *out, int cap,
		  char *err, size_t errcap)
{
	char v[32];
	int n = 0;

	if (v2 && files_v2(r, out, &n, cap, err, errcap))
		return -EINVAL;
	if (!v2)
		files_v1(r, out, &n, cap);
	if (r->cpus[0])
		add(out, &n, cap, "cpuset", "cpuset.cpus", "%s", r->cpus);
	if (r->mems[0])
		add(out, &n, cap, "cpuset", "cpuset.mems", "%s", r->mems);
	if (r->pids_limit != OCI_RES_UNSET) {
		max_text(r->pids_limit, v, sizeof(v));
		add(out, &n, cap, "pids", "pids.max", "%s", v);
	}
	return n;
}

/* A slice's cgroupfs path: "a-b.slice" is /a.slice/a-b.slice; "-.slice" the root. */
static int slice_path(const char *slice, char *buf, size_t cap)
{
	size_t len = strlen(slice), used = 0, base = len - 6;
	const char *part = slice;

	buf[0] = '\0';
	if (len < 6 || strcmp(slice + base, ".slice") != 0 || strchr(slice, '/'))
		return -EINVAL;
	if (strcmp(slice, "-.slice") == 0)
		return 0;
	if (slice[0] == '-' || slice[base - 1] == '-' || strstr(slice, "--"))
		return -EINVAL;
	for (int i = 0; i < SLICE_MAX_PARTS && part < slice + base; i++) {
		const char *dash = memchr(part, '-', (size_t)(slice + base - part));
		size_t upto = (size_t)((dash ? dash : slice + base) - slice);
		int w = snprintf(buf + used, cap - used, "/%.*s.slice", (int)upto, slice);

		if (w < 0 || (size_t)w >= cap - used)
			return -EINVAL;
		used += (size_t)w;
		part = slice + upto + 1;
	}
	return part < slice + base ? -EINVAL : 0;
}

int oci_res_systemd_path(const char *spec, char *buf, size_t cap)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char slice[256];
	size_t used;
	int w;

	if (!c2 || strchr(c2 + 1, ':') || !c2[1] || (size_t)(c1 - spec) >= sizeof(slice))
		return -EINVAL;
	if (c1 == spec)	/* runc's default parent */
		snprintf(slice, sizeof(slice), "system.slice");
	else
		snprintf(slice, sizeof(slice), "%.*s", (int)(c1 - spec), spec);
	if (slice_path(slice, buf, cap))
		return -EINVAL;
	used = strlen(buf);
	if (strlen(c2 + 1) > 6 && strcmp(c2 + 1 + strlen(c2 + 1) - 6, ".slice") == 0)
		w = snprintf(buf + used, cap - used, "/%s", c2 + 1);	/* a slice of its own */
	else
		w = snprintf(buf + used, cap - used, "/%.*s-%s.scope", (int)(c2 - c1 - 1), c1 + 1,
			     c2 + 1);
	return w < 0 || (size_t)w >= cap - used || strchr(c2 + 1, '/') ? -EINVAL : 0;
}
