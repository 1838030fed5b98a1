/*
 * The agent protocol, shared by the host (hvm-run) and the agent. See docs/agent-protocol.md.
 *
 * Boot-time settings travel in a second initramfs archive (RUN_REQUEST_PATH). Everything
 * about processes travels over vsock: the agent connects to the host (CID 2) on
 * PROTO_PORT_MAIN; later sessions (exec) connect from the host to the agent's
 * PROTO_PORT_EXEC. Each side first sends HELLO; then frames:
 *
 *   struct proto_hdr (12 bytes, little endian) | payload (len bytes, len <= PROTO_MAX_PAYLOAD)
 *
 * Control frames carry a JSON object; stdio frames carry raw bytes. A frame with an unknown
 * type, a length over the cap, or a malformed body ends the session with an ERROR frame.
 */
#ifndef HVM_AGENT_PROTOCOL_H
#define HVM_AGENT_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION     2
#define PROTO_PORT_MAIN   1024		/* host port the agent connects to */
#define PROTO_PORT_EXEC   1025		/* guest port for further sessions (hvm-run exec) */
#define PROTO_CONNECT_TIMEOUT_S 600	/* the agent waits this long for the host to answer */
#define PROTO_MAX_PAYLOAD (64 * 1024)
#define PROTO_HDR_SIZE    12
/*
 * Stdin the host may have sent and the agent not yet acknowledged (STDIN_ACK). The agent can
 * always take that much, so it never stops reading the connection for stdin's sake and
 * SIGNAL/RESIZE are never stuck behind stdin a process does not read.
 */
#define PROTO_STDIN_WINDOW (256 * 1024)

#define PROTO_STR(x)  #x
#define PROTO_XSTR(x) PROTO_STR(x)
/* Bytes of fresh randomness a REFRESH carries for the guest's RNG (hex-encoded). */
#define PROTO_REFRESH_SEED 64

/* The HELLO body for a role ("agent" or "host"). */
#define PROTO_HELLO_JSON(role) \
	"{\"version\":" PROTO_XSTR(PROTO_VERSION) ",\"role\":\"" role "\"}"

enum proto_type {
	PROTO_HELLO = 1,	/* JSON {"version": PROTO_VERSION, "role": "agent"|"host"} */
	PROTO_RUN,		/* host: JSON process spec (see docs); stream = its id */
	PROTO_STDIN,		/* host: bytes for the process's stdin; empty = EOF */
	PROTO_STDOUT,		/* agent: bytes the process wrote to stdout (or its tty) */
	PROTO_STDERR,		/* agent: bytes the process wrote to stderr */
	PROTO_SIGNAL,		/* host: JSON {"signal": N} for the process */
	PROTO_RESIZE,		/* host: JSON {"rows": R, "cols": C} for the process's tty */
	PROTO_EXIT,		/* agent: JSON {"status": N} or {"signal": N} */
	PROTO_ERROR,		/* agent: JSON {"message": "..."}; the session ends */
	PROTO_STDIN_ACK,	/* agent: JSON {"bytes": N}, N more stdin bytes taken by the process */
	PROTO_REFRESH,		/* host: JSON {"time_ns": T, "seed": HEX, "hostname": H}: a restored VM */
	PROTO_TYPE_MAX,
};

struct proto_hdr {
	uint32_t type;
	uint32_t stream;	/* process id within the session; 0 for the session itself */
	uint32_t len;
};

/* An incremental frame reader over a byte stream (a socket read in any-sized pieces). */
struct proto_reader {
	uint8_t buf[PROTO_HDR_SIZE + PROTO_MAX_PAYLOAD];
	size_t have;		/* bytes in buf */
	size_t taken;		/* bytes of the frame last returned, dropped on the next call */
};

/*
 * Takes the next complete frame out of r: returns 1 with hdr and payload set (payload points
 * into r and stays valid until the next proto_next or proto_space), 0 when more bytes are
 * needed, -EPROTO when the stream holds an invalid frame (unknown type, oversized length).
 */
int proto_next(struct proto_reader *r, struct proto_hdr *hdr, const uint8_t **payload);

/* Where and how much a reader can take now (read(fd, proto_space(r, &n), n)). */
uint8_t *proto_space(struct proto_reader *r, size_t *room);

/* Records that n bytes were read into proto_space(). */
void proto_filled(struct proto_reader *r, size_t n);

/* Writes the queued frames out[0..*len) to a non-blocking fd until it would block, keeping
 * what is left at the front; 0 (all written, or the rest waits) or the write's -errno. */
int proto_flush(int fd, uint8_t *out, size_t *len);

/*
 * The agent's JSON bodies, written and read here so that both sides agree on them. The
 * writers return a malloc'd string (NULL: out of memory); the readers -EPROTO for a body
 * that is not what its type promises.
 */
/* EXIT's body for a waitpid status: {"signal": N} when a signal ended it, else {"status": N}. */
char *proto_exit_json(int wait_status);
/* EXIT's body as hvm_wait reports it: the status (0-255), or 128+N for signal N (1-127). */
int proto_exit_parse(const uint8_t *body, size_t len);
/* STDIN_ACK's body: {"bytes": N}, at most PROTO_ACK_JSON_MAX bytes with its NUL. */
#define PROTO_ACK_JSON_MAX 48
char *proto_ack_json(size_t bytes);
/* STDIN_ACK's byte count, which must be 1 to max (what was sent and not yet acknowledged). */
int proto_ack_parse(const uint8_t *body, size_t len, size_t max, size_t *bytes);
/* ERROR's body: {"message": msg}. */
char *proto_error_json(const char *msg);
/* ERROR's message into msg (cut to cap; control characters as '?': it is printed as one
 * line), or "error (no message)" when it has none. */
void proto_error_parse(const uint8_t *body, size_t len, char *msg, size_t cap);

/* Checks a HELLO body: 0 when its version is ours; else -EPROTO/-EPROTONOSUPPORT and why. */
int proto_hello_check(const uint8_t *body, size_t len, char *why, size_t cap);

/* Encodes a header into 12 bytes. */
void proto_put_hdr(uint8_t out[PROTO_HDR_SIZE], uint32_t type, uint32_t stream, uint32_t len);

/* Boot-time settings the host appends to the initramfs: "key=value\0" records. */
#define RUN_REQUEST_PATH "/hvm/run"
#define RUN_KEY_ROOT     "root"		/* serial of the disk holding the root file system */
#define RUN_KEY_OVERLAY  "overlay"	/* "0": the root disk as is, read-only; else tmpfs on top */
#define RUN_KEY_MOUNT    "mount"	/* SERIAL:ro|rw[,nosuid][,nodev][,noexec]:GUEST_PATH, per disk volume */
#define RUN_KEY_SHARE    "share"	/* PORT:ro|rw[,...]:GUEST_PATH, per directory volume: 9p
					 * on a vsock connection to host port PORT */
#define RUN_KEY_QUIET    "quiet"	/* "1": keep kernel messages off the console */
#define RUN_KEY_NO_AVX   "no_avx"	/* "1": the guest kernel cannot preserve AVX state */
#define RUN_KEY_NET_ADDR "net.addr"	/* eth0's IPv4 address: A.B.C.D/PREFIX */
#define RUN_KEY_NET_GW   "net.gw"	/* IPv4 default gateway */
#define RUN_KEY_NET_MTU  "net.mtu"	/* eth0's MTU */
#define RUN_KEY_NET_DNS  "net.dns"	/* a name server for /etc/resolv.conf; repeatable */
#define RUN_KEY_HOSTNAME "hostname"	/* the guest's host name (default "hvm") */
#define RUN_KEY_WARM     "warm"		/* a program a template's boot reads ahead; repeatable */
#define RUN_MAX_DNS      3		/* what resolv.conf readers take */

#endif
