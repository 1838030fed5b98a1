#include "run_flags.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../boot/mptable.h"

const char run_flags_usage[] =
	"Usage: hvm-run [FLAGS] --cmd 'SHELL COMMAND'\n"
	"       hvm-run [FLAGS] -- PROGRAM [ARG...]\n"
	"\n"
	"Runs a command inside a fresh KVM micro-VM and returns its exit status.\n"
	"\n"
	"  --cmd STRING         run STRING with /bin/sh -c in the guest\n"
	"  --kernel PATH        guest kernel: vmlinux (ELF) or bzImage (default: the HyperKernel)\n"
	"  --initrd PATH        initramfs to boot instead of the built-in one (agent + busybox)\n"
	"  --append STRING      add STRING to the guest kernel command line\n"
	"  --cpus N             vCPUs, 1 to 32 (default 1)\n"
	"  --memory MIB         guest RAM in MiB (default 128)\n"
	"  --timeout SEC        stop the VM after SEC seconds and exit 124\n"
	"  --console            show the guest kernel log on stderr\n"
	"  --print-cmdline      print the guest kernel command line and exit\n"
	"  --metrics-json FILE  write boot phase timings and VMM memory use to FILE\n"
	"  --log-level LEVEL    error, warn (default), info or debug\n"
	"  --help, --version\n"
	"\n"
	"Exit status: the command's own; 128+N if it died of signal N; 124 on --timeout;\n"
	"125 when hvm itself fails (bad flag, unusable kernel, no /dev/kvm, ...);\n"
	"126 command not executable; 127 command not found.\n";

enum {
	OPT_CMD = 256, OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_CPUS, OPT_MEMORY, OPT_TIMEOUT,
	OPT_CONSOLE, OPT_PRINT_CMDLINE, OPT_METRICS, OPT_LOG_LEVEL, OPT_HELP, OPT_VERSION,
};

static const struct option run_options[] = {
	{ "cmd", required_argument, NULL, OPT_CMD },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "console", no_argument, NULL, OPT_CONSOLE },
	{ "print-cmdline", no_argument, NULL, OPT_PRINT_CMDLINE },
	{ "metrics-json", required_argument, NULL, OPT_METRICS },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* A decimal number in [min, max], all of the string; 0 or -EINVAL with the flag named. */
static int parse_number(const char *flag, const char *s, uint64_t min, uint64_t max,
			const char *unit, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno) {
		fprintf(stderr, "hvm-run: --%s %s: not a number of %s\n", flag, s, unit);
		return -EINVAL;
	}
	if (v < min || v > max) {
		fprintf(stderr, "hvm-run: --%s %s: must be %llu to %llu %s\n", flag, s,
			(unsigned long long)min, (unsigned long long)max, unit);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int run_flags_one(struct run_flags *f, int opt, const char *arg)
{
	uint64_t v;
	int err = 0;

	switch (opt) {
	case OPT_CMD: f->cmd = arg; break;
	case OPT_KERNEL: f->kernel = arg; break;
	case OPT_INITRD: f->initrd = arg; break;
	case OPT_APPEND: f->append = arg; break;
	case OPT_CPUS:
		if (!(err = parse_number("cpus", arg, 1, MPTABLE_MAX_CPUS, "vCPUs", &v)))
			f->cpus = (unsigned)v;
		break;
	case OPT_MEMORY:
		err = parse_number("memory", arg, 32, 1024 * 1024, "MiB", &f->mem_mib);
		break;
	case OPT_TIMEOUT:
		if (!(err = parse_number("timeout", arg, 1, 365 * 24 * 3600, "seconds", &v)))
			f->timeout_s = (unsigned)v;
		break;
	case OPT_CONSOLE: f->console = 1; break;
	case OPT_PRINT_CMDLINE: f->print_cmdline = 1; break;
	case OPT_METRICS: f->metrics_json = arg; break;
	case OPT_LOG_LEVEL: f->log_level = arg; break;
	case OPT_HELP: f->help = 1; break;
	case OPT_VERSION: f->version = 1; break;
	default: err = -EINVAL;
	}
	return err;
}

static int run_flags_command(struct run_flags *f, int argc, char **argv)
{
	int rest = argc - optind;

	if (f->cmd && rest > 0) {
		fprintf(stderr, "hvm-run: give either --cmd or a command after --, not both\n");
		return -EINVAL;
	}
	if (f->cmd) {
		static char sh[] = "/bin/sh", dash_c[] = "-c";
		f->argv = calloc(4, sizeof(char *));
		if (!f->argv)
			return -ENOMEM;
		f->argv[0] = sh;
		f->argv[1] = dash_c;
		f->argv[2] = (char *)f->cmd;
		f->argc = 3;
		return 0;
	}
	if (rest == 0 && !f->print_cmdline) {
		fprintf(stderr, "hvm-run: no command: give --cmd STRING or -- PROGRAM [ARG...]\n");
		return -EINVAL;
	}
	f->argv = calloc((size_t)rest + 1, sizeof(char *));
	if (!f->argv)
		return -ENOMEM;
	memcpy(f->argv, argv + optind, (size_t)rest * sizeof(char *));
	f->argc = rest;
	return 0;
}

int run_flags_parse(struct run_flags *f, int argc, char **argv)
{
	int opt;

	memset(f, 0, sizeof(*f));
	f->cpus = RUN_DEFAULT_CPUS;
	f->mem_mib = RUN_DEFAULT_MEM_MIB;
	optind = 1;
	opterr = 0;	/* our own messages, naming the flag */
	/* "+": stop at the first non-flag, so the guest command keeps its own flags. */
	while ((opt = getopt_long(argc, argv, "+", run_options, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			const char *bad = argv[optind - 1];
			if (opt == '?' && optopt == 0)
				fprintf(stderr, "hvm-run: unknown flag %s (see --help)\n", bad);
			else
				fprintf(stderr, "hvm-run: flag %s: missing or unexpected value\n", bad);
			return -EINVAL;
		}
		if (run_flags_one(f, opt, optarg))
			return -EINVAL;
	}
	if (f->help || f->version)
		return 0;
	return run_flags_command(f, argc, argv);
}

void run_flags_free(struct run_flags *f)
{
	free(f->argv);
	f->argv = NULL;
}
