/*
 * The agent protocol's framing over hostile byte streams: the same bytes are fed to one
 * reader at once and to another in pieces (as reads from a socket come), and both must
 * return the same frames, then the same verdict. HELLO bodies go through proto_hello_check.
 *
 * Input: byte 0 seeds the piece sizes (1 to 64 bytes); the rest is the stream.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../proto/protocol.h"

#define MAX_FRAMES 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct frame {
	struct proto_hdr hdr;
	size_t off;		/* where its payload starts in the stream */
};

static struct proto_reader whole, pieces;
static struct frame frames[MAX_FRAMES];

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_proto: %s\n", why);
	abort();
}

/* Feeds n bytes into r as reads would; returns how many it took. */
static size_t feed(struct proto_reader *r, const uint8_t *p, size_t n)
{
	size_t room;
	uint8_t *dst = proto_space(r, &room);

	if (n > room)
		n = room;
	memcpy(dst, p, n);
	proto_filled(r, n);
	return n;
}

/* Checks a returned frame: its payload is inside the reader, just after its header. */
static void check_frame(const struct proto_reader *r, const struct proto_hdr *h, const uint8_t *payload)
{
	if (h->type == 0 || h->type >= PROTO_TYPE_MAX || h->len > PROTO_MAX_PAYLOAD)
		fail("a frame the reader should have refused");
	if (payload < r->buf + PROTO_HDR_SIZE || payload + h->len > r->buf + r->have)
		fail("payload outside the bytes read");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *stream = data + 1;
	size_t len = size ? size - 1 : 0, n = 0, at = 0, pos = 0;
	unsigned seed = size ? data[0] : 0, k = 0;
	struct proto_hdr h;
	const uint8_t *payload;
	int r1, r2 = 0;
	char why[128];

	memset(&whole, 0, sizeof(whole));
	memset(&pieces, 0, sizeof(pieces));
	feed(&whole, stream, len);
	while (n < MAX_FRAMES && (r1 = proto_next(&whole, &h, &payload)) == 1) {
		check_frame(&whole, &h, payload);
		frames[n++] = (struct frame){ .hdr = h, .off = pos + PROTO_HDR_SIZE };
		pos += PROTO_HDR_SIZE + h.len;
		if (h.type == PROTO_HELLO)
			proto_hello_check(payload, h.len, why, sizeof(why));
	}
	if (n == MAX_FRAMES)
		return 0;
	/* The same stream in pieces: each frame as soon as its last byte is in. */
	while (at < len || r2 == 1) {
		if (r2 != 1) {
			seed = seed * 1103515245u + 12345u;
			at += feed(&pieces, stream + at, 1 + (seed >> 16) % 64 < len - at ?
				   1 + (seed >> 16) % 64 : len - at);
		}
		r2 = proto_next(&pieces, &h, &payload);
		if (r2 < 0)
			break;
		if (r2 == 1) {
			check_frame(&pieces, &h, payload);
			if (k >= n || memcmp(&h, &frames[k].hdr, sizeof(h)) != 0 ||
			    memcmp(payload, stream + frames[k].off, h.len) != 0)
				fail("frames differ between whole and piecewise reading");
			k++;
		}
	}
	if (k != n || (r1 < 0) != (r2 < 0))
		fail("whole and piecewise reading end differently");
	return 0;
}
