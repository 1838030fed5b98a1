#include "guest_mem.h"

#include "layout.h"

void guest_mem_init(struct guest_mem *mem, uint8_t *base, uint64_t ram_size)
{
	uint64_t low = ram_size < LAYOUT_MMIO_HOLE ? ram_size : LAYOUT_MMIO_HOLE;

	mem->base = base;
	mem->ram_size = ram_size;
	mem->region[0] = (struct guest_region){ .gpa = 0, .size = low, .host = base };
	mem->region[1] = (struct guest_region){
		.gpa = LAYOUT_4G, .size = ram_size - low, .host = base + low,
	};
}

void *guest_ptr(const struct guest_mem *mem, gpa_t gpa, uint64_t len)
{
	for (int i = 0; i < 2; i++) {
		const struct guest_region *r = &mem->region[i];

		if (r->size == 0 || gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		/* Written as subtractions so that no guest value can overflow the comparison. */
		if (off < r->size && len <= r->size - off)
			return r->host + off;
	}
	return NULL;
}

gpa_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->region[0].gpa + mem->region[0].size;
}
