#include "iov.h"

#include <string.h>

size_t iov_size(const struct iovec *iov, unsigned n)
{
	size_t total = 0;

	for (unsigned i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	struct iovec part[1];
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		if (iov_slice(&iov[i], 1, off, len - done, part, 1) == 1) {
			memcpy((char *)buf + done, part[0].iov_base, part[0].iov_len);
			done += part[0].iov_len;
		}
		off = off > iov[i].iov_len ? off - iov[i].iov_len : 0;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	struct iovec part[1];
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		if (iov_slice(&iov[i], 1, off, len - done, part, 1) == 1) {
			memcpy(part[0].iov_base, (const char *)buf + done, part[0].iov_len);
			done += part[0].iov_len;
		}
		off = off > iov[i].iov_len ? off - iov[i].iov_len : 0;
	}
	return done;
}

unsigned iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		   struct iovec *out, unsigned max)
{
	unsigned count = 0;

	for (unsigned i = 0; i < n && len && count < max; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		out[count++] = (struct iovec){ (char *)iov[i].iov_base + off, take };
		len -= take;
		off = 0;
	}
	return count;
}
