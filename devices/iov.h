/* Byte-stream views over iovec arrays: what devices use to parse requests of any framing. */
#ifndef HVM_IOV_H
#define HVM_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Total length of n iovecs. */
size_t iov_size(const struct iovec *iov, unsigned n);

/* Copies up to len bytes starting at byte off of the stream into buf; returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);

/* Copies len bytes from buf into the stream at byte off; returns bytes copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);

/* Fills out (room for max) with the part [off, off+len) of the stream; returns the count. */
unsigned iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		   struct iovec *out, unsigned max);

#endif
