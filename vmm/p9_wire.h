/*
 * 9P2000.L on the wire: message numbers and a bounded reader and writer. The reader never
 * reads past its buffer: a short or malformed message sets a sticky error, and every value
 * read after that is zero. Strings are copied out NUL-terminated and refused when they
 * hold a NUL or do not fit.
 */
#ifndef HVM_P9_WIRE_H
#define HVM_P9_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define P9_HDR       7			/* size[4] type[1] tag[2] */
#define P9_MSIZE_MAX (512 * 1024)	/* the largest message either side may send */
#define P9_MSIZE_MIN 4096
#define P9_IOHDR     24			/* room the client keeps for a read/write header */
#define P9_MAXWELEM  16
#define P9_NOTAG     0xffff
#define P9_NOFID     0xffffffffu

enum p9_type {
	P9_TLERROR = 6, P9_RLERROR, P9_TSTATFS = 8, P9_TLOPEN = 12, P9_TLCREATE = 14,
	P9_TSYMLINK = 16, P9_TMKNOD = 18, P9_TRENAME = 20, P9_TREADLINK = 22, P9_TGETATTR = 24,
	P9_TSETATTR = 26, P9_TXATTRWALK = 30, P9_TXATTRCREATE = 32, P9_TREADDIR = 40,
	P9_TFSYNC = 50, P9_TLOCK = 52, P9_TGETLOCK = 54, P9_TLINK = 70, P9_TMKDIR = 72,
	P9_TRENAMEAT = 74, P9_TUNLINKAT = 76, P9_TVERSION = 100, P9_TAUTH = 102,
	P9_TATTACH = 104, P9_TFLUSH = 108, P9_TWALK = 110, P9_TREAD = 116, P9_TWRITE = 118,
	P9_TCLUNK = 120, P9_TREMOVE = 122,
};

struct p9_in {
	const uint8_t *p;
	size_t len, off;
	int err;		/* -EPROTO once anything was out of bounds */
};

struct p9_out {
	uint8_t *p;
	size_t cap, len;
	int err;		/* -ENOSPC once anything did not fit */
};

/* Integers, little-endian as 9P has them; 0 after an error. */
uint8_t p9_get8(struct p9_in *in);
uint16_t p9_get16(struct p9_in *in);
uint32_t p9_get32(struct p9_in *in);
uint64_t p9_get64(struct p9_in *in);

/* A string[s] copied into buf (cap bytes, NUL-terminated); sets the error when it does not
 * fit or holds a NUL. Returns buf ("" after an error). */
char *p9_get_str(struct p9_in *in, char *buf, size_t cap);

/* len bytes of payload in place, or NULL (and the error) when the message is shorter. */
const uint8_t *p9_get_data(struct p9_in *in, size_t len);

void p9_put8(struct p9_out *out, uint8_t v);
void p9_put16(struct p9_out *out, uint16_t v);
void p9_put32(struct p9_out *out, uint32_t v);
void p9_put64(struct p9_out *out, uint64_t v);
/* A string[s] of len bytes. */
void p9_put_str(struct p9_out *out, const char *s, size_t len);
/* A qid[13]: type, version 0, path. */
void p9_put_qid(struct p9_out *out, uint8_t type, uint64_t path);

/* Starts a reply of type with tag (its size is filled in by p9_end). */
void p9_begin(struct p9_out *out, uint8_t type, uint16_t tag);
/* Writes the reply's size; its length, or -ENOSPC when it did not fit. */
int p9_end(struct p9_out *out);

#endif
