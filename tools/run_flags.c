#include "run_flags.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/hvm.h"

const char run_flags_usage[] =
	"Usage: hvm-run [FLAGS] --cmd 'SHELL COMMAND'\n"
	"       hvm-run [FLAGS] -- PROGRAM [ARG...]\n"
	"       hvm-run [FLAGS] --image IMAGE [-- ARG...]\n"
	"       hvm-run exec --api-socket PATH [-i] [-t] [-e ..] [-w ..] [-u ..] (--cmd S | -- ARGV)\n"
	"       hvm-run snapshot --api-socket PATH [--stop] DIR\n"
	"       hvm-run --restore DIR [--api-socket PATH] [FLAGS]\n"
	"       hvm-run pull [--tls-verify=BOOL] [--creds U:P] [--authfile F] [-q] IMAGE\n"
	"       hvm-run check [--json]\n"
	"\n"
	"Runs a command inside a fresh KVM micro-VM and returns its exit status.\n"
	"\n"
	"  --cmd STRING         run STRING with /bin/sh -c in the guest\n"
	"  -i, --interactive    forward stdin to the command (EOF included)\n"
	"  -t, --tty            give the command a pseudo-terminal sized like ours\n"
	"  --api-socket PATH    expose the VM's vsock bridge at PATH: `CONNECT <port>\\n` reaches\n"
	"                       guest ports; `hvm-run exec --api-socket PATH` runs more commands\n"
	"  --image IMAGE        root file system from a directory, tar/tar.gz, docker-save tar or\n"
	"                       OCI layout (dir or tar); converted once, cached in ~/.cache/hvm;\n"
	"                       or pulled with skopeo: docker://REPO[:TAG|@DIGEST], oci:DIR,\n"
	"                       oci-archive:FILE, docker-archive:FILE, or a bare NAME[:TAG]\n"
	"                       that is no local path (= docker://NAME[:TAG])\n"
	"  --tls-verify[=BOOL]  verify the registry's TLS certificate; false also allows plain\n"
	"                       HTTP (default true)\n"
	"  --creds USER[:PASS]  registry credentials (else --authfile, REGISTRY_AUTH_FILE,\n"
	"                       ~/.docker/config.json as skopeo finds them)\n"
	"  --authfile PATH      registry credentials file (auth.json as podman writes it)\n"
	"  -q, --quiet          no progress line while an image is pulled or converted\n"
	"  -e, --env KEY=VAL    set an environment variable (KEY alone: take hvm-run's value)\n"
	"  -w, --workdir DIR    working directory in the guest\n"
	"  -u, --user U[:G]     user and group, names or numbers, as the image knows them\n"
	"  -v, --volume HOST:GUEST[:ro]\n"
	"                       share the host directory HOST at GUEST (9p), or attach the\n"
	"                       disk image file HOST; a missing file is created and formatted\n"
	"                       ext4 (--volume-size MiB, 1024)\n"
	"  -p, --publish HOST:GUEST[/tcp|/udp]\n"
	"                       make guest port GUEST reachable on the host's HOST (implies\n"
	"                       --net user); nothing else of the guest is reachable\n"
	"  --net MODE           none (default without -p), user (rootless, through passt;\n"
	"                       the guest gets the host's address), tap[:NAME] (root)\n"
	"  --ip A.B.C.D/N, --gateway A.B.C.D, --dns A.B.C.D\n"
	"                       the guest's addresses with --net tap\n"
	"  --mac MAC            the guest's MAC (default: random, locally administered)\n"
	"  --read-only          the image root as is, read-only (no writable overlay)\n"
	"  --rm                 accepted for docker compatibility: VMs never outlive a run\n"
	"  --kernel PATH        guest kernel: vmlinux (ELF) or bzImage (default: the HyperKernel)\n"
	"  --initrd PATH        initramfs to boot instead of the built-in one (agent + busybox)\n"
	"  --append STRING      add STRING to the guest kernel command line\n"
	"  --cpus N             vCPUs, 1 to 32 (default 2, or 1 on a single host CPU)\n"
	"  --memory MIB         guest RAM in MiB (default 128)\n"
	"  --timeout SEC        stop the VM after SEC seconds and exit 124\n"
	"  --console            show the guest kernel log on stderr\n"
	"  --no-seccomp         run without the syscall filters (debugging only; insecure)\n"
	"  --jail               confine hvm-run: own mount/PID/IPC/UTS namespaces, an empty\n"
	"                       root (the VM's files are opened before), rlimits, no\n"
	"                       capabilities, no_new_privs, the uid/gid below; not root: in a\n"
	"                       user namespace of your own, as you, and on by default where\n"
	"                       the host allows it (docs/jail.md)\n"
	"  --no-jail            not root: run without the jail (and without the warning when\n"
	"                       the host does not allow one)\n"
	"  --uid N, --gid N     the jail's user and group (root; default 65534, nobody)\n"
	"  --cold               boot, even when a template of this configuration exists (the\n"
	"                       first run of each configuration saves one; later runs start\n"
	"                       from it: ~/.cache/hvm/templates, docs/snapshot.md)\n"
	"  --restore DIR        resume the VM saved in DIR by `hvm-run snapshot`: its command\n"
	"                       reports here (output, exit status)\n"
	"  snapshot --stop      end the VM once it is saved (default: it runs on)\n"
	"  pull IMAGE           fetch and convert IMAGE, even when cached, without running\n"
	"  check                diagnose this host: KVM, files, cache, networking, jail;\n"
	"                       check --json for scripts (exit 0: hvm can run here)\n"
	"  --print-cmdline      print the guest kernel command line and exit\n"
	"  --metrics-json FILE  write boot phase timings and VMM memory use to FILE\n"
	"  --log-level LEVEL    error, warn (default), info or debug\n"
	"  --help, --version\n"
	"\n"
	"Exit status: the command's own; 128+N if it died of signal N; 124 on --timeout;\n"
	"125 when hvm itself fails (bad flag, unusable kernel, no /dev/kvm, ...);\n"
	"126 command not executable; 127 command not found.\n";

enum {
	OPT_API_SOCKET = 300, OPT_IMAGE = 256, OPT_VOLUME_SIZE, OPT_READ_ONLY, OPT_RM, OPT_CMD, OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_CPUS, OPT_MEMORY, OPT_TIMEOUT,
	OPT_CONSOLE, OPT_PRINT_CMDLINE, OPT_METRICS, OPT_LOG_LEVEL, OPT_HELP, OPT_VERSION,
	OPT_NO_SECCOMP = 390, OPT_JAIL, OPT_UID, OPT_GID, OPT_COLD, OPT_RESTORE, OPT_STOP, OPT_NO_JAIL,
	OPT_TLS_VERIFY = 380, OPT_CREDS, OPT_AUTHFILE, OPT_JSON,
	OPT_NET_FIRST = 400,	/* networking flags, handled by run_net_flag() by name */
};

/* In OPT_NET_FIRST order. */
static const char *const net_option_names[] = { "net", "ip", "gateway", "dns", "mac" };

static const struct option run_options[] = {
	{ "cmd", required_argument, NULL, OPT_CMD },
	{ "image", required_argument, NULL, OPT_IMAGE },
	{ "interactive", no_argument, NULL, 'i' },
	{ "tty", no_argument, NULL, 't' },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "publish", required_argument, NULL, 'p' },
	{ "net", required_argument, NULL, OPT_NET_FIRST },
	{ "ip", required_argument, NULL, OPT_NET_FIRST + 1 },
	{ "gateway", required_argument, NULL, OPT_NET_FIRST + 2 },
	{ "dns", required_argument, NULL, OPT_NET_FIRST + 3 },
	{ "mac", required_argument, NULL, OPT_NET_FIRST + 4 },
	{ "env", required_argument, NULL, 'e' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "user", required_argument, NULL, 'u' },
	{ "volume", required_argument, NULL, 'v' },
	{ "volume-size", required_argument, NULL, OPT_VOLUME_SIZE },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "console", no_argument, NULL, OPT_CONSOLE },
	{ "print-cmdline", no_argument, NULL, OPT_PRINT_CMDLINE },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "jail", no_argument, NULL, OPT_JAIL },
	{ "no-jail", no_argument, NULL, OPT_NO_JAIL },
	{ "uid", required_argument, NULL, OPT_UID },
	{ "gid", required_argument, NULL, OPT_GID },
	{ "cold", no_argument, NULL, OPT_COLD },
	{ "restore", required_argument, NULL, OPT_RESTORE },
	{ "stop", no_argument, NULL, OPT_STOP },
	{ "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },
	{ "creds", required_argument, NULL, OPT_CREDS },
	{ "authfile", required_argument, NULL, OPT_AUTHFILE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "json", no_argument, NULL, OPT_JSON },
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

/* HOST:GUEST[:ro|:rw] */
static int parse_volume(struct run_flags *f, const char *arg)
{
	const char *guest = strchr(arg, ':'), *mode = guest ? strchr(guest + 1, ':') : NULL;
	struct run_volume *v = &f->volumes[f->nvolumes];
	size_t hlen = guest ? (size_t)(guest - arg) : 0;
	size_t glen = guest ? (mode ? (size_t)(mode - guest - 1) : strlen(guest + 1)) : 0;

	if (f->nvolumes == HVM_VOLUMES_MAX) {
		fprintf(stderr, "hvm-run: -v: at most %d volumes\n", HVM_VOLUMES_MAX);
		return -EINVAL;
	}
	if (!guest || hlen == 0 || hlen >= PATH_MAX || glen < 2 || glen >= PATH_MAX ||
	    guest[1] != '/' || (mode && strcmp(mode, ":ro") != 0 && strcmp(mode, ":rw") != 0)) {
		fprintf(stderr, "hvm-run: -v %s: use HOST:/guest/path[:ro] (HOST a directory or a disk image file)\n", arg);
		return -EINVAL;
	}
	memcpy(v->host, arg, hlen);
	v->host[hlen] = '\0';
	memcpy(v->guest, guest + 1, glen);
	v->guest[glen] = '\0';
	v->read_only = mode && strcmp(mode, ":ro") == 0;
	f->nvolumes++;
	return 0;
}

static int bad_value(const char *flag, const char *arg, const char *want)
{
	fprintf(stderr, "hvm-run: --%s=%s: use %s\n", flag, arg, want);
	return -EINVAL;
}

static int run_flags_one(struct run_flags *f, int opt, const char *arg)
{
	uint64_t v;
	int err = 0;

	switch (opt) {
	case OPT_CMD: f->cmd = arg; break;
	case OPT_IMAGE: f->image = arg; break;
	case 'i': f->interactive = 1; break;
	case 't': f->tty = 1; break;
	case OPT_API_SOCKET: f->api_socket = arg; break;
	case 'e':
		if (f->nenv == HVM_ENV_MAX) {
			fprintf(stderr, "hvm-run: -e: at most %d variables\n", HVM_ENV_MAX);
			return -EINVAL;
		}
		f->env[f->nenv++] = arg;
		break;
	case 'w': f->workdir = arg; break;
	case 'u': f->user = arg; break;
	case 'v': err = parse_volume(f, arg); break;
	case 'p': err = run_net_flag(&f->net, "publish", arg); break;
	case OPT_NET_FIRST: case OPT_NET_FIRST + 1: case OPT_NET_FIRST + 2:
	case OPT_NET_FIRST + 3: case OPT_NET_FIRST + 4:
		err = run_net_flag(&f->net, net_option_names[opt - OPT_NET_FIRST], arg);
		break;
	case OPT_VOLUME_SIZE:
		err = parse_number("volume-size", arg, 16, 16 * 1024 * 1024, "MiB", &f->volume_size_mib);
		break;
	case OPT_READ_ONLY: f->read_only = 1; break;
	case OPT_RM: break;
	case OPT_KERNEL: f->kernel = arg; break;
	case OPT_INITRD: f->initrd = arg; break;
	case OPT_APPEND: f->append = arg; break;
	case OPT_CPUS:
		if (!(err = parse_number("cpus", arg, 1, HVM_CPUS_MAX, "vCPUs", &v)))
			f->cpus = (unsigned)v;
		break;
	case OPT_MEMORY:
		err = parse_number("memory", arg, HVM_MEMORY_MIB_MIN, HVM_MEMORY_MIB_MAX, "MiB",
				   &f->mem_mib);
		break;
	case OPT_TIMEOUT:
		if (!(err = parse_number("timeout", arg, 1, 365 * 24 * 3600, "seconds", &v)))
			f->timeout_s = (unsigned)v;
		break;
	case OPT_CONSOLE: f->console = 1; break;
	case OPT_PRINT_CMDLINE: f->print_cmdline = 1; break;
	case OPT_NO_SECCOMP: f->no_seccomp = 1; break;
	case OPT_JAIL: f->jail = 1; break;
	case OPT_NO_JAIL: f->no_jail = 1; break;
	case OPT_UID: case OPT_GID:
		if (!(err = parse_number(opt == OPT_UID ? "uid" : "gid", arg, 0, 0xfffffffe, "ids",
					 &v)))
			*(opt == OPT_UID ? &f->uid : &f->gid) = (unsigned)v;
		f->ids_given = 1;
		break;
	case OPT_COLD: f->cold = 1; break;
	case OPT_RESTORE: f->restore = arg; break;
	case OPT_STOP: f->stop = 1; break;
	case OPT_TLS_VERIFY:
		if (!arg || !strcmp(arg, "true"))
			f->tls_verify = 1;
		else if (!strcmp(arg, "false"))
			f->tls_verify = 0;
		else
			err = bad_value("tls-verify", arg, "true or false");
		break;
	case OPT_CREDS: f->creds = arg; break;
	case OPT_AUTHFILE: f->authfile = arg; break;
	case 'q': f->quiet = 1; break;
	case OPT_JSON: f->json = 1; break;
	case OPT_METRICS: f->metrics_json = arg; break;
	case OPT_LOG_LEVEL: f->log_level = arg; break;
	case OPT_HELP: f->help = 1; break;
	case OPT_VERSION: f->version = 1; break;
	default: err = -EINVAL;
	}
	return err;
}

/* `hvm-run pull IMAGE` and `hvm-run check`: one image, or nothing. */
static int run_flags_tool(struct run_flags *f, int argc, char **argv)
{
	if (f->check && argc - optind != 0) {
		fprintf(stderr, "hvm-run: check takes no arguments (only --json)\n");
		return -EINVAL;
	}
	if (f->pull && (argc - optind != 1 || f->image)) {
		fprintf(stderr, "hvm-run: pull: give one image reference (pull docker://REPO:TAG)\n");
		return -EINVAL;
	}
	if (f->pull)
		f->image = argv[optind];
	return 0;
}

/* `hvm-run snapshot --api-socket PATH [--stop] DIR`: the directory and nothing else. */
static int run_flags_snapshot(struct run_flags *f, int argc, char **argv)
{
	if (!f->api_socket || argc - optind != 1) {
		fprintf(stderr, "hvm-run: snapshot: give --api-socket PATH (the running VM) and "
			"one directory\n");
		return -EINVAL;
	}
	f->snapshot_dir = argv[optind];
	return 0;
}

static int run_flags_command(struct run_flags *f, int argc, char **argv)
{
	int rest = argc - optind;

	if (f->restore && (f->cmd || rest > 0 || f->image)) {
		fprintf(stderr, "hvm-run: --restore resumes the snapshot's own command: no --cmd, "
			"--image or command\n");
		return -EINVAL;
	}
	if (f->restore)
		return 0;

	if (f->cmd && rest > 0) {
		fprintf(stderr, "hvm-run: give either --cmd or a command after --, not both\n");
		return -EINVAL;
	}
	if (!f->cmd && rest == 0 && !f->image && !f->print_cmdline) {
		fprintf(stderr, "hvm-run: no command: give --cmd STRING or -- PROGRAM [ARG...]\n");
		return -EINVAL;
	}
	if (rest > 0) {
		f->args = argv + optind;	/* argv is NULL-terminated after its last element */
		f->nargs = rest;
	}
	return 0;
}

int run_flags_parse(struct run_flags *f, int argc, char **argv)
{
	int opt;

	memset(f, 0, sizeof(*f));
	f->mem_mib = HVM_MEMORY_MIB_DEFAULT;
	f->volume_size_mib = HVM_VOLUME_MIB_DEFAULT;
	f->uid = f->gid = HVM_JAIL_DEFAULT_ID;
	f->tls_verify = 1;
	optind = 1;
	opterr = 0;	/* our own messages, naming the flag */
	/* `hvm-run exec ...`: the same flags, for a VM that is already running. */
	if (argc > 1 && strcmp(argv[1], "exec") == 0) {
		f->exec = 1;
		optind = 2;
	}
	if (argc > 1 && strcmp(argv[1], "snapshot") == 0) {
		f->snapshot = 1;
		optind = 2;
	}
	if (argc > 1 && (!strcmp(argv[1], "pull") || !strcmp(argv[1], "check"))) {
		*(argv[1][0] == 'p' ? &f->pull : &f->check) = 1;
		optind = 2;
	}
	/* "+": stop at the first non-flag, so the guest command keeps its own flags. */
	while ((opt = getopt_long(argc, argv, "+e:w:u:v:p:itq", run_options, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			const char *bad = argv[optind - 1];
			if (opt == '?' && (optopt == 0 || (optopt < 256 && !strchr("ewuvpitq", optopt))))
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
	if (run_net_check(&f->net))
		return -EINVAL;
	if (f->jail && f->no_jail) {
		fprintf(stderr, "hvm-run: --jail and --no-jail: choose one\n");
		return -EINVAL;
	}
	if (f->ids_given && !f->jail) {
		fprintf(stderr, "hvm-run: --uid and --gid are the jail's ids: they need --jail\n");
		return -EINVAL;
	}
	if (f->exec && f->jail) {
		fprintf(stderr, "hvm-run: exec: --jail applies to the run that starts the VM\n");
		return -EINVAL;
	}
	if (f->exec && !f->api_socket) {
		fprintf(stderr, "hvm-run: exec: --api-socket PATH names the VM to run in\n");
		return -EINVAL;
	}
	if (f->stop && !f->snapshot) {
		fprintf(stderr, "hvm-run: --stop belongs to `hvm-run snapshot`\n");
		return -EINVAL;
	}
	if (f->restore && f->cold) {
		fprintf(stderr, "hvm-run: --restore and --cold: a restore never boots\n");
		return -EINVAL;
	}
	if (f->json && !f->check) {
		fprintf(stderr, "hvm-run: --json belongs to `hvm-run check`\n");
		return -EINVAL;
	}
	if (f->pull || f->check)
		return run_flags_tool(f, argc, argv);
	if (f->snapshot)
		return run_flags_snapshot(f, argc, argv);
	return run_flags_command(f, argc, argv);
}
