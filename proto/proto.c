/* Frame reading and writing for the agent protocol; compiled into both the agent and hvm-run. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

/* The body printed, and freed: a malloc'd string or NULL. */
static char *json_print(cJSON *j)
{
	char *text = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return text;
}

char *proto_exit_json(int wait_status)
{
	cJSON *j = cJSON_CreateObject();

	if (j && WIFSIGNALED(wait_status))
		cJSON_AddNumberToObject(j, "signal", WTERMSIG(wait_status));
	else if (j)
		cJSON_AddNumberToObject(j, "status", WEXITSTATUS(wait_status));
	return json_print(j);
}

int proto_exit_parse(const uint8_t *body, size_t len)
{
	cJSON *j = cJSON_ParseWithLength((const char *)body, len);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(j, "signal");
	int status = -EPROTO;

	if (cJSON_IsNumber(sig) && sig->valueint > 0 && sig->valueint < 128)
		status = 128 + sig->valueint;
	else if (cJSON_IsNumber(st) && st->valueint >= 0 && st->valueint <= 255)
		status = st->valueint;
	cJSON_Delete(j);
	return status;
}

char *proto_ack_json(size_t bytes)
{
	char body[PROTO_ACK_JSON_MAX];

	snprintf(body, sizeof(body), "{\"bytes\":%zu}", bytes);
	return strdup(body);
}

int proto_ack_parse(const uint8_t *body, size_t len, size_t max, size_t *bytes)
{
	cJSON *j = cJSON_ParseWithLength((const char *)body, len);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "bytes");
	int ok = cJSON_IsNumber(n) && n->valuedouble >= 1 && n->valuedouble <= (double)max;

	if (ok)
		*bytes = (size_t)n->valuedouble;
	cJSON_Delete(j);
	return ok ? 0 : -EPROTO;
}

char *proto_error_json(const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	if (j)
		cJSON_AddStringToObject(j, "message", msg);
	return json_print(j);
}

void proto_error_parse(const uint8_t *body, size_t len, char *msg, size_t cap)
{
	cJSON *j = cJSON_ParseWithLength((const char *)body, len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");

	snprintf(msg, cap, "%s", cJSON_IsString(m) ? m->valuestring : "error (no message)");
	cJSON_Delete(j);
}
