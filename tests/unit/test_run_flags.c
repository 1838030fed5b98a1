/* hvm-run flag parsing: commands, values, and every bad input rejected with a message. */
#include <errno.h>

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
	CHECK_EQ(f.argc, 3);
	CHECK_STR(f.argv[0], "/bin/sh");
	CHECK_STR(f.argv[1], "-c");
	CHECK_STR(f.argv[2], "echo hi");
	CHECK(f.argv[3] == NULL);
	CHECK_EQ(f.cpus, 2);
	CHECK_EQ(f.mem_mib, 256);
	run_flags_free(&f);
}

static void argv_after_dashes(void)
{
	struct run_flags f;

	CHECK_EQ(parse(&f, ARGV("--timeout", "9", "--", "ls", "-l", "--cpus")), 0);
	CHECK_EQ(f.argc, 3);
	CHECK_STR(f.argv[0], "ls");
	CHECK_STR(f.argv[2], "--cpus");	/* the guest command's own flags are left alone */
	CHECK_EQ(f.timeout_s, 9);
	CHECK_EQ(f.cpus, 1);
	CHECK_EQ(f.mem_mib, RUN_DEFAULT_MEM_MIB);
	run_flags_free(&f);
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
	run_flags_free(&f);
	CHECK_EQ(parse(&f, ARGV("--help")), 0);
	CHECK(f.help);
	CHECK_EQ(parse(&f, ARGV("--version")), 0);
	CHECK(f.version);
	CHECK_EQ(parse(&f, ARGV("--print-cmdline")), 0);
	CHECK(f.print_cmdline);
	run_flags_free(&f);
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

HARNESS_MAIN(cmd_string, argv_after_dashes, defaults_and_switches, bad_input)
