/*
 * AF_UNIX sockets, the one home of their helpers: addresses, connect, listen. A name that starts with '@' is an abstract socket
 * (Linux): it has no file, so a VMM killed with SIGKILL leaves nothing behind. Any process in
 * the network namespace can connect to one, though, so a listener on an abstract name
 * accepts only connections from its own process (unix_peer_is_self).
 */
#ifndef HVM_UNIX_ADDR_H
#define HVM_UNIX_ADDR_H

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* 1 when name is an abstract socket name ("@..."). */
static inline int unix_is_abstract(const char *name)
{
	return name[0] == '@';
}

/* Fills a with name (shorter than sun_path: the caller checked) and returns its length. */
static inline socklen_t unix_addr(struct sockaddr_un *a, const char *name)
{
	size_t len = strlen(name);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, name, len);
	if (!unix_is_abstract(name))
		return (socklen_t)sizeof(*a);
	a->sun_path[0] = '\0';	/* abstract: the length, not a NUL, ends the name */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

/* A stream socket (close-on-exec, plus flags: SOCK_NONBLOCK or 0) connected to name; the fd,
 * or -ENAMETOOLONG or the -errno of socket or connect (nothing logged). */
int unix_connect(const char *name, int flags);

/* A stream socket listening at name, after removing a socket file left there (never another
 * kind of file); flags as unix_connect's. The fd, or -ENAMETOOLONG or -errno (not logged). */
int unix_listen(const char *name, int backlog, int flags);

/* 1 when the peer of the connected socket fd is this process (one of our own threads). */
static inline int unix_peer_is_self(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == getpid();
}

#endif
