/* Address-range registries for port I/O and MMIO: every exit becomes a device access. */
#ifndef HVM_BUS_H
#define HVM_BUS_H

#include <stdint.h>

#define BUS_MAX_RANGES 32

/*
 * A device's access handler. offset is relative to the registered base; data holds len bytes
 * (1, 2, 4 or 8) to write, or receives the bytes read. Called from vCPU threads concurrently:
 * the device serialises its own state.
 */
typedef void bus_access_fn(void *opaque, uint64_t offset, uint8_t *data, unsigned len, int is_write);

struct bus_range {
	uint64_t base, len;
	bus_access_fn *access;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;	/* "pio" or "mmio", for messages */
	unsigned count;
	struct bus_range range[BUS_MAX_RANGES];
};

/* Registers [base, base+len); returns 0, -EEXIST on overlap or -ENOSPC. Only before vCPUs run. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_access_fn *access,
		 void *opaque, const char *name);

/*
 * Dispatches an access; returns 0, or -ENOENT when nothing is registered there (reads then
 * see all ones, as on a real bus with nothing driving it; writes are dropped).
 */
int bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, unsigned len, int is_write);

#endif
