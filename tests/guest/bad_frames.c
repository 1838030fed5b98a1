/*
 * Guest-side test program: opens extra connections to the host's agent port and sends frames
 * that break the protocol (oversized, truncated, unknown type, a valid HELLO followed by a
 * frame the host never accepts from a guest, a HELLO of a protocol version nobody speaks). For each case it prints "CASE: closed" when the
 * host ended the session, or "CASE: open" when it did not within the wait. Built static with
 * musl and put on a test disk by tests/e2e/test_stdio.sh.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "../../proto/protocol.h"

#define WAIT_MS 60000	/* guest kernel code is slow on nested hosts */

static void put_hdr(uint8_t *p, uint32_t type, uint32_t stream, uint32_t len)
{
	uint32_t v[3] = { type, stream, len };

	for (int i = 0; i < 3; i++)
		for (int b = 0; b < 4; b++)
			p[i * 4 + b] = (uint8_t)(v[i] >> (8 * b));
}

static int dial(void)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST,
				 .svm_port = PROTO_PORT_MAIN };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("bad_frames: connect");
		return -1;
	}
	return fd;
}

/* Waits for the host to close: EOF (or reset) on read, anything it says first is skipped. */
static const char *outcome(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096];

	for (;;) {
		if (poll(&p, 1, WAIT_MS) != 1)
			return "open";
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR))
			return "closed";
	}
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void run_case(const char *name, const uint8_t *bytes, size_t len, int half_close)
{
	int fd = dial();

	if (fd < 0) {
		printf("%s: no-connection\n", name);
		return;
	}
	if (send_all(fd, bytes, len) < 0)
		printf("%s: closed\n", name);	/* refused while we were still sending */
	else {
		if (half_close)
			shutdown(fd, SHUT_WR);
		printf("%s: %s\n", name, outcome(fd));
	}
	fflush(stdout);
	close(fd);
}

int main(void)
{
	static uint8_t buf[PROTO_HDR_SIZE + 64];
	static const char hello[] = PROTO_HELLO_JSON("agent");

	put_hdr(buf, PROTO_STDOUT, 0, PROTO_MAX_PAYLOAD + 1);
	run_case("oversized", buf, PROTO_HDR_SIZE, 0);

	put_hdr(buf, PROTO_STDOUT, 0, 1000);
	memset(buf + PROTO_HDR_SIZE, 'x', 10);
	run_case("truncated", buf, PROTO_HDR_SIZE + 10, 1);

	put_hdr(buf, 0x77, 0, 0);
	run_case("unknown-type", buf, PROTO_HDR_SIZE, 0);

	put_hdr(buf, PROTO_HELLO, 0, sizeof(hello) - 1);
	memcpy(buf + PROTO_HDR_SIZE, hello, sizeof(hello) - 1);
	put_hdr(buf + PROTO_HDR_SIZE + sizeof(hello) - 1, PROTO_RUN, 0, 2);
	memcpy(buf + 2 * PROTO_HDR_SIZE + sizeof(hello) - 1, "{}", 2);
	run_case("wrong-direction", buf, 2 * PROTO_HDR_SIZE + sizeof(hello) + 1, 0);

	static const char future[] = "{\"version\":99,\"role\":\"agent\"}";
	put_hdr(buf, PROTO_HELLO, 0, sizeof(future) - 1);
	memcpy(buf + PROTO_HDR_SIZE, future, sizeof(future) - 1);
	run_case("wrong-version", buf, PROTO_HDR_SIZE + sizeof(future) - 1, 0);
	return 0;
}
