#include "host_session.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../core/fd_write.h"

#define HOST_HELLO PROTO_HELLO_JSON("host")

void host_session_init(struct host_session *s, int fd, const char *name, char *run_json,
		       int forward_stdin, int agent, int out_fd, int err_fd)
{
	memset(&s->rd, 0, sizeof(s->rd));
	s->agent = agent;
	s->fd = fd;
	s->name = name;
	s->outlen = 0;
	s->run_json = run_json;
	s->hello = s->done = s->error = 0;
	s->status = HOST_EXIT_ERROR;
	s->stdin_open = forward_stdin;
	s->stdin_inflight = 0;
	s->out_fd = out_fd;
	s->err_fd = err_fd;
	s->why[0] = '\0';
	s->hold_run = s->refresh = 0;
	s->refresh_hostname = NULL;
	proto_put_hdr(s->out, PROTO_HELLO, 0, sizeof(HOST_HELLO) - 1);
	memcpy(s->out + PROTO_HDR_SIZE, HOST_HELLO, sizeof(HOST_HELLO) - 1);
	s->outlen = PROTO_HDR_SIZE + sizeof(HOST_HELLO) - 1;
}

static int queue(struct host_session *s, uint32_t type, const void *data, size_t len)
{
	if (len > PROTO_MAX_PAYLOAD || PROTO_HDR_SIZE + len > sizeof(s->out) - s->outlen)
		return -ENOBUFS;
	proto_put_hdr(s->out + s->outlen, type, type == PROTO_HELLO ? 0 : 1, (uint32_t)len);
	if (len)	/* an empty frame may come with no data pointer at all */
		memcpy(s->out + s->outlen + PROTO_HDR_SIZE, data, len);
	s->outlen += PROTO_HDR_SIZE + len;
	return 0;
}

int host_session_wants_stdin(const struct host_session *s)
{
	return s->stdin_open && s->hello && s->stdin_inflight < PROTO_STDIN_WINDOW &&
	       sizeof(s->out) - s->outlen >= PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD + HOST_CTL_RESERVE;
}

static void end(struct host_session *s, int status, int error)
{
	s->done = 1;
	s->status = status;
	s->error = error;
}

/* Ends the session in an error: "NAME: why". */
__attribute__((format(printf, 2, 3)))
static void fail(struct host_session *s, const char *fmt, ...)
{
	int n = snprintf(s->why, sizeof(s->why), "%s: ", s->name);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why + n, sizeof(s->why) - (size_t)n, fmt, ap);
	va_end(ap);
	end(s, HOST_EXIT_ERROR, 1);
}

static void on_exit_frame(struct host_session *s, const uint8_t *body, size_t len)
{
	int status = proto_exit_parse(body, len);

	if (status >= 0)
		end(s, status, 0);
	else
		fail(s, "malformed exit report");
}

/* The agent's process took more stdin: that much more may be sent. */
static int on_stdin_ack(struct host_session *s, const uint8_t *body, size_t len)
{
	size_t n;

	if (proto_ack_parse(body, len, s->stdin_inflight, &n) < 0) {
		fail(s, "malformed stdin acknowledgement; session ended");
		return -1;
	}
	s->stdin_inflight -= n;
	return 0;
}

static void on_error_frame(struct host_session *s, const uint8_t *body, size_t len)
{
	char msg[1024];

	proto_error_parse(body, len, msg, sizeof(msg));
	fail(s, "%s", msg);
}

static int send_run(struct host_session *s)
{
	if (s->run_json && queue(s, PROTO_RUN, s->run_json, strlen(s->run_json)) < 0) {
		fail(s, "process spec too large");
		return -1;
	}
	free(s->run_json);	/* sent once: a second HELLO gets no second RUN */
	s->run_json = NULL;
	return 0;
}

/* REFRESH for a restored VM: fresh entropy and the wall clock now, at the agent's HELLO. */
static int queue_refresh(struct host_session *s)
{
	uint8_t seed[PROTO_REFRESH_SEED];
	char hex[2 * PROTO_REFRESH_SEED + 1];
	struct timespec now;
	cJSON *j;
	char *text;
	int err;

	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return -EIO;
	for (size_t i = 0; i < sizeof(seed); i++)
		snprintf(hex + 2 * i, 3, "%02x", seed[i]);
	explicit_bzero(seed, sizeof(seed));
	clock_gettime(CLOCK_REALTIME, &now);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "seed", hex);
	cJSON_AddNumberToObject(j, "time_ns", (double)now.tv_sec * 1e9 + (double)now.tv_nsec);
	if (s->refresh_hostname)
		cJSON_AddStringToObject(j, "hostname", s->refresh_hostname);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	explicit_bzero(hex, sizeof(hex));
	err = text ? queue(s, PROTO_REFRESH, text, strlen(text)) : -ENOMEM;
	if (text)
		explicit_bzero(text, strlen(text));
	free(text);
	return err;
}

void host_session_release_run(struct host_session *s)
{
	s->hold_run = 0;
	if (s->hello && !s->done)
		send_run(s);
}

/* Returns 0, or -1 when the frame ends the session. */
static int on_frame(struct host_session *s, const struct proto_hdr *h, const uint8_t *body)
{
	if (!s->agent && h->type != PROTO_HELLO) {
		fail(s, "unexpected frame type %u; session ended", h->type);
		return -1;
	}
	if (!s->hello && h->type != PROTO_HELLO) {
		fail(s, "frame before HELLO; session ended");
		return -1;
	}
	switch (h->type) {
	case PROTO_HELLO: {
		char why[128];
		if (proto_hello_check(body, h->len, why, sizeof(why)) < 0) {
			fail(s, "%s; session ended", why);
			return -1;
		}
		s->hello = 1;
		if (s->refresh && queue_refresh(s) < 0) {
			fail(s, "no room for the refresh of a restored VM");
			return -1;
		}
		return s->hold_run ? 0 : send_run(s);
	}
	case PROTO_STDOUT: fd_write_all(s->out_fd, body, h->len, 1); return 0;
	case PROTO_STDERR: fd_write_all(s->err_fd, body, h->len, 1); return 0;
	case PROTO_STDIN_ACK: return on_stdin_ack(s, body, h->len);
	case PROTO_EXIT: on_exit_frame(s, body, h->len); return -1;
	case PROTO_ERROR: on_error_frame(s, body, h->len); return -1;
	default:
		fail(s, "unexpected frame type %u; session ended", h->type);
		return -1;
	}
}

int host_session_read(struct host_session *s)
{
	struct proto_hdr h;
	const uint8_t *body;
	size_t room;
	uint8_t *space = proto_space(&s->rd, &room);
	ssize_t n = read(s->fd, space, room);
	int r;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		fail(s, "connection closed%s",
		     s->rd.have ? " in the middle of a frame" : " without an exit report");
		return -1;
	}
	proto_filled(&s->rd, (size_t)n);
	while ((r = proto_next(&s->rd, &h, &body)) == 1)
		if (on_frame(s, &h, body) < 0)
			return -1;
	if (r < 0) {
		fail(s, "invalid frame (unknown type or over %d bytes); session ended",
		     PROTO_MAX_PAYLOAD);
		return -1;
	}
	return 0;
}

int host_session_flush(struct host_session *s)
{
	return proto_flush(s->fd, s->out, &s->outlen) ? -1 : 0;
}

void host_session_stdin(struct host_session *s, int fd)
{
	uint8_t buf[PROTO_MAX_PAYLOAD];
	size_t window = PROTO_STDIN_WINDOW - s->stdin_inflight;
	ssize_t n;

	if (!host_session_wants_stdin(s))
		return;
	n = read(fd, buf, window < sizeof(buf) ? window : sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		s->stdin_open = 0;
		queue(s, PROTO_STDIN, NULL, 0);	/* EOF */
		return;
	}
	queue(s, PROTO_STDIN, buf, (size_t)n);
	s->stdin_inflight += (size_t)n;
}

static void queue_json(struct host_session *s, uint32_t type, cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);

	if (text)
		queue(s, type, text, strlen(text));
	free(text);
	cJSON_Delete(j);
}

void host_session_signal(struct host_session *s, int sig)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "signal", sig);
	queue_json(s, PROTO_SIGNAL, j);
}

void host_session_resize(struct host_session *s, unsigned rows, unsigned cols)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "rows", rows);
	cJSON_AddNumberToObject(j, "cols", cols);
	queue_json(s, PROTO_RESIZE, j);
}

void host_session_close(struct host_session *s)
{
	free(s->run_json);
	s->run_json = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static cJSON *string_array(char *const *list)
{
	cJSON *a = cJSON_CreateArray();

	for (; list && *list; list++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*list));
	return a;
}

char *host_session_run_json(char *const *argv, char *const *env, const char *cwd,
			    const char *user, int tty, unsigned rows, unsigned cols, int want_stdin)
{
	cJSON *j = cJSON_CreateObject();
	char *text;

	cJSON_AddItemToObject(j, "argv", string_array(argv));
	cJSON_AddItemToObject(j, "env", string_array(env));
	if (cwd)
		cJSON_AddStringToObject(j, "cwd", cwd);
	if (user)
		cJSON_AddStringToObject(j, "user", user);
	cJSON_AddBoolToObject(j, "tty", tty);
	cJSON_AddBoolToObject(j, "stdin", want_stdin);
	cJSON_AddNumberToObject(j, "rows", rows);
	cJSON_AddNumberToObject(j, "cols", cols);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return text;
}
