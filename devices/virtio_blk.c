#include "virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/jail.h"
#include "../core/log.h"
#include "../core/vm.h"
#include "iov.h"

#define VBLK_SECTOR     512ULL
#define VBLK_QUEUE_SIZE 256
#define VBLK_SEG_MAX    (VBLK_QUEUE_SIZE - 2)	/* a chain also carries header and status */

struct vblk_config {	/* virtio 1.2 5.2.4, the fields we offer */
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint8_t geometry[4];
	uint32_t blk_size;
} __attribute__((packed));

static uint64_t vblk_features(void *dev)
{
	struct vblk *b = dev;

	return (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
	       (1ULL << VIRTIO_BLK_F_FLUSH) | (b->read_only ? 1ULL << VIRTIO_BLK_F_RO : 0);
}

static void vblk_config_read(void *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct vblk *b = dev;
	struct vblk_config cfg = {
		.capacity = b->sectors, .seg_max = VBLK_SEG_MAX, .blk_size = VBLK_SECTOR,
	};

	memcpy(data, (uint8_t *)&cfg + off, len);	/* the transport checked off + len */
}

/* Checks [sector, sector + bytes) against the disk; bytes must be whole sectors. */
static int vblk_in_range(const struct vblk *b, uint64_t sector, uint64_t bytes)
{
	return bytes % VBLK_SECTOR == 0 && sector <= b->sectors &&
	       bytes / VBLK_SECTOR <= b->sectors - sector;
}

/*
 * One preadv/pwritev, continued after short transfers: a regular file writes short exactly
 * when it runs out of space, and only the next call says why (ENOSPC). Bytes or -errno.
 */
static ssize_t vblk_transfer(struct vblk *b, int write, off_t off, struct iovec *data, unsigned n,
			     size_t len)
{
	struct iovec rest[VIRTQ_MAX_SIZE], *cur = data;
	size_t done = 0;

	while (done < len) {
		unsigned k = done ? iov_slice(data, n, done, len - done, cur = rest, VIRTQ_MAX_SIZE)
				  : n;
		ssize_t r = write ? pwritev(b->fd, cur, (int)k, off + (off_t)done)
				  : preadv(b->fd, cur, (int)k, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return write ? -ENOSPC : -EIO;	/* read: the file shrank under us */
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* Reads or writes the data part of a request; returns a VIRTIO_BLK_S_* status. */
static uint8_t vblk_rw(struct vblk *b, int write, uint64_t sector, struct iovec *data, unsigned n)
{
	size_t len = iov_size(data, n);
	ssize_t done;

	if (!vblk_in_range(b, sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (write && b->read_only)
		return VIRTIO_BLK_S_IOERR;
	done = vblk_transfer(b, write, (off_t)(sector * VBLK_SECTOR), data, n, len);
	if (done < 0) {
		/* Once per device: a full disk fails every write after the first. */
		if (b->io_errors++ == 0)
			log_warn("%s: %s at sector %llu: %s (the guest gets I/O errors; "
				 "later ones are not logged)", b->name, write ? "write" : "read",
				 (unsigned long long)sector, strerror((int)-done));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Serves one request; returns the bytes written into the guest's buffers (data + status). */
static uint32_t vblk_handle_request(struct vblk *b, struct virtq_chain *c)
{
	const struct iovec *in = c->iov, *out = c->iov + c->nread;
	struct virtio_blk_outhdr hdr;
	size_t in_len = iov_size(in, c->nread), out_len = iov_size(out, c->nwrite);
	struct iovec data[VIRTQ_MAX_SIZE];
	uint8_t status = VIRTIO_BLK_S_UNSUPP;
	uint32_t written = 0;
	unsigned n;

	if (out_len == 0)
		return 0;	/* nowhere to put a status: the request can only be dropped */
	if (iov_to_buf(in, c->nread, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
		status = VIRTIO_BLK_S_IOERR;
	} else if (hdr.type == VIRTIO_BLK_T_IN) {
		n = iov_slice(out, c->nwrite, 0, out_len - 1, data, VIRTQ_MAX_SIZE);
		status = vblk_rw(b, 0, hdr.sector, data, n);
		written = status == VIRTIO_BLK_S_OK ? (uint32_t)(out_len - 1) : 0;
	} else if (hdr.type == VIRTIO_BLK_T_OUT) {
		n = iov_slice(in, c->nread, sizeof(hdr), in_len - sizeof(hdr), data, VIRTQ_MAX_SIZE);
		status = vblk_rw(b, 1, hdr.sector, data, n);
	} else if (hdr.type == VIRTIO_BLK_T_FLUSH) {
		/* Acknowledged only once the data is on stable storage. */
		status = fdatasync(b->fd) == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	} else if (hdr.type == VIRTIO_BLK_T_GET_ID) {
		written = (uint32_t)iov_from_buf(out, c->nwrite, 0, b->serial,
						 out_len - 1 < sizeof(b->serial) ? out_len - 1 : sizeof(b->serial));
		status = VIRTIO_BLK_S_OK;
	}
	iov_from_buf(out, c->nwrite, out_len - 1, &status, 1);
	return written + 1;
}

static void vblk_queue_notify(void *dev, unsigned q)
{
	struct vblk *b = dev;
	struct virtq *vq = &b->transport.vq[q];
	int r;

	do {
		while ((r = virtq_pop(vq, &b->transport.vm->mem, &b->chain)) == 1)
			virtq_push(vq, b->chain.head, vblk_handle_request(b, &b->chain));
		if (r < 0) {
			virtio_mmio_broken(&b->transport);
			return;
		}
		virtio_mmio_used(&b->transport, q);
	} while (virtq_enable_notify(vq));
}

static void vblk_activate(void *dev, uint64_t features)
{
	(void)dev;
	(void)features;
}

static void vblk_reset(void *dev)
{
	(void)dev;
}

static const struct virtio_dev_ops vblk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.num_queues = 1,
	.queue_max = { VBLK_QUEUE_SIZE },
	.features = vblk_features,
	.config_size = sizeof(struct vblk_config),
	.config_read = vblk_config_read,
	.activate = vblk_activate,
	.queue_notify = vblk_queue_notify,
	.reset = vblk_reset,
};

static int vblk_open(struct vblk *b, const char *path, struct err *e)
{
	struct stat st;
	uint64_t bytes = 0;

	/* Opened already when jailed (core/jail.c). */
	b->fd = jail_open(path, (b->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st) < 0) {
		int err = -errno;
		err_set(e, err, "%s: %s", path, strerror(errno));
		return err;
	}
	if (S_ISREG(st.st_mode))
		bytes = (uint64_t)st.st_size;
	else if (!S_ISBLK(st.st_mode) || ioctl(b->fd, BLKGETSIZE64, &bytes) < 0) {
		err_set(e, -EINVAL, "%s: not a disk image file or block device", path);
		return -EINVAL;
	}
	b->sectors = bytes / VBLK_SECTOR;
	return 0;
}

int vblk_attach(struct vblk *b, struct vm *vm, gpa_t base, unsigned irq, const char *path,
		int read_only, const char *serial, struct err *e)
{
	int err;

	memset(b, 0, sizeof(*b));
	b->read_only = read_only;
	/* The serial field is 20 bytes, NUL-padded, not NUL-terminated when full. */
	memcpy(b->serial, serial, strnlen(serial, sizeof(b->serial)));
	snprintf(b->name, sizeof(b->name), "virtio-blk %s", serial);
	err = vblk_open(b, path, e);
	if (!err)
		err = virtio_mmio_attach(&b->transport, vm, base, irq, &vblk_ops, b);
	if (err && b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
	}
	return err;
}

void vblk_detach(struct vblk *b)
{
	virtio_mmio_detach(&b->transport);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}
