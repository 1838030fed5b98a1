/*
 * A 9P2000.L file server for one share (docs/volumes.md): every object the client names is
 * reached from the share's directory one name at a time, never through a symlink and never
 * by "..", so a hostile guest kernel cannot leave the directory. Single-threaded; one
 * connection per server.
 */
#ifndef HVM_P9_SERVER_H
#define HVM_P9_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "p9_wire.h"

#define P9_FID_BUCKETS 1024
#define P9_MAX_FIDS    (64 * 1024)

struct p9_fid {
	struct p9_fid *next;
	uint32_t id;
	int pathfd;		/* O_PATH|O_NOFOLLOW on the object itself (a symlink stays one) */
	int dirfd;		/* O_PATH on the directory holding it; -1 for the share's root */
	char *name;		/* its name in dirfd; NULL for the root */
	int openfd;		/* after Tlopen or Tlcreate, else -1 */
};

struct p9_server {
	int rootfd;		/* O_PATH on the share's directory */
	int read_only;		/* every change is refused with EROFS */
	uint32_t msize;
	struct p9_fid *fids[P9_FID_BUCKETS];
	unsigned nfids;
};

/* Sets up a server for the directory rootfd (an O_PATH descriptor it does not own). */
void p9_server_init(struct p9_server *s, int rootfd, int read_only);

/* Drops every fid (their descriptors closed). */
void p9_server_reset(struct p9_server *s);

/* Answers one whole request (req, len bytes, size field included) into out (cap bytes, at
 * least msize); the reply's length, or -EPROTO when req is no message to answer: the
 * connection should end then. */
int p9_server_handle(struct p9_server *s, const uint8_t *req, size_t len, uint8_t *out,
		     size_t cap);

/* Serves the connected socket fd until the client closes it or stop_fd (-1: none) becomes
 * readable or hangs up; 0 or -errno. */
int p9_server_run(struct p9_server *s, int fd, int stop_fd);

/* ---- p9_ops.c and p9_ops_dir.c: one function per request, for the dispatcher ---------- */

/* The fid with number id, or NULL. */
struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t id);
/* A new fid numbered id (-EEXIST when taken, -ENFILE past P9_MAX_FIDS), descriptors -1. */
int p9_fid_new(struct p9_server *s, uint32_t id, struct p9_fid **out);
/* Closes and frees fid id; -EBADF when there is none. */
int p9_fid_drop(struct p9_server *s, uint32_t id);

/* Every op reads its request body from in and appends its reply body to out; 0 or -errno
 * (then the dispatcher answers Rlerror). */
typedef int p9_op(struct p9_server *s, struct p9_in *in, struct p9_out *out);
p9_op p9_op_attach, p9_op_walk, p9_op_getattr, p9_op_setattr, p9_op_lopen, p9_op_lcreate,
	p9_op_read, p9_op_write, p9_op_fsync, p9_op_statfs, p9_op_readlink, p9_op_lock,
	p9_op_getlock;
p9_op p9_op_readdir, p9_op_mkdir, p9_op_symlink, p9_op_mknod, p9_op_unlinkat,
	p9_op_renameat, p9_op_link;

/* Reads a name the client sends for one directory entry: non-empty, no '/', not "." or
 * "..", at most NAME_MAX bytes. 0 or -errno (-EPROTO for a malformed message). */
int p9_get_name(struct p9_in *in, char *buf, size_t cap);

/* Opens name in dirfd (one component, O_NOFOLLOW, never leaving dirfd); fd or -errno. */
int p9_open_beneath(int dirfd, const char *name, int flags, unsigned mode);

/* A real descriptor on f's object (a directory or a regular file; a symlink is ELOOP, any
 * other kind EPERM) opened with flags: its name is opened again in its directory and must
 * still be the object the fid walked to (else ESTALE). fd or -errno. */
int p9_fid_reopen(const struct p9_fid *f, int flags);

/* Appends the qid of the object pathfd (or name in it when name is not NULL); 0 or -errno. */
int p9_put_qid_of(struct p9_out *out, int pathfd, const char *name);

#endif
