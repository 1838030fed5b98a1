/* Frame reading and writing for the agent protocol; compiled into both the agent and hvm-run. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "protocol.h"

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void proto_put_hdr(uint8_t out[PROTO_HDR_SIZE], uint32_t type, uint32_t stream, uint32_t len)
{
	put_le32(out, type);
	put_le32(out + 4, stream);
	put_le32(out + 8, len);
}

int proto_next(struct proto_reader *r, struct proto_hdr *hdr, const uint8_t **payload)
{
	if (r->taken) {
		memmove(r->buf, r->buf + r->taken, r->have - r->taken);
		r->have -= r->taken;
		r->taken = 0;
	}
	if (r->have < PROTO_HDR_SIZE)
		return 0;
	hdr->type = get_le32(r->buf);
	hdr->stream = get_le32(r->buf + 4);
	hdr->len = get_le32(r->buf + 8);
	/* Checked before waiting for the body: a bad length never makes us buffer more. */
	if (hdr->type == 0 || hdr->type >= PROTO_TYPE_MAX || hdr->len > PROTO_MAX_PAYLOAD)
		return -EPROTO;
	if (r->have < PROTO_HDR_SIZE + hdr->len)
		return 0;
	*payload = r->buf + PROTO_HDR_SIZE;
	r->taken = PROTO_HDR_SIZE + hdr->len;
	return 1;
}

uint8_t *proto_space(struct proto_reader *r, size_t *room)
{
	if (r->taken) {
		memmove(r->buf, r->buf + r->taken, r->have - r->taken);
		r->have -= r->taken;
		r->taken = 0;
	}
	*room = sizeof(r->buf) - r->have;
	return r->buf + r->have;
}

void proto_filled(struct proto_reader *r, size_t n)
{
	r->have += n;
}

int proto_flush(int fd, uint8_t *out, size_t *len)
{
	while (*len) {
		ssize_t n = write(fd, out, *len);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		memmove(out, out + n, *len - (size_t)n);
		*len -= (size_t)n;
	}
	return 0;
}

int proto_hello_check(const uint8_t *body, size_t len, char *why, size_t cap)
{
	cJSON *j = cJSON_ParseWithLength((const char *)body, len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
	int err = 0;

	if (!cJSON_IsNumber(v)) {
		snprintf(why, cap, "malformed HELLO (no version)");
		err = -EPROTO;
	} else if (v->valueint != PROTO_VERSION) {
		snprintf(why, cap, "peer speaks protocol version %d, this side %d", v->valueint,
			 PROTO_VERSION);
		err = -EPROTONOSUPPORT;
	}
	cJSON_Delete(j);
	return err;
}
