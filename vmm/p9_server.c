/* The 9P share server's fid table, dispatcher and connection loop (p9_server.h). */
#include "p9_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void p9_server_init(struct p9_server *s, int rootfd, int read_only)
{
	memset(s, 0, sizeof(*s));
	s->rootfd = rootfd;
	s->read_only = read_only;
	s->msize = P9_MSIZE_MAX;
}

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t id)
{
	struct p9_fid *f = s->fids[id % P9_FID_BUCKETS];

	while (f && f->id != id)
		f = f->next;
	return f;
}

int p9_fid_new(struct p9_server *s, uint32_t id, struct p9_fid **out)
{
	struct p9_fid *f;

	if (id == P9_NOFID || p9_fid_get(s, id))
		return -EEXIST;
	if (s->nfids >= P9_MAX_FIDS)
		return -ENFILE;
	if (!(f = calloc(1, sizeof(*f))))
		return -ENOMEM;
	*f = (struct p9_fid){ .id = id, .pathfd = -1, .dirfd = -1, .openfd = -1,
			      .next = s->fids[id % P9_FID_BUCKETS] };
	s->fids[id % P9_FID_BUCKETS] = f;
	s->nfids++;
	*out = f;
	return 0;
}

static void fid_free(struct p9_fid *f)
{
	int fds[] = { f->pathfd, f->dirfd, f->openfd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(f->name);
	free(f);
}

int p9_fid_drop(struct p9_server *s, uint32_t id)
{
	struct p9_fid **pp = &s->fids[id % P9_FID_BUCKETS];

	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	if (!*pp)
		return -EBADF;
	struct p9_fid *f = *pp;
	*pp = f->next;
	fid_free(f);
	s->nfids--;
	return 0;
}

void p9_server_reset(struct p9_server *s)
{
	for (int b = 0; b < P9_FID_BUCKETS; b++)
		while (s->fids[b]) {
			struct p9_fid *f = s->fids[b];
			s->fids[b] = f->next;
			fid_free(f);
		}
	s->nfids = 0;
}

/* Tversion: the msize both can live with; anything but 9P2000.L is "unknown". */
static int op_version(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	uint32_t msize = p9_get32(in);
	char version[32];

	p9_get_str(in, version, sizeof(version));
	if (in->err)
		return in->err;
	p9_server_reset(s);
	if (msize > P9_MSIZE_MAX)
		msize = P9_MSIZE_MAX;
	if (msize < P9_MSIZE_MIN)
		return -EINVAL;
	s->msize = msize;
	p9_put32(out, msize);
	if (strncmp(version, "9P2000.L", 8) == 0)
		p9_put_str(out, "9P2000.L", 8);
	else
		p9_put_str(out, "unknown", 7);
	return 0;
}

static int op_clunk(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	uint32_t fid = p9_get32(in);

	(void)out;
	return in->err ? in->err : p9_fid_drop(s, fid);
}

/* Requests are answered in order, so there is never one in flight to flush. */
static int op_flush(struct p9_server *s, struct p9_in *in, struct p9_out *out)
{
	(void)s;
	(void)out;
	p9_get16(in);
	return in->err;
}

static p9_op *op_for(uint8_t type)
{
	switch (type) {
	case P9_TVERSION: return op_version;
	case P9_TATTACH: return p9_op_attach;
	case P9_TWALK: return p9_op_walk;
	case P9_TCLUNK: return op_clunk;
	case P9_TFLUSH: return op_flush;
	case P9_TGETATTR: return p9_op_getattr;
	case P9_TSETATTR: return p9_op_setattr;
	case P9_TLOPEN: return p9_op_lopen;
	case P9_TLCREATE: return p9_op_lcreate;
	case P9_TREAD: return p9_op_read;
	case P9_TWRITE: return p9_op_write;
	case P9_TFSYNC: return p9_op_fsync;
	case P9_TSTATFS: return p9_op_statfs;
	case P9_TREADLINK: return p9_op_readlink;
	case P9_TLOCK: return p9_op_lock;
	case P9_TGETLOCK: return p9_op_getlock;
	case P9_TREADDIR: return p9_op_readdir;
	case P9_TMKDIR: return p9_op_mkdir;
	case P9_TSYMLINK: return p9_op_symlink;
	case P9_TMKNOD: return p9_op_mknod;
	case P9_TUNLINKAT: return p9_op_unlinkat;
	case P9_TRENAMEAT: return p9_op_renameat;
	case P9_TLINK: return p9_op_link;
	default: return NULL;	/* xattrs, Tauth, Tremove, 9P2000's own: EOPNOTSUPP */
	}
}

int p9_server_handle(struct p9_server *s, const uint8_t *req, size_t len, uint8_t *buf,
		     size_t cap)
{
	struct p9_in in = { .p = req, .len = len };
	struct p9_out out = { .p = buf, .cap = cap < s->msize ? cap : s->msize };
	uint32_t size = p9_get32(&in);
	uint8_t type = p9_get8(&in);
	uint16_t tag = p9_get16(&in);
	p9_op *op = op_for(type);
	int err;

	if (in.err || size != len || type % 2)	/* only T-messages (even numbers) */
		return -EPROTO;
	p9_begin(&out, (uint8_t)(type + 1), tag);
	err = op ? op(s, &in, &out) : -EOPNOTSUPP;
	if (!err && in.err)
		err = in.err;	/* a field was missing: the message was malformed */
	if (!err && (err = p9_end(&out)) > 0)
		return err;
	if (err == -EPROTO && type == P9_TVERSION)
		return -EPROTO;
	p9_begin(&out, P9_RLERROR, tag);
	p9_put32(&out, (uint32_t)-err);
	return p9_end(&out);
}
