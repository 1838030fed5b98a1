/* The bounded 9P reader and writer (p9_wire.h). */
#include "p9_wire.h"

#include <errno.h>
#include <string.h>

/* The one place a guest length is checked against what the message holds. */
static const uint8_t *take(struct p9_in *in, size_t n)
{
	const uint8_t *p;

	if (in->err || n > in->len - in->off) {
		in->err = -EPROTO;
		return NULL;
	}
	p = in->p + in->off;
	in->off += n;
	return p;
}

static uint64_t get_le(struct p9_in *in, size_t n)
{
	const uint8_t *p = take(in, n);
	uint64_t v = 0;

	for (size_t i = 0; p && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t p9_get8(struct p9_in *in)
{
	return (uint8_t)get_le(in, 1);
}

uint16_t p9_get16(struct p9_in *in)
{
	return (uint16_t)get_le(in, 2);
}

uint32_t p9_get32(struct p9_in *in)
{
	return (uint32_t)get_le(in, 4);
}

uint64_t p9_get64(struct p9_in *in)
{
	return get_le(in, 8);
}

char *p9_get_str(struct p9_in *in, char *buf, size_t cap)
{
	uint16_t n = p9_get16(in);
	const uint8_t *p = take(in, n);

	buf[0] = '\0';
	if (!p)
		return buf;
	if (n >= cap || memchr(p, '\0', n)) {
		in->err = -EPROTO;
		return buf;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

const uint8_t *p9_get_data(struct p9_in *in, size_t len)
{
	return take(in, len);
}

static uint8_t *room(struct p9_out *out, size_t n)
{
	uint8_t *p;

	if (out->err || n > out->cap - out->len) {
		out->err = -ENOSPC;
		return NULL;
	}
	p = out->p + out->len;
	out->len += n;
	return p;
}

static void put_le(struct p9_out *out, uint64_t v, size_t n)
{
	uint8_t *p = room(out, n);

	for (size_t i = 0; p && i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void p9_put8(struct p9_out *out, uint8_t v)
{
	put_le(out, v, 1);
}

void p9_put16(struct p9_out *out, uint16_t v)
{
	put_le(out, v, 2);
}

void p9_put32(struct p9_out *out, uint32_t v)
{
	put_le(out, v, 4);
}

void p9_put64(struct p9_out *out, uint64_t v)
{
	put_le(out, v, 8);
}

void p9_put_str(struct p9_out *out, const char *s, size_t len)
{
	uint8_t *p;

	if (len > UINT16_MAX) {
		out->err = -ENOSPC;
		return;
	}
	p9_put16(out, (uint16_t)len);
	if ((p = room(out, len)))
		memcpy(p, s, len);
}

void p9_put_qid(struct p9_out *out, uint8_t type, uint64_t path)
{
	p9_put8(out, type);
	p9_put32(out, 0);
	p9_put64(out, path);
}

void p9_begin(struct p9_out *out, uint8_t type, uint16_t tag)
{
	out->len = 0;
	out->err = 0;
	p9_put32(out, 0);
	p9_put8(out, type);
	p9_put16(out, tag);
}

int p9_end(struct p9_out *out)
{
	size_t n = out->len;

	if (out->err)
		return out->err;
	for (int i = 0; i < 4; i++)
		out->p[i] = (uint8_t)(n >> (8 * i));
	return (int)n;
}
