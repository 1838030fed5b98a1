/*
 * The two files of a snapshot directory (docs/snapshot.md):
 *
 *   state   header (magic, version, sizes, id, crc32) + sections (type, index, length, bytes)
 *   memory  one 4 KiB header page (magic, the same id, RAM size) + guest RAM, sparse
 *
 * Both are written under temporary names and renamed when complete, memory first: a state
 * file names the memory it belongs to by a random id, so a crash between the renames, a
 * full disk or a copy of only one file never gives a snapshot that looks whole. Mode 0600.
 */
#ifndef HVM_SNAP_FILE_H
#define HVM_SNAP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "guest_mem.h"

#define SNAP_VERSION     2	/* 2: sections padded to 8 bytes */
#define SNAP_MEM_OFFSET  4096	/* guest RAM starts here in the memory file (mmap-aligned) */
#define SNAP_STATE_MAX   (16u << 20)	/* a state file larger than this is not ours */
#define SNAP_ID_BYTES    16

enum snap_section {
	SNAP_SEC_MACHINE = 1,	/* struct snap_machine */
	SNAP_SEC_VM,		/* struct snap_vm */
	SNAP_SEC_VCPU,		/* struct snap_vcpu, index = vCPU id */
	SNAP_SEC_SERIAL,	/* struct serial_state */
	SNAP_SEC_VIRTIO,	/* struct virtio_mmio_state, index = virtio-mmio slot */
};

/* A state being built in memory, or one read back and checked. */
struct snap_state {
	uint8_t *buf;		/* the sections */
	size_t len, cap;
	uint8_t id[SNAP_ID_BYTES];
	uint64_t mem_size;	/* bytes of guest RAM in the memory file */
	int err;		/* the first snap_state_add failure */
};

/*
 * Allocates the buffer for sections of `bytes` in all (their headers included, see
 * SNAP_SECTION_BYTES) at once: a snapshot taken under seccomp must never grow it (glibc's
 * realloc of a large block calls mremap, which no list allows).
 */
void snap_state_reserve(struct snap_state *s, size_t bytes);

/* A section's bytes start 8-aligned (its length is padded to 8 with zeroes): readers use them
 * in place as the structs they were written from. */
#define SNAP_ALIGN(len) (((size_t)(len) + 7) & ~(size_t)7)

/* What a section of len bytes takes in the state, its header and padding included. */
#define SNAP_SECTION_BYTES(len) (16 + SNAP_ALIGN(len))

/* Appends a section; failures are remembered in s->err (checked once, at write). */
void snap_state_add(struct snap_state *s, uint32_t type, uint32_t index, const void *data,
		    uint64_t len);

/* The section's bytes when it exists with exactly len bytes, else NULL. */
const void *snap_state_find(const struct snap_state *s, uint32_t type, uint32_t index,
			    uint64_t len);

/* Frees the buffer. */
void snap_state_free(struct snap_state *s);

/*
 * Writes guest RAM (only pages that are not zero: a sparse file), then the state, into the
 * directory dirfd (named dir in messages), both complete or neither visible as the snapshot.
 * s->id is drawn here. 0 or -errno, with one line in e: "snapshot DIR/FILE: why".
 */
int snap_write(int dirfd, const char *dir, struct snap_state *s, const struct guest_mem *mem,
	       struct err *e);

/*
 * Reads and checks dir/state (magic, version, size, checksum) and dir/memory (header, id,
 * size); on success s holds the sections and *mem_fd the open memory file, whose guest RAM
 * starts at SNAP_MEM_OFFSET. 0 or -errno, with one line in e naming the file and the cause.
 */
int snap_read(const char *dir, struct snap_state *s, int *mem_fd, struct err *e);

#endif
