#include "console_demux.h"

static void demux_emit_header_as_log(struct console_demux *d, uint8_t last)
{
	d->on_log(d->opaque, CFRAME_MARK);
	if (d->state >= 2)
		d->on_log(d->opaque, d->type);
	if (d->state >= 3)
		d->on_log(d->opaque, (uint8_t)(d->len & 0xff));
	d->on_log(d->opaque, last);
	d->state = 0;
}

void console_demux_feed(struct console_demux *d, uint8_t byte)
{
	switch (d->state) {
	case 0:
		if (byte == CFRAME_MARK)
			d->state = 1;
		else
			d->on_log(d->opaque, byte);
		return;
	case 1:
		d->type = byte;
		d->state = 2;
		return;
	case 2:
		d->len = byte;
		d->state = 3;
		return;
	case 3:
		d->len |= (size_t)byte << 8;
		if (d->len > CFRAME_MAX) {
			demux_emit_header_as_log(d, byte);
			return;
		}
		d->got = 0;
		d->state = 4;
		break;
	default:
		d->payload[d->got++] = byte;
		break;
	}
	if (d->got == d->len) {
		d->state = 0;
		d->on_frame(d->opaque, d->type, d->payload, d->len);
	}
}
