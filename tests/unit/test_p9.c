/*
 * The 9p share server (vmm/p9_*.c) against crafted messages, as a hostile guest kernel could
 * send them: malformed lengths, names with "/" or "..", walks and opens through symlinks to
 * files outside the share, changes to a read-only share. Each case checks the reply and
 * what is on disk afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/p9_server.h"
#include "../harness.h"

struct msg {
	uint8_t b[8192];
	size_t n;
};

static uint8_t reply[P9_MSIZE_MAX];
static char top[64], share[96], secret[96];
static int rootfd = -1;

static void put(struct msg *m, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		m->b[m->n++] = (uint8_t)(v >> (8 * i));
}

static void put_s(struct msg *m, const char *s)
{
	put(m, strlen(s), 2);
	memcpy(m->b + m->n, s, strlen(s));
	m->n += strlen(s);
}

static struct msg *begin(uint8_t type)
{
	static struct msg m;

	m.n = 4;
	put(&m, type, 1);
	put(&m, 1, 2);	/* tag */
	return &m;
}

/* Sends m (its size filled in); the reply's type, its body in *r. */
static int call(struct p9_server *s, struct msg *m, struct p9_in *r)
{
	for (int i = 0; i < 4; i++)
		m->b[i] = (uint8_t)(m->n >> (8 * i));
	int n = p9_server_handle(s, m->b, m->n, reply, sizeof(reply));
	*r = (struct p9_in){ .p = reply, .len = n > 0 ? (size_t)n : 0, .off = P9_HDR };
	return n < 0 ? n : reply[4];
}

/* The errno of an Rlerror reply, or 0 when the reply is not one. */
static uint32_t lerror(struct p9_server *s, struct msg *m)
{
	struct p9_in r;

	return call(s, m, &r) == P9_RLERROR ? p9_get32(&r) : 0;
}

static void setup_tree(void)
{
	snprintf(top, sizeof(top), "/tmp/hvm-test-p9-XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(secret, sizeof(secret), "%s/secret", top);
	CHECK_EQ(mkdir(share, 0755), 0);
	int fd = open(secret, O_WRONLY | O_CREAT, 0644);
	CHECK_EQ(write(fd, "TOP-SECRET", 10), 10);
	close(fd);
	char p[160];
	snprintf(p, sizeof(p), "%s/in", share);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	CHECK_EQ(write(fd, "from-host\n", 10), 10);
	close(fd);
	snprintf(p, sizeof(p), "%s/abs-link", share);
	CHECK_EQ(symlink(secret, p), 0);
	snprintf(p, sizeof(p), "%s/dir-link", share);
	CHECK_EQ(symlink(top, p), 0);
	rootfd = open(share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(rootfd >= 0);
}

/* Version and attach: fid 1 is the share's root. */
static void start(struct p9_server *s, int read_only)
{
	struct msg *m;
	struct p9_in r;

	p9_server_init(s, rootfd, read_only);
	m = begin(P9_TVERSION);
	put(m, 8192, 4);
	put_s(m, "9P2000.L");
	CHECK_EQ(call(s, m, &r), P9_TVERSION + 1);
	m = begin(P9_TATTACH);
	put(m, 1, 4);
	put(m, P9_NOFID, 4);
	put_s(m, "root");
	put_s(m, "");
	put(m, 0, 4);
	CHECK_EQ(call(s, m, &r), P9_TATTACH + 1);
}

static struct msg *walk(uint32_t fid, uint32_t newfid, int n, const char *const *names)
{
	struct msg *m = begin(P9_TWALK);

	put(m, fid, 4);
	put(m, newfid, 4);
	put(m, (uint64_t)n, 2);
	for (int i = 0; i < n; i++)
		put_s(m, names[i]);
	return m;
}

static struct msg *lopen(uint32_t fid, uint32_t flags)
{
	struct msg *m = begin(P9_TLOPEN);

	put(m, fid, 4);
	put(m, flags, 4);
	return m;
}

static void test_version(void)
{
	struct p9_server s;
	struct p9_in r;
	char v[32];
	struct msg *m;

	p9_server_init(&s, rootfd, 0);
	m = begin(P9_TVERSION);
	put(m, 4 << 20, 4);
	put_s(m, "9P2000.L");
	CHECK_EQ(call(&s, m, &r), P9_TVERSION + 1);
	CHECK_EQ(p9_get32(&r), P9_MSIZE_MAX);	/* bounded by ours */
	CHECK_STR(p9_get_str(&r, v, sizeof(v)), "9P2000.L");
	m = begin(P9_TVERSION);
	put(m, 8192, 4);
	put_s(m, "9P2000.u");
	CHECK_EQ(call(&s, m, &r), P9_TVERSION + 1);
	p9_get32(&r);
	CHECK_STR(p9_get_str(&r, v, sizeof(v)), "unknown");
}

static void test_read_a_file(void)
{
	struct p9_server s;
	struct p9_in r;
	struct msg *m;

	start(&s, 0);
	CHECK_EQ(call(&s, walk(1, 2, 1, (const char *[]){ "in" }), &r), P9_TWALK + 1);
	CHECK_EQ(p9_get16(&r), 1);
	CHECK_EQ(call(&s, lopen(2, O_RDONLY), &r), P9_TLOPEN + 1);
	m = begin(P9_TREAD);
	put(m, 2, 4);
	put(m, 0, 8);
	put(m, 100, 4);
	CHECK_EQ(call(&s, m, &r), P9_TREAD + 1);
	CHECK_EQ(p9_get32(&r), 10);
	CHECK(memcmp(p9_get_data(&r, 10), "from-host\n", 10) == 0);
	p9_server_reset(&s);
}

static void test_names_never_leave(void)
{
	struct p9_server s;

	start(&s, 0);
	CHECK_EQ(lerror(&s, walk(1, 2, 1, (const char *[]){ ".." })), EINVAL);
	CHECK_EQ(lerror(&s, walk(1, 2, 1, (const char *[]){ "." })), EINVAL);
	CHECK_EQ(lerror(&s, walk(1, 2, 1, (const char *[]){ "" })), EINVAL);
	CHECK_EQ(lerror(&s, walk(1, 2, 1, (const char *[]){ "../secret" })), EINVAL);
	CHECK_EQ(lerror(&s, walk(1, 2, 1, (const char *[]){ secret })), EINVAL);
	CHECK_EQ(lerror(&s, walk(1, 2, 2, (const char *[]){ "in", ".." })), EINVAL);
	struct msg *m = begin(P9_TLCREATE);
	put(m, 1, 4);
	put_s(m, "../escaped");
	put(m, O_RDWR, 4);
	put(m, 0644, 4);
	put(m, 0, 4);
	CHECK_EQ(lerror(&s, m), EINVAL);
	char p[160];
	snprintf(p, sizeof(p), "%s/escaped", top);
	CHECK(access(p, F_OK) < 0);
	p9_server_reset(&s);
}

static void test_symlinks_never_followed(void)
{
	struct p9_server s;
	struct p9_in r;
	char target[160];

	start(&s, 0);
	/* The link itself can be walked to and read, never opened. */
	CHECK_EQ(call(&s, walk(1, 2, 1, (const char *[]){ "abs-link" }), &r), P9_TWALK + 1);
	CHECK_EQ(p9_get16(&r), 1);
	CHECK_EQ(p9_get8(&r), 0x02);	/* qid type symlink */
	CHECK_EQ(lerror(&s, lopen(2, O_RDONLY)), ELOOP);
	struct msg *m = begin(P9_TREADLINK);
	put(m, 2, 4);
	CHECK_EQ(call(&s, m, &r), P9_TREADLINK + 1);
	CHECK_STR(p9_get_str(&r, target, sizeof(target)), secret);
	/* chmod and truncate through the link reach nothing. */
	m = begin(P9_TSETATTR);
	put(m, 2, 4);
	put(m, 0x1 | 0x8, 4);	/* mode, size */
	put(m, 0777, 4);
	put(m, 0, 4);
	put(m, 0, 4);
	put(m, 0, 8);
	for (int i = 0; i < 4; i++)
		put(m, 0, 8);
	CHECK_EQ(lerror(&s, m), ELOOP);
	struct stat st;
	CHECK_EQ(stat(secret, &st), 0);
	CHECK_EQ(st.st_size, 10);
	CHECK_EQ(st.st_mode & 0777, 0644);
	/* Nor is a directory link walked through: the walk stops at the link. */
	CHECK_EQ(call(&s, walk(1, 3, 2, (const char *[]){ "dir-link", "secret" }), &r),
		 P9_TWALK + 1);
	CHECK_EQ(p9_get16(&r), 1);	/* a partial walk: fid 3 is not made */
	m = begin(P9_TCLUNK);
	put(m, 3, 4);
	CHECK_EQ(lerror(&s, m), EBADF);
	/* Creating over a link does not write its target. */
	m = begin(P9_TLCREATE);
	put(m, 1, 4);
	put_s(m, "abs-link");
	put(m, O_RDWR | O_TRUNC, 4);
	put(m, 0644, 4);
	put(m, 0, 4);
	CHECK_EQ(lerror(&s, m), ELOOP);
	CHECK_EQ(stat(secret, &st), 0);
	CHECK_EQ(st.st_size, 10);
	p9_server_reset(&s);
}

static void test_read_only(void)
{
	struct p9_server s;
	struct msg *m;

	start(&s, 1);
	CHECK_EQ(call(&s, walk(1, 2, 1, (const char *[]){ "in" }), &(struct p9_in){ 0 }),
		 P9_TWALK + 1);
	CHECK_EQ(lerror(&s, lopen(2, O_WRONLY)), EROFS);
	CHECK_EQ(lerror(&s, lopen(2, O_RDONLY | O_TRUNC)), EROFS);
	m = begin(P9_TLCREATE);
	put(m, 1, 4);
	put_s(m, "new");
	put(m, O_RDWR, 4);
	put(m, 0644, 4);
	put(m, 0, 4);
	CHECK_EQ(lerror(&s, m), EROFS);
	m = begin(P9_TMKDIR);
	put(m, 1, 4);
	put_s(m, "d");
	put(m, 0755, 4);
	put(m, 0, 4);
	CHECK_EQ(lerror(&s, m), EROFS);
	m = begin(P9_TUNLINKAT);
	put(m, 1, 4);
	put_s(m, "in");
	put(m, 0, 4);
	CHECK_EQ(lerror(&s, m), EROFS);
	char p[160];
	snprintf(p, sizeof(p), "%s/in", share);
	CHECK_EQ(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/new", share);
	CHECK(access(p, F_OK) < 0);
	p9_server_reset(&s);
}

static void test_malformed(void)
{
	struct p9_server s;
	struct p9_in r;
	struct msg *m;

	start(&s, 0);
	m = begin(P9_TWALK);	/* nwname past the limit */
	put(m, 1, 4);
	put(m, 2, 4);
	put(m, P9_MAXWELEM + 1, 2);
	CHECK_EQ(lerror(&s, m), EINVAL);
	m = begin(P9_TWALK);	/* a name longer than the message */
	put(m, 1, 4);
	put(m, 2, 4);
	put(m, 1, 2);
	put(m, 5000, 2);
	CHECK_EQ(lerror(&s, m), EPROTO);
	m = begin(P9_TWRITE);	/* more data announced than sent */
	put(m, 1, 4);
	put(m, 0, 8);
	put(m, 100000, 4);
	put(m, 0, 4);
	CHECK_EQ(lerror(&s, m), EPROTO);
	m = begin(P9_TGETATTR);	/* a field missing */
	put(m, 1, 4);
	CHECK_EQ(lerror(&s, m), EPROTO);
	m = begin(P9_TCLUNK);	/* the size field disagrees with the length */
	put(m, 1, 4);
	m->b[0] = 200;
	CHECK_EQ(p9_server_handle(&s, m->b, m->n, reply, sizeof(reply)), -EPROTO);
	m = begin(P9_TVERSION + 1);	/* an R-message */
	CHECK_EQ(call(&s, m, &r), -EPROTO);
	m = begin(P9_TREMOVE);	/* not served */
	put(m, 1, 4);
	CHECK_EQ(lerror(&s, m), EOPNOTSUPP);
	m = begin(P9_TGETATTR);	/* an unknown fid */
	put(m, 77, 4);
	put(m, 0x7ff, 8);
	CHECK_EQ(lerror(&s, m), EBADF);
	p9_server_reset(&s);
}

static void test_create_rename_open(void)
{
	struct p9_server s;
	struct p9_in r;
	struct msg *m;
	struct stat st;
	char p[160];

	start(&s, 0);
	CHECK_EQ(call(&s, walk(1, 2, 0, NULL), &r), P9_TWALK + 1);
	m = begin(P9_TLCREATE);
	put(m, 2, 4);
	put_s(m, "made");
	put(m, O_RDWR, 4);
	put(m, 0640, 4);
	put(m, 12345, 4);	/* a guest gid: not applied */
	CHECK_EQ(call(&s, m, &r), P9_TLCREATE + 1);
	m = begin(P9_TWRITE);
	put(m, 2, 4);
	put(m, 0, 8);
	put(m, 3, 4);
	memcpy(m->b + m->n, "abc", 3);
	m->n += 3;
	CHECK_EQ(call(&s, m, &r), P9_TWRITE + 1);
	CHECK_EQ(p9_get32(&r), 3);
	snprintf(p, sizeof(p), "%s/made", share);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_size, 3);
	CHECK_EQ(st.st_uid, getuid());
	CHECK_EQ(st.st_mode & 0777, 0640);
	/* Renamed, the walked fid still opens it. */
	CHECK_EQ(call(&s, walk(1, 3, 1, (const char *[]){ "made" }), &r), P9_TWALK + 1);
	m = begin(P9_TRENAMEAT);
	put(m, 1, 4);
	put_s(m, "made");
	put(m, 1, 4);
	put_s(m, "renamed");
	CHECK_EQ(call(&s, m, &r), P9_TRENAMEAT + 1);
	CHECK_EQ(call(&s, lopen(3, O_RDONLY), &r), P9_TLOPEN + 1);
	snprintf(p, sizeof(p), "%s/renamed", share);
	CHECK_EQ(unlink(p), 0);
	p9_server_reset(&s);
}

static void teardown(void)
{
	char cmd[128];

	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	CHECK_EQ(system(cmd), 0);
}

static void test_all(void)
{
	setup_tree();
	test_version();
	test_read_a_file();
	test_names_never_leave();
	test_symlinks_never_followed();
	test_read_only();
	test_malformed();
	test_create_rename_open();
	teardown();
}

HARNESS_MAIN(test_all)
