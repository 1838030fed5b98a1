/* hvm-oci's cgroup parts without a cgroup: systemd paths, resources as file values, update. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../tools/oci_cgroup_res.h"
#include "../../tools/oci_cli.h"
#include "../../tools/oci_update.h"
#include "../harness.h"

#define ARGV(...) ((char *[]){ "hvm-oci", __VA_ARGS__, NULL })

static const char *sd(const char *spec)
{
	static char buf[512];

	return oci_res_systemd_path(spec, buf, sizeof(buf)) ? "EINVAL" : buf;
}

static void systemd_paths(void)
{
	CHECK_STR(sd("machine.slice:libpod:abc"), "/machine.slice/libpod-abc.scope");
	CHECK_STR(sd("a-b-c.slice:p:n"), "/a.slice/a-b.slice/a-b-c.slice/p-n.scope");
	CHECK_STR(sd("-.slice:p:n"), "/p-n.scope");
	CHECK_STR(sd(":runc:n"), "/system.slice/runc-n.scope");	/* runc's default slice */
	CHECK_STR(sd("user.slice:p:x.slice"), "/user.slice/x.slice");	/* a slice of its own */
	CHECK_STR(sd("machine:p:n"), "EINVAL");		/* no .slice */
	CHECK_STR(sd("a--b.slice:p:n"), "EINVAL");
	CHECK_STR(sd("-a.slice:p:n"), "EINVAL");
	CHECK_STR(sd("a.slice:p"), "EINVAL");
	CHECK_STR(sd("a.slice:p:n:x"), "EINVAL");
	CHECK_STR(sd("a.slice:p:"), "EINVAL");
	CHECK_STR(sd("a.slice:p:../n"), "EINVAL");
}

/* The resources of JSON text r as "file=value;" text, v1 or v2; or "EINVAL". */
static const char *files(const char *r, int v2)
{
	static char out[2048];
	struct oci_res_file f[OCI_RES_MAX_FILES];
	struct oci_resources res;
	char err[256];
	cJSON *doc = cJSON_Parse(r);
	int n;

	oci_res_init(&res);
	n = oci_res_from_json(doc, &res, err, sizeof(err));
	cJSON_Delete(doc);
	if (!n)
		n = oci_res_files(&res, v2, f, OCI_RES_MAX_FILES, err, sizeof(err));
	if (n < 0)
		return "EINVAL";
	out[0] = '\0';
	for (int i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s=%s;", f[i].file,
			 f[i].value);
	return out;
}

static void resources_as_files(void)
{
	const char *all = "{\"memory\":{\"limit\":268435456,\"swap\":536870912},"
			  "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,"
			  "\"cpus\":\"0-1\",\"mems\":\"0\"},\"pids\":{\"limit\":100},"
			  "\"blockIO\":{\"weight\":500}}";

	CHECK_STR(files(all, 0), "memory.limit_in_bytes=268435456;"
		  "memory.memsw.limit_in_bytes=536870912;cpu.shares=1024;cpu.cfs_period_us=100000;"
		  "cpu.cfs_quota_us=50000;blkio.weight=500;cpuset.cpus=0-1;cpuset.mems=0;"
		  "pids.max=100;");
	/* runc's conversions: swap.max is swap alone, shares 1024 -> weight 39, 500 -> 4950 */
	CHECK_STR(files(all, 1), "memory.max=268435456;memory.swap.max=268435456;cpu.weight=39;"
		  "cpu.max=50000 100000;io.weight=4950;cpuset.cpus=0-1;cpuset.mems=0;pids.max=100;");
	CHECK_STR(files("{\"memory\":{\"limit\":-1,\"swap\":-1},\"pids\":{\"limit\":-1}}", 1),
		  "memory.max=max;memory.swap.max=max;pids.max=max;");
	/* past int64 (fuzz_oci_config: converting -3e30 was UB): no limit, as -1 */
	CHECK_STR(files("{\"memory\":{\"limit\":-3e30},\"pids\":{\"limit\":-1e19}}", 1),
		  "memory.max=max;pids.max=max;");
	CHECK_STR(files("{\"cpu\":{\"quota\":-1}}", 0), "cpu.cfs_quota_us=-1;");
	CHECK_STR(files("{\"cpu\":{\"quota\":-1}}", 1), "cpu.max=max;");
	CHECK_STR(files("{\"cpu\":{\"shares\":0},\"pids\":{\"limit\":0}}", 1), "");	/* 0: unset */
	CHECK_STR(files("{}", 0), "");
	CHECK_STR(files("null", 1), "");
	/* v2 cannot say swap below the memory limit, nor swap without a limit */
	CHECK_STR(files("{\"memory\":{\"limit\":200,\"swap\":100}}", 1), "EINVAL");
	CHECK_STR(files("{\"memory\":{\"swap\":100}}", 1), "EINVAL");
	CHECK_STR(files("{\"memory\":{\"swap\":100}}", 0), "memory.memsw.limit_in_bytes=100;");
	CHECK_STR(files("{\"memory\":{\"limit\":\"1g\"}}", 0), "EINVAL");
	CHECK_STR(files("[]", 0), "EINVAL");
}

static void update_sizes(void)
{
	int64_t v = 0;

	CHECK_EQ(oci_update_size("1048576", &v), 0);
	CHECK_EQ(v, 1048576);
	CHECK_EQ(oci_update_size("512m", &v), 0);
	CHECK_EQ(v, 512ULL << 20);
	CHECK_EQ(oci_update_size("2GiB", &v), 0);
	CHECK_EQ(v, 2ULL << 30);
	CHECK_EQ(oci_update_size("1 kb", &v), 0);
	CHECK_EQ(v, 1024);
	CHECK_EQ(oci_update_size("10b", &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(oci_update_size("-1", &v), 0);
	CHECK_EQ(v, (uint64_t)-1);
	CHECK_EQ(oci_update_size("-2", &v), -EINVAL);
	CHECK_EQ(oci_update_size("abc", &v), -EINVAL);
	CHECK_EQ(oci_update_size("5x", &v), -EINVAL);
	CHECK_EQ(oci_update_size("5mm", &v), -EINVAL);
	CHECK_EQ(oci_update_size("99999999999p", &v), -EINVAL);	/* past int64 */
}

static int parse(struct oci_cli *c, char **argv, char *err)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return oci_cli_parse(c, argc, argv, err, 256);
}

static void update_flags(void)
{
	struct oci_resources r;
	struct oci_cli c;
	char err[256];

	CHECK_EQ(parse(&c, ARGV("update", "--memory", "300m", "--memory-swap=-1", "--cpu-quota",
				"-1", "--cpu-period", "50000", "--cpu-shares", "512", "--cpuset-cpus",
				"0,2", "--cpuset-mems", "0", "--pids-limit", "50", "--blkio-weight",
				"300", "-r", "-", "c1"), err), 0);
	CHECK_EQ(c.verb, OCI_UPDATE);
	CHECK_STR(c.id, "c1");
	CHECK_STR(c.upd.resources, "-");
	CHECK_EQ(oci_update_parse(&c.upd, "{\"pids\":{\"limit\":7},\"memory\":{\"limit\":5}}", &r,
				  err, sizeof(err)), 0);
	CHECK_EQ(r.mem_limit, 300ULL << 20);	/* the flag over the file */
	CHECK_EQ(r.mem_swap, (uint64_t)-1);
	CHECK_EQ(r.cpu_quota, (uint64_t)-1);
	CHECK_EQ(r.cpu_period, 50000);
	CHECK_EQ(r.cpu_shares, 512);
	CHECK_STR(r.cpus, "0,2");
	CHECK_STR(r.mems, "0");
	CHECK_EQ(r.pids_limit, 50);
	CHECK_EQ(r.blkio_weight, 300);
	CHECK_EQ(parse(&c, ARGV("update", "c1"), err), 0);
	CHECK_EQ(oci_update_parse(&c.upd, "{\"pids\":{\"limit\":7}}", &r, err, sizeof(err)), 0);
	CHECK_EQ(r.pids_limit, 7);
	CHECK_EQ(r.mem_limit, (uint64_t)OCI_RES_UNSET);	/* what is not given stays */
	CHECK(!r.cpus[0]);
	CHECK_EQ(parse(&c, ARGV("update", "--memory", "lots", "c1"), err), 0);
	CHECK_EQ(oci_update_parse(&c.upd, NULL, &r, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "update: invalid value for --memory: lots");
	CHECK_EQ(parse(&c, ARGV("update", "--blkio-weight", "5", "c1"), err), 0);
	CHECK_EQ(oci_update_parse(&c.upd, NULL, &r, err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&c, ARGV("update", "--cpuset-cpus", "0;rm", "c1"), err), 0);
	CHECK_EQ(oci_update_parse(&c.upd, NULL, &r, err, sizeof(err)), -EINVAL);
	CHECK_EQ(oci_update_parse(&c.upd, "{", &r, err, sizeof(err)), -EINVAL);
	CHECK_EQ(parse(&c, ARGV("update", "--bogus", "1", "c1"), err), -EINVAL);
}

static void events_ps_flags(void)
{
	char *ps_argv[] = { "hvm-oci", "ps", "c1", "-o", "pid,comm", NULL };
	struct oci_cli c;
	char err[256];

	CHECK_EQ(parse(&c, ARGV("--systemd-cgroup", "events", "--stats", "c1"), err), 0);
	CHECK_EQ(c.verb, OCI_EVENTS);
	CHECK_EQ(c.stats, 1);
	CHECK_EQ(c.systemd_cgroup, 1);
	CHECK_STR(c.id, "c1");
	CHECK_EQ(parse(&c, ARGV("ps", "--format", "json", "c1"), err), 0);
	CHECK_EQ(c.verb, OCI_PS);
	CHECK_EQ(c.list_json, 1);
	CHECK_EQ(c.nargs, 0);
	/* c.args points into the argv: one that outlives the CHECK's block */
	CHECK_EQ(parse(&c, ps_argv, err), 0);
	CHECK_EQ(c.list_json, 0);
	CHECK_EQ(c.nargs, 2);
	CHECK_STR(c.args[1], "pid,comm");
	CHECK_EQ(parse(&c, ARGV("events", "c1"), err), 0);
	CHECK_EQ(c.stats, 0);
}

HARNESS_MAIN(systemd_paths, resources_as_files, update_sizes, update_flags, events_ps_flags)
