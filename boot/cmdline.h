/* The guest kernel command line: our defaults, host-specific workarounds, the user's additions. */
#ifndef HVM_BOOT_CMDLINE_H
#define HVM_BOOT_CMDLINE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/err.h"

#define CMDLINE_SEED_BYTES 32	/* enough for the guest's crng to be ready at once */

struct cmdline_opts {
	int console;			/* kernel log at full verbosity (debugging) */
	int pvm;			/* host KVM is nested PVM: add its workarounds */
	const uint8_t *seed;		/* CMDLINE_SEED_BYTES of randomness, or NULL */
	const char *extra;		/* appended verbatim, or NULL */
};

/* Writes the command line into out (cap bytes); returns 0 or -E2BIG (why in e). */
int boot_cmdline_build(char *out, size_t cap, const struct cmdline_opts *opts, struct err *e);

/* Appends " word" to the command line in out; returns 0 or -E2BIG (why in e). */
int boot_cmdline_append(char *out, size_t cap, const char *word, struct err *e);

#endif
