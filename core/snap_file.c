#include "snap_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "err.h"

#define SNAP_STATE_MAGIC "HVMSNAP\0"
#define SNAP_MEM_MAGIC   "HVMMEM\0\0"
#define SNAP_PAGE        4096u
#define SNAP_RUN_MAX     (1u << 20)	/* bytes of RAM written per pwrite at most */

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;	/* sizeof(struct snap_header): a layout check */
	uint64_t state_len;	/* bytes of sections after the header */
	uint64_t mem_size;
	uint8_t id[SNAP_ID_BYTES];
	uint32_t crc;		/* crc32 of the header (this field 0) and the sections */
	uint32_t pad;
};

struct snap_mem_header {
	char magic[8];
	uint32_t version;
	uint32_t pad;
	uint64_t mem_size;
	uint8_t id[SNAP_ID_BYTES];
};

struct snap_section_hdr {
	uint32_t type, index;
	uint64_t len;
};
_Static_assert(sizeof(struct snap_section_hdr) == SNAP_SECTION_BYTES(0), "section header size");

/* ---- building and finding sections -------------------------------------------------- */

void snap_state_reserve(struct snap_state *s, size_t bytes)
{
	if (s->buf || s->err)
		return;
	s->buf = malloc(bytes);
	s->cap = s->buf ? bytes : 0;
	if (!s->buf)
		s->err = -ENOMEM;
}

void snap_state_add(struct snap_state *s, uint32_t type, uint32_t index, const void *data,
		    uint64_t len)
{
	struct snap_section_hdr h = { .type = type, .index = index, .len = len };
	size_t need = s->len + SNAP_SECTION_BYTES(len);

	if (s->err)
		return;
	if (need > SNAP_STATE_MAX) {
		s->err = -E2BIG;
		return;
	}
	if (need > s->cap) {
		size_t cap = need * 2 < SNAP_STATE_MAX ? need * 2 : SNAP_STATE_MAX;
		uint8_t *buf = realloc(s->buf, cap);
		if (!buf) {
			s->err = -ENOMEM;
			return;
		}
		s->buf = buf;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, &h, sizeof(h));
	memcpy(s->buf + s->len + sizeof(h), data, len);
	memset(s->buf + s->len + sizeof(h) + len, 0, SNAP_ALIGN(len) - len);
	s->len = need;
}

const void *snap_state_find(const struct snap_state *s, uint32_t type, uint32_t index,
			    uint64_t len)
{
	size_t at = 0;
	struct snap_section_hdr h;

	/* Bounded by the buffer: every step moves past a header. */
	while (s->len - at >= sizeof(h)) {
		memcpy(&h, s->buf + at, sizeof(h));
		at += sizeof(h);
		if (h.len > s->len - at || SNAP_ALIGN(h.len) > s->len - at)
			return NULL;
		if (h.type == type && h.index == index)
			return h.len == len ? s->buf + at : NULL;
		at += SNAP_ALIGN(h.len);
	}
	return NULL;
}

void snap_state_free(struct snap_state *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* ---- writing ------------------------------------------------------------------------- */

static int snap_fail(const char *dir, const char *file, int err, struct err *e)
{
	err_set(e, err, "snapshot %s/%s: %s", dir, file, strerror(-err));
	return err;
}

/* Writes all of buf at off; 0 or -errno (ENOSPC for a short write on a full disk). */
static int snap_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENOSPC;
		buf = (const uint8_t *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int snap_page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[SNAP_PAGE];

	return memcmp(p, zero, SNAP_PAGE) == 0;
}

/* Guest RAM after the header page: runs of non-zero pages, holes for the rest. */
static int snap_write_ram(int fd, const struct guest_mem *mem)
{
	const uint8_t *ram = mem->base;
	uint64_t size = mem->ram_size;
	int err = 0;

	for (uint64_t at = 0; at < size && !err;) {
		uint64_t run = 0;
		while (at < size && snap_page_is_zero(ram + at))
			at += SNAP_PAGE;
		while (at + run < size && run < SNAP_RUN_MAX && !snap_page_is_zero(ram + at + run))
			run += SNAP_PAGE;
		if (run)
			err = snap_pwrite(fd, ram + at, run, SNAP_MEM_OFFSET + at);
		at += run;
	}
	return err;
}

/* Creates dir/tmp, fills it with fill(), syncs it; the fd is closed. 0 or -errno. */
static int snap_write_file(int dirfd, const char *tmp, int (*fill)(int fd, const void *arg),
			   const void *arg)
{
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err;

	if (fd < 0)
		return -errno;
	err = fill(fd, arg);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

struct snap_write_args {
	const struct snap_state *s;
	const struct guest_mem *mem;
};

static int snap_fill_memory(int fd, const void *arg)
{
	const struct snap_write_args *a = arg;
	struct snap_mem_header h = { .magic = SNAP_MEM_MAGIC, .version = SNAP_VERSION,
				     .mem_size = a->mem->ram_size };
	int err;

	memcpy(h.id, a->s->id, sizeof(h.id));
	if (ftruncate(fd, (off_t)(SNAP_MEM_OFFSET + a->mem->ram_size)) < 0)
		return -errno;
	err = snap_pwrite(fd, &h, sizeof(h), 0);
	return err ? err : snap_write_ram(fd, a->mem);
}

static uint32_t snap_crc(const struct snap_header *h, const uint8_t *sections, size_t len)
{
	struct snap_header copy = *h;
	uLong crc = crc32(0L, Z_NULL, 0);

	copy.crc = 0;
	crc = crc32(crc, (const Bytef *)&copy, sizeof(copy));
	/* zlib takes a uInt length: the state is far below 4 GiB (SNAP_STATE_MAX). */
	return (uint32_t)crc32(crc, sections, (uInt)len);
}

static int snap_fill_state(int fd, const void *arg)
{
	const struct snap_write_args *a = arg;
	struct snap_header h = { .magic = SNAP_STATE_MAGIC, .version = SNAP_VERSION,
				 .header_size = sizeof(h), .state_len = a->s->len,
				 .mem_size = a->mem->ram_size };
	int err;

	memcpy(h.id, a->s->id, sizeof(h.id));
	h.crc = snap_crc(&h, a->s->buf, a->s->len);
	err = snap_pwrite(fd, &h, sizeof(h), 0);
	return err ? err : snap_pwrite(fd, a->s->buf, a->s->len, sizeof(h));
}

int snap_write(int dirfd, const char *dir, struct snap_state *s, const struct guest_mem *mem,
	       struct err *e)
{
	struct snap_write_args a = { .s = s, .mem = mem };
	int err = s->err;

	if (err)
		return snap_fail(dir, "state", err, e);
	if (getrandom(s->id, sizeof(s->id), 0) != (ssize_t)sizeof(s->id))
		return snap_fail(dir, "state", -EIO, e);
	s->mem_size = mem->ram_size;
	err = snap_write_file(dirfd, ".memory.tmp", snap_fill_memory, &a);
	if (err)
		return snap_fail(dir, "memory", err, e);
	err = snap_write_file(dirfd, ".state.tmp", snap_fill_state, &a);
	if (err) {
		unlinkat(dirfd, ".memory.tmp", 0);
		return snap_fail(dir, "state", err, e);
	}
	/* Memory first: until the new state is in place, the ids do not match. */
	if (renameat(dirfd, ".memory.tmp", dirfd, "memory") < 0) {
		err = -errno;
		unlinkat(dirfd, ".memory.tmp", 0);
		unlinkat(dirfd, ".state.tmp", 0);
		return snap_fail(dir, "memory", err, e);
	}
	if (renameat(dirfd, ".state.tmp", dirfd, "state") < 0) {
		err = -errno;
		unlinkat(dirfd, ".state.tmp", 0);
		return snap_fail(dir, "state", err, e);
	}
	if (fsync(dirfd) < 0)	/* the renames themselves reach the disk */
		return snap_fail(dir, "state", -errno, e);
	return 0;
}

/* ---- reading ------------------------------------------------------------------------- */

/* Reads exactly len bytes at off; -ENODATA when the file is shorter (truncated). */
static int snap_pread(int fd, void *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		buf = (uint8_t *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int snap_bad(const char *dir, const char *file, const char *why, struct err *e)
{
	err_set(e, -EINVAL, "snapshot %s/%s: %s", dir, file, why);
	return -EINVAL;
}

static int snap_open_file(const char *dir, const char *file, struct stat *st, struct err *e)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st) < 0) {
		int err = -errno;
		err_set(e, err, "snapshot %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return snap_bad(dir, file, "not a regular file", e);
	}
	return fd;
}

static int snap_check_header(const char *dir, const struct snap_header *h, uint64_t file_size,
			     struct err *e)
{
	if (memcmp(h->magic, SNAP_STATE_MAGIC, sizeof(h->magic)))
		return snap_bad(dir, "state", "not an hvm snapshot (bad magic)", e);
	if (h->version != SNAP_VERSION || h->header_size != sizeof(*h)) {
		return err_set(e, -EPROTO, "snapshot %s/state: format version %u; this hvm reads "
			       "version %u", dir, h->version, SNAP_VERSION);
	}
	if (h->state_len > SNAP_STATE_MAX || sizeof(*h) + h->state_len != file_size)
		return snap_bad(dir, "state",
				"truncated or extended (its size does not match its header)", e);
	return 0;
}

static int snap_read_state(const char *dir, struct snap_state *s, struct err *e)
{
	struct snap_header h;
	struct stat st;
	int fd = snap_open_file(dir, "state", &st, e), err;

	if (fd < 0)
		return fd;
	err = snap_pread(fd, &h, sizeof(h), 0);
	if (err == -ENODATA)
		err = snap_bad(dir, "state", "truncated (shorter than its header)", e);
	if (!err)
		err = snap_check_header(dir, &h, (uint64_t)st.st_size, e);
	if (!err && !(s->buf = malloc(h.state_len ? h.state_len : 1)))
		err = -ENOMEM;
	if (!err)
		err = snap_pread(fd, s->buf, h.state_len, sizeof(h));
	if (!err && snap_crc(&h, s->buf, h.state_len) != h.crc)
		err = snap_bad(dir, "state", "checksum mismatch (the file is corrupted)", e);
	close(fd);
	if (err)
		return err == -ENODATA ? snap_bad(dir, "state", "truncated", e) : err;
	s->len = s->cap = h.state_len;
	s->mem_size = h.mem_size;
	memcpy(s->id, h.id, sizeof(s->id));
	return 0;
}

static int snap_open_memory(const char *dir, const struct snap_state *s, struct err *e)
{
	struct snap_mem_header h;
	struct stat st;
	int fd = snap_open_file(dir, "memory", &st, e), err = 0;

	if (fd < 0)
		return fd;
	if (snap_pread(fd, &h, sizeof(h), 0) || memcmp(h.magic, SNAP_MEM_MAGIC, sizeof(h.magic)))
		err = snap_bad(dir, "memory", "not an hvm snapshot memory file (bad header)", e);
	else if (memcmp(h.id, s->id, sizeof(h.id)) || h.mem_size != s->mem_size)
		err = snap_bad(dir, "memory", "belongs to another snapshot than the state file", e);
	else if ((uint64_t)st.st_size != SNAP_MEM_OFFSET + h.mem_size)
		err = snap_bad(dir, "memory",
			       "truncated or extended (its size is not the guest's RAM)", e);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int snap_read(const char *dir, struct snap_state *s, int *mem_fd, struct err *e)
{
	struct stat st;
	int err;

	memset(s, 0, sizeof(*s));
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		err = stat(dir, &st) < 0 ? -errno : -ENOTDIR;
		err_set(e, err, "snapshot %s: %s", dir, strerror(-err));
		return err;
	}
	err = snap_read_state(dir, s, e);
	if (!err && (*mem_fd = snap_open_memory(dir, s, e)) < 0)
		err = *mem_fd;
	if (err)
		snap_state_free(s);
	return err;
}
