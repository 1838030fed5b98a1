/* A session: one host connection, the frames on it, and the process it runs. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

struct session sessions[AGENT_MAX_SESSIONS];

struct session *session_add(int fd, int main_session)
{
	for (int i = 0; i < AGENT_MAX_SESSIONS; i++) {
		struct session *s = &sessions[i];
		if (s->fd >= 0 && s->out)
			continue;
		memset(s, 0, sizeof(*s));
		s->out = malloc(AGENT_OUTBUF);
		if (!s->out)
			return NULL;
		s->fd = fd;
		s->main = main_session;
		s->proc = (struct process){ .in_fd = -1, .out_fd = -1, .err_fd = -1 };
		static const char hello[] = PROTO_HELLO_JSON("agent");
		session_send(s, PROTO_HELLO, hello, sizeof(hello) - 1);
		return s;
	}
	return NULL;
}

int session_send(struct session *s, uint32_t type, const void *payload, size_t len)
{
	if (len > PROTO_MAX_PAYLOAD || PROTO_HDR_SIZE + len > AGENT_OUTBUF - s->outlen)
		return -ENOBUFS;
	proto_put_hdr(s->out + s->outlen, type, type == PROTO_HELLO ? 0 : 1, (uint32_t)len);
	memcpy(s->out + s->outlen + PROTO_HDR_SIZE, payload, len);
	s->outlen += PROTO_HDR_SIZE + len;
	return 0;
}

/* Sends a body from proto_*_json, and frees it. */
static int session_send_json(struct session *s, uint32_t type, char *text)
{
	int err = text ? session_send(s, type, text, strlen(text)) : -ENOMEM;

	free(text);
	return err;
}

void session_error(struct session *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * Output never takes the last AGENT_CTL_RESERVE bytes, so this fits after it; cutting
	 * queued output instead could split a frame (the head may be half written already).
	 */
	session_send_json(s, PROTO_ERROR, proto_error_json(msg));
	s->closing = 1;
}

int session_ack_due(const struct session *s)
{
	/* Batched while the process is still reading, so a slow reader costs few frames. */
	return !s->closing && s->proc.consumed &&
	       (!s->proc.inlen || s->proc.consumed >= AGENT_INBUF / 4);
}

void session_ack_stdin(struct session *s)
{
	struct process *p = &s->proc;

	if (!session_ack_due(s))
		return;
	/* Never into the room kept for EXIT or ERROR; consumed waits for the next try. */
	if (AGENT_OUTBUF - s->outlen < AGENT_CTL_RESERVE + PROTO_HDR_SIZE + PROTO_ACK_JSON_MAX)
		return;
	if (session_send_json(s, PROTO_STDIN_ACK, proto_ack_json(p->consumed)) == 0)
		p->consumed = 0;
}

int session_send_exit(struct session *s)
{
	return session_send_json(s, PROTO_EXIT, proto_exit_json(s->proc.status));
}

/* One frame from the host. Returns 0, or -1 when the session must end. */
static int session_frame(struct session *s, const struct proto_hdr *h, const uint8_t *body,
			 int no_avx)
{
	char why[256];

	if (!s->hello && h->type != PROTO_HELLO) {
		session_error(s, "expected HELLO first");
		return -1;
	}
	switch (h->type) {
	case PROTO_HELLO:
		if (proto_hello_check(body, h->len, why, sizeof(why)) < 0) {
			session_error(s, "%s", why);
			return -1;
		}
		s->hello = 1;
		return 0;
	case PROTO_RUN:
		if (s->proc.pid) {
			session_error(s, "one process per session");
			return -1;
		}
		if (process_start(&s->proc, body, h->len, no_avx, why, sizeof(why)) < 0) {
			session_error(s, "%s", why);
			return -1;
		}
		return 0;
	case PROTO_STDIN: {
		int err = process_stdin(&s->proc, body, h->len);
		if (err == -ENOBUFS)
			session_error(s, "stdin beyond the %d-byte window", PROTO_STDIN_WINDOW);
		else if (err)
			session_error(s, "stdin: %s", strerror(-err));
		return err ? -1 : 0;
	}
	case PROTO_SIGNAL:
		process_signal(&s->proc, body, h->len);
		return 0;
	case PROTO_RESIZE:
		process_resize(&s->proc, body, h->len);
		return 0;
	case PROTO_REFRESH:
		if (refresh_apply(body, h->len, why, sizeof(why)) < 0) {
			session_error(s, "%s", why);
			return -1;
		}
		return 0;
	default:
		session_error(s, "frame type %u is not for the agent", h->type);
		return -1;
	}
}

static void session_parse(struct session *s, int no_avx)
{
	struct proto_hdr h;
	const uint8_t *body;
	int r;

	while ((r = proto_next(&s->rd, &h, &body)) == 1)
		if (session_frame(s, &h, body, no_avx) < 0)
			return;	/* an error frame is queued; it is flushed before closing */
	if (r < 0)
		session_error(s, "invalid frame (unknown type or over %d bytes)", PROTO_MAX_PAYLOAD);
}

/*
 * Whether a failed connection was reset by the transport (a restore) rather than closed by
 * its host: the driver then leaves ECONNRESET as the socket's error, and reads see ENOTCONN
 * (or EOF), never the error itself.
 */
static int session_was_reset(int fd, int err)
{
	int so_error = 0;
	socklen_t len = sizeof(so_error);

	if (err == ECONNRESET)
		return 1;
	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 &&
	       so_error == ECONNRESET;
}

int session_read(struct session *s, int no_avx)
{
	size_t room;
	uint8_t *space = proto_space(&s->rd, &room);
	ssize_t n = room ? read(s->fd, space, room) : -1;

	if (room && (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))) {
		s->reset = session_was_reset(s->fd, n < 0 ? errno : 0);
		return -1;	/* the host went away */
	}
	if (n > 0)
		proto_filled(&s->rd, (size_t)n);
	session_parse(s, no_avx);
	return 0;
}

int session_flush(struct session *s)
{
	int err = proto_flush(s->fd, s->out, &s->outlen);

	if (err)
		s->reset = session_was_reset(s->fd, -err);
	return err ? -1 : 0;
}

void session_reattach(struct session *s, int fd)
{
	static const char hello[] = PROTO_HELLO_JSON("agent");

	close(s->fd);
	s->fd = fd;
	memset(&s->rd, 0, sizeof(s->rd));
	/* What was queued may have left half-written: the new host starts at a frame. */
	s->outlen = 0;
	s->hello = s->reset = 0;
	s->closing = 0;		/* a lost EXIT is sent again (session_progress) */
	s->proc.consumed = 0;	/* the new host's stdin window starts empty */
	session_send(s, PROTO_HELLO, hello, sizeof(hello) - 1);
}

void session_close(struct session *s)
{
	if (s->proc.pid > 0 && !s->proc.exited)
		kill(s->proc.pid, SIGKILL);	/* a session's process does not outlive it */
	process_close(&s->proc);
	if (s->fd >= 0)
		close(s->fd);
	free(s->out);
	s->out = NULL;
	s->fd = -1;
}
