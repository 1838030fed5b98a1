/* Splits the guest console byte stream into agent frames and kernel log text. */
#ifndef HVM_CONSOLE_DEMUX_H
#define HVM_CONSOLE_DEMUX_H

#include <stddef.h>
#include <stdint.h>

#include "../agent/protocol.h"

struct console_demux {
	/* A complete frame (payload len <= CFRAME_MAX). */
	void (*on_frame)(void *opaque, int type, const uint8_t *payload, size_t len);
	/* One byte of text outside any frame. */
	void (*on_log)(void *opaque, uint8_t byte);
	void *opaque;
	unsigned state;		/* bytes of the current frame's header seen so far; 0: in text */
	uint8_t type;
	size_t len, got;
	uint8_t payload[CFRAME_MAX];
};

/* Feeds one byte; frames with an oversized length are turned back into log text. */
void console_demux_feed(struct console_demux *d, uint8_t byte);

#endif
