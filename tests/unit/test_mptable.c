/* MP table: checksums a kernel verifies, one processor entry per vCPU, bad counts refused. */
#include <errno.h>
#include <stdlib.h>

#include "../../core/layout.h"
#include "../../boot/mptable.h"
#include "../harness.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void table_for(unsigned ncpus)
{
	static uint8_t ram[1 << 20];
	struct guest_mem mem;

	memset(ram, 0, sizeof(ram));
	guest_mem_init(&mem, ram, sizeof(ram));
	CHECK_EQ(boot_mptable_write(&mem, ncpus), 0);

	const uint8_t *mpf = ram + LAYOUT_MPTABLE;
	CHECK(memcmp(mpf, "_MP_", 4) == 0);
	CHECK_EQ(sum(mpf, 16), 0);
	uint32_t cfg;
	memcpy(&cfg, mpf + 4, 4);
	const uint8_t *mpc = ram + cfg;
	uint16_t len, count;
	memcpy(&len, mpc + 4, 2);
	memcpy(&count, mpc + 34, 2);
	CHECK(memcmp(mpc, "PCMP", 4) == 0);
	CHECK_EQ(sum(mpc, len), 0);
	CHECK(cfg + len <= LAYOUT_MPTABLE + LAYOUT_MPTABLE_MAX);

	/* Entries: processors (20 bytes each, type 0) first, the first one the BSP. */
	const uint8_t *e = mpc + 44;
	unsigned cpus = 0, bsp = 0;
	for (unsigned i = 0; i < count; i++) {
		if (e[0] == 0) {
			cpus++;
			bsp += (e[3] & 2) != 0;
			CHECK_EQ(e[1], cpus - 1);	/* APIC ids 0..n-1 */
			e += 20;
		} else {
			e += 8;
		}
	}
	CHECK_EQ(cpus, ncpus);
	CHECK_EQ(bsp, 1);
	CHECK_EQ(e - mpc, len);
}

static void one_cpu(void) { table_for(1); }
static void two_cpus(void) { table_for(2); }
static void max_cpus(void) { table_for(MPTABLE_MAX_CPUS); }

static void bad_counts(void)
{
	static uint8_t ram[1 << 20];
	struct guest_mem mem;

	guest_mem_init(&mem, ram, sizeof(ram));
	CHECK_EQ(boot_mptable_write(&mem, 0), -EINVAL);
	CHECK_EQ(boot_mptable_write(&mem, MPTABLE_MAX_CPUS + 1), -EINVAL);
}

HARNESS_MAIN(one_cpu, two_cpus, max_cpus, bad_counts)
