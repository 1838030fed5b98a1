#include "mptable.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../core/layout.h"
#include "../core/log.h"

#define MP_SPEC_REV        4		/* 1.4 */
#define MP_APIC_VERSION    0x14
#define MP_IOAPIC_VERSION  0x11

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_IOINTR, MP_LINTR };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };

struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

/* Appends one entry at *pos and counts it. */
static void mp_put(uint8_t **pos, const void *entry, size_t len, uint16_t *count)
{
	memcpy(*pos, entry, len);
	*pos += len;
	(*count)++;
}

static void mp_put_irqs(uint8_t **pos, uint16_t *count, uint8_t ioapic_id)
{
	/* Every IOAPIC pin, 16-23 included, so virtio-mmio devices can use them too. */
	for (uint8_t irq = 0; irq < LAYOUT_IOAPIC_PINS; irq++) {
		struct mpc_intsrc src = {
			.type = MP_IOINTR, .irqtype = MP_INT, .srcbus = 0,
			.srcbusirq = irq, .dstapic = ioapic_id, .dstirq = irq,
		};
		mp_put(pos, &src, sizeof(src), count);
	}
	/* 0xff: every local APIC. LINT0 takes the 8259's ExtINT, LINT1 the NMI. */
	struct mpc_intsrc lint0 = { .type = MP_LINTR, .irqtype = MP_EXTINT, .dstapic = 0xff, .dstirq = 0 };
	struct mpc_intsrc lint1 = { .type = MP_LINTR, .irqtype = MP_NMI, .dstapic = 0xff, .dstirq = 1 };
	mp_put(pos, &lint0, sizeof(lint0), count);
	mp_put(pos, &lint1, sizeof(lint1), count);
}

int boot_mptable_write(const struct guest_mem *mem, unsigned ncpus)
{
	uint8_t *base = guest_ptr(mem, LAYOUT_MPTABLE, LAYOUT_MPTABLE_MAX);
	struct mpf_intel *mpf = (struct mpf_intel *)base;
	struct mpc_table *mpc = (struct mpc_table *)(mpf + 1);
	uint8_t *pos = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = (uint8_t)ncpus;	/* the first APIC id after the CPUs' */
	uint16_t count = 0;

	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS) {
		log_err("MP table: %u CPUs, the limit is %d", ncpus, MPTABLE_MAX_CPUS);
		return -EINVAL;
	}
	if (!base) {
		log_err("MP table: guest RAM too small");
		return -EFAULT;
	}
	memset(base, 0, LAYOUT_MPTABLE_MAX);
	for (unsigned i = 0; i < ncpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR, .apicid = (uint8_t)i, .apicver = MP_APIC_VERSION,
			.cpuflag = 1 | (i == 0 ? 2 : 0),	/* enabled, bootstrap processor */
			.cpufeature = 0x600, .featureflag = 0x201,	/* family 6; FPU + APIC */
		};
		mp_put(&pos, &cpu, sizeof(cpu), &count);
	}
	struct mpc_bus bus = { .type = MP_BUS, .busid = 0, .bustype = "ISA   " };
	mp_put(&pos, &bus, sizeof(bus), &count);
	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC, .apicid = ioapic_id, .apicver = MP_IOAPIC_VERSION,
		.flags = 1, .apicaddr = (uint32_t)LAYOUT_IOAPIC,
	};
	mp_put(&pos, &ioapic, sizeof(ioapic), &count);
	mp_put_irqs(&pos, &count, ioapic_id);

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(pos - (uint8_t *)mpc);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "HVM     ", 8);
	memcpy(mpc->product, "HVM MICROVM ", 12);
	mpc->oemcount = count;
	mpc->lapic = (uint32_t)LAYOUT_LAPIC;
	mpc->checksum = mp_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(LAYOUT_MPTABLE + sizeof(*mpf));
	mpf->length = 1;	/* in 16-byte units */
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
	return 0;
}
