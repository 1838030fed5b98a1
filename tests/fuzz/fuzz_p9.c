/*
 * The 9p share server (vmm/p9_*.c) against hostile message sequences, as a guest kernel could
 * send them. Each input is a series of messages, each "len[2] body[len]": the harness writes
 * the 9P size field itself (a wrong size is covered by the unit test), hands each to
 * p9_server_handle and checks the reply is a well-formed message within the buffer. A file
 * outside the share, reachable only through a symlink in it, must never change.
 *
 * Every input starts from the same share: in (a file), sub/ (a directory), link -> the outside
 * file, up -> ..
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../image/dir.h"
#include "../../vmm/p9_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char outside[128];
static int rootfd = -1;
static uint8_t msg[P9_MSIZE_MAX], reply[P9_MSIZE_MAX];

static void fail(const char *why)
{
	fprintf(stderr, "fuzz_p9: %s\n", why);
	abort();
}

static char top[128];

/* At exit the share and the file outside it go: a run leaves nothing in $TMPDIR. */
static void cleanup(void)
{
	dir_remove_at(AT_FDCWD, top);
}

/* Once: the directory holding the share and the file outside it. */
static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if ((size_t)snprintf(top, sizeof(top), "%s/hvm-fuzz-p9-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	    sizeof(top) || !mkdtemp(top))
		fail("mkdtemp");
	atexit(cleanup);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	int fd = open(outside, O_WRONLY | O_CREAT, 0644);
	if (fd < 0 || write(fd, "SECRET", 6) != 6)
		fail("outside file");
	close(fd);
}

/* Before every input, the share as it started: what one input made or removed must not
 * steer the next (a crash reproduces from its input alone), and a share that grew by a
 * thousand names made every directory read slower. */
static void share_fresh(void)
{
	char p[192];

	if (rootfd >= 0)
		close(rootfd);
	snprintf(p, sizeof(p), "%s/share", top);
	dir_remove_at(AT_FDCWD, p);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/share/sub", top);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/share/in", top);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	snprintf(p, sizeof(p), "%s/share/link", top);
	symlink(outside, p);
	snprintf(p, sizeof(p), "%s/share/up", top);
	symlink("..", p);
	snprintf(p, sizeof(p), "%s/share", top);
	rootfd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		fail("share");
}

static void check_outside(void)
{
	struct stat st;
	char buf[16];
	int fd = open(outside, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

	if (fd >= 0)
		close(fd);
	if (n != 6 || memcmp(buf, "SECRET", 6) || stat(outside, &st) || (st.st_mode & 07777) != 0644)
		fail("the file outside the share changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct p9_server s;
	size_t off = 0;

	if (!top[0])
		setup();
	share_fresh();
	p9_server_init(&s, rootfd, size && (data[0] & 1));
	for (off = 1; off + 2 <= size;) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (len > size - off)
			len = size - off;
		if (len + 4 > sizeof(msg))
			break;
		uint32_t total = (uint32_t)(len + 4);
		memcpy(msg, &total, 4);
		memcpy(msg + 4, data + off, len);
		off += len;
		int n = p9_server_handle(&s, msg, total, reply, sizeof(reply));
		uint32_t said;
		memcpy(&said, reply, 4);
		if (n > 0 && ((size_t)n > sizeof(reply) || said != (uint32_t)n || n < P9_HDR ||
			      reply[4] % 2 == 0))
			fail("malformed reply");
		if (n < 0 && n != -EPROTO)
			fail("unexpected error from p9_server_handle");
	}
	p9_server_reset(&s);
	check_outside();
	return 0;
}
