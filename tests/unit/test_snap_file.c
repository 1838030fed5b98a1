/*
 * The snapshot files (core/snap_file.c) without KVM: what is written reads back byte for byte,
 * the memory file is sparse and both are 0600, and every damaged or mismatched snapshot is
 * refused with the file and the cause named, never read as whole.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../harness.h"
#include "../../core/snap_file.h"

#define RAM (4u << 20)

static char dir[64];
static uint8_t *ram;

/* A fresh directory with a snapshot of 4 MiB of RAM, two pages of it not zero. */
static void make_snapshot(struct snap_state *s, struct guest_mem *mem)
{
	static const char a[] = "first", b[] = "second";
	int dirfd;

	snprintf(dir, sizeof(dir), "/tmp/hvm-snap-test-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	free(ram);
	ram = calloc(1, RAM);
	CHECK(ram != NULL);
	memset(ram + 8192, 0xab, 4096);
	memset(ram + RAM - 4096, 0xcd, 100);
	guest_mem_init(mem, ram, RAM);
	memset(s, 0, sizeof(*s));
	snap_state_add(s, SNAP_SEC_MACHINE, 0, a, sizeof(a));
	snap_state_add(s, SNAP_SEC_VCPU, 1, b, sizeof(b));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(dirfd >= 0);
	CHECK_EQ(snap_write(dirfd, dir, s, mem, NULL), 0);
	close(dirfd);
}

static void remove_snapshot(void)
{
	char path[128];

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, i ? "memory" : "state");
		unlink(path);
	}
	rmdir(dir);
}

/* snap_read of the directory, expecting err and (when err) a message containing want. */
static void expect_read(int err, const char *want)
{
	struct err why;
	struct snap_state s;
	int mem_fd = -1;

	err_clear(&why);
	int got = snap_read(dir, &s, &mem_fd, &why);
	CHECK_EQ(got, err);
	CHECK_EQ(why.code, err);	/* the error object holds the failure's own code */
	if (want && !strstr(why.msg, want))
		fprintf(stderr, "message: %s\n", why.msg);
	CHECK(!want || strstr(why.msg, want) != NULL);
	CHECK(strchr(why.msg, '\n') == NULL);
	if (!got) {
		snap_state_free(&s);
		close(mem_fd);
	}
}

static void patch(const char *file, off_t off, const void *bytes, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

static void cut(const char *file, off_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	CHECK_EQ(truncate(path, len), 0);
}

static void reads_back_what_was_written(void)
{
	struct snap_state w, r;
	struct guest_mem mem;
	struct stat st;
	char path[128];
	uint8_t page[4096];
	int mem_fd = -1;

	make_snapshot(&w, &mem);
	CHECK_EQ(snap_read(dir, &r, &mem_fd, NULL), 0);
	CHECK_EQ(r.mem_size, (uint64_t)RAM);
	CHECK(memcmp(r.id, w.id, sizeof(r.id)) == 0);
	CHECK_STR((const char *)snap_state_find(&r, SNAP_SEC_MACHINE, 0, 6), "first");
	CHECK_STR((const char *)snap_state_find(&r, SNAP_SEC_VCPU, 1, 7), "second");
	CHECK(snap_state_find(&r, SNAP_SEC_VCPU, 1, 8) == NULL);	/* another size */
	CHECK(snap_state_find(&r, SNAP_SEC_VCPU, 0, 7) == NULL);	/* another index */
	CHECK(snap_state_find(&r, SNAP_SEC_VM, 0, 7) == NULL);	/* absent */
	CHECK_EQ(pread(mem_fd, page, sizeof(page), SNAP_MEM_OFFSET + 8192), (ssize_t)sizeof(page));
	CHECK(page[0] == 0xab && page[4095] == 0xab);
	CHECK_EQ(pread(mem_fd, page, sizeof(page), SNAP_MEM_OFFSET + RAM - 4096), (ssize_t)sizeof(page));
	CHECK(page[99] == 0xcd && page[100] == 0);
	CHECK_EQ(fstat(mem_fd, &st), 0);
	CHECK_EQ((uint64_t)st.st_size, (uint64_t)SNAP_MEM_OFFSET + RAM);
	CHECK((st.st_mode & 0777) == 0600);
	/* Sparse: the header page and two pages of RAM, not 4 MiB (allowing filesystem slack). */
	CHECK((uint64_t)st.st_blocks * 512 < RAM / 4);
	snprintf(path, sizeof(path), "%s/state", dir);
	CHECK_EQ(stat(path, &st), 0);
	CHECK((st.st_mode & 0777) == 0600);
	close(mem_fd);
	snap_state_free(&w);
	snap_state_free(&r);
	remove_snapshot();
}

static void damaged_snapshots_are_refused(void)
{
	struct snap_state w, w2;
	struct guest_mem mem;
	struct stat st;
	char path[128], cmd[160], other[64];
	uint32_t v = 99;

	make_snapshot(&w, &mem);
	snprintf(path, sizeof(path), "%s/state", dir);
	CHECK_EQ(stat(path, &st), 0);
	cut("state", st.st_size - 1);
	expect_read(-EINVAL, "state: truncated or extended");
	cut("state", 20);
	expect_read(-EINVAL, "state: truncated (shorter than its header)");
	snap_state_free(&w);
	remove_snapshot();

	make_snapshot(&w, &mem);
	patch("state", 60, "\xff", 1);	/* a byte of a section */
	expect_read(-EINVAL, "state: checksum mismatch");
	snap_state_free(&w);
	remove_snapshot();

	make_snapshot(&w, &mem);
	patch("state", 8, &v, sizeof(v));
	expect_read(-EPROTO, "state: format version 99; this hvm reads version 2");
	patch("state", 0, "NOTASNAP", 8);
	expect_read(-EINVAL, "state: not an hvm snapshot");
	snap_state_free(&w);
	remove_snapshot();

	make_snapshot(&w, &mem);
	cut("memory", SNAP_MEM_OFFSET + RAM / 2);
	expect_read(-EINVAL, "memory: truncated or extended");
	cut("memory", 10);
	expect_read(-EINVAL, "memory: not an hvm snapshot memory file");
	snap_state_free(&w);
	remove_snapshot();

	/* The memory of another snapshot: the ids differ. */
	make_snapshot(&w, &mem);
	snprintf(other, sizeof(other), "%s", dir);
	make_snapshot(&w2, &mem);
	snprintf(cmd, sizeof(cmd), "cp %s/memory %s/memory", dir, other);
	CHECK_EQ(system(cmd), 0);
	remove_snapshot();
	snprintf(dir, sizeof(dir), "%s", other);
	expect_read(-EINVAL, "memory: belongs to another snapshot");
	snap_state_free(&w);
	snap_state_free(&w2);
	remove_snapshot();

	snprintf(dir, sizeof(dir), "/tmp/hvm-snap-test-none");
	expect_read(-ENOENT, "No such file or directory");
}

/* A write into a directory that cannot take it leaves nothing that looks like a snapshot. */
static void failed_write_leaves_no_snapshot(void)
{
	struct snap_state s = { 0 };
	struct guest_mem mem;
	struct err why;
	int dirfd;

	free(ram);
	ram = calloc(1, RAM);
	guest_mem_init(&mem, ram, RAM);
	snap_state_add(&s, SNAP_SEC_MACHINE, 0, "x", 1);
	snprintf(dir, sizeof(dir), "/tmp/hvm-snap-test-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK_EQ(chmod(dir, 0500), 0);
	err_clear(&why);
	int err = geteuid() == 0 ? -EACCES : snap_write(dirfd, dir, &s, &mem, &why);
	CHECK_EQ(err, -EACCES);
	CHECK(geteuid() == 0 || strstr(why.msg, "memory: Permission denied") != NULL);
	chmod(dir, 0700);
	/* Root is not stopped by a mode: a state that fails to add is refused before any file. */
	s.err = -E2BIG;
	err_clear(&why);
	err = snap_write(dirfd, dir, &s, &mem, &why);
	CHECK_EQ(err, -E2BIG);
	CHECK_EQ(why.code, -E2BIG);
	close(dirfd);
	expect_read(-ENOENT, "state: No such file or directory");
	snap_state_free(&s);
	remove_snapshot();
	free(ram);
	ram = NULL;
}

/* Sections of any length are found 8-aligned, with their own bytes, in the space reserved. */
static void sections_are_aligned(void)
{
	static const uint32_t lens[] = { 3, 12, 5, 8, 1 };
	struct snap_state s = { 0 };
	uint8_t data[16];
	size_t want = 0;

	for (unsigned i = 0; i < 5; i++)
		want += SNAP_SECTION_BYTES(lens[i]);
	snap_state_reserve(&s, want);
	for (unsigned i = 0; i < 5; i++) {
		memset(data, 'a' + (int)i, sizeof(data));
		snap_state_add(&s, 9, i, data, lens[i]);
	}
	CHECK_EQ(s.err, 0);
	CHECK_EQ(s.len, want);
	CHECK(s.cap == want);	/* nothing grew past the reservation */
	for (unsigned i = 0; i < 5; i++) {
		const uint8_t *p = snap_state_find(&s, 9, i, lens[i]);
		CHECK(p && ((uintptr_t)p & 7) == 0);
		CHECK(p && p[0] == 'a' + i && p[lens[i] - 1] == 'a' + i);
	}
	CHECK(snap_state_find(&s, 9, 0, 8) == NULL);	/* its padding is not its length */
	snap_state_free(&s);
}

HARNESS_MAIN(reads_back_what_was_written, damaged_snapshots_are_refused,
	     failed_write_leaves_no_snapshot, sections_are_aligned)
