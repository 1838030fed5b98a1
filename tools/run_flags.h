/* hvm-run's command line: parsed into a plain struct, checked, no side effects. */
#ifndef HVM_RUN_FLAGS_H
#define HVM_RUN_FLAGS_H

#include <limits.h>
#include <stdint.h>

#include "../include/hvm.h"
#include "run_net.h"

struct run_volume {
	char host[PATH_MAX];		/* disk image file (created and formatted when missing) */
	char guest[PATH_MAX];		/* absolute mount point in the guest */
	int read_only;
};

struct run_flags {
	int exec;			/* `hvm-run exec`: a second process in a running VM */
	const char *api_socket;		/* --api-socket: the VM's vsock bridge (AF_UNIX) */
	int interactive;		/* -i: forward stdin */
	int tty;			/* -t: a pseudo-terminal in the guest */
	char **args;			/* the command after "--", NULL-terminated; NULL if none */
	int nargs;
	const char *cmd;		/* --cmd STRING, run as sh -c STRING */
	const char *image;		/* --image: dir, tar, docker-save, OCI layout or reference */
	const char *env[HVM_ENV_MAX];	/* -e KEY=VAL (or KEY: taken from hvm-run's environment) */
	int nenv;
	const char *workdir;		/* -w */
	const char *user;		/* -u USER[:GROUP] */
	struct run_volume volumes[HVM_VOLUMES_MAX];
	int nvolumes;
	struct run_net_flags net;	/* -p, --net, --ip, --gateway, --dns, --mac */
	uint64_t volume_size_mib;	/* size of volumes hvm creates */
	int read_only;			/* --read-only: no overlay on the image */
	const char *kernel;		/* NULL: the built-in HyperKernel */
	const char *initrd;		/* NULL: the built-in initramfs */
	const char *append;		/* extra kernel command line */
	unsigned cpus;			/* 0: libhvm's default */
	uint64_t mem_mib;
	unsigned timeout_s;		/* 0: none */
	int console;
	int no_seccomp;			/* --no-seccomp: debugging only, warned about loudly */
	int jail;			/* --jail: confine hvm-run itself (docs/jail.md); also
					 * set for an unprivileged run the host allows to jail */
	int no_jail;			/* --no-jail: not by default either */
	unsigned uid, gid;		/* --uid, --gid: the jail's ids (default 65534) */
	int ids_given;			/* --uid or --gid was given */
	int snapshot;			/* `hvm-run snapshot`: save the VM behind --api-socket */
	const char *snapshot_dir;	/* ... into this directory */
	int stop;			/* snapshot --stop: the VM ends once saved */
	const char *restore;		/* --restore DIR: resume a snapshot instead of booting */
	int cold;			/* --cold: boot even when a template exists */
	int pull;			/* `hvm-run pull IMAGE`: fetch and convert, no run */
	int check;			/* `hvm-run check`: diagnose the host */
	int json;			/* check --json */
	int tls_verify;			/* --tls-verify[=BOOL] (default true) */
	const char *creds;		/* --creds USER[:PASSWORD] for the registry */
	const char *authfile;		/* --authfile PATH (else REGISTRY_AUTH_FILE, skopeo's own) */
	int quiet;			/* -q, --quiet: no progress line */
	int print_cmdline;
	int help, version;
	const char *metrics_json;
	const char *log_level;
};

/*
 * Parses argv into f. Returns 0, or -EINVAL after printing "hvm-run: <flag> ...: why" on
 * stderr. help/version set mean: print that and exit 0.
 */
int run_flags_parse(struct run_flags *f, int argc, char **argv);

/* The --help text. */
extern const char run_flags_usage[];

#endif
