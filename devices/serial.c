#include "serial.h"

#include <errno.h>
#include <string.h>

#include "../core/bus.h"
#include "../core/vm.h"

enum {
	UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
	UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define IER_RDI         0x01	/* received data available */
#define IER_THRI        0x02	/* transmitter holding register empty */
#define IER_MASK        0x0f
#define IIR_NO_INT      0x01
#define IIR_THRI        0x02
#define IIR_RDI         0x04
#define IIR_FIFO_ON     0xc0
#define FCR_ENABLE_FIFO 0x01
#define FCR_CLEAR_RCVR  0x02
#define LCR_DLAB        0x80
#define LSR_DR          0x01
#define LSR_THRE        0x20
#define LSR_TEMT        0x40
#define MCR_LOOP        0x10
#define MSR_CTS_DSR_DCD 0xb0

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE_FIFO) ? IIR_FIFO_ON : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* Drives the line from the interrupt state; an edge only when the state changes. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vm, s->irq, level);
	}
}

static void serial_rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count == SERIAL_RX_FIFO)
		return;	/* overrun: the byte is lost, as on the hardware */
	s->rx[(s->rx_head + s->rx_count++) % SERIAL_RX_FIFO] = byte;
}

static uint8_t serial_rx_pop(struct serial *s)
{
	uint8_t byte;

	if (!s->rx_count)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	return byte;
}

static void serial_transmit(struct serial *s, uint8_t byte)
{
	/* The holding register fills and drains at once: the line drops and rises again. */
	s->thre_pending = 0;
	serial_update_irq(s);
	if (s->mcr & MCR_LOOP)
		serial_rx_push(s, byte);
	else
		s->output(s->opaque, byte);
	s->thre_pending = 1;
}

static void serial_write(struct serial *s, uint64_t reg, uint8_t v)
{
	int dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			s->dll = v;
		else
			serial_transmit(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling the THR interrupt while the THR is empty raises it at once. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thre_pending = 1;
		s->ier = v & IER_MASK;
		break;
	case UART_IIR_FCR:
		s->fcr = v & ~(FCR_CLEAR_RCVR | 0x04);
		if (v & FCR_CLEAR_RCVR)
			s->rx_count = 0;
		break;
	case UART_LCR: s->lcr = v; break;
	case UART_MCR: s->mcr = v & 0x1f; break;
	case UART_SCR: s->scr = v; break;
	default: break;	/* LSR and MSR are read-only */
	}
}

/* In loopback the modem inputs mirror the outputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
static uint8_t serial_msr(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_CTS_DSR_DCD;
	return (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
			 ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
}

static uint8_t serial_read(struct serial *s, uint64_t reg)
{
	int dlab = s->lcr & LCR_DLAB;
	uint8_t iir;

	switch (reg) {
	case UART_RBR_THR: return dlab ? s->dll : serial_rx_pop(s);
	case UART_IER: return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR:
		iir = serial_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((iir & 0x0f) == IIR_THRI)
			s->thre_pending = 0;
		return iir;
	case UART_LCR: return s->lcr;
	case UART_MCR: return s->mcr;
	case UART_LSR: return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case UART_MSR: return serial_msr(s);
	default: return s->scr;
	}
}

void serial_access(void *opaque, uint64_t offset, uint8_t *data, unsigned len, int is_write)
{
	struct serial *s = opaque;

	if (len != 1) {	/* the UART has byte registers only */
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write(s, offset, data[0]);
	else
		data[0] = serial_read(s, offset);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_attach(struct serial *s, struct vm *vm, uint16_t base, unsigned irq,
		  serial_output_fn *output, void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->vm = vm;
	s->irq = irq;
	s->output = output;
	s->opaque = opaque;
	s->thre_pending = 0;
	pthread_mutex_init(&s->lock, NULL);
	return bus_register(&vm->pio, base, 8, serial_access, s, "serial");
}

void serial_save(struct serial *s, struct serial_state *st)
{
	pthread_mutex_lock(&s->lock);
	*st = (struct serial_state){
		.ier = s->ier, .lcr = s->lcr, .mcr = s->mcr, .scr = s->scr, .fcr = s->fcr,
		.dll = s->dll, .dlm = s->dlm, .thre_pending = (uint8_t)s->thre_pending,
		.irq_level = (uint8_t)s->irq_level, .rx_head = s->rx_head, .rx_count = s->rx_count,
	};
	memcpy(st->rx, s->rx, sizeof(st->rx));
	pthread_mutex_unlock(&s->lock);
}

int serial_load(struct serial *s, const struct serial_state *st)
{
	if (st->rx_head >= SERIAL_RX_FIFO || st->rx_count > SERIAL_RX_FIFO)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier;
	s->lcr = st->lcr;
	s->mcr = st->mcr;
	s->scr = st->scr;
	s->fcr = st->fcr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->thre_pending = st->thre_pending;
	s->irq_level = st->irq_level;	/* the irqchip's restored line has this level */
	memcpy(s->rx, st->rx, sizeof(s->rx));
	s->rx_head = st->rx_head;
	s->rx_count = st->rx_count;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
