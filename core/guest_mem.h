/* Guest physical memory as seen from the host: RAM below the MMIO hole and above 4 GiB. */
#ifndef HVM_GUEST_MEM_H
#define HVM_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t gpa_t;	/* a guest physical address */

struct guest_region {
	gpa_t gpa;		/* first guest physical address */
	uint64_t size;		/* bytes */
	uint8_t *host;		/* where those bytes are mapped in this process */
};

struct guest_mem {
	struct guest_region region[2];	/* [0] from 0 up to the hole, [1] from 4 GiB (may be empty) */
	uint64_t ram_size;		/* total bytes of RAM */
	uint8_t *base;			/* the single host mapping both regions live in */
};

/* Splits ram_size bytes at `base` into the low and high regions around the MMIO hole. */
void guest_mem_init(struct guest_mem *mem, uint8_t *base, uint64_t ram_size);

/*
 * The one checked accessor for guest-supplied addresses: returns a host pointer to
 * [gpa, gpa+len) when the whole range is RAM inside one region, else NULL (overflow,
 * outside RAM, straddling the hole). len 0 is accepted only inside RAM.
 */
void *guest_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len);

/* End of low RAM (the top of region 0): the highest address the boot structures may use. */
gpa_t guest_mem_low_end(const struct guest_mem *mem);

#endif
