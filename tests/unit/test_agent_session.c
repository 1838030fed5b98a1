/*
 * The stdin window of the agent protocol, both ends over a socketpair: the agent's session
 * code (built for the host) runs real processes (cat, sleep); the host's is libhvm's.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../agent/agent.h"
#include "../../vmm/host_session.h"
#include "../harness.h"

static uint8_t big[PROTO_MAX_PAYLOAD];

/* A connected pair: [0] the test's end (blocking), [1] the end under test (non-blocking). */
static void pair(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One round of what the agent's main loop does for a session. */
static void agent_round(struct session *s)
{
	session_read(s, 0);
	process_flush_stdin(&s->proc);
	session_ack_stdin(s);
	session_flush(s);
}

/* Writes a frame to the agent's session, letting the agent read while the socket is full. */
static void send_frame(int fd, struct session *s, uint32_t type, const void *body, size_t len)
{
	static uint8_t frame[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];
	size_t total = PROTO_HDR_SIZE + len, done = 0;

	proto_put_hdr(frame, type, 1, (uint32_t)len);
	memcpy(frame + PROTO_HDR_SIZE, body, len);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (done < total && !s->closing) {
		ssize_t n = write(fd, frame + done, total - done);
		if (n > 0)
			done += (size_t)n;
		agent_round(s);
	}
	fcntl(fd, F_SETFL, 0);
}

static void send_text(int fd, struct session *s, uint32_t type, const char *text)
{
	send_frame(fd, s, type, text, strlen(text));
}

/* Reads the frames the agent wrote: sums STDIN_ACK bytes, keeps the last ERROR's body. */
static size_t host_frames(int fd, char *error, size_t cap)
{
	static struct proto_reader rd;
	struct proto_hdr h;
	const uint8_t *body;
	size_t acked = 0, room;
	ssize_t n;

	memset(&rd, 0, sizeof(rd));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		uint8_t *space = proto_space(&rd, &room);
		if ((n = read(fd, space, room)) <= 0)
			break;
		proto_filled(&rd, (size_t)n);
		while (proto_next(&rd, &h, &body) == 1) {
			if (h.type == PROTO_STDIN_ACK)
				acked += strtoul(strchr((const char *)body, ':') + 1, NULL, 10);
			if (h.type == PROTO_ERROR && error)
				snprintf(error, cap, "%.*s", (int)h.len, (const char *)body);
		}
	}
	fcntl(fd, F_SETFL, 0);
	return acked;
}

static struct session *agent_session(int sv[2])
{
	signal(SIGPIPE, SIG_IGN);	/* as the agent does */
	pair(sv);
	struct session *s = session_add(sv[1], 0);
	CHECK(s != NULL);
	send_text(sv[0], s, PROTO_HELLO, PROTO_HELLO_JSON("host"));
	return s;
}

/* Stdin that arrives before RUN is the process's first input, not lost. */
static void stdin_before_run_is_kept(void)
{
	int sv[2];
	struct session *s = agent_session(sv);
	char out[64] = "";
	size_t have = 0;

	send_text(sv[0], s, PROTO_STDIN, "early ");
	send_text(sv[0], s, PROTO_RUN, "{\"argv\":[\"cat\"],\"stdin\":true}");
	send_text(sv[0], s, PROTO_STDIN, "late");
	send_text(sv[0], s, PROTO_STDIN, "");
	for (double end = now() + 10; s->proc.out_fd >= 0 && now() < end;) {
		agent_round(s);
		ssize_t n = read(s->proc.out_fd, out + have, sizeof(out) - 1 - have);
		if (n == 0)
			break;
		if (n > 0)
			have += (size_t)n;
		else
			usleep(1000);
	}
	CHECK_STR(out, "early late");
	CHECK_EQ(host_frames(sv[0], NULL, 0), strlen("early late"));
	session_close(s);
	close(sv[0]);
}

/* A SIGNAL queued behind a full window of stdin the process never reads still arrives. */
static void signal_passes_unread_stdin(void)
{
	int sv[2], st = 0;
	struct session *s = agent_session(sv);

	send_text(sv[0], s, PROTO_RUN, "{\"argv\":[\"sleep\",\"30\"],\"stdin\":true}");
	for (int i = 0; i < PROTO_STDIN_WINDOW / PROTO_MAX_PAYLOAD; i++)
		send_frame(sv[0], s, PROTO_STDIN, big, sizeof(big));
	send_text(sv[0], s, PROTO_SIGNAL, "{\"signal\":15}");
	CHECK(!s->closing);
	for (double end = now() + 10; now() < end; usleep(1000))
		if (waitpid(s->proc.pid, &st, WNOHANG) == s->proc.pid)
			break;
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	s->proc.exited = 1;
	session_close(s);
	close(sv[0]);
}

/* A host that sends more than the window ends the session with an ERROR saying so. */
static void window_overrun_is_an_error(void)
{
	int sv[2];
	struct session *s = agent_session(sv);
	char error[256] = "";

	/* Before RUN nothing is consumed: the window is exactly what can be queued. */
	for (int i = 0; i < PROTO_STDIN_WINDOW / PROTO_MAX_PAYLOAD; i++)
		send_frame(sv[0], s, PROTO_STDIN, big, sizeof(big));
	CHECK(!s->closing);
	send_frame(sv[0], s, PROTO_STDIN, big, 1);
	CHECK(s->closing);
	host_frames(sv[0], error, sizeof(error));
	CHECK(strstr(error, "window") != NULL);
	session_close(s);
	close(sv[0]);
}

/*
 * REFRESH bodies the agent refuses before touching the RNG or the clock (a valid one would
 * set this host's clock: the e2e tests send those, to a guest).
 */
static void bad_refresh_is_an_error(void)
{
	static const char *const bodies[][2] = {
		{ "{\"time_ns\":1}", "refresh: needs" },
		{ "{\"seed\":\"00\",\"time_ns\":1}", "refresh: seed must be 64 hex bytes" },
		{ "not json", "refresh: needs" },
	};
	char zeros[2 * PROTO_REFRESH_SEED + 1];

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		int sv[2];
		struct session *s = agent_session(sv);
		char error[256] = "";
		send_text(sv[0], s, PROTO_REFRESH, bodies[i][0]);
		CHECK(s->closing);
		host_frames(sv[0], error, sizeof(error));
		CHECK(strstr(error, bodies[i][1]) != NULL);
		session_close(s);
		close(sv[0]);
	}
	/* Upper-case hex is not what the host sends. */
	memset(zeros, 'A', sizeof(zeros) - 1);
	zeros[sizeof(zeros) - 1] = '\0';
	char body[256];
	snprintf(body, sizeof(body), "{\"seed\":\"%s\",\"time_ns\":1}", zeros);
	int sv[2];
	struct session *s = agent_session(sv);
	char error[256] = "";
	send_text(sv[0], s, PROTO_REFRESH, body);
	host_frames(sv[0], error, sizeof(error));
	CHECK(strstr(error, "refresh: seed is not lower-case hex") != NULL);
	session_close(s);
	close(sv[0]);
}

/* hvm's side: stdin stops at the window, a signal still fits, an ACK reopens the window. */
static void host_keeps_window_and_room(void)
{
	int sv[2], in[2];
	struct host_session *h = calloc(1, sizeof(*h));
	uint8_t frame[64];
	const char ack[] = "{\"bytes\":65536}", hello[] = PROTO_HELLO_JSON("agent");

	pair(sv);
	CHECK(pipe2(in, O_CLOEXEC | O_NONBLOCK) == 0);
	host_session_init(h, sv[1], "test", NULL, 1, 1, -1, -1);
	proto_put_hdr(frame, PROTO_HELLO, 0, sizeof(hello) - 1);
	CHECK(write(sv[0], frame, PROTO_HDR_SIZE) == PROTO_HDR_SIZE);
	CHECK(write(sv[0], hello, sizeof(hello) - 1) == (ssize_t)sizeof(hello) - 1);
	CHECK_EQ(host_session_read(h), 0);
	for (int i = 0; i < 8 && host_session_wants_stdin(h); i++) {
		CHECK(write(in[1], big, sizeof(big)) > 0);
		host_session_stdin(h, in[0]);
		CHECK_EQ(host_session_flush(h), 0);	/* the socket takes what it can */
	}
	CHECK_EQ(h->stdin_inflight, PROTO_STDIN_WINDOW);
	CHECK(!host_session_wants_stdin(h));
	size_t before = h->outlen;
	host_session_signal(h, SIGINT);
	CHECK(h->outlen > before);

	proto_put_hdr(frame, PROTO_STDIN_ACK, 1, sizeof(ack) - 1);
	memcpy(frame + PROTO_HDR_SIZE, ack, sizeof(ack) - 1);
	CHECK(write(sv[0], frame, PROTO_HDR_SIZE + sizeof(ack) - 1) > 0);
	CHECK_EQ(host_session_read(h), 0);
	CHECK_EQ(h->stdin_inflight, PROTO_STDIN_WINDOW - 65536);

	/* Acknowledging more than was sent is the agent misbehaving. */
	static const char bad[] = "{\"bytes\":999999999}";
	proto_put_hdr(frame, PROTO_STDIN_ACK, 1, sizeof(bad) - 1);
	memcpy(frame + PROTO_HDR_SIZE, bad, sizeof(bad) - 1);
	CHECK(write(sv[0], frame, PROTO_HDR_SIZE + sizeof(bad) - 1) > 0);
	CHECK_EQ(host_session_read(h), -1);
	CHECK(h->error && strstr(h->why, "acknowledgement") != NULL);
	close(sv[0]);
	close(sv[1]);
	close(in[0]);
	close(in[1]);
	free(h);
}

HARNESS_MAIN(stdin_before_run_is_kept, signal_passes_unread_stdin, window_overrun_is_an_error,
	     bad_refresh_is_an_error, host_keeps_window_and_room)
