/*
 * AF_UNIX addresses of the vsock bridge. A name that starts with '@' is an abstract socket
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

/* 1 when the peer of the connected socket fd is this process (one of our own threads). */
static inline int unix_peer_is_self(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid == getpid();
}

#endif
