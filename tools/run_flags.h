/* hvm-run's command line: parsed into a plain struct, checked, no side effects. */
#ifndef HVM_RUN_FLAGS_H
#define HVM_RUN_FLAGS_H

#include <stdint.h>

#define RUN_DEFAULT_CPUS    1
#define RUN_DEFAULT_MEM_MIB 128

struct run_flags {
	char **argv;			/* the command: NULL-terminated */
	int argc;
	const char *cmd;		/* --cmd STRING, run as sh -c STRING */
	const char *kernel;		/* NULL: the built-in HyperKernel */
	const char *initrd;		/* NULL: the built-in initramfs */
	const char *append;		/* extra kernel command line */
	unsigned cpus;
	uint64_t mem_mib;
	unsigned timeout_s;		/* 0: none */
	int console;
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

/* Frees what parsing allocated. */
void run_flags_free(struct run_flags *f);

/* The --help text. */
extern const char run_flags_usage[];

#endif
