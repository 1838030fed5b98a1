#include "cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../core/err.h"

/*
 * Workarounds for nested PVM hosts (see docs/platform.md), one reason each. On bare-metal KVM
 * none of them is added.
 */
static const char *const cmdline_pvm[] = {
	"noxsave",		/* XSAVE/XRSTOR cannot be emulated in guest ring 0 */
	/* PVM ignores KVM_SET_CPUID2: hide instructions the emulator lacks from alternatives */
	"clearcpuid=popcnt,movbe,fsgsbase,rdpid,fsrm,clflushopt,clwb,pku,rdseed,rdrand,"
	"bmi1,bmi2,smap,smep,umip,erms,cx16",
	"noreplace-smp",	/* no SMP alternatives re-patching (it goes through INT3) */
	"percpu_alloc=page",	/* measured faster to boot when ring 0 is emulated */
	"rodata=off",		/* read-only remapping of kernel data costs ~2.7 s emulated */
	"clocksource=tsc",	/* the TSC is stable here; skip kvm-clock's slow reads */
	"tsc=reliable",		/* and the clocksource watchdog that would double-check it */
	"pvm_syscall_fixup",	/* HyperKernel patch: finish half-emulated user SYSCALLs */
	/* HyperKernel patches: fewer context switches per packet and per freed file */
	"softirq.budget_jiffies=2",	/* a softirq pass outlasts one tick: keep it off ksoftirqd */
	"rcutree.gp_batch_jiffies=10",	/* one grace period per 400 ms, not one per request */
};

int boot_cmdline_append(char *out, size_t cap, const char *word, struct err *e)
{
	size_t len = strlen(out), wlen = strlen(word);

	if (len + (len ? 1 : 0) + wlen + 1 > cap) {
		err_set(e, -E2BIG, "kernel command line: longer than %zu bytes", cap - 1);
		return -E2BIG;
	}
	if (len)
		out[len++] = ' ';
	memcpy(out + len, word, wlen + 1);
	return 0;
}

static int cmdline_add_seed(char *out, size_t cap, const uint8_t *seed, struct err *e)
{
	char word[sizeof("random.seed=") + 2 * CMDLINE_SEED_BYTES];
	int n = snprintf(word, sizeof(word), "random.seed=");

	for (int i = 0; i < CMDLINE_SEED_BYTES; i++)
		n += snprintf(word + n, sizeof(word) - (size_t)n, "%02x", seed[i]);
	return boot_cmdline_append(out, cap, word, e);
}

int boot_cmdline_build(char *out, size_t cap, const struct cmdline_opts *opts, struct err *e)
{
	/* Without --console the log is kept short: warnings only, and quiet messages unformatted. */
	const char *const base[] = {
		"console=ttyS0",
		"reboot=k",		/* reset through the i8042, which the VMM turns into a clean stop */
		"panic=-1",		/* reboot at once on panic: the VMM reports it instead of hanging */
		opts->console ? NULL : "quiet",
		opts->console ? NULL : "printk.drop_quiet",
	};
	int err = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]) && !err; i++)
		if (base[i])
			err = boot_cmdline_append(out, cap, base[i], e);
	for (size_t i = 0; opts->pvm && i < sizeof(cmdline_pvm) / sizeof(cmdline_pvm[0]) && !err; i++)
		err = boot_cmdline_append(out, cap, cmdline_pvm[i], e);
	if (!err && opts->seed)
		err = cmdline_add_seed(out, cap, opts->seed, e);
	if (!err && opts->extra && *opts->extra)
		err = boot_cmdline_append(out, cap, opts->extra, e);
	return err;
}
