#ifndef HVM_FD_WRITE_H
#define HVM_FD_WRITE_H

#include <stddef.h>

/*
 * Writes all of buf to fd: 0, or -errno when the reader is gone or the write fails (the rest
 * is dropped: a closed reader must not wedge the VM). A non-blocking fd that is full is
 * waited on (poll) when may_wait, as a blocking one would be; otherwise -EAGAIN.
 */
int fd_write_all(int fd, const void *buf, size_t len, int may_wait);

#endif
