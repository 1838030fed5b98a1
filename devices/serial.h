/* A 16550A UART: the guest's COM1, carrying the kernel console and (for now) the agent's frames. */
#ifndef HVM_SERIAL_H
#define HVM_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* Receives each byte the guest transmits, in order; called with the UART's lock held. */
typedef void serial_output_fn(void *opaque, uint8_t byte);

#define SERIAL_RX_FIFO 16

struct serial {
	struct vm *vm;
	unsigned irq;
	pthread_mutex_t lock;
	serial_output_fn *output;
	void *opaque;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	int thre_pending;	/* "transmitter empty" interrupt raised and not yet acknowledged */
	int irq_level;		/* last level driven on the interrupt line */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;
};

/* The UART's registers and receive FIFO, as a snapshot keeps them. */
struct serial_state {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, thre_pending, irq_level;
	uint8_t rx[SERIAL_RX_FIFO];
	uint32_t rx_head, rx_count;
};

/* Reads the UART's state (the vCPUs parked). */
void serial_save(struct serial *s, struct serial_state *st);

/* Puts a saved state into an attached UART; -EINVAL for a FIFO out of range. */
int serial_load(struct serial *s, const struct serial_state *st);

/* Attaches a UART at port `base` on interrupt line `irq`; 0 or -errno (logged). */
int serial_attach(struct serial *s, struct vm *vm, uint16_t base, unsigned irq,
		  serial_output_fn *output, void *opaque);

/* Register access, as the bus calls it (exposed for tests). */
void serial_access(void *opaque, uint64_t offset, uint8_t *data, unsigned len, int is_write);

#endif
