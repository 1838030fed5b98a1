/* Guest command line: PVM workarounds only on PVM hosts, console and seed handling, limits. */
#include <errno.h>

#include "../../boot/cmdline.h"
#include "../../core/layout.h"
#include "../harness.h"

static int has_word(const char *cl, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = cl; (p = strstr(p, word)); p += n)
		if ((p == cl || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0' || p[n] == '='))
			return 1;
	return 0;
}

static void bare_metal(void)
{
	char cl[LAYOUT_CMDLINE_MAX];
	struct cmdline_opts o = { 0 };

	CHECK_EQ(boot_cmdline_build(cl, sizeof(cl), &o, NULL), 0);
	CHECK(has_word(cl, "console"));
	CHECK(has_word(cl, "reboot"));
	CHECK(has_word(cl, "quiet"));
	CHECK(!has_word(cl, "noxsave"));
	CHECK(!has_word(cl, "clearcpuid"));
	CHECK(!has_word(cl, "rodata"));
	CHECK(!has_word(cl, "pvm_syscall_fixup"));
	CHECK(!has_word(cl, "rcutree.gp_batch_jiffies"));	/* bare metal keeps Linux's timing */
	CHECK(!has_word(cl, "softirq.budget_jiffies"));
	CHECK(!has_word(cl, "random.seed"));
}

static void pvm_host(void)
{
	char cl[LAYOUT_CMDLINE_MAX];
	struct cmdline_opts o = { .pvm = 1, .console = 1 };

	CHECK_EQ(boot_cmdline_build(cl, sizeof(cl), &o, NULL), 0);
	CHECK(has_word(cl, "noxsave"));
	CHECK(has_word(cl, "clearcpuid"));
	CHECK(strstr(cl, "popcnt") != NULL);
	CHECK(has_word(cl, "pvm_syscall_fixup"));
	CHECK(has_word(cl, "rcutree.gp_batch_jiffies"));
	CHECK(has_word(cl, "softirq.budget_jiffies"));
	CHECK(!has_word(cl, "quiet"));	/* --console shows everything */
}

static void seed_and_extra(void)
{
	char cl[LAYOUT_CMDLINE_MAX];
	uint8_t seed[CMDLINE_SEED_BYTES];
	struct cmdline_opts o = { .seed = seed, .extra = "init_on_free=1 foo=bar" };

	for (int i = 0; i < CMDLINE_SEED_BYTES; i++)
		seed[i] = (uint8_t)(0xa0 + i);
	CHECK_EQ(boot_cmdline_build(cl, sizeof(cl), &o, NULL), 0);
	CHECK(strstr(cl, "random.seed=a0a1a2a3") != NULL);
	const char *s = strstr(cl, "random.seed=");
	CHECK_EQ(strcspn(s + strlen("random.seed="), " "), 2 * CMDLINE_SEED_BYTES);
	CHECK(strstr(cl, " init_on_free=1 foo=bar") != NULL);
	CHECK_EQ(strlen(cl) - strlen(strstr(cl, "foo=bar")), strlen(cl) - 7);	/* extra comes last */
}

static void too_long(void)
{
	char cl[64];
	struct cmdline_opts o = { .pvm = 1 };

	CHECK_EQ(boot_cmdline_build(cl, sizeof(cl), &o, NULL), -E2BIG);
}

HARNESS_MAIN(bare_metal, pvm_host, seed_and_extra, too_long)
