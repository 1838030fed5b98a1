#include "bus.h"

#include <errno.h>
#include <string.h>

#include "log.h"

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_access_fn *access,
		 void *opaque, const char *name)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	for (unsigned i = 0; i < bus->count; i++) {
		const struct bus_range *r = &bus->range[i];

		if (base < r->base + r->len && r->base < base + len) {
			log_err("%s bus: %s at 0x%llx overlaps %s", bus->name, name,
				(unsigned long long)base, r->name);
			return -EEXIST;
		}
	}
	if (bus->count == BUS_MAX_RANGES) {
		log_err("%s bus: no room for %s", bus->name, name);
		return -ENOSPC;
	}
	bus->range[bus->count++] = (struct bus_range){
		.base = base, .len = len, .access = access, .opaque = opaque, .name = name,
	};
	return 0;
}

int bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, unsigned len, int is_write)
{
	for (unsigned i = 0; i < bus->count; i++) {
		const struct bus_range *r = &bus->range[i];

		/* An access must lie wholly inside one range; straddling ones go nowhere. */
		if (addr >= r->base && addr - r->base < r->len && len <= r->len - (addr - r->base)) {
			r->access(r->opaque, addr - r->base, data, len, is_write);
			return 0;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
	return -ENOENT;
}
