/*
 * Agent -> host framing on the serial console, shared by both sides. The console also carries
 * kernel messages, so every agent record is a frame the host can pick out of the byte stream:
 *
 *   0x1e | type | length (2 bytes, little endian) | payload (length bytes, <= CFRAME_MAX)
 *
 * Bytes outside frames are kernel log. A stopgap until stdio moves to vsock.
 */
#ifndef HVM_AGENT_PROTOCOL_H
#define HVM_AGENT_PROTOCOL_H

#define CFRAME_MARK     0x1e	/* ASCII record separator: never in kernel log text */
#define CFRAME_HEADER   4
#define CFRAME_MAX      4096

enum cframe_type {
	CFRAME_STDOUT = 'o',	/* bytes the command wrote to stdout */
	CFRAME_STDERR = 'e',	/* bytes the command wrote to stderr */
	CFRAME_EXIT   = 'x',	/* 1 byte: the exit status hvm-run returns (128+N for signal N) */
	CFRAME_ERROR  = '!',	/* the agent's own failure, as text; an exit frame follows */
};

/* The run request the host appends to the initramfs: "key=value\0" records. */
#define RUN_REQUEST_PATH "/hvm/run"
#define RUN_KEY_ARG      "arg"		/* one per argv element, in order */
#define RUN_KEY_ENV      "env"		/* NAME=VALUE, one per variable, later ones win */
#define RUN_KEY_CWD      "cwd"		/* working directory (created if missing) */
#define RUN_KEY_USER     "user"		/* USER[:GROUP], names or numbers, looked up in the root */
#define RUN_KEY_ROOT     "root"		/* serial of the disk holding the root file system */
#define RUN_KEY_OVERLAY  "overlay"	/* "0": the root disk as is, read-only; else tmpfs on top */
#define RUN_KEY_MOUNT    "mount"	/* SERIAL:ro|rw:GUEST_PATH, one per volume */
#define RUN_KEY_QUIET    "quiet"	/* "1": keep kernel messages off the console */
#define RUN_KEY_NO_AVX   "no_avx"	/* "1": the guest kernel cannot preserve AVX state */

#endif
