/* hvm-run flag parsing: commands, values, and every bad input rejected with a message. */
#include <errno.h>

#include "../../include/hvm.h"
#include "../../tools/run_flags.h"
#include "../harness.h"

static int parse(struct run_flags *f, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	return run_flags_parse(f, argc, argv);
}

#define ARGV(...) ((char *[]){ "hvm-run", __VA_ARGS__, NULL })

static void cmd_string(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("--cmd", "echo hi", "--cpus", "2", "--memory", "256")), 0);
	CHECK_STR(f.cmd, "echo hi");
	CHECK_EQ(f.nargs, 0);
	CHECK(f.args == NULL);
	CHECK_EQ(f.cpus, 2);
	CHECK_EQ(f.mem_mib, 256);
}

static void argv_after_dashes(void)
{
	struct run_flags f;
	/* Outside CHECK_EQ's block: f.args points into it after parse returns. */
	char **argv = ARGV("--timeout", "9", "--", "ls", "-l", "--cpus");

	CHECK_EQ(parse(&f, argv), 0);
	CHECK_EQ(f.nargs, 3);
	CHECK_STR(f.args[0], "ls");
	CHECK_STR(f.args[2], "--cpus");	/* the guest command's own flags are left alone */
	CHECK(f.args[3] == NULL);
	CHECK_EQ(f.timeout_s, 9);
	CHECK_EQ(f.cpus, 0);		/* not given: libhvm's default */
	CHECK_EQ(f.mem_mib, HVM_MEMORY_MIB_DEFAULT);
}

static void defaults_and_switches(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("--console", "--kernel", "/k", "--metrics-json", "/m",
				"--log-level", "debug", "--cmd", "true")), 0);
	CHECK(f.console);
	CHECK_STR(f.kernel, "/k");
	CHECK_STR(f.metrics_json, "/m");
	CHECK_STR(f.log_level, "debug");
	CHECK_EQ(parse(&f, ARGV("--help")), 0);
	CHECK(f.help);
	CHECK_EQ(parse(&f, ARGV("--version")), 0);
	CHECK(f.version);
	CHECK_EQ(parse(&f, ARGV("--print-cmdline")), 0);
	CHECK(f.print_cmdline);
}

static void image_flags(void)
{
	struct run_flags f;

	/* With an image the command may come from the image's config. */
	CHECK_EQ(parse(&f, ARGV("--image", "img.tar", "-e", "A=1", "--env", "B", "-w", "/data",
				"-u", "nobody:nogroup", "-v", "/tmp/v.img:/vol:ro", "--volume",
				"w.img:/w", "--volume-size", "64", "--read-only", "--rm")), 0);
	CHECK_STR(f.image, "img.tar");
	CHECK_EQ(f.nenv, 2);
	CHECK_STR(f.env[0], "A=1");
	CHECK_STR(f.env[1], "B");
	CHECK_STR(f.workdir, "/data");
	CHECK_STR(f.user, "nobody:nogroup");
	CHECK_EQ(f.nvolumes, 2);
	CHECK_STR(f.volumes[0].host, "/tmp/v.img");
	CHECK_STR(f.volumes[0].guest, "/vol");
	CHECK(f.volumes[0].read_only);
	CHECK_STR(f.volumes[1].guest, "/w");
	CHECK(!f.volumes[1].read_only);
	CHECK_EQ(f.volume_size_mib, 64);
	CHECK(f.read_only);
	CHECK(f.cmd == NULL && f.nargs == 0);
}

static void bad_volumes(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("-v", "/tmp/only-host", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("-v", "f.img:relative", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("-v", "f.img:/", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("-v", "f.img:/x:bogus", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("-v", ":/x", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--volume-size", "1", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("-x", "--cmd", "x")), -EINVAL);
}

static void bad_input(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("--cpus", "0", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--cpus", "33", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--cpus", "-1", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--memory", "banana", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--memory", "12x", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--memory", "8", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--memory", "99999999999999999999999", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--timeout", "0", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--no-such-flag")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--cmd")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--console=yes", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--cmd", "x", "--", "y")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--cpus", "1")), -EINVAL);	/* no command */
}

static void stdio_and_exec(void)
{
	struct run_flags f;
	char **exec_argv = ARGV("exec", "--api-socket", "/s", "-i", "--", "sh");	/* f.args points in */

	CHECK_EQ(parse(&f, ARGV("-i", "-t", "--api-socket", "/s", "--cmd", "cat")), 0);
	CHECK(f.interactive && f.tty && !f.exec);
	CHECK_STR(f.api_socket, "/s");
	CHECK_EQ(parse(&f, exec_argv), 0);
	CHECK(f.exec && f.interactive);
	CHECK_STR(f.args[0], "sh");
	CHECK_EQ(parse(&f, ARGV("exec", "--cmd", "true")), -EINVAL);	/* which VM? */
}

static void network(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("-p", "8080:80", "--publish", "53:5353/udp", "--mac",
				"02:00:00:00:00:01", "--cmd", "true")), 0);
	CHECK_EQ(f.net.nports, 2);
	CHECK_EQ(f.net.ports[0].host, 8080);
	CHECK_EQ(f.net.ports[0].guest, 80);
	CHECK(!f.net.ports[0].udp && f.net.ports[1].udp);
	CHECK_EQ(f.net.mode, RUN_NET_AUTO);
	CHECK_STR(f.net.mac, "02:00:00:00:00:01");
	CHECK_EQ(parse(&f, ARGV("--net", "tap:tap7", "--ip", "10.0.0.2/24", "--gateway", "10.0.0.1",
				"--dns", "10.0.0.1", "--cmd", "true")), 0);
	CHECK_EQ(f.net.mode, RUN_NET_TAP);
	CHECK_STR(f.net.tap_name, "tap7");
	CHECK_STR(f.net.ip, "10.0.0.2/24");
	CHECK_EQ(f.net.ndns, 1);
	CHECK_EQ(parse(&f, ARGV("--net", "tap", "--cmd", "true")), 0);
	CHECK(f.net.tap_name == NULL);
	CHECK_EQ(parse(&f, ARGV("--net", "user", "--cmd", "true")), 0);
	CHECK_EQ(f.net.mode, RUN_NET_USER);
}

static void bad_network(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("-p", "99999:80", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("-p", "80", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("-p", "0:80", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("-p", "80:80/sctp", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--net", "bogus", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--net", "tap:", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--net", "tap:averyveryverylongname", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--net", "none", "-p", "1:1", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--ip", "10.0.0.2/24", "--cmd", "true")), -EINVAL);	/* not tap */
	CHECK_EQ(parse(&f, ARGV("--net", "tap", "--ip", "10.0.0.2", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--net", "tap", "--ip", "10.0.0.2/33", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--net", "tap", "--gateway", "10.0.0.1", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--mac", "01:00:00:00:00:01", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--mac", "zz", "--cmd", "true")), -EINVAL);
}

/* --jail and its ids: not asked for and 65534 by default; the ids need --jail; exec takes
 * none; --no-jail excludes --jail. (The default for unprivileged runs is hvm-run.c's.) */
static void jail_flags(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("--cmd", "x")), 0);
	CHECK_EQ(f.jail, 0);
	CHECK_EQ(parse(&f, ARGV("--jail", "--cmd", "x")), 0);
	CHECK_EQ(f.jail, 1);
	CHECK_EQ(f.uid, 65534);
	CHECK_EQ(f.gid, 65534);
	CHECK_EQ(parse(&f, ARGV("--jail", "--uid", "1000", "--gid", "0", "--cmd", "x")), 0);
	CHECK_EQ(f.uid, 1000);
	CHECK_EQ(f.gid, 0);
	CHECK_EQ(parse(&f, ARGV("--uid", "1000", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--jail", "--gid", "-1", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--jail", "--uid", "4294967295", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("exec", "--jail", "--api-socket", "s", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--no-jail", "--cmd", "x")), 0);
	CHECK(f.no_jail && !f.jail);
	CHECK_EQ(parse(&f, ARGV("--jail", "--no-jail", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--no-jail", "--uid", "5", "--cmd", "x")), -EINVAL);
}

/* snapshot, --restore, --cold, --stop: what each needs and what it excludes. */
static void snapshot_flags(void)
{
	struct run_flags f;
	char **argv = ARGV("snapshot", "--api-socket", "/s", "--stop", "/snap");

	CHECK_EQ(parse(&f, argv), 0);
	CHECK(f.snapshot && f.stop);
	CHECK_STR(f.snapshot_dir, "/snap");
	CHECK_STR(f.api_socket, "/s");
	CHECK_EQ(parse(&f, ARGV("--restore", "/snap", "--api-socket", "/s")), 0);
	CHECK_STR(f.restore, "/snap");
	CHECK_EQ(parse(&f, ARGV("--cold", "--cmd", "true")), 0);
	CHECK(f.cold);
	CHECK_EQ(parse(&f, ARGV("snapshot", "/snap")), -EINVAL);		/* which VM? */
	CHECK_EQ(parse(&f, ARGV("snapshot", "--api-socket", "/s")), -EINVAL);	/* where? */
	CHECK_EQ(parse(&f, ARGV("snapshot", "--api-socket", "/s", "/a", "/b")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--restore", "/snap", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--restore", "/snap", "--image", "i.tar")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--restore", "/snap", "--cold")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--stop", "--cmd", "true")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--restore")), -EINVAL);
}

/* pull, check and the registry flags (issue 19). */
static void pull_and_check(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("pull", "--tls-verify=false", "--creds", "u:p", "-q", "alpine:3")), 0);
	CHECK(f.pull && f.quiet && !f.tls_verify);
	CHECK_STR(f.image, "alpine:3");
	CHECK_STR(f.creds, "u:p");
	CHECK_EQ(parse(&f, ARGV("--image", "docker://h/a:1", "--authfile", "/a.json", "--cmd", "x")), 0);
	CHECK_EQ(f.tls_verify, 1);	/* the default */
	CHECK_STR(f.authfile, "/a.json");
	CHECK_EQ(parse(&f, ARGV("--tls-verify", "--cmd", "x")), 0);
	CHECK_EQ(f.tls_verify, 1);
	CHECK_EQ(parse(&f, ARGV("--tls-verify=maybe", "--cmd", "x")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("pull")), -EINVAL);			/* pull what? */
	CHECK_EQ(parse(&f, ARGV("pull", "a", "b")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("check", "--json")), 0);
	CHECK(f.check && f.json);
	CHECK_EQ(parse(&f, ARGV("check", "extra")), -EINVAL);
	CHECK_EQ(parse(&f, ARGV("--json", "--cmd", "x")), -EINVAL);	/* check's flag only */
}

HARNESS_MAIN(pull_and_check, snapshot_flags, jail_flags, cmd_string, argv_after_dashes, defaults_and_switches, image_flags, bad_volumes, bad_input,
	     stdio_and_exec, network, bad_network)
